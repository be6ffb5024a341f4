"""Names: the project, its functions, entry points, accounts, topics, buckets and regions."""

from __future__ import annotations

import keyword
import re
from typing import Any

from ._common import got

# Regions that offer Cloud Run functions (2nd gen), from Google's Cloud Functions locations page.
REGIONS = (
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "northamerica-south1",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
)
ENVIRONMENTS = ("dev", "staging", "production")

PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
ACCOUNT_NAME = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"
SERVICE_ACCOUNT = re.compile(
    rf"{ACCOUNT_NAME}@{ACCOUNT_NAME}\.iam\.gserviceaccount\.com"
    rf"|[0-9]+-compute@developer\.gserviceaccount\.com"
    rf"|{ACCOUNT_NAME}@appspot\.gserviceaccount\.com"
)
FUNCTION_NAME_RULE = (
    "must be 1-63 characters of lower-case letters, digits and hyphens, "
    "start with a letter and not end with a hyphen"
)
# Names and descriptions land in Python docstrings, TOML and YAML comments and Markdown as they
# are: no control characters or line breaks (YAML also breaks lines at U+0085, U+2028 and
# U+2029), nothing YAML refuses to read, and no double quote or backslash, which those would
# have to escape.
UNPRINTABLE = re.compile('[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff\\ufffe\\uffff"\\\\]')
# The names main.py binds at module level, for any trigger (its imports and `logger`: the helpers
# live in payloads.py), and the repo's own modules, which main.py may import.
TAKEN_NAMES = (
    "annotations",
    "logging",
    "flask",
    "functions_framework",
    "CloudEvent",
    "ResponseReturnValue",
    "logger",
    "main",
    "logs",
    "payloads",
    "clients",
    "settings",
)


def _one_line_error(value: str, key: str, most: int) -> str:
    if value.strip() == "":
        return f"{key}: must not be empty"
    if len(value) > most:
        return f"{key}: must be at most {most} characters{got(value)}"
    if UNPRINTABLE.search(value):
        return (
            f"{key}: must be one line of printable characters without double quotes or "
            f"backslashes{got(value)}"
        )
    return ""


def project_name_error(value: str) -> str:
    return _one_line_error(value, "project_name", 80)


def description_error(value: str) -> str:
    return _one_line_error(value, "description", 200)


def function_name_error(value: str, key: str = "function_name") -> str:
    """A 2nd gen function is a Cloud Run service, whose name is a lower-case DNS label."""
    rule = f"{key}: {FUNCTION_NAME_RULE}"
    if value == "":
        return f"{rule}: it is empty"
    if len(value) > 63:
        return f"{rule}: it has {len(value)} characters{got(value)}"
    if re.search("[A-Z]", value):
        return f"{rule}: it has upper-case letters{got(value)}"
    if "_" in value:
        return f"{rule}: use hyphens instead of underscores{got(value)}"
    if not re.match("[a-z]", value):
        return f"{rule}: it does not start with a letter{got(value)}"
    if value.endswith("-"):
        return f"{rule}: it ends with a hyphen{got(value)}"
    if not re.fullmatch("[a-z][-a-z0-9]*", value):
        return f"{rule}{got(value)}"
    return ""


def entry_point_error(value: str, taken: tuple[str, ...] = TAKEN_NAMES) -> str:
    if not re.fullmatch("[A-Za-z_][A-Za-z0-9_]*", value):
        return (
            "entry_point: must be a Python identifier (letters, digits and underscores, "
            f"not starting with a digit){got(value)}"
        )
    if keyword.iskeyword(value):
        return f"entry_point: must not be a Python keyword{got(value)}"
    if value in taken:
        return (
            f"entry_point: must not be a name main.py already uses ({', '.join(taken)}){got(value)}"
        )
    if len(value) > 48:
        return f"entry_point: must be at most 48 characters{got(value)}"
    return ""


def project_id_error(value: str, key: str = "gcp_project_id") -> str:
    rule = (
        f"{key}: must be 6-30 characters of lower-case letters, digits and hyphens, "
        "start with a letter and not end with a hyphen"
    )
    if not 6 <= len(value) <= 30:
        return f"{rule}: it has {len(value)} characters{got(value)}"
    if not PROJECT_ID.fullmatch(value):
        return f"{rule}{got(value)}"
    if "google" in value:
        return f'{key}: must not contain "google"{got(value)}'
    return ""


def region_error(value: str, key: str = "region") -> str:
    if value not in REGIONS:
        return (
            f"{key}: must be a region that offers Cloud Functions (2nd gen), one of "
            f"{', '.join(REGIONS)}{got(value)}"
        )
    return ""


def environments_error(value: list[str], function_name: str) -> str:
    """Environments other than production deploy as <function_name>-<environment>."""
    if not value:
        return "environments: choose at least one environment"
    too_long = [e for e in value if e != "production" and len(function_name) + 1 + len(str(e)) > 63]
    if too_long:
        return (
            f"environments: each environment but production deploys as {function_name}"
            "-<environment>, which must fit in 63 characters: shorten function_name"
            f"{got(value)}"
        )
    return ""


def service_account_error(value: Any, key: str) -> str:
    if not isinstance(value, str) or not SERVICE_ACCOUNT.fullmatch(value):
        return (
            f"{key}: must be a service account email such as name@project-id.iam.gserviceaccount.com, "
            f"whose name is 6-30 lower-case letters, digits and hyphens{got(value)}"
        )
    return ""


def repository_error(value: str, provider: str) -> str:
    if provider == "github_actions" and not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9_.-]+", value):
        return f"repository: must be OWNER/NAME as on GitHub{got(value)}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+", value):
        return f"repository: must be GROUP/NAME (or GROUP/SUBGROUP/NAME) as on GitLab{got(value)}"
    return ""


def suffix_room(environments: list[str]) -> int:
    """The characters a name of the repo's own keeps for its -<environment> suffix."""
    longest = max((len(str(e)) for e in environments if e != "production"), default=-1)
    return longest + 1


def topic_error(value: Any, key: str = "pubsub_topic", room: int = 255) -> str:
    """A topic id; `room` is its most characters (less than 255 for the topics the repo owns,
    which take a -<environment> suffix outside production)."""
    value = str(value)
    if value[:4].lower() == "goog":
        return f'{key}: must not start with "goog"{got(value)}'
    if not re.fullmatch(r"[a-zA-Z][-._~%+a-zA-Z0-9]{2,254}", value):
        return (
            f"{key}: must be 3-255 characters of letters, digits and - . _ ~ % +, starting with "
            f"a letter (a topic id, not projects/.../topics/...){got(value)}"
        )
    if len(value) > room:
        return (
            f"{key}: must be at most {room} characters, to leave room for the -<environment> "
            f"suffix of non-production topics{got(value)}"
        )
    return ""


def bucket_error(value: str, key: str = "storage_bucket") -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]", value):
        return (
            f"{key}: must be 3-63 characters of lower-case letters, digits, hyphens, "
            f"underscores and dots, starting and ending with a letter or digit{got(value)}"
        )
    if value[:4] == "goog" or "google" in value:
        return f'{key}: must not start with "goog" or contain "google"{got(value)}'
    if ".." in value or re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", value):
        return f'{key}: must not contain ".." or be an IP address{got(value)}'
    return ""
