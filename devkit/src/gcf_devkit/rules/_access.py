"""What a function may reach: secrets, project roles, VPC networks, environment variables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ._common import got

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
    "WORKERS",
    "CONCURRENCY",
)
# Names Cloud Run sets itself: an env file may not set them either.
PLATFORM_NAMES = (
    "FUNCTION_TARGET",
    "FUNCTION_SIGNATURE_TYPE",
    "K_SERVICE",
    "K_REVISION",
    "K_CONFIGURATION",
    "PORT",
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
ENV_NAME = re.compile("[A-Za-z_][A-Za-z0-9_]*")
INGRESS_SETTINGS = ("all", "internal-only", "internal-and-gclb")
VPC_KINDS = ("none", "connector", "direct")
VPC_EGRESS = ("private-ranges-only", "all")
BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")


def reserved(name: str) -> bool:
    return name in RESERVED_NAMES or name.startswith("X_GOOGLE_")


def env_name_error(name: Any, key: str) -> str:
    """A variable an env file sets: a name the platform lets the function have."""
    if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
        return (
            f"{key}: a variable name must be letters, digits and underscores, not starting "
            f"with a digit{got(name)}"
        )
    if name in PLATFORM_NAMES or name.startswith("X_GOOGLE_"):
        return (
            f"{key}: {name} is set by Cloud Run itself ({', '.join(PLATFORM_NAMES)}, X_GOOGLE_*)"
            f"{got(name)}"
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
    if not ENV_NAME.fullmatch(target):
        return (
            "secrets: an environment variable name must be letters, digits and underscores, "
            f"not starting with a digit{got(entry)}"
        )
    if reserved(target):
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


def secret_parts(entry: str) -> tuple[str, str, str, str]:
    """An entry NAME=secret:version (or /dir/file=...): its target, project ("" for the
    function's own), secret id and version."""
    target, _, source = entry.partition("=")
    path, _, version = source.rpartition(":")
    project, _, secret = path.removeprefix("projects/").rpartition("/secrets/")
    return target, project, secret or path, version


# Roles that let an identity grant itself more, or act as another identity: never a
# function's (`gcf check` and `gcf setup` refuse them, naming the role).
ESCALATION_ROLES = frozenset(
    {
        "roles/cloudbuild.builds.editor",
        "roles/cloudfunctions.admin",
        "roles/deploymentmanager.editor",
        "roles/iam.organizationRoleAdmin",
        "roles/iam.roleAdmin",
        "roles/iam.securityAdmin",
        "roles/iam.serviceAccountAdmin",
        "roles/iam.serviceAccountKeyAdmin",
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.workloadIdentityPoolAdmin",
        "roles/iam.workloadIdentityUser",
        "roles/resourcemanager.folderIamAdmin",
        "roles/resourcemanager.organizationAdmin",
        "roles/resourcemanager.projectIamAdmin",
        "roles/run.admin",
        "roles/secretmanager.admin",
        "roles/storage.admin",
    }
)
# What a role can be granted on instead of the whole project: the key in functions.yaml, and
# the resource it names.
ROLE_SCOPES = {
    "bucket": "a Cloud Storage bucket",
    "topic": "a Pub/Sub topic of the repo (its id without the environment's suffix)",
    "dataset": "a BigQuery dataset",
    "secret": "a Secret Manager secret",
}
ROLE = re.compile(
    r"roles/[A-Za-z0-9_.]+|projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/roles/[A-Za-z0-9_.]+"
)


class Grant(NamedTuple):
    """A role of a function's identity, on the project (`scope` "") or on one resource."""

    role: str
    scope: str = ""
    resource: str = ""


def grant(entry: Any) -> Grant:
    """An entry of `roles` (checked by roles_error): `roles/x.y`, or {role: roles/x.y, bucket: b}."""
    if isinstance(entry, str):
        return Grant(entry)
    scope = next(k for k in entry if k != "role")
    return Grant(str(entry["role"]), scope, str(entry[scope]))


def _role_error(role: Any, entry: Any) -> str:
    if not isinstance(role, str) or not ROLE.fullmatch(role):
        return f"roles: each must be a role such as roles/bigquery.dataEditor{got(entry)}"
    if role in BASIC_ROLES:
        return f"roles: {role} is a basic role that grants far too much; name a predefined role{got(entry)}"
    if role in ESCALATION_ROLES:
        return (
            f"roles: {role} lets the function grant itself more or act as another identity; "
            f"name a role for what it does{got(entry)}"
        )
    return ""


def _scope_error(entry: Mapping[Any, Any]) -> str:
    scopes = [k for k in entry if k != "role"]
    if "role" not in entry or len(scopes) != 1 or scopes[0] not in ROLE_SCOPES:
        keys = ", ".join(ROLE_SCOPES)
        return (
            f"roles: a role on one resource is {{role: ROLE, KIND: NAME}} with KIND one of "
            f"{keys}{got(entry)}"
        )
    name = entry[scopes[0]]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}", name):
        return f"roles: {scopes[0]} must be the name of {ROLE_SCOPES[scopes[0]]}{got(entry)}"
    return ""


def roles_error(value: Any) -> str:
    """Roles for a function's identity: predefined or custom, on the project or on one
    resource; never a basic role or one that escalates."""
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, Mapping):
            error = _scope_error(entry) or _role_error(entry.get("role"), entry)
        else:
            error = _role_error(entry, entry)
        if error:
            return error
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
