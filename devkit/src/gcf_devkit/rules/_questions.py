"""gcf-template's questions: each one's rule and default, from the answers given before it.

The questionnaire (copier.yml, through the template's Jinja extension) and `gcf check` (each
function of functions.yaml, as the answers of a single function) call the same functions, so
they give the same verdict on the same value. `answers` maps question keys to values; a
function's check passes its settings over the repo's answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ._access import connector_error, network_error, secrets_error
from ._billing import billing_account_error, monthly_budget_error
from ._common import got
from ._cron import cron_error, time_zone_error
from ._database import (
    DEFAULT_MAX_CONNECTIONS,
    cloudsql_instance_error,
    database_ip_error,
    database_name_error,
    database_pool_error,
    database_user_error,
    default_max_instances,
    iam_database_user,
    max_connections_error,
)
from ._defaults import service_account, short_name
from ._names import (
    bucket_error,
    description_error,
    entry_point_error,
    environments_error,
    function_name_error,
    project_id_error,
    project_name_error,
    region_error,
    repository_error,
    service_account_error,
    suffix_room,
    topic_error,
)
from ._resources import (
    WORKLOAD_CONCURRENCY,
    WORKLOAD_MEMORY,
    concurrency_error,
    cpu_error,
    default_cpu,
    max_instances_error,
    memory_error,
    min_instances_error,
    timeout_error,
)
from ._style import function_style_error, style_concurrency_error
from ._triggers import (
    audit_method_error,
    audit_service_error,
    default_trigger_location,
    deploy_api_error,
    firestore_database_error,
    firestore_document_error,
    retry_default,
    trigger_location_error,
)

Answers = Mapping[str, Any]


def pipeline(a: Answers) -> bool:
    return bool(a.get("preset", "single") == "pipeline")


def trigger(a: Answers) -> str:
    """The trigger of the repo's first function: the pipeline's starts from a Cloud Storage upload."""
    return "storage" if pipeline(a) else str(a.get("trigger_type", "http"))


def http(a: Answers) -> bool:
    return trigger(a) == "http"


def has_database(a: Answers) -> bool:
    return not pipeline(a) and a.get("database") == "cloudsql_postgres"


def _owned_topic_error(value: Any, key: str, a: Answers) -> str:
    """A topic the repo creates, which takes a -<environment> suffix outside production."""
    return topic_error(value, key, 255 - suffix_room(list(a.get("environments") or [])))


def _pubsub_topic_error(a: Answers) -> str:
    owned = a.get("trigger_type") == "scheduler" or bool(a.get("dead_letter_topic"))
    if owned:
        return _owned_topic_error(a["pubsub_topic"], "pubsub_topic", a)
    return topic_error(a["pubsub_topic"])


def _summary_topic_error(a: Answers) -> str:
    error = _owned_topic_error(a["summary_topic"], "summary_topic", a)
    if not error and a["summary_topic"] == a.get("records_topic"):
        return f"summary_topic: must differ from records_topic{got(a['summary_topic'])}"
    return error


def _max_instances_error(a: Answers) -> str:
    error = max_instances_error(a["max_instances"], a.get("min_instances", 0))
    if error or not has_database(a):
        return error
    return database_pool_error(a["max_connections"], a["max_instances"], a["concurrency"])


CHECKS: dict[str, Callable[[Answers], str]] = {
    "project_name": lambda a: project_name_error(a["project_name"]),
    "function_name": lambda a: function_name_error(a["function_name"]),
    "entry_point": lambda a: entry_point_error(a["entry_point"]),
    "description": lambda a: description_error(a["description"]),
    "gcp_project_id": lambda a: project_id_error(a["gcp_project_id"]),
    "region": lambda a: region_error(a["region"]),
    "environments": lambda a: environments_error(
        a["environments"], str(a.get("function_name", ""))
    ),
    "pubsub_topic": _pubsub_topic_error,
    "records_topic": lambda a: _owned_topic_error(a["records_topic"], "records_topic", a),
    "summary_topic": _summary_topic_error,
    "storage_bucket": lambda a: bucket_error(a["storage_bucket"]),
    "firestore_database": lambda a: firestore_database_error(a["firestore_database"]),
    "firestore_document": lambda a: firestore_document_error(a["firestore_document"]),
    "audit_service_name": lambda a: audit_service_error(a["audit_service_name"]),
    "audit_method_name": lambda a: audit_method_error(a["audit_method_name"]),
    "schedule": lambda a: cron_error(a["schedule"]),
    "schedule_time_zone": lambda a: time_zone_error(a["schedule_time_zone"]),
    "retry_on_failure": lambda a: deploy_api_error(
        a.get("deploy_api", "functions"), trigger(a), bool(a["retry_on_failure"])
    ),
    "trigger_location": lambda a: trigger_location_error(a["trigger_location"], trigger(a)),
    "memory": lambda a: memory_error(a["memory"]),
    "cpu": lambda a: cpu_error(a["cpu"], a["memory"]),
    "function_style": lambda a: function_style_error(a["function_style"]),
    "concurrency": lambda a: (
        concurrency_error(a["concurrency"], a["cpu"], a["memory"])
        or style_concurrency_error(str(a.get("function_style", "sync")), a["concurrency"])
    ),
    "timeout": lambda a: timeout_error(a["timeout"], http(a)),
    "min_instances": lambda a: min_instances_error(
        a["min_instances"], list(a.get("environments") or ["production"])
    ),
    "service_account": lambda a: service_account_error(a["service_account"], "service_account"),
    "trigger_service_account": lambda a: service_account_error(
        a["trigger_service_account"], "trigger_service_account"
    ),
    "secrets": lambda a: secrets_error(a["secrets"]),
    "vpc_connector": lambda a: connector_error(a["vpc_connector"]),
    "vpc_network": lambda a: network_error(a["vpc_network"], "vpc_network"),
    "vpc_subnet": lambda a: network_error(a["vpc_subnet"], "vpc_subnet"),
    "cloudsql_instance": lambda a: cloudsql_instance_error(a["cloudsql_instance"]),
    "database_name": lambda a: database_name_error(a["database_name"]),
    "database_user": lambda a: database_user_error(
        a["database_user"], a["database_auth"], a["service_account"]
    ),
    "database_ip": lambda a: database_ip_error(a["database_ip"], a.get("vpc", "none")),
    "max_connections": lambda a: max_connections_error(
        a["max_connections"], a["concurrency"], a.get("min_instances", 0)
    ),
    "max_instances": _max_instances_error,
    "billing_account": lambda a: billing_account_error(a["billing_account"]),
    "monthly_budget": lambda a: monthly_budget_error(a["monthly_budget"], a.get("billing_account")),
    "repository": lambda a: repository_error(a["repository"], str(a.get("ci_provider"))),
}


def question_error(key: str, answers: Answers) -> str:
    """The verdict on answers[key] given the other answers: "" or one line naming the key."""
    check = CHECKS.get(key)
    return check(answers) if check else ""


def _function_name(a: Answers) -> str:
    name = re.sub("[^a-z0-9]+", "-", str(a.get("project_name", "")).lower())
    return re.sub("^[^a-z]+|-+$", "", name) or "my-function"


def _database_name(a: Answers) -> str:
    name = str(a["function_name"]).replace("-", "_")
    return re.sub("^[^a-z_]+|^pg_", "", name) or "app"


def _database_user(a: Answers) -> str:
    if a.get("database_auth", "iam") == "iam":
        return iam_database_user(str(a["service_account"]))
    return "app"


def _max_instances(a: Answers) -> int:
    if has_database(a):
        return default_max_instances(a["max_connections"], a["concurrency"])
    return 100


# Defaults that depend on nothing: the questionnaire's and `gcf check`'s, for a function that
# leaves them out and whose repo has no answer for them.
CONSTANT_DEFAULTS: dict[str, Any] = {
    "trigger_type": "http",
    "allow_unauthenticated": False,
    "storage_event": "finalized",
    "firestore_database": "(default)",
    "firestore_event": "written",
    "schedule_time_zone": "Etc/UTC",
    "secrets": [],
    "vpc": "none",
    "vpc_egress": "private-ranges-only",
    "database": "none",
    "database_auth": "iam",
    "function_style": "sync",
}


def _constant(value: Any) -> Callable[[Answers], Any]:
    return lambda a: value


DEFAULTS: dict[str, Callable[[Answers], Any]] = {
    **{key: _constant(value) for key, value in CONSTANT_DEFAULTS.items()},
    "function_name": _function_name,
    # A repo made before the question deploys as it did (the 2.0.0 migration records it).
    "deploy_api": lambda a: "run",
    "retry_on_failure": lambda a: retry_default(str(a.get("deploy_api", "functions")), trigger(a)),
    "entry_point": lambda a: str(a["function_name"]).replace("-", "_")[:48].rstrip("_"),
    "description": lambda a: f"{a['project_name']}, a Cloud Function (2nd gen).",
    "pubsub_topic": lambda a: (
        f"{a['function_name']}-{'ticks' if a.get('trigger_type') == 'scheduler' else 'topic'}"
    ),
    "storage_bucket": lambda a: f"{a['gcp_project_id']}-uploads",
    "trigger_location": lambda a: default_trigger_location(trigger(a), str(a["region"])),
    "memory": lambda a: WORKLOAD_MEMORY[a["workload"]],
    "cpu": lambda a: default_cpu(a["memory"], a["workload"]),
    "concurrency": lambda a: WORKLOAD_CONCURRENCY[a["workload"]],
    "service_account": lambda a: service_account(a["function_name"], a["gcp_project_id"], "sa"),
    "trigger_service_account": lambda a: service_account(
        a["function_name"], a["gcp_project_id"], "trg"
    ),
    "ingress_settings": lambda a: "all" if http(a) else "internal-only",
    "vpc_connector": lambda a: f"{str(a['function_name'])[:20].rstrip('-')}-vpc",
    "cloudsql_instance": lambda a: (
        f"{a['gcp_project_id']}:{a['region']}:{short_name(a['function_name'])}-db"
    ),
    "database_name": _database_name,
    "database_user": _database_user,
    "database_ip": lambda a: "public" if a.get("vpc", "none") == "none" else "private",
    "max_connections": lambda a: DEFAULT_MAX_CONNECTIONS,
    "max_instances": _max_instances,
}


def question_default(key: str, answers: Answers) -> Any:
    """The default of a question: a constant, or derived from earlier answers."""
    value = DEFAULTS[key](answers)
    return list(value) if isinstance(value, list) else value


def database_password_secret(a: Answers) -> str:
    """The database password's entry in the function's secrets ("" without one)."""
    if has_database(a) and a.get("database_auth") == "password":
        return f"DB_PASSWORD={short_name(a['function_name'])}-db-password:latest"
    return ""
