"""Values derived from a repo's answers: names of accounts and deployments, per environment.

The questionnaire proposes them as defaults and the repo's commands derive them the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

PRODUCTION = "production"


# How each environment's deployer is named (service account ids have at most 30 characters).
ENVIRONMENT_TAGS = {"dev": "dev", "staging": "stg", "production": "prd"}


def repo_hash(*names: str) -> str:
    """Four hex digits that tell repos (and their functions) apart when names are cut."""
    return hashlib.sha256("/".join(names).encode()).hexdigest()[:4]


def account_id(function_name: str, role: str, function: str = "") -> str:
    """A service account id of the repo (6-30 characters): its name, cut to leave room, a
    hash of the full name (and of the function's, for a function's own identity), the role."""
    digest = repo_hash(function_name, function) if function else repo_hash(function_name)
    prefix = function_name[: 30 - len(digest) - len(role) - 2].rstrip("-")
    return f"{prefix}-{digest}-{role}"


def service_account(function_name: str, project: str, role: str = "sa") -> str:
    """The email of one of the repo's service accounts: `sa` (the runtime identity) or `trg`
    (who delivers events)."""
    return f"{account_id(function_name, role)}@{project}.iam.gserviceaccount.com"


def function_account(function_name: str, project: str, function: str) -> str:
    """The runtime identity of one function of a repo of several."""
    tag = function[:8].rstrip("-")
    return f"{account_id(function_name, tag, function)}@{project}.iam.gserviceaccount.com"


def deployer(function_name: str, project: str, environment: str) -> str:
    """Who deploys to one environment (from CI, and `gcf deploy` for who may act as it)."""
    tag = ENVIRONMENT_TAGS.get(environment, environment[:3])
    return service_account(function_name, project, f"dep-{tag}")


def provider_id(function_name: str) -> str:
    """The repo's workload identity provider id: 4-32 lower-case letters, digits and hyphens,
    never the reserved gcp- prefix."""
    digest = repo_hash(function_name)
    lead = "ci-" if function_name.startswith("gcp-") else ""
    prefix = function_name[: 32 - len(lead) - len(digest) - 1].rstrip("-")
    return f"{lead}{prefix}-{digest}"


def state_bucket(answers: Mapping[str, Any]) -> str:
    """Where the pipeline keeps what it has done: a bucket of its own beside the upload
    bucket (never the bucket whose uploads trigger it)."""
    return f"{str(answers['storage_bucket'])[:57].rstrip('-_.')}-state"


def short_name(function_name: str) -> str:
    """The function name cut to 40 characters, for names with a suffix of their own."""
    return function_name[:40].rstrip("-")


def deployed_name(name: str, environment: str) -> str:
    """A function's or a topic's name in an environment: <name>-<environment> outside production."""
    return name if environment == PRODUCTION else f"{name}-{environment}"


def ci_environments(environments: list[str]) -> list[str]:
    """The environments CI deploys: the first that is not production (from the default branch),
    and production (from version tags)."""
    others = [e for e in environments if e != PRODUCTION]
    return others[:1] + ([PRODUCTION] if PRODUCTION in environments else [])


def python_version(runtime: str) -> str:
    """python313 -> 3.13"""
    return f"{runtime[6]}.{runtime[7:]}"
