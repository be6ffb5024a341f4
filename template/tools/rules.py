"""The platform's rules for a function's settings, as gcf-template's questions apply them.

Each `*_error` function returns "" when a value is valid, or one line
"<key>: <rule> (got <value>)" when it is not. `tools.manifest` applies them to
every function of functions.yaml, so that a setting Cloud Functions would refuse
stops `make check` and `make deploy` before anything is deployed. The rules are
those of Google's reference for Cloud Functions (2nd gen), Cloud Run, Pub/Sub,
Cloud Storage, Firestore and Cloud Scheduler; gcf-template's tests prove that its
questionnaire accepts and refuses the same values.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import zoneinfo
from typing import Any

TRIGGER_TYPES = ("http", "pubsub", "storage", "firestore", "audit_log", "scheduler")
EVENT_TRIGGERS = TRIGGER_TYPES[1:]
RUNTIMES = ("python311", "python312", "python313", "python314")
STORAGE_EVENTS = ("finalized", "deleted", "archived", "metadataUpdated")
FIRESTORE_EVENTS = ("created", "updated", "deleted", "written")
INGRESS_SETTINGS = ("all", "internal-only", "internal-and-gclb")
VPC_KINDS = ("none", "connector", "direct")
VPC_EGRESS = ("private-ranges-only", "all")
MAX_DELIVERY_ATTEMPTS = (5, 100)

# Regions that offer Cloud Run functions (2nd gen), from Google's Cloud Functions locations page.
REGIONS = frozenset(
    [
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
    ]
)
# Locations besides regions: Cloud Storage multi- and dual-regions, Firestore multi-regions.
OTHER_LOCATIONS = {
    "storage": ("us", "eu", "asia", "nam4", "eur4", "eur5", "eur7", "eur8", "asia1"),
    "firestore": ("nam5", "nam7", "eur3"),
    "audit_log": ("global",),
}

MEMORY_MI = {
    "128Mi": 128,
    "256Mi": 256,
    "512Mi": 512,
    "1Gi": 1024,
    "2Gi": 2048,
    "4Gi": 4096,
    "8Gi": 8192,
    "16Gi": 16384,
    "32Gi": 32768,
}
# The most and the least memory each whole number of vCPUs can have.
MAX_MEMORY_MI = {1: 4096, 2: 8192, 4: 16384, 6: 24576, 8: 32768}
MIN_MEMORY_MI = {1: 0, 2: 0, 4: 2048, 6: 4096, 8: 4096}

# Names Cloud Run sets itself, and names the env files or the deploy command set.
RESERVED_NAMES = (
    "FUNCTION_TARGET",
    "FUNCTION_SIGNATURE_TYPE",
    "K_SERVICE",
    "K_REVISION",
    "K_CONFIGURATION",
    "PORT",
    "ENVIRONMENT",
    "GOOGLE_CLOUD_PROJECT",
    "LOG_LEVEL",
    "THREADS",
)
# Directories a secret cannot be mounted over: the system's, and the function's own code.
SYSTEM_DIRS = (
    "/",
    "/bin",
    "/dev",
    "/etc",
    "/lib",
    "/proc",
    "/sys",
    "/tmp",  # noqa: S108
    "/usr",
    "/var",
    "/workspace",
    "/layers",
)

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


def got(value: Any) -> str:
    return f" (got {json.dumps(value, ensure_ascii=False)})"


def function_name_error(value: str, key: str = "function_name") -> str:
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


def entry_point_error(value: str, taken: frozenset[str] = frozenset()) -> str:
    if not re.fullmatch("[A-Za-z_][A-Za-z0-9_]*", value):
        return (
            "entry_point: must be a Python identifier (letters, digits and underscores, "
            f"not starting with a digit){got(value)}"
        )
    if keyword.iskeyword(value):
        return f"entry_point: must not be a Python keyword{got(value)}"
    if value in taken:
        return f"entry_point: must not be a name main.py already uses{got(value)}"
    if len(value) > 48:
        return f"entry_point: must be at most 48 characters{got(value)}"
    return ""


def region_error(value: str, key: str = "region") -> str:
    if value not in REGIONS:
        return f"{key}: must be a region that offers Cloud Functions (2nd gen){got(value)}"
    return ""


def trigger_location_error(value: str, trigger_type: str) -> str:
    others = OTHER_LOCATIONS.get(trigger_type, ())
    if value not in REGIONS and value not in others:
        return (
            f"trigger_location: must be a region such as us-central1, or one of "
            f"{', '.join(others)}{got(value)}"
        )
    return ""


def topic_error(value: str, key: str = "pubsub_topic", room: int = 255) -> str:
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


def bucket_error(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]", value):
        return (
            "storage_bucket: must be 3-63 characters of lower-case letters, digits, hyphens, "
            f"underscores and dots, starting and ending with a letter or digit{got(value)}"
        )
    if value[:4] == "goog" or "google" in value:
        return f'storage_bucket: must not start with "goog" or contain "google"{got(value)}'
    if ".." in value or re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", value):
        return f'storage_bucket: must not contain ".." or be an IP address{got(value)}'
    return ""


def firestore_database_error(value: str) -> str:
    if value != "(default)" and not re.fullmatch("[a-z][a-z0-9-]{2,61}[a-z0-9]", value):
        return (
            "firestore_database: must be (default) or 4-63 characters of lower-case letters, "
            f"digits and hyphens, starting with a letter and ending with a letter or digit{got(value)}"
        )
    return ""


def firestore_document_error(value: str) -> str:
    segments = value.split("/")
    segment = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|[-A-Za-z0-9_.~%+@]+")
    if any(
        not segment.fullmatch(s) or s in (".", "..") or re.fullmatch("__.*__", s) for s in segments
    ):
        return (
            "firestore_document: each segment must be an id of letters, digits and - _ . ~ % + @ "
            "(not . or .. or __id__), or a {wildcard} such as {userId}, separated by single "
            f"slashes{got(value)}"
        )
    if len(segments) % 2:
        return (
            "firestore_document: must name documents, so an even number of segments such as "
            f"users/{{userId}} or users/{{userId}}/orders/{{orderId}}{got(value)}"
        )
    if len(value) > 1500:
        return f"firestore_document: must be at most 1500 characters{got(value)}"
    return ""


def audit_service_error(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*\.googleapis\.com", value):
        return (
            "audit_service_name: must be a Google API service name ending in .googleapis.com, "
            f"such as bigquery.googleapis.com{got(value)}"
        )
    return ""


def audit_method_error(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+", value):
        return (
            "audit_method_name: must be a dotted method name such as "
            f"google.cloud.bigquery.v2.JobService.InsertJob or storage.objects.create{got(value)}"
        )
    return ""


# Cloud Scheduler uses unix-cron: minute hour day-of-month month day-of-week.
MONTHS = ("", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 0, 7, DAYS),
)


def _cron_item_ok(item: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    def value_ok(text: str) -> bool:
        if text.isdigit():
            return low <= int(text) <= high
        return text != "" and text.upper() in names and text.upper() != ""

    base, *steps = item.split("/")
    bounds = base.split("-")
    if len(steps) > 1 or (steps and not (steps[0].isdigit() and int(steps[0]) > 0)):
        return False
    if base == "*":
        return True
    if len(bounds) > 2 or not all(value_ok(b) for b in bounds):
        return False
    return not (steps and len(bounds) == 1 and not base.isdigit())


def cron_error(value: str) -> str:
    fields = [field for field in value.split(" ") if field]
    if re.search("[^-0-9A-Za-z*/, ]", value):
        return (
            "schedule: must be a cron expression of digits, letters, * / , - and spaces, "
            f'such as "0 * * * *"{got(value)}'
        )
    if len(fields) != 5:
        return (
            "schedule: must be a cron expression with 5 fields (minute hour day-of-month month "
            f'day-of-week), such as "0 * * * *"; it has {len(fields)}{got(value)}'
        )
    for field, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        if not all(item and _cron_item_ok(item, low, high, names) for item in field.split(",")):
            such_as = f" or a name such as {names[1]}" if names else ""
            return (
                f"schedule: the {name} field must be *, a number from {low} to {high}{such_as}, "
                "a range a-b, a step */n or a-b/n, or a comma list of those; "
                f"{json.dumps(field)} is not{got(value)}"
            )
    return ""


def time_zone_error(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        return (
            "schedule_time_zone: must be a time zone name from the IANA database, such as "
            f"Etc/UTC, Europe/Paris or America/New_York{got(value)}"
        )
    return ""


def memory_error(value: str) -> str:
    if value not in MEMORY_MI:
        return f"memory: must be one of {', '.join(MEMORY_MI)}{got(value)}"
    return ""


def _size(mi: int) -> str:
    return f"{mi // 1024}Gi" if mi >= 1024 else f"{mi}Mi"


def cpu_error(value: str, memory: str) -> str:
    text = str(value)
    mi = MEMORY_MI.get(memory, 0)
    if text.isdigit() and int(text) > 1 and int(text) not in (2, 4, 6, 8):
        return f"cpu: above 1 vCPU, only 2, 4, 6 or 8 are possible{got(text)}"
    if not re.fullmatch(r"0\.[0-9]{1,3}|1(\.0{1,3})?|[2468]", text) or float(text) < 0.08:
        return (
            "cpu: must be a number of vCPUs from 0.08 to 1 (at most 3 decimals), "
            f"or 2, 4, 6 or 8{got(text)}"
        )
    cpu = float(text)
    if cpu < 1 and mi > 1024:
        return (
            f"cpu: below 1 vCPU, memory can be at most 1Gi; with memory {memory} "
            f"use cpu 1 or more{got(text)}"
        )
    if cpu < 0.5 and mi > 512:
        return (
            f"cpu: memory above 512Mi needs at least 0.5 vCPU; with memory {memory} "
            f"use cpu 0.5 or more{got(text)}"
        )
    whole = max(1, math.ceil(cpu))
    if mi > MAX_MEMORY_MI[whole]:
        enough = min(c for c, most in MAX_MEMORY_MI.items() if most >= mi)
        return (
            f"cpu: {text} vCPU allows at most {_size(MAX_MEMORY_MI[whole])} of memory; "
            f"with memory {memory} use cpu {enough} or more{got(text)}"
        )
    if mi < MIN_MEMORY_MI[whole]:
        return (
            f"cpu: {text} vCPUs need at least {_size(MIN_MEMORY_MI[whole])} of memory "
            f"(memory is {memory}): use less cpu or more memory{got(text)}"
        )
    return ""


def concurrency_error(value: int, cpu: str, memory: str) -> str:
    if not 1 <= value <= 1000:
        return f"concurrency: must be 1 to 1000{got(value)}"
    if value > 1 and float(cpu) < 1:
        return (
            f"concurrency: above 1 needs at least 1 vCPU, and cpu is {cpu} with memory {memory}: "
            f"set cpu to 1 or more, or concurrency to 1{got(value)}"
        )
    return ""


def timeout_error(value: int, trigger_type: str) -> str:
    http = trigger_type == "http"
    limit = 3600 if http else 540
    if not 1 <= value <= limit:
        kind = "HTTP" if http else "event-driven"
        return f"timeout: must be 1 to {limit} seconds for {kind} functions (got {value})"
    return ""


def instances_error(min_instances: int, max_instances: int) -> str:
    if not 0 <= min_instances <= 1000:
        return f"min_instances: must be 0 to 1000 (got {min_instances})"
    if not 1 <= max_instances <= 1000:
        return f"max_instances: must be 1 to 1000 (got {max_instances})"
    if max_instances < min_instances:
        return (
            f"max_instances: must be at least min_instances ({min_instances}) (got {max_instances})"
        )
    return ""


def service_account_error(value: str, key: str) -> str:
    if not SERVICE_ACCOUNT.fullmatch(value):
        return (
            f"{key}: must be a service account email such as name@project-id.iam.gserviceaccount.com, "
            f"whose name is 6-30 lower-case letters, digits and hyphens{got(value)}"
        )
    return ""


def _secret_error(entry: Any, names: set[str], paths: set[str], dirs: dict[str, str]) -> str:
    target, _, source = str(entry).partition("=")
    secret_id, _, version = source.rpartition(":")
    if not isinstance(entry, str) or not source:
        return f"secrets: each entry must be NAME=secret-id:version or /dir/file=secret-id:version{got(entry)}"
    if "=" in source:
        return f'secrets: an environment variable name cannot contain "="{got(entry)}'
    if not (
        re.fullmatch("[A-Za-z0-9_-]{1,255}", secret_id)
        or re.fullmatch(
            "projects/([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)/secrets/[A-Za-z0-9_-]{1,255}", secret_id
        )
    ):
        return (
            "secrets: the secret id must be 1-255 letters, digits, _ and -, "
            f"or projects/PROJECT/secrets/ID{got(entry)}"
        )
    if not (version == "latest" or re.fullmatch("[1-9][0-9]*", version)):
        return f"secrets: the version must be latest or a positive number{got(entry)}"
    if target.startswith("/"):
        directory = target.rpartition("/")[0] or "/"
        if (
            not re.fullmatch(r"(/[A-Za-z0-9_.-]+){2,}", target)
            or "/./" in target + "/"
            or "/../" in target + "/"
        ):
            return (
                "secrets: a mount path must be a file in a directory, such as "
                f"/etc/secrets/api_key{got(entry)}"
            )
        if directory in SYSTEM_DIRS:
            return (
                "secrets: a mount path needs a directory of its own, such as /etc/secrets, "
                f"not {directory}{got(entry)}"
            )
        if target in paths:
            return f"secrets: one secret per mount path, and {target} has two{got(entry)}"
        if dirs.get(directory, secret_id) != secret_id:
            return (
                "secrets: files of one directory must come from one secret, "
                f"and {directory} mounts two{got(entry)}"
            )
        paths.add(target)
        dirs[directory] = secret_id
        return ""
    if not re.fullmatch("[A-Za-z_][A-Za-z0-9_]*", target):
        return (
            "secrets: an environment variable name must be letters, digits and underscores, "
            f"not starting with a digit{got(entry)}"
        )
    if target in RESERVED_NAMES or target.startswith("X_GOOGLE_"):
        return (
            f"secrets: {target} is reserved (by Cloud Run or by the env files: "
            f"{', '.join(RESERVED_NAMES)}, X_GOOGLE_*){got(entry)}"
        )
    if target in names:
        return f"secrets: {target} is set twice{got(entry)}"
    names.add(target)
    return ""


def secrets_error(value: Any) -> str:
    if not isinstance(value, list):
        return f"secrets: must be a list such as [API_KEY=api-key:latest]{got(value)}"
    names: set[str] = set()
    paths: set[str] = set()
    dirs: dict[str, str] = {}
    for entry in value:
        error = _secret_error(entry, names, paths, dirs)
        if error:
            return error
    return ""


def roles_error(value: Any) -> str:
    """Project roles for a function's identity: predefined or custom, never the basic ones."""
    for role in value if isinstance(value, list) else [value]:
        if not isinstance(role, str) or not re.fullmatch(
            r"roles/[A-Za-z0-9_.]+|projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/roles/[A-Za-z0-9_.]+", role
        ):
            return f"roles: each must be a role such as roles/bigquery.dataEditor{got(role)}"
        if role in ("roles/owner", "roles/editor", "roles/viewer"):
            return f"roles: {role} is a basic role that grants far too much; name a predefined role{got(role)}"
    return ""


