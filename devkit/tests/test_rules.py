"""gcf_devkit.rules: the platform's rules, each verdict exact at its boundaries.

Every public `*_error` function returns "" for a valid value, and for an invalid one a
line that starts with the key ("cpu: ...") and, where the rule shows the value, ends with
` (got <the value in JSON>)`. One table holds the verdicts of every rule; a test checks
that the table accepts and refuses something for each rule of `__all__`. Then the cron
matcher and the values derived from the answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from gcf_devkit import rules

# A refusal whose message ends with no ` (got ...)`.
NO_GOT = object()
# The value of a refusal's ` (got ...)` when it is the rule's first argument.
FIRST = object()

SA = "runner@my-project-id.iam.gserviceaccount.com"
BILLING = "01ABCD-23EF45-6789AB"
CPU_TYPES = (str, int, float)


def got(value: Any) -> str:
    return f" (got {json.dumps(value, ensure_ascii=False)})"


def _id(rule: Callable[..., str], args: tuple[Any, ...]) -> str:
    text = ", ".join(repr(a) if len(repr(a)) <= 24 else f"<{len(str(a))} chars>" for a in args)
    return f"{rule.__name__}({text})"


def ok(rule: Callable[..., str], *args: Any) -> Any:
    """A case the rule accepts."""
    return pytest.param(rule, args, None, None, id=_id(rule, args) + "-ok")


def bad(rule: Callable[..., str], *args: Any, key: str, value: Any = FIRST) -> Any:
    """A case the rule refuses, its message starting with `key: ` and ending with got(value)."""
    return pytest.param(rule, args, key, value, id=_id(rule, args) + "-refused")


r = rules
CASES = [
    # -- choices and YAML types
    ok(r.choice_error, "a", "kind", ("a", "b")),
    bad(r.choice_error, "c", "kind", ("a", "b"), key="kind"),
    ok(r.type_error, 80, "concurrency", int),
    bad(r.type_error, "80", "concurrency", int, key="concurrency"),
    bad(r.type_error, True, "concurrency", int, key="concurrency"),
    bad(r.type_error, 80.0, "concurrency", int, key="concurrency"),
    ok(r.type_error, True, "allow_unauthenticated", bool),
    ok(r.type_error, False, "allow_unauthenticated", bool),
    bad(r.type_error, "yes", "allow_unauthenticated", bool, key="allow_unauthenticated"),
    bad(r.type_error, 1, "allow_unauthenticated", bool, key="allow_unauthenticated"),
    ok(r.type_error, "1", "cpu", CPU_TYPES),
    ok(r.type_error, 1, "cpu", CPU_TYPES),
    ok(r.type_error, 0.5, "cpu", CPU_TYPES),
    bad(r.type_error, True, "cpu", CPU_TYPES, key="cpu"),
    ok(r.type_error, [], "secrets", list),
    bad(r.type_error, "API_KEY=api-key:1", "secrets", list, key="secrets"),
    ok(r.type_error, {}, "publishes", dict),
    bad(r.type_error, ["records"], "publishes", dict, key="publishes"),
    # -- memory and cpu: the limits of MEMORY_MI, MAX_MEMORY_MI and MIN_MEMORY_MI
    *[ok(r.memory_error, memory) for memory in r.MEMORY_MI],
    bad(r.memory_error, "512MB", key="memory"),
    bad(r.memory_error, "3Gi", key="memory"),
    bad(r.memory_error, "", key="memory"),
    ok(r.cpu_error, "0.08", "128Mi"),
    ok(r.cpu_error, "0.083", "128Mi"),
    ok(r.cpu_error, "0.499", "512Mi"),
    ok(r.cpu_error, "0.5", "1Gi"),
    ok(r.cpu_error, 0.5, "1Gi"),
    ok(r.cpu_error, "0.999", "1Gi"),
    ok(r.cpu_error, "1", "128Mi"),
    ok(r.cpu_error, 1, "512Mi"),
    ok(r.cpu_error, "1.0", "2Gi"),
    ok(r.cpu_error, "1", "4Gi"),
    ok(r.cpu_error, "2", "128Mi"),
    ok(r.cpu_error, "2", "8Gi"),
    ok(r.cpu_error, "4", "2Gi"),
    ok(r.cpu_error, "4", "16Gi"),
    ok(r.cpu_error, "6", "4Gi"),
    ok(r.cpu_error, "6", "16Gi"),
    ok(r.cpu_error, "8", "4Gi"),
    ok(r.cpu_error, "8", "32Gi"),
    bad(r.cpu_error, "0.079", "128Mi", key="cpu"),
    bad(r.cpu_error, "0.07", "128Mi", key="cpu"),
    bad(r.cpu_error, "0", "128Mi", key="cpu"),
    bad(r.cpu_error, "0.0834", "128Mi", key="cpu"),
    bad(r.cpu_error, "-1", "512Mi", key="cpu"),
    bad(r.cpu_error, "one", "512Mi", key="cpu"),
    bad(r.cpu_error, "1.5", "2Gi", key="cpu"),
    bad(r.cpu_error, "2.0", "2Gi", key="cpu"),
    bad(r.cpu_error, "3", "2Gi", key="cpu"),
    bad(r.cpu_error, "10", "32Gi", key="cpu"),
    bad(r.cpu_error, "0.499", "1Gi", key="cpu"),
    bad(r.cpu_error, "0.999", "2Gi", key="cpu"),
    bad(r.cpu_error, "1", "8Gi", key="cpu"),
    bad(r.cpu_error, "2", "16Gi", key="cpu"),
    bad(r.cpu_error, "4", "32Gi", key="cpu"),
    bad(r.cpu_error, "6", "32Gi", key="cpu"),
    bad(r.cpu_error, "4", "1Gi", key="cpu"),
    bad(r.cpu_error, "6", "2Gi", key="cpu"),
    bad(r.cpu_error, "8", "2Gi", key="cpu"),
    bad(r.cpu_error, 0.07, "128Mi", key="cpu", value="0.07"),
    bad(r.cpu_error, True, "1Gi", key="cpu", value="True"),
    # -- concurrency above 1 needs 1 vCPU or more
    ok(r.concurrency_error, 1, "0.5", "512Mi"),
    ok(r.concurrency_error, 2, "1", "512Mi"),
    ok(r.concurrency_error, 2, 1, "512Mi"),
    ok(r.concurrency_error, 1000, "1", "512Mi"),
    ok(r.concurrency_error, 2, "2", "2Gi"),
    bad(r.concurrency_error, 2, "0.999", "1Gi", key="concurrency"),
    bad(r.concurrency_error, 80, "0.5", "1Gi", key="concurrency"),
    bad(r.concurrency_error, 0, "1", "512Mi", key="concurrency"),
    # -- sync or async: one event loop's concurrency, functions-framework with aio
    ok(r.function_style_error, "sync"),
    ok(r.function_style_error, "async"),
    bad(r.function_style_error, "Async", key="function_style"),
    bad(r.function_style_error, "", key="function_style"),
    ok(r.style_concurrency_error, "async", 1),
    ok(r.style_concurrency_error, "async", 500),
    bad(r.style_concurrency_error, "async", 501, key="concurrency", value=501),
    ok(r.style_concurrency_error, "sync", 1000),
    ok(r.style_concurrency_error, "Async", 1000),
    ok(r.aio_pin_error, "3.9"),
    ok(r.aio_pin_error, "3.10.2"),
    ok(r.aio_pin_error, "4.0.0"),
    bad(r.aio_pin_error, "3.8.1", key="function_style"),
    bad(r.aio_pin_error, "3", key="function_style"),
    bad(r.aio_pin_error, "", key="function_style", value="no version"),
    bad(r.concurrency_error, 1001, "1", "512Mi", key="concurrency"),
    # -- timeouts: 540 s for events, 3600 s for HTTP
    ok(r.timeout_error, 1, True),
    ok(r.timeout_error, 3600, True),
    ok(r.timeout_error, 1, False),
    ok(r.timeout_error, 540, False),
    bad(r.timeout_error, 0, True, key="timeout"),
    bad(r.timeout_error, 3601, True, key="timeout"),
    bad(r.timeout_error, 0, False, key="timeout"),
    bad(r.timeout_error, 541, False, key="timeout"),
    # -- instances: warm ones in production only
    ok(r.min_instances_error, 0, ["dev"]),
    ok(r.min_instances_error, 0, ["dev", "production"]),
    ok(r.min_instances_error, 1, ["dev", "production"]),
    ok(r.min_instances_error, 1000, ["production"]),
    bad(r.min_instances_error, 1, ["dev", "staging"], key="min_instances"),
    bad(r.min_instances_error, -1, ["production"], key="min_instances"),
    bad(r.min_instances_error, 1001, ["production"], key="min_instances"),
    ok(r.max_instances_error, 1, 0),
    ok(r.max_instances_error, 1000, 0),
    ok(r.max_instances_error, 5, 5),
    bad(r.max_instances_error, 0, 0, key="max_instances"),
    bad(r.max_instances_error, 1001, 0, key="max_instances"),
    bad(r.max_instances_error, 4, 5, key="max_instances"),
    # -- Pub/Sub delivery
    # -- the deploy route: known, and on the Cloud Run route events are always retried
    ok(r.deploy_api_error, "run"),
    ok(r.deploy_api_error, "functions", "storage", False),
    ok(r.deploy_api_error, "run", "storage", True),
    ok(r.deploy_api_error, "run", "http", False),
    bad(r.deploy_api_error, "cloudrun", key="deploy_api"),
    bad(r.deploy_api_error, "run", "pubsub", False, key="retry_on_failure", value=False),
    ok(r.max_delivery_attempts_error, 5),
    ok(r.max_delivery_attempts_error, 100),
    bad(r.max_delivery_attempts_error, 4, key="max_delivery_attempts"),
    bad(r.max_delivery_attempts_error, 101, key="max_delivery_attempts"),
    # -- databases: max_instances x (concurrency + 2) must fit max_connections
    ok(r.database_pool_error, 100, 10, 8),
    ok(r.database_pool_error, 100, 1, 98),
    bad(r.database_pool_error, 100, 11, 8, key="max_instances", value=11),
    bad(r.database_pool_error, 100, 1, 99, key="max_instances", value=1),
    ok(r.max_connections_error, 100, 98, 0),
    ok(r.max_connections_error, 100, 98, 1),
    ok(r.max_connections_error, 100, 48, 2),
    ok(r.max_connections_error, 14, 12, 0),
    ok(r.max_connections_error, 262143, 1, 0),
    bad(r.max_connections_error, 100, 99, 0, key="max_connections"),
    bad(r.max_connections_error, 100, 49, 2, key="max_connections"),
    bad(r.max_connections_error, 13, 1, 0, key="max_connections"),
    bad(r.max_connections_error, 262144, 1, 0, key="max_connections"),
    bad(r.max_connections_error, "100", 1, 0, key="max_connections"),
    bad(r.max_connections_error, True, 1, 0, key="max_connections"),
    ok(r.database_name_error, "app"),
    ok(r.database_name_error, "_app"),
    ok(r.database_name_error, "my_db2"),
    ok(r.database_name_error, "a" * 63),
    bad(r.database_name_error, "a" * 64, key="database_name"),
    bad(r.database_name_error, "App", key="database_name"),
    bad(r.database_name_error, "1db", key="database_name"),
    bad(r.database_name_error, "my-db", key="database_name"),
    bad(r.database_name_error, "pg_app", key="database_name"),
    bad(r.database_name_error, "", key="database_name"),
    bad(r.database_name_error, "my-user", "database_user", key="database_user"),
    ok(r.database_user_error, "runner@my-project-id.iam", "iam", SA),
    ok(r.database_user_error, "app_user", "password", SA),
    bad(r.database_user_error, SA, "iam", SA, key="database_user"),
    bad(r.database_user_error, "postgres@my-project-id.iam", "iam", SA, key="database_user"),
    bad(r.database_user_error, "app-user", "password", SA, key="database_user"),
    ok(r.database_ip_error, "public", "none"),
    ok(r.database_ip_error, "private", "connector"),
    ok(r.database_ip_error, "private", "direct"),
    bad(r.database_ip_error, "private", "none", key="database_ip"),
    ok(r.cloudsql_instance_error, "my-project-id:us-central1:orders-db"),
    ok(r.cloudsql_instance_error, "my-project-id:europe-west1:a"),
    ok(r.cloudsql_instance_error, "my-project-id:us-central1:" + "d" * 84),
    bad(
        r.cloudsql_instance_error, "my-project-id:us-central1:" + "d" * 85, key="cloudsql_instance"
    ),
    bad(r.cloudsql_instance_error, "orders-db", key="cloudsql_instance"),
    bad(r.cloudsql_instance_error, "my-project-id:us-central1:Orders", key="cloudsql_instance"),
    bad(r.cloudsql_instance_error, "my-project-id:us-central1:db-", key="cloudsql_instance"),
    bad(r.cloudsql_instance_error, "my-project-id:orders-db", key="cloudsql_instance"),
    # -- billing
    ok(r.billing_account_error, ""),
    ok(r.billing_account_error, BILLING),
    bad(r.billing_account_error, BILLING.lower(), key="billing_account"),
    bad(r.billing_account_error, BILLING.replace("-", ""), key="billing_account"),
    bad(r.billing_account_error, BILLING + "C", key="billing_account"),
    ok(r.monthly_budget_error, 0, ""),
    ok(r.monthly_budget_error, 100, BILLING),
    bad(r.monthly_budget_error, 100, "", key="monthly_budget"),
    bad(r.monthly_budget_error, 1, "", key="monthly_budget"),
    bad(r.monthly_budget_error, -1, BILLING, key="monthly_budget"),
    bad(r.monthly_budget_error, "100", BILLING, key="monthly_budget"),
    bad(r.monthly_budget_error, True, BILLING, key="monthly_budget"),
    # -- names
    ok(r.project_name_error, "My Function"),
    ok(r.project_name_error, "x" * 80),
    bad(r.project_name_error, "x" * 81, key="project_name"),
    bad(r.project_name_error, 'My "Function"', key="project_name"),
    bad(r.project_name_error, "back\\slash", key="project_name"),
    bad(r.project_name_error, "two\nlines", key="project_name"),
    bad(r.project_name_error, "tab\there", key="project_name"),
    bad(r.project_name_error, "  ", key="project_name", value=NO_GOT),
    ok(r.description_error, "x" * 200),
    bad(r.description_error, "x" * 201, key="description"),
    bad(r.description_error, "line\u2028separator", key="description"),
    ok(r.function_name_error, "a"),
    ok(r.function_name_error, "my-function"),
    ok(r.function_name_error, "f2"),
    ok(r.function_name_error, "a" * 63),
    bad(r.function_name_error, "a" * 64, key="function_name"),
    bad(r.function_name_error, "My-function", key="function_name"),
    bad(r.function_name_error, "my_function", key="function_name"),
    bad(r.function_name_error, "1function", key="function_name"),
    bad(r.function_name_error, "function-", key="function_name"),
    bad(r.function_name_error, "my.function", key="function_name"),
    bad(r.function_name_error, "", key="function_name", value=NO_GOT),
    bad(r.function_name_error, "Worker", "name", key="name"),
    ok(r.entry_point_error, "my_function"),
    ok(r.entry_point_error, "_private"),
    ok(r.entry_point_error, "Handler2"),
    ok(r.entry_point_error, "a" * 48),
    bad(r.entry_point_error, "a" * 49, key="entry_point"),
    bad(r.entry_point_error, "my-function", key="entry_point"),
    bad(r.entry_point_error, "2fn", key="entry_point"),
    bad(r.entry_point_error, "class", key="entry_point"),
    bad(r.entry_point_error, "main", key="entry_point"),
    bad(r.entry_point_error, "logger", key="entry_point"),
    bad(r.entry_point_error, "functions_framework", key="entry_point"),
    ok(r.project_id_error, "my-project-id"),
    ok(r.project_id_error, "abcdef"),
    ok(r.project_id_error, "a" * 30),
    bad(r.project_id_error, "abcde", key="gcp_project_id"),
    bad(r.project_id_error, "a" * 31, key="gcp_project_id"),
    bad(r.project_id_error, "My-project", key="gcp_project_id"),
    bad(r.project_id_error, "1project", key="gcp_project_id"),
    bad(r.project_id_error, "project-", key="gcp_project_id"),
    bad(r.project_id_error, "my-google-project", key="gcp_project_id"),
    bad(r.project_id_error, "abc", "project", key="project"),
    ok(r.region_error, "us-central1"),
    ok(r.region_error, "europe-west1"),
    bad(r.region_error, "us-central", key="region"),
    bad(r.region_error, "mars-north1", key="region"),
    ok(r.environments_error, ["production"], "f" * 63),
    ok(r.environments_error, ["dev", "production"], "f" * 59),
    ok(r.environments_error, ["staging"], "f" * 55),
    bad(r.environments_error, ["dev", "production"], "f" * 60, key="environments"),
    bad(r.environments_error, ["staging"], "f" * 56, key="environments"),
    bad(r.environments_error, [], "f", key="environments", value=NO_GOT),
    ok(r.service_account_error, SA, "service_account"),
    ok(r.service_account_error, "abcdef@abcdef.iam.gserviceaccount.com", "service_account"),
    ok(r.service_account_error, "123456789012-compute@developer.gserviceaccount.com", "sa"),
    ok(r.service_account_error, "my-project-id@appspot.gserviceaccount.com", "sa"),
    bad(r.service_account_error, "abcde@my-project-id.iam.gserviceaccount.com", "sa", key="sa"),
    # A hand-edited answers file without gcp_project_id derives no identity: said, not a crash.
    bad(r.service_account_error, None, "trigger_service_account", key="trigger_service_account"),
    bad(r.service_account_error, "Runner@my-project-id.iam.gserviceaccount.com", "sa", key="sa"),
    bad(r.service_account_error, "runner@my-project-id.iam.gserviceaccount.co", "sa", key="sa"),
    bad(
        r.service_account_error, "runner", "trigger_service_account", key="trigger_service_account"
    ),
    ok(r.repository_error, "acme/my-function", "github_actions"),
    ok(r.repository_error, "group/name", "gitlab_ci"),
    ok(r.repository_error, "group/sub/name", "gitlab_ci"),
    bad(r.repository_error, "acme", "github_actions", key="repository"),
    bad(r.repository_error, "acme/sub/name", "github_actions", key="repository"),
    bad(r.repository_error, "acme_corp/name", "github_actions", key="repository"),
    bad(r.repository_error, "group", "gitlab_ci", key="repository"),
    bad(r.repository_error, "group/na me", "gitlab_ci", key="repository"),
    # -- topics: 3-255 characters, starting with a letter, not with goog
    ok(r.topic_error, "abc"),
    ok(r.topic_error, "a" * 255),
    ok(r.topic_error, "my-topic.v1~%+_"),
    ok(r.topic_error, "Orders-EU"),  # upper-case letters too
    ok(r.topic_error, "a" * 251, "pubsub_topic", 251),
    bad(r.topic_error, "ab", key="pubsub_topic"),
    bad(r.topic_error, "a" * 256, key="pubsub_topic"),
    bad(r.topic_error, "a" * 256, "pubsub_topic", 300, key="pubsub_topic"),
    bad(r.topic_error, "goog-topic", key="pubsub_topic"),
    bad(r.topic_error, "GOOGle", key="pubsub_topic"),
    bad(r.topic_error, "1topic", key="pubsub_topic"),
    bad(r.topic_error, "projects/p/topics/t", key="pubsub_topic"),
    bad(r.topic_error, "a" * 252, "pubsub_topic", 251, key="pubsub_topic"),
    bad(r.topic_error, "x", "dead_letter_topic", key="dead_letter_topic"),
    # -- buckets
    ok(r.bucket_error, "my-uploads"),
    ok(r.bucket_error, "abc"),
    ok(r.bucket_error, "a" * 63),
    ok(r.bucket_error, "my_bucket.example"),
    bad(r.bucket_error, "ab", key="storage_bucket"),
    bad(r.bucket_error, "a" * 64, key="storage_bucket"),
    bad(r.bucket_error, "My-bucket", key="storage_bucket"),
    bad(r.bucket_error, "-bucket", key="storage_bucket"),
    bad(r.bucket_error, "goog-bucket", key="storage_bucket"),
    bad(r.bucket_error, "my-google-bucket", key="storage_bucket"),
    bad(r.bucket_error, "a..b", key="storage_bucket"),
    bad(r.bucket_error, "192.168.1.1", key="storage_bucket"),
    # -- environment variables, secrets, roles, networks
    ok(r.env_name_error, "API_KEY", "env.dev.yaml"),
    ok(r.env_name_error, "_X", "env.dev.yaml"),
    ok(r.env_name_error, "THREADS", "env.dev.yaml"),
    ok(r.env_name_error, "GOOGLE_CLOUD_PROJECT", "env.dev.yaml"),
    *[bad(r.env_name_error, n, "env.dev.yaml", key="env.dev.yaml") for n in r.PLATFORM_NAMES],
    bad(r.env_name_error, "X_GOOGLE_FOO", "env.dev.yaml", key="env.dev.yaml"),
    bad(r.env_name_error, "A B", "env.dev.yaml", key="env.dev.yaml"),
    bad(r.env_name_error, "1A", "env.dev.yaml", key="env.dev.yaml"),
    bad(r.env_name_error, 3, "env.dev.yaml", key="env.dev.yaml"),
    ok(r.secrets_error, []),
    ok(r.secrets_error, ["API_KEY=api-key:latest"]),
    ok(r.secrets_error, ["API_KEY=api-key:12"]),
    ok(r.secrets_error, ["API_KEY=projects/other-project/secrets/api-key:3"]),
    ok(r.secrets_error, ["API_KEY=projects/123456/secrets/api-key:latest"]),
    ok(r.secrets_error, ["/etc/secrets/key=api-key:latest"]),
    ok(r.secrets_error, ["/etc/secrets/a=api-key:1", "/etc/secrets/b=api-key:2"]),
    ok(r.secrets_error, ["A=a:1", "B=a:1", "/secrets/a/k=b:1", "/secrets/b/k=c:1"]),
    bad(r.secrets_error, "API_KEY=api-key:1", key="secrets"),
    bad(r.secrets_error, [3], key="secrets", value=3),
    bad(r.secrets_error, ["API_KEY"], key="secrets", value="API_KEY"),
    bad(r.secrets_error, ["API_KEY=api-key"], key="secrets", value="API_KEY=api-key"),
    bad(r.secrets_error, ["A=B=c:1"], key="secrets", value="A=B=c:1"),
    bad(r.secrets_error, ["A=api key:1"], key="secrets", value="A=api key:1"),
    bad(r.secrets_error, ["A=api-key:0"], key="secrets", value="A=api-key:0"),
    bad(r.secrets_error, ["A=api-key:v1"], key="secrets", value="A=api-key:v1"),
    bad(r.secrets_error, ["1A=api-key:1"], key="secrets", value="1A=api-key:1"),
    bad(r.secrets_error, ["PORT=api-key:1"], key="secrets", value="PORT=api-key:1"),
    bad(r.secrets_error, ["THREADS=a:1"], key="secrets", value="THREADS=a:1"),
    bad(r.secrets_error, ["X_GOOGLE_A=a:1"], key="secrets", value="X_GOOGLE_A=a:1"),
    bad(r.secrets_error, ["A=a:1", "A=b:1"], key="secrets", value="A=b:1"),
    bad(r.secrets_error, ["/key=a:1"], key="secrets", value="/key=a:1"),
    bad(r.secrets_error, ["/etc/key=a:1"], key="secrets", value="/etc/key=a:1"),
    bad(r.secrets_error, ["/tmp/key=a:1"], key="secrets", value="/tmp/key=a:1"),  # noqa: S108
    bad(r.secrets_error, ["/workspace/key=a:1"], key="secrets", value="/workspace/key=a:1"),
    bad(r.secrets_error, ["/etc/s/../k=a:1"], key="secrets", value="/etc/s/../k=a:1"),
    bad(r.secrets_error, ["/s/a=a:1", "/s/a=a:2"], key="secrets", value="/s/a=a:2"),
    bad(r.secrets_error, ["/s/a=a:1", "/s/b=b:1"], key="secrets", value="/s/b=b:1"),
    ok(r.roles_error, []),
    ok(r.roles_error, ["roles/bigquery.dataEditor"]),
    ok(r.roles_error, ["projects/my-project-id/roles/custom.role"]),
    ok(r.roles_error, "roles/pubsub.publisher"),
    *[bad(r.roles_error, [role], key="roles", value=role) for role in r.BASIC_ROLES],
    *[bad(r.roles_error, [role], key="roles", value=role) for role in sorted(r.ESCALATION_ROLES)],
    ok(r.roles_error, [{"role": "roles/bigquery.dataEditor", "dataset": "pipeline"}]),
    ok(r.roles_error, [{"role": "roles/storage.objectUser", "bucket": "my-bucket.example"}]),
    ok(r.roles_error, [{"role": "roles/pubsub.subscriber", "topic": "jobs"}]),
    ok(r.roles_error, [{"role": "roles/secretmanager.secretAccessor", "secret": "api-key"}]),
    bad(
        r.roles_error,
        [{"role": "roles/bigquery.dataEditor"}],
        key="roles",
        value={"role": "roles/bigquery.dataEditor"},
    ),
    bad(
        r.roles_error,
        [{"role": "roles/x.y", "table": "t"}],
        key="roles",
        value={"role": "roles/x.y", "table": "t"},
    ),
    bad(
        r.roles_error,
        [{"role": "roles/x.y", "bucket": "a", "topic": "b"}],
        key="roles",
        value={"role": "roles/x.y", "bucket": "a", "topic": "b"},
    ),
    bad(
        r.roles_error,
        [{"role": "roles/x.y", "bucket": "a b"}],
        key="roles",
        value={"role": "roles/x.y", "bucket": "a b"},
    ),
    bad(
        r.roles_error,
        [{"role": "roles/iam.serviceAccountUser", "bucket": "b"}],
        key="roles",
        value={"role": "roles/iam.serviceAccountUser", "bucket": "b"},
    ),
    bad(
        r.roles_error,
        [{"role": "roles/owner", "bucket": "b"}],
        key="roles",
        value={"role": "roles/owner", "bucket": "b"},
    ),
    bad(r.roles_error, ["bigquery.dataEditor"], key="roles", value="bigquery.dataEditor"),
    bad(r.roles_error, ["roles/pubsub.publisher", 3], key="roles", value=3),
    ok(r.connector_error, "ab"),
    ok(r.connector_error, "my-connector"),
    ok(r.connector_error, "a" * 25),
    ok(r.connector_error, "projects/my-project-id/locations/us-central1/connectors/conn"),
    bad(r.connector_error, "a", key="vpc_connector"),
    bad(r.connector_error, "a" * 26, key="vpc_connector"),
    bad(r.connector_error, "My-conn", key="vpc_connector"),
    bad(r.connector_error, "conn-", key="vpc_connector"),
    ok(r.network_error, "default", "vpc_network"),
    ok(r.network_error, "a" * 63, "vpc_network"),
    ok(r.network_error, "projects/my-project-id/global/networks/default", "vpc_network"),
    ok(r.network_error, "projects/my-project-id/regions/us-central1/subnetworks/s", "vpc_subnet"),
    bad(r.network_error, "a" * 64, "vpc_network", key="vpc_network"),
    bad(r.network_error, "Default", "vpc_network", key="vpc_network"),
    bad(r.network_error, "subnet-", "vpc_subnet", key="vpc_subnet"),
    # -- triggers
    ok(r.trigger_location_error, "us-central1", "storage"),
    ok(r.trigger_location_error, "us", "storage"),
    ok(r.trigger_location_error, "eur4", "storage"),
    ok(r.trigger_location_error, "nam5", "firestore"),
    ok(r.trigger_location_error, "global", "audit_log"),
    bad(r.trigger_location_error, "us", "firestore", key="trigger_location"),
    bad(r.trigger_location_error, "nam5", "storage", key="trigger_location"),
    bad(r.trigger_location_error, "global", "storage", key="trigger_location"),
    bad(r.trigger_location_error, "mars1", "audit_log", key="trigger_location"),
    ok(r.firestore_database_error, "(default)"),
    ok(r.firestore_database_error, "abcd"),
    ok(r.firestore_database_error, "my-db-1"),
    ok(r.firestore_database_error, "a" * 63),
    bad(r.firestore_database_error, "abc", key="firestore_database"),
    bad(r.firestore_database_error, "a" * 64, key="firestore_database"),
    bad(r.firestore_database_error, "My-db", key="firestore_database"),
    bad(r.firestore_database_error, "my-db-", key="firestore_database"),
    ok(r.firestore_document_error, "users/{userId}"),
    ok(r.firestore_document_error, "users/{userId}/orders/{orderId}"),
    ok(r.firestore_document_error, "users/alice"),
    ok(r.firestore_document_error, "a.b/c~d%e+f@g"),
    ok(r.firestore_document_error, "x/" + "y" * 1498),
    bad(r.firestore_document_error, "x/" + "y" * 1499, key="firestore_document"),
    bad(r.firestore_document_error, "users", key="firestore_document"),
    bad(r.firestore_document_error, "users/{userId}/orders", key="firestore_document"),
    bad(r.firestore_document_error, "users//alice", key="firestore_document"),
    bad(r.firestore_document_error, "/users/{userId}", key="firestore_document"),
    bad(r.firestore_document_error, "users/{user-id}", key="firestore_document"),
    bad(r.firestore_document_error, "users/..", key="firestore_document"),
    bad(r.firestore_document_error, "users/__id__", key="firestore_document"),
    ok(r.audit_service_error, "storage.googleapis.com"),
    ok(r.audit_service_error, "cloudresourcemanager.googleapis.com"),
    bad(r.audit_service_error, "storage", key="audit_service_name"),
    bad(r.audit_service_error, "Storage.googleapis.com", key="audit_service_name"),
    bad(r.audit_service_error, "storage.googleapis.com.evil", key="audit_service_name"),
    ok(r.audit_method_error, "storage.objects.create"),
    ok(r.audit_method_error, "google.cloud.bigquery.v2.JobService.InsertJob"),
    bad(r.audit_method_error, "create", key="audit_method_name"),
    bad(r.audit_method_error, "storage objects.create", key="audit_method_name"),
    bad(r.audit_method_error, ".storage.create", key="audit_method_name"),
    # -- schedules
    ok(r.cron_error, "0 * * * *"),
    bad(r.cron_error, "0 * * *", key="schedule"),
    ok(r.time_zone_error, "Etc/UTC"),
    ok(r.time_zone_error, "Europe/Paris"),
    ok(r.time_zone_error, "America/New_York"),
    bad(r.time_zone_error, "Mars/Olympus", key="schedule_time_zone"),
    bad(r.time_zone_error, "europe/paris", key="schedule_time_zone"),
    bad(r.time_zone_error, "", key="schedule_time_zone"),
    # -- how a function is written: sync (threads) or async (one event loop)
]


@pytest.mark.parametrize(("rule", "args", "key", "value"), CASES)
def test_rule_verdicts(
    rule: Callable[..., str], args: tuple[Any, ...], key: str | None, value: Any
) -> None:
    """Valid values give ""; invalid ones a line naming the key and, mostly, the value."""
    message = rule(*args)
    if key is None:
        assert message == ""
        return
    assert message.startswith(f"{key}: "), message
    assert "\n" not in message
    if value is not NO_GOT:
        shown = args[0] if value is FIRST else value
        assert message.endswith(got(shown)), message


def test_every_public_rule_is_in_the_table() -> None:
    """Each `*_error` of rules.__all__ is both accepted and refused by some case."""
    # question_error dispatches to these rules by question (tests/test_questions.py).
    public = {n for n in rules.__all__ if n.endswith("_error") and n != "question_error"}
    accepted = {p.values[0].__name__ for p in CASES if p.values[2] is None}
    refused = {p.values[0].__name__ for p in CASES if p.values[2] is not None}
    assert public - accepted == set()
    assert public - refused == set()


# -- messages that say how to fix the value


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: rules.cpu_error("1", "8Gi"),
            'cpu: 1 vCPU allows at most 4Gi of memory; with memory 8Gi use cpu 2 or more (got "1")',
        ),
        (
            lambda: rules.cpu_error("2", "16Gi"),
            'cpu: 2 vCPU allows at most 8Gi of memory; with memory 16Gi use cpu 4 or more (got "2")',
        ),
        (
            lambda: rules.cpu_error("6", "32Gi"),
            'cpu: 6 vCPU allows at most 24Gi of memory; with memory 32Gi use cpu 8 or more (got "6")',
        ),
        (
            lambda: rules.cpu_error("4", "1Gi"),
            "cpu: 4 vCPUs need at least 2Gi of memory (memory is 1Gi): use less cpu or more memory"
            ' (got "4")',
        ),
        (
            lambda: rules.cpu_error("0.5", "2Gi"),
            "cpu: below 1 vCPU, memory can be at most 1Gi; with memory 2Gi use cpu 1 or more"
            ' (got "0.5")',
        ),
        (
            lambda: rules.cpu_error("0.25", "1Gi"),
            "cpu: memory above 512Mi needs at least 0.5 vCPU; with memory 1Gi use cpu 0.5 or more"
            ' (got "0.25")',
        ),
        (
            lambda: rules.cpu_error("3", "2Gi"),
            'cpu: above 1 vCPU, only 2, 4, 6 or 8 are possible (got "3")',
        ),
        (
            lambda: rules.cpu_error("0.07", "128Mi"),
            "cpu: must be a number of vCPUs from 0.08 to 1 (at most 3 decimals), or 2, 4, 6 or 8"
            ' (got "0.07")',
        ),
        (
            lambda: rules.function_name_error(""),
            "function_name: must be 1-63 characters of lower-case letters, digits and hyphens, "
            "start with a letter and not end with a hyphen: it is empty",
        ),
        (
            lambda: rules.function_name_error("my-Function"),
            "function_name: must be 1-63 characters of lower-case letters, digits and hyphens, "
            'start with a letter and not end with a hyphen: it has upper-case letters (got "my-Function")',
        ),
        (
            lambda: rules.function_name_error("my_function"),
            "function_name: must be 1-63 characters of lower-case letters, digits and hyphens, "
            "start with a letter and not end with a hyphen: use hyphens instead of underscores "
            '(got "my_function")',
        ),
        (
            lambda: rules.entry_point_error("logging"),
            "entry_point: must not be a name main.py already uses (annotations, logging, flask, "
            "functions_framework, CloudEvent, ResponseReturnValue, logger, main, logs, payloads, "
            'clients, settings) (got "logging")',
        ),
        (
            lambda: rules.region_error("mars-north1"),
            "region: must be a region that offers Cloud Functions (2nd gen), one of "
            + ", ".join(rules.REGIONS)
            + ' (got "mars-north1")',
        ),
        # A memory that is not one of MEMORY_MI is memory's error (memory_error), not cpu's.
        (lambda: rules.cpu_error("0.5", "3Gi"), ""),
        (
            lambda: rules.concurrency_error(2, "0.999", "1Gi"),
            "concurrency: above 1 needs at least 1 vCPU, and cpu is 0.999 with memory 1Gi: "
            "set cpu to 1 or more, or concurrency to 1 (got 2)",
        ),
        (
            lambda: rules.timeout_error(541, False),
            "timeout: must be 1 to 540 seconds for event-driven functions (got 541)",
        ),
        (
            lambda: rules.timeout_error(3601, True),
            "timeout: must be 1 to 3600 seconds for HTTP functions (got 3601)",
        ),
        (
            lambda: rules.max_instances_error(4, 5),
            "max_instances: must be at least min_instances (5) (got 4)",
        ),
        (
            lambda: rules.max_delivery_attempts_error(4),
            "max_delivery_attempts: must be 5 to 100 (got 4)",
        ),
        (
            lambda: rules.database_pool_error(100, 11, 8),
            "max_instances: max_instances (11) x (pool_size 8 + max_overflow 2) = 110 connections "
            "exceed the Cloud SQL for PostgreSQL instance's max_connections (100): set "
            "max_instances to at most 10, lower concurrency (pool_size is the concurrency), or "
            "raise max_connections (got 11)",
        ),
        (
            lambda: rules.database_pool_error(100, 1, 99),
            "max_instances: max_instances (1) x (pool_size 99 + max_overflow 2) = 101 connections "
            "exceed the Cloud SQL for PostgreSQL instance's max_connections (100): lower "
            "concurrency, lower concurrency (pool_size is the concurrency), or raise "
            "max_connections (got 1)",
        ),
        (
            lambda: rules.max_connections_error(100, 49, 2),
            "max_connections: must be at least 102, the connections of min_instances (2) x "
            "(pool_size 49 + max_overflow 2); or lower concurrency or min_instances (got 100)",
        ),
        (
            lambda: rules.max_connections_error(100, 99, 1),
            "max_connections: must be at least 101, the connections of one instance x "
            "(pool_size 99 + max_overflow 2); or lower concurrency (got 100)",
        ),
        (
            lambda: rules.type_error("80", "concurrency", int),
            'concurrency: must be a whole number (got "80")',
        ),
        (
            lambda: rules.type_error("yes", "allow_unauthenticated", bool),
            'allow_unauthenticated: must be true or false (got "yes")',
        ),
        (
            lambda: rules.type_error(True, "cpu", CPU_TYPES),
            "cpu: must be a string or a number (got true)",
        ),
        (
            lambda: rules.choice_error("c", "kind", ("a", "b")),
            'kind: must be one of a, b (got "c")',
        ),
        (
            lambda: rules.topic_error("goog-x"),
            'pubsub_topic: must not start with "goog" (got "goog-x")',
        ),
        (
            lambda: rules.environments_error(["dev"], "f" * 60),
            f"environments: each environment but production deploys as {'f' * 60}-<environment>, "
            'which must fit in 63 characters: shorten function_name (got ["dev"])',
        ),
        (
            lambda: rules.secrets_error(["A=B=c:1"]),
            'secrets: an environment variable name cannot contain "=" (got "A=B=c:1")',
        ),
        (
            lambda: rules.secrets_error(["A=a:1", "A=b:1"]),
            'secrets: A is set twice (got "A=b:1")',
        ),
        (
            lambda: rules.min_instances_error(1, ["dev"]),
            "min_instances: instances are kept warm in production only, and environments has no "
            "production: use 0 (got 1)",
        ),
    ],
    # Named by the message, not by position: an added case leaves the others' names (and what
    # mutation testing knows each one covers) as they were.
    ids=lambda value: (value or "accepted") if isinstance(value, str) else "rule",
)
def test_messages_say_how_to_fix_the_value(call: Callable[[], str], message: str) -> None:
    assert call() == message


def test_got_shows_the_value_as_json() -> None:
    assert rules.got("x") == ' (got "x")'
    assert rules.got(3) == " (got 3)"
    assert rules.got(True) == " (got true)"
    assert rules.got(["é"]) == ' (got ["é"])'


# -- cron


@pytest.mark.parametrize(
    "schedule",
    [
        "0 * * * *",
        "*/15 * * * *",
        "10-30/10 * * * *",
        "5/15 * * * *",
        "0,30 9-17 * * MON-FRI",
        "0 0 1 JAN *",
        "0 0 1 jan-mar/2 *",
        "0 0 1-31/2 * *",
        "59 23 31 12 6",
        "0 0 * * 0",
        "0 0 * * 7",
        "0 0 * * sun",
        "*/100 * * * *",
        "0  0 * * *",
    ],
)
def test_cron_accepts(schedule: str) -> None:
    assert rules.cron_error(schedule) == ""


@pytest.mark.parametrize(
    ("schedule", "part"),
    [
        ("", "it has 0"),
        ("* * * *", "it has 4"),
        ("* * * * * *", "it has 6"),
        (
            "60 * * * *",
            "the minute field must be *, a number from 0 to 59, a range a-b, a step "
            '*/n or a-b/n, or a comma list of those; "60" is not',
        ),
        ("-1 * * * *", "the minute field"),
        ("* 24 * * *", "the hour field must be *, a number from 0 to 23"),
        ("* * 0 * *", "the day-of-month field must be *, a number from 1 to 31"),
        ("* * 32 * *", "the day-of-month field"),
        ("* * * 0 *", "the month field must be *, a number from 1 to 12 or a name such as JAN"),
        ("* * * 13 *", "the month field"),
        (
            "* * * * 8",
            "the day-of-week field must be *, a number from 0 to 7 or a name such as MON",
        ),
        ("*/0 * * * *", '"*/0" is not'),
        ("*/5/2 * * * *", '"*/5/2" is not'),
        ("1,,2 * * * *", '"1,,2" is not'),
        ("1- * * * *", '"1-" is not'),
        ("1-2-3 * * * *", '"1-2-3" is not'),
        ("MON * * * *", "the minute field"),
        ("* * * JAN/2 *", '"JAN/2" is not'),
        ("* * * * MON/2", '"MON/2" is not'),
        ("0 0 L * *", "the day-of-month field"),
        ("0 0 ? * *", "must be a cron expression of digits, letters, * / , - and spaces"),
        ("0\t0 * * *", "must be a cron expression of digits, letters"),
    ],
)
def test_cron_refuses(schedule: str, part: str) -> None:
    message = rules.cron_error(schedule)
    assert message.startswith("schedule: ")
    assert part in message
    assert message.endswith(got(schedule))


def test_cron_refuses_a_reversed_range() -> None:
    assert rules.cron_error("30-10 * * * *").startswith("schedule: ")


# 2024-01-01 is a Monday.
MONDAY = datetime(2024, 1, 1, 0, 0)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2024, month, day, hour, minute)


@pytest.mark.parametrize(
    ("schedule", "moment", "fires"),
    [
        ("*/15 * * * *", at(1, 10, 0), True),
        ("*/15 * * * *", at(1, 10, 45), True),
        ("*/15 * * * *", at(1, 10, 44), False),
        ("10-30/10 * * * *", at(1, 0, 10), True),
        ("10-30/10 * * * *", at(1, 0, 30), True),
        ("10-30/10 * * * *", at(1, 0, 15), False),
        ("10-30/10 * * * *", at(1, 0, 40), False),
        ("5/15 * * * *", at(1, 0, 50), True),
        ("5/15 * * * *", at(1, 0, 0), False),
        ("0,30 * * * *", at(1, 3, 30), True),
        ("0,30 * * * *", at(1, 3, 15), False),
        ("0 9-17 * * *", at(1, 9), True),
        ("0 9-17 * * *", at(1, 17), True),
        ("0 9-17 * * *", at(1, 8), False),
        ("0 9-17 * * *", at(1, 18), False),
        ("0 9-17 * * *", at(1, 9, 1), False),
        ("0 0 * JAN *", at(5), True),
        ("0 0 * JAN *", at(5, month=2), False),
        ("0 0 * jan-mar *", at(5, month=3), True),
        ("0 0 * jan-mar *", at(5, month=4), False),
        ("0 0 * 2,4 *", at(5, month=4), True),
        ("0 0 * * MON", at(1), True),
        ("0 0 * * MON", at(2), False),
        ("0 0 * * 1", at(8), True),
        ("0 0 * * MON-FRI", at(5), True),
        ("0 0 * * MON-FRI", at(6), False),
        ("0 0 * * 7", at(7), True),
        ("0 0 * * 7", at(6), False),
        ("0 0 * * 0", at(7), True),
        ("0 0 * * SUN", at(7), True),
        ("0 0 * * 5-7", at(5), True),
        ("0 0 * * 5-7", at(6), True),
        ("0 0 * * 5-7", at(7), True),
        ("0 0 * * 5-7", at(4), False),
        # One day field restricted, the other `*`: the restricted one decides.
        ("0 0 13 * *", at(13), True),
        ("0 0 13 * *", at(12), False),
        ("0 0 * * FRI", at(12), True),
        ("0 0 * * FRI", at(13), False),
        # Both restricted: either may match (the 13th, or any Friday).
        ("0 0 13 * FRI", at(13), True),
        ("0 0 13 * FRI", at(12), True),
        ("0 0 13 * FRI", at(11), False),
        ("0 0 1 * MON", at(8), True),
        ("0 0 1 * MON", at(1, month=2), True),
        ("0 0 1 * MON", at(2, month=2), False),
        # ...but the month, hour and minute still must.
        ("0 0 13 FEB FRI", at(12), False),
        ("0 0 13 * FRI", at(13, 1), False),
        ("30 0 13 * FRI", at(12), False),
    ],
)
def test_cron_matches(schedule: str, moment: datetime, fires: bool) -> None:
    assert rules.cron_error(schedule) == ""
    assert rules.cron_matches(schedule, moment) is fires


def test_the_calendar_of_the_cron_cases() -> None:
    """The weekdays the cases above rely on."""
    assert MONDAY.isoweekday() == 1
    assert at(7).strftime("%a") == "Sun"
    assert at(12).strftime("%a") == "Fri"
    assert at(1, month=2).strftime("%a") == "Thu"


# -- derived values


# Names whose cuts land on a hyphen: at the account prefix (22 characters before -<hash>-sa),
# the deployer's (18), the provider's (27) and the short name (40).
NAMES = [
    "my-function",
    "abc",
    "ab",
    "a",
    "a" * 20,
    "a" * 63,
    "abcdefghijklmnopqrs-tuv",
    "gcp-fn",
    "a" * 21 + "-bbb",
    "a" * 17 + "-bbbbb",
    "a" * 26 + "-bbbbbbb",
    "gcp-" + "a" * 22 + "-bbbbbb",
    "a" * 39 + "-b",
]


@pytest.mark.parametrize("function_name", NAMES)
def test_every_account_and_provider_id_is_one_google_takes(function_name: str) -> None:
    emails = [
        rules.service_account(function_name, "my-project-id", "sa"),
        rules.service_account(function_name, "my-project-id", "trg"),
        *(rules.deployer(function_name, "my-project-id", e) for e in rules.ENVIRONMENTS),
        rules.function_account(function_name, "my-project-id", "validate-and-parse"),
        rules.function_account(function_name, "my-project-id", "x"),
        rules.function_account(function_name, "my-project-id", "abcdefg-xyz"),
    ]
    for email in emails:
        assert rules.service_account_error(email, "service_account") == "", email
        assert "--" not in email, email
    assert not rules.short_name(function_name).endswith("-")
    provider = rules.provider_id(function_name)
    assert re.fullmatch(r"[a-z0-9-]{4,32}", provider), provider
    assert not provider.startswith("gcp-")
    assert not provider.endswith("-")
    assert "--" not in provider


@pytest.mark.parametrize(
    ("args", "email"),
    [
        (
            ("my-function", "my-project-id"),
            "my-function-86e4-sa@my-project-id.iam.gserviceaccount.com",
        ),
        (
            ("my-function", "my-project-id", "trg"),
            "my-function-86e4-trg@my-project-id.iam.gserviceaccount.com",
        ),
        (
            ("orders-ingest-service-a", "p-123456"),
            "orders-ingest-service-d3a0-sa@p-123456.iam.gserviceaccount.com",
        ),
    ],
)
def test_service_account(args: tuple[str, ...], email: str) -> None:
    assert rules.service_account(*args) == email


def test_repos_whose_names_share_a_long_prefix_get_their_own_identities() -> None:
    """Names are cut to fit 30 characters: the hash of the whole name keeps them apart."""
    a, b = "orders-ingest-service-a", "orders-ingest-service-b"
    assert rules.provider_id(a) != rules.provider_id(b)
    for environment in rules.ENVIRONMENTS:
        assert rules.deployer(a, "p-1234", environment) != rules.deployer(b, "p-1234", environment)
    assert rules.service_account(a, "p-1234") != rules.service_account(b, "p-1234")


def test_each_environment_has_its_own_deployer() -> None:
    deployers = {rules.deployer("my-function", "p-1234", e) for e in rules.ENVIRONMENTS}
    assert len(deployers) == len(rules.ENVIRONMENTS)
    assert rules.deployer("my-function", "p-1234", "production") == (
        "my-function-86e4-dep-prd@p-1234.iam.gserviceaccount.com"
    )


def test_each_function_of_a_repo_has_its_own_identity() -> None:
    names = ["validate-and-parse", "validate-and-store", "enrich-records", "notify-stakeholders"]
    emails = {rules.function_account("a" * 40, "p-1234", name) for name in names}
    assert len(emails) == len(names)


@pytest.mark.parametrize(
    ("name", "environment", "deployed"),
    [("f", "production", "f"), ("f", "dev", "f-dev"), ("f", "staging", "f-staging")],
)
def test_deployed_name(name: str, environment: str, deployed: str) -> None:
    assert rules.deployed_name(name, environment) == deployed


@pytest.mark.parametrize(
    ("environments", "ci"),
    [
        (["dev", "staging", "production"], ["dev", "production"]),
        (["production", "dev"], ["dev", "production"]),
        (["staging", "dev"], ["staging"]),
        (["production"], ["production"]),
        (["dev"], ["dev"]),
        ([], []),
    ],
)
def test_ci_environments(environments: list[str], ci: list[str]) -> None:
    assert rules.ci_environments(environments) == ci


@pytest.mark.parametrize(
    ("memory", "workload", "cpu"),
    [
        ("128Mi", "cpu_bound", "0.083"),
        ("512Mi", "cpu_bound", "0.333"),
        ("1Gi", "cpu_bound", "0.583"),
        ("2Gi", "cpu_bound", "1"),
        ("128Mi", "io_bound", "1"),
        ("512Mi", "io_bound", "1"),
        ("1Gi", "mixed", "1"),
        ("2Gi", "mixed", "1"),
        ("4Gi", "mixed", "2"),
        ("16Gi", "io_bound", "4"),
        ("32Gi", "io_bound", "8"),
        ("64Gi", "cpu_bound", "1"),
    ],
)
def test_default_cpu(memory: str, workload: str, cpu: str) -> None:
    assert rules.default_cpu(memory, workload) == cpu


def test_the_default_cpu_of_each_workload_is_valid_with_its_default_memory() -> None:
    for workload in rules.WORKLOADS:
        memory = rules.WORKLOAD_MEMORY[workload]
        cpu = rules.default_cpu(memory, workload)
        assert rules.cpu_error(cpu, memory) == ""
        assert rules.concurrency_error(rules.WORKLOAD_CONCURRENCY[workload], cpu, memory) == ""


@pytest.mark.parametrize(
    ("max_connections", "concurrency", "fit"),
    [(100, 8, 10), (100, 9, 9), (100, 80, 1), (100, 98, 1), (100, 99, 0), (25, 1, 8)],
)
def test_instances_that_fit(max_connections: int, concurrency: int, fit: int) -> None:
    assert rules.pool_connections(concurrency) == concurrency + 2
    assert rules.instances_that_fit(max_connections, concurrency) == fit


@pytest.mark.parametrize(
    ("args", "most"),
    [((100, 8), 10), ((1000, 8), 100), ((1010, 8), 100), ((1000, 8, 50), 50), ((100, 99), 0)],
)
def test_default_max_instances(args: tuple[int, ...], most: int) -> None:
    assert rules.default_max_instances(*args) == most


def test_the_default_max_instances_fit_the_pool() -> None:
    for concurrency in (1, 8, 20, 80, 98):
        fit = rules.default_max_instances(100, concurrency)
        assert rules.database_pool_error(100, fit, concurrency) == ""
        assert rules.database_pool_error(100, fit + 1, concurrency) != ""


@pytest.mark.parametrize(
    ("trigger", "kwargs", "event"),
    [
        ("http", {}, ""),
        ("pubsub", {}, "google.cloud.pubsub.topic.v1.messagePublished"),
        ("scheduler", {}, "google.cloud.pubsub.topic.v1.messagePublished"),
        ("storage", {"storage_event": "finalized"}, "google.cloud.storage.object.v1.finalized"),
        ("storage", {"storage_event": "deleted"}, "google.cloud.storage.object.v1.deleted"),
        ("firestore", {"firestore_event": "written"}, "google.cloud.firestore.document.v1.written"),
        ("audit_log", {}, "google.cloud.audit.log.v1.written"),
    ],
)
def test_event_type(trigger: str, kwargs: dict[str, str], event: str) -> None:
    assert rules.event_type(trigger, **kwargs) == event
    assert rules.signature_type(trigger) == ("http" if trigger == "http" else "cloudevent")


@pytest.mark.parametrize(
    ("pattern", "document"),
    [
        ("users/{userId}", "users/userId-1"),
        ("users/{userId}/orders/{orderId}", "users/userId-1/orders/orderId-1"),
        ("users/alice", "users/alice"),
    ],
)
def test_sample_document(pattern: str, document: str) -> None:
    assert rules.sample_document(pattern) == document
    assert rules.firestore_document_error(document) == ""


@pytest.mark.parametrize(
    ("timeout", "deadline"),
    [
        (1, 10),
        (9, 10),
        (10, 10),
        (11, 11),
        (60, 60),
        (540, 540),
        (600, 600),
        (601, 600),
        (3600, 600),
    ],
)
def test_ack_deadline(timeout: int, deadline: int) -> None:
    assert rules.ack_deadline(timeout) == deadline


@pytest.mark.parametrize(
    ("runtime", "version"), [("python313", "3.13"), ("python311", "3.11"), ("python39", "3.9")]
)
def test_python_version(runtime: str, version: str) -> None:
    assert rules.python_version(runtime) == version


@pytest.mark.parametrize(
    ("entry", "parts"),
    [
        ("API_KEY=api-key:latest", ("API_KEY", "", "api-key", "latest")),
        ("API_KEY=api-key:3", ("API_KEY", "", "api-key", "3")),
        (
            "/etc/secrets/key=projects/other-project/secrets/api:2",
            ("/etc/secrets/key", "other-project", "api", "2"),
        ),
        ("K=projects/123456/secrets/k:latest", ("K", "123456", "k", "latest")),
    ],
)
def test_secret_parts(entry: str, parts: tuple[str, str, str, str]) -> None:
    assert rules.secret_parts(entry) == parts


@pytest.mark.parametrize(
    ("environments", "room"),
    [(["production"], 0), (["dev", "production"], 4), (["staging", "dev"], 8), ([], 0)],
)
def test_suffix_room(environments: list[str], room: int) -> None:
    assert rules.suffix_room(environments) == room


def test_small_derived_values() -> None:
    assert rules.default_trigger_location("audit_log", "europe-west1") == "global"
    assert rules.default_trigger_location("storage", "europe-west1") == "europe-west1"
    assert rules.iam_database_user(SA) == "runner@my-project-id.iam"
    assert rules.short_name("a" * 45) == "a" * 40
    assert rules.short_name("a" * 39 + "-b") == "a" * 39
    assert rules.reserved("THREADS")
    assert rules.reserved("X_GOOGLE_ANYTHING")
    assert not rules.reserved("API_KEY")
    assert rules.whole_number(3)
    assert not rules.whole_number(True)
    assert not rules.whole_number(3.0)


def test_ids_keep_as_much_of_the_names_as_fits() -> None:
    assert rules.provider_id("orders-ingest-service-a") == "orders-ingest-service-a-d3a0"
    assert rules.provider_id("a" * 40) == "a" * 27 + "-" + rules.repo_hash("a" * 40)
    # The whole hash, also behind the ci- that keeps a name from Google's reserved gcp-.
    gcp = "gcp-" + "a" * 40
    assert rules.provider_id(gcp) == "ci-gcp-" + "a" * 20 + "-" + rules.repo_hash(gcp)
    assert rules.function_account("my-function", "p", "validate-and-parse") == (
        "my-function-0f2c-validate@p.iam.gserviceaccount.com"
    )


# -- secrets and roles: every shape an entry can take, and its exact verdict

ENTRY_FORM = "secrets: each entry must be NAME=secret-id:version or /dir/file=secret-id:version"
ID_RULE = (
    "secrets: the secret id must be 1-255 letters, digits, _ and -, or projects/PROJECT/secrets/ID"
)
MOUNT = "secrets: a mount path must be a file in a directory, such as /etc/secrets/api_key"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("API_KEY=My_Secret:1", ""),  # secret ids take capitals
        ("API_KEY=projects/my-project/secrets/My_Secret:latest", ""),
        ("/etc/Secrets/Key=s:1", ""),
        ("API_KEY", f'{ENTRY_FORM} (got "API_KEY")'),
        (["API_KEY=s:1"], f'{ENTRY_FORM} (got ["API_KEY=s:1"])'),
        # The version is after the last ':', and a secret id holds none.
        ("API_KEY=abc:def:1", f'{ID_RULE} (got "API_KEY=abc:def:1")'),
        ("/etc/./key=s:1", f'{MOUNT} (got "/etc/./key=s:1")'),
        ("/etc/secrets/.=s:1", f'{MOUNT} (got "/etc/secrets/.=s:1")'),
        ("/etc/secrets/..=s:1", f'{MOUNT} (got "/etc/secrets/..=s:1")'),
        (
            "PORT=s:1",
            "secrets: PORT is reserved (by Cloud Run or by the env files: FUNCTION_TARGET, "
            "FUNCTION_SIGNATURE_TYPE, K_SERVICE, K_REVISION, K_CONFIGURATION, PORT, ENVIRONMENT, "
            'GOOGLE_CLOUD_PROJECT, LOG_LEVEL, THREADS, WORKERS, CONCURRENCY, X_GOOGLE_*) (got "PORT=s:1")',
        ),
    ],
)
def test_a_secret_entry_verdict(entry: Any, message: str) -> None:
    assert rules.secrets_error([entry]) == message


def test_a_role_on_one_resource() -> None:
    assert rules.roles_error([{"role": "roles/bigquery.dataEditor", "dataset": "Sales_Data"}]) == ""
    assert rules.roles_error([{"role": "roles/bigquery.dataEditor", "table": "x"}]) == (
        "roles: a role on one resource is {role: ROLE, KIND: NAME} with KIND one of bucket, "
        'topic, dataset, secret (got {"role": "roles/bigquery.dataEditor", "table": "x"})'
    )


def test_cron_fields_allow_exactly_these_values() -> None:
    minute, hour, _, _, weekday = rules.CRON_FIELDS
    assert minute.values("*") == set(range(60))
    assert hour.values("*") == set(range(24))
    assert minute.values("*/1") == set(range(60))  # a step of 1 is every value
    assert rules.cron_error("*/1 * * * *") == ""
    assert minute.values("*/30,5") == {0, 5, 30}  # a list goes on after a *
    assert hour.values("9-17/4") == {9, 13, 17}
    assert weekday.values("MON-FRI") == {1, 2, 3, 4, 5}


def test_a_time_zone_is_an_iana_name() -> None:
    assert rules.time_zone_error("Europe/Paris") == ""
    assert rules.time_zone_error("Mars/Olympus") == (
        "schedule_time_zone: must be a time zone name from the IANA database, such as Etc/UTC, "
        'Europe/Paris or America/New_York (got "Mars/Olympus")'
    )


FIRESTORE_SEGMENT = (
    "firestore_document: each segment must be an id of letters, digits and - _ . ~ % + @ (not . or "
    ".. or __id__), or a {wildcard} such as {userId}, separated by single slashes"
)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: rules.trigger_location_error("moon", "storage"),
            "trigger_location: must be a region such as us-central1, or one of us, eu, asia, "
            'nam4, eur4, eur5, eur7, eur8, asia1 (got "moon")',
        ),
        # A Pub/Sub trigger has no other place than a region.
        (
            lambda: rules.trigger_location_error("eu", "pubsub"),
            'trigger_location: must be a region such as us-central1 (got "eu")',
        ),
        (lambda: rules.trigger_location_error("europe-west1", "pubsub"), ""),
        (lambda: rules.firestore_document_error("users/."), f'{FIRESTORE_SEGMENT} (got "users/.")'),
        (
            lambda: rules.firestore_document_error("users/.."),
            f'{FIRESTORE_SEGMENT} (got "users/..")',
        ),
        (
            lambda: rules.firestore_document_error("users/__id__"),
            f'{FIRESTORE_SEGMENT} (got "users/__id__")',
        ),
        (
            lambda: rules.audit_service_error("bigquery"),
            "audit_service_name: must be a Google API service name ending in .googleapis.com, "
            'such as bigquery.googleapis.com (got "bigquery")',
        ),
    ],
)
def test_trigger_settings_exact_words(call: Callable[[], str], message: str) -> None:
    assert call() == message


def test_derived_names_are_cut_without_a_trailing_separator() -> None:
    """A cut that ends in a hyphen drops it: no "--" before the hash or the suffix."""
    name = "a" * 26 + "-" + "b" * 10
    assert rules.provider_id(name) == "a" * 26 + "-" + rules.repo_hash(name)
    assert rules.state_bucket({"storage_bucket": "my-uploads"}) == "my-uploads-state"
    bucket = "b" * 56 + "-" + "c" * 6  # 63 characters, the most a bucket name has
    assert rules.state_bucket({"storage_bucket": bucket}) == "b" * 56 + "-state"
    # A function's own identity carries the first 8 characters of its name, no trailing hyphen.
    assert rules.function_account("my-function", "p", "abc-def-ghi") == (
        "my-function-7125-abc-def@p.iam.gserviceaccount.com"
    )
    assert rules.function_account("my-function", "p", "abcdefghij") == (
        "my-function-b5b4-abcdefgh@p.iam.gserviceaccount.com"
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: rules.cloudsql_instance_error("orders-db"),
            "cloudsql_instance: must be the instance connection name PROJECT:REGION:INSTANCE, "
            "such as my-project:us-central1:orders-db (a project id, a region, and an instance id "
            'of lower-case letters, digits and hyphens starting with a letter) (got "orders-db")',
        ),
        (
            lambda: rules.cloudsql_instance_error(f"my-project-id-long:us-central1:{'a' * 80}"),
            "cloudsql_instance: PROJECT:INSTANCE must be at most 98 characters, as Cloud SQL "
            f'requires (got "my-project-id-long:us-central1:{"a" * 80}")',
        ),
        (
            lambda: rules.project_id_error("My_Project"),
            "gcp_project_id: must be 6-30 characters of lower-case letters, digits and hyphens, "
            'start with a letter and not end with a hyphen (got "My_Project")',
        ),
        (lambda: rules.project_id_error("a" * 30), ""),
        (
            lambda: rules.project_id_error("a" * 31),
            "gcp_project_id: must be 6-30 characters of lower-case letters, digits and hyphens, "
            f'start with a letter and not end with a hyphen: it has 31 characters (got "{"a" * 31}")',
        ),
        # GitHub and GitLab paths keep their capitals.
        (lambda: rules.repository_error("Acme/My-Function", "github_actions"), ""),
        (lambda: rules.repository_error("Group/Sub/X", "gitlab_ci"), ""),
    ],
)
def test_project_settings_exact_words(call: Callable[[], str], message: str) -> None:
    assert call() == message


def test_the_deploy_route_and_its_retries() -> None:
    """The route alone (the question deploy_api) is an HTTP function retried as it must be."""
    assert rules.deploy_api_error("run") == ""
    assert rules.deploy_api_error("run", "pubsub") == ""  # retried unless told otherwise
    assert rules.deploy_api_error("run", retry=False) == ""  # HTTP: nothing to retry
    assert rules.deploy_api_error("run", "pubsub", False) == (
        "retry_on_failure: a function deployed with deploy_api: run gets its events from an "
        "Eventarc trigger or a push subscription, which retry until delivered (gcloud sets no "
        "single-attempt policy on them): make the handler idempotent and set retry_on_failure: "
        "true, or deploy it with deploy_api: functions (got false)"
    )
    assert rules.deploy_api_error("functions", "pubsub", False) == ""


def test_an_account_id_uses_all_30_characters() -> None:
    """Google takes 6-30: a long name keeps as much of itself as fits, no more."""
    account = rules.account_id("a" * 30, "sa")
    assert account == "a" * 22 + "-" + rules.repo_hash("a" * 30) + "-sa"
    assert len(account) == 30


def test_a_platform_name_is_refused_naming_them_all() -> None:
    assert rules.env_name_error("K_SERVICE", "env") == (
        "env: K_SERVICE is set by Cloud Run itself (FUNCTION_TARGET, FUNCTION_SIGNATURE_TYPE, "
        'K_SERVICE, K_REVISION, K_CONFIGURATION, PORT, X_GOOGLE_*) (got "K_SERVICE")'
    )
