"""Values derived from a repo's answers: names of accounts and deployments, per environment.

The questionnaire proposes them as defaults and the repo's commands derive them the same way.
"""

from __future__ import annotations

PRODUCTION = "production"


def account_id_base(function_name: str) -> str:
    """The prefix of the repo's service account ids, which are 6-30 characters: the function
    name, cut to leave room for a suffix such as -deployer."""
    name = function_name if len(function_name) >= 3 else f"{function_name}-fn"
    return name[:20].rstrip("-")


def service_account(function_name: str, project: str, role: str = "sa") -> str:
    """The email of one of the repo's service accounts: `sa` (the runtime identity),
    `trigger` (who delivers events) or `deployer` (who deploys, from CI)."""
    return f"{account_id_base(function_name)}-{role}@{project}.iam.gserviceaccount.com"


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