def connector_error(value: str) -> str:
    if not re.fullmatch(
        r"(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z0-9-]+/connectors/)?"
        r"[a-z][-a-z0-9]{0,23}[a-z0-9]",
        value,
    ):
        return (
            "vpc_connector: must be a connector name of 2-25 lower-case letters, digits and "
            f"hyphens, or projects/PROJECT/locations/REGION/connectors/NAME{got(value)}"
        )
    return ""


def network_error(value: str, key: str) -> str:
    if not re.fullmatch(
        r"(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/(global/networks|regions/[a-z0-9-]+/subnetworks)/)?"
        r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?",
        value,
    ):
        return (
            f"{key}: must be a name of 1-63 lower-case letters, digits and hyphens, "
            f"or its full resource path{got(value)}"
        )
    return ""


def choice_error(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        return f"{key}: must be one of {', '.join(choices)}{got(value)}"
    return ""


def type_error(value: Any, key: str, kind: type | tuple[type, ...]) -> str:
    """A value of the wrong YAML type (bool is not a number here)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
        return ""
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    wanted = " or ".join(
        names.get(k, f"a {k.__name__}") for k in kinds if not (k is int and float in kinds)
    )
    return f"{key}: must be {wanted}{got(value)}"


BILLING_ACCOUNT = re.compile(r"[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}")


def warm_instances_error(min_instances: int, environments: list[str]) -> str:
    """Instances are kept warm in production only: elsewhere they cost money for nothing."""
    if min_instances > 0 and "production" not in environments:
        return (
            "min_instances: instances are kept warm in production only, and environments "
            f"has no production: use 0{got(min_instances)}"
        )
    return ""


def billing_account_error(value: Any) -> str:
    if value and not (isinstance(value, str) and BILLING_ACCOUNT.fullmatch(value)):
        return (
            "billing_account: must be empty or a billing account id XXXXXX-XXXXXX-XXXXXX "
            f"of upper-case hexadecimal digits{got(value)}"
        )
    return ""


def monthly_budget_error(value: Any, billing_account: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return f"monthly_budget: must be a whole amount of 0 or more (0: no budget){got(value)}"
    if value > 0 and not billing_account:
        return (
            "monthly_budget: a budget needs billing_account, the account that pays for "
            f"the project{got(value)}"
        )
    return ""


# Cloud SQL for PostgreSQL: what a function needs to reach its database.
DATABASES = ("none", "cloudsql_postgres")
DATABASE_AUTH = ("iam", "password")
DATABASE_IPS = ("public", "private")
# Connections a pool may open above its size (database.py's MAX_OVERFLOW): pool_size is
# the function's concurrency, so this is headroom, not capacity.
POOL_OVERFLOW = 2
# The max_connections of a Cloud SQL for PostgreSQL instance with 3.75 GB up to 6 GB of
# memory (such as db-custom-1-3840), from Google's "Cloud SQL quotas and limits" page;
# the instance's `max_connections` flag overrides it.
DEFAULT_MAX_CONNECTIONS = 100
POSTGRES_NAME = re.compile("[a-z_][a-z0-9_]{0,62}")
CLOUDSQL_INSTANCE = re.compile(
    r"(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9]):(?P<region>[a-z]+-[a-z]+[0-9]+)"
    r":(?P<instance>[a-z](?:[-a-z0-9]*[a-z0-9])?)"
)


def cloudsql_instance_error(value: str) -> str:
    match = CLOUDSQL_INSTANCE.fullmatch(str(value))
    if not match:
        return (
            "cloudsql_instance: must be the instance connection name PROJECT:REGION:INSTANCE, "
            "such as my-project:us-central1:orders-db (a project id, a region, and an instance "
            f"id of lower-case letters, digits and hyphens starting with a letter){got(value)}"
        )
    if len(match["project"]) + 1 + len(match["instance"]) > 98:
        return (
            "cloudsql_instance: PROJECT:INSTANCE must be at most 98 characters, "
            f"as Cloud SQL requires{got(value)}"
        )
    return ""


def database_name_error(value: str, key: str = "database_name") -> str:
    if not POSTGRES_NAME.fullmatch(str(value)) or str(value).startswith("pg_"):
        return (
            f"{key}: must be 1-63 lower-case letters, digits and underscores, starting with "
            f"a letter or underscore and not with pg_ (a PostgreSQL name that needs no quotes){got(value)}"
        )
    return ""


def database_user_error(value: str, auth: str, service_account: str) -> str:
    if auth == "iam":
        user = service_account.removesuffix(".gserviceaccount.com")
        if value != user:
            return (
                "database_user: with database_auth iam the user is the function's service "
                f"account without .gserviceaccount.com, {user}{got(value)}"
            )
        return ""
    return database_name_error(value, "database_user")


def database_ip_error(value: str, vpc: str) -> str:
    if value == "private" and vpc == "none":
        return (
            "database_ip: a private IP is reached through a VPC network, and vpc is none: "
            f"set vpc to connector or direct, or use database_ip public{got(value)}"
        )
    return ""


def database_pool_error(max_connections: Any, max_instances: int, concurrency: int) -> str:
    """Every instance's pool at once must fit in the database's max_connections."""
    if not isinstance(max_connections, int) or isinstance(max_connections, bool):
        return f"max_connections: must be a whole number{got(max_connections)}"
    if not 14 <= max_connections <= 262143:
        return f"max_connections: must be 14 to 262143, as PostgreSQL allows{got(max_connections)}"
    per_instance = concurrency + POOL_OVERFLOW
    if max_instances * per_instance > max_connections:
        fits = max_connections // per_instance
        return (
            f"max_connections: max_instances ({max_instances}) x (pool_size {concurrency} + "
            f"max_overflow {POOL_OVERFLOW}) = {max_instances * per_instance} connections exceed "
            f"the Cloud SQL for PostgreSQL instance's max_connections ({max_connections}): "
            f"{'set max_instances to at most ' + str(fits) if fits else 'lower concurrency'}, "
            f"lower concurrency (pool_size is the concurrency), or raise max_connections{got(max_connections)}"
        )
    return ""
