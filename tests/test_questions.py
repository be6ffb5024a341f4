"""Bad answers: Copier refuses them, names the field and the rule, and writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from conftest import COPIER, run

# Answers that make a question apply.
NEEDS: dict[str, dict[str, Any]] = {
    "retry_on_failure": {"trigger_type": "pubsub"},
    "trigger_service_account": {"trigger_type": "pubsub"},
    "trigger_location": {"trigger_type": "storage"},
    "vpc_connector": {"vpc": "connector"},
    "vpc_network": {"vpc": "direct"},
    "vpc_subnet": {"vpc": "direct"},
    "vpc_egress": {"vpc": "connector"},
}

TRIGGER_OF = {
    "allow_unauthenticated": "http",
    "pubsub_topic": "pubsub",
    "storage_bucket": "storage",
    "storage_event": "storage",
    "firestore_database": "firestore",
    "firestore_document": "firestore",
    "firestore_event": "firestore",
    "audit_service_name": "audit_log",
    "audit_method_name": "audit_log",
    "schedule": "scheduler",
    "schedule_time_zone": "scheduler",
}

# (question, bad answer, words the message must contain[, other answers])
BAD_ANSWERS: list[tuple[Any, ...]] = [
    ("project_name", "", "must not be empty"),
    ("project_name", 'say "hi"', "double quotes"),
    ("function_name", "MyFunction", "upper-case"),
    ("function_name", "my_function", "underscores"),
    ("function_name", "my-function-", "ends with a hyphen"),
    ("function_name", "f" * 64, "64 characters"),
    ("function_name", "1function", "start with a letter"),
    ("function_name", "my.function", "lower-case letters, digits and hyphens"),
    ("entry_point", "class", "keyword"),
    ("entry_point", "lambda", "keyword"),
    ("entry_point", "my-function", "Python identifier"),
    ("entry_point", "2fast", "Python identifier"),
    ("entry_point", "logger", "name main.py already uses"),
    ("entry_point", "payloads", "name main.py already uses"),
    ("entry_point", "e" * 49, "at most 48"),
    ("description", "two\nlines", "one line"),
    ("gcp_project_id", "abc", "6-30 characters"),
    ("gcp_project_id", "p" * 31, "6-30 characters"),
    ("gcp_project_id", "My-Project", "lower-case"),
    ("gcp_project_id", "project-", "not end with a hyphen"),
    ("gcp_project_id", "1project", "start with a letter"),
    (
        "region",
        "mars-north1",
        "a region that offers Cloud Functions (2nd gen), one of africa-south1",
    ),
    ("region", "us-central", "a region that offers Cloud Functions"),
    ("region", "US-CENTRAL1", "a region that offers Cloud Functions"),
    ("runtime", "python310", "Invalid choice"),
    ("runtime", "python3.13", "Invalid choice"),
    ("environments", ["dev", "qa"], "Invalid choice"),
    ("environments", [], "at least one"),
    ("trigger_type", "cron", "Invalid choice"),
    ("pubsub_topic", "goog-events", 'not start with "goog"'),
    ("pubsub_topic", "GOOGLE", 'not start with "goog"'),
    ("pubsub_topic", "ab", "3-255 characters"),
    ("pubsub_topic", "projects/p/topics/t", "a topic id"),
    ("pubsub_topic", "1topic", "starting with a letter"),
    ("pubsub_topic", "t" * 256, "3-255 characters"),
    ("storage_bucket", "ab", "3-63 characters"),
    ("storage_bucket", "Uploads", "lower-case"),
    ("storage_bucket", "-uploads", "starting and ending with a letter or digit"),
    ("storage_bucket", "my-google-bucket", 'contain "google"'),
    ("storage_bucket", "a..b", 'not contain ".."'),
    ("storage_bucket", "192.168.1.1", "IP address"),
    ("storage_event", "created", "Invalid choice"),
    ("firestore_database", "My DB", "(default) or 4-63 characters"),
    ("firestore_document", "users", "even number of segments"),
    ("firestore_document", "users/{userId}/orders", "even number of segments"),
    ("firestore_document", "users/{user-id}", "{wildcard}"),
    ("firestore_document", "/users/{userId}", "separated by single slashes"),
    ("firestore_document", "users/*", "{wildcard}"),
    ("firestore_event", "changed", "Invalid choice"),
    ("audit_service_name", "bigquery", ".googleapis.com"),
    ("audit_service_name", "https://bigquery.googleapis.com", ".googleapis.com"),
    ("audit_method_name", "insert job", "dotted method name"),
    ("audit_method_name", "InsertJob", "dotted method name"),
    ("schedule", "* * * *", "5 fields"),
    ("schedule", "every hour", "5 fields"),
    ("schedule", "60 * * * *", "minute field"),
    ("schedule", "0 24 * * *", "hour field"),
    ("schedule", "*/0 * * * *", "minute field"),
    ("schedule", "0 0 32 * *", "day-of-month field"),
    ("schedule", "0 0 0 * *", "day-of-month field"),
    ("schedule", "0 0 * 13 *", "month field"),
    ("schedule", "0 0 * * FUNDAY", "day-of-week field"),
    ("schedule", "0 0 * * 8", "day-of-week field"),
    ("schedule", "0 0-25 * * *", "hour field"),
    ("schedule", "0,,5 * * * *", "minute field"),
    ("schedule_time_zone", "Mars/Olympus_Mons", "IANA"),
    ("schedule_time_zone", "europe/paris", "IANA"),
    ("schedule_time_zone", "+02:00", "IANA"),
    ("environments", ["dev", "staging"], "shorten function_name", {"function_name": "f" * 56}),
    (
        "pubsub_topic",
        "t" * 250,
        "at most 247",
        {"trigger_type": "scheduler", "environments": ["staging", "production"]},
    ),
    ("workload", "memory_bound", "Invalid choice"),
    ("memory", "3Gi", "one of 128Mi, 256Mi, 512Mi, 1Gi, 2Gi, 4Gi, 8Gi, 16Gi, 32Gi"),
    ("memory", "512MB", "one of 128Mi"),
    ("memory", "64Mi", "one of 128Mi"),
    ("cpu", "3", "only 2, 4, 6 or 8"),
    ("cpu", "1.5", "0.08 to 1"),
    ("cpu", "0.05", "0.08 to 1"),
    ("cpu", "two", "0.08 to 1"),
    (
        "cpu",
        "1",
        "allows at most 4Gi of memory; with memory 8Gi use cpu 2 or more",
        {"memory": "8Gi"},
    ),
    ("cpu", "4", "need at least 2Gi of memory", {"memory": "1Gi"}),
    ("cpu", "0.5", "below 1 vCPU, memory can be at most 1Gi", {"memory": "2Gi"}),
    ("cpu", "0.25", "at least 0.5 vCPU", {"memory": "1Gi", "workload": "cpu_bound"}),
    (
        "concurrency",
        80,
        "above 1 needs at least 1 vCPU, and cpu is 0.167 with memory 256Mi",
        {"memory": "256Mi", "cpu": "0.167"},
    ),
    (
        "concurrency",
        80,
        "above 1 needs at least 1 vCPU",
        {"memory": "256Mi", "workload": "cpu_bound"},
    ),
    ("concurrency", 0, "1 to 1000"),
    ("concurrency", 1001, "1 to 1000"),
    ("concurrency", 501, "on one event loop", {"function_style": "async"}),
    ("function_style", "asyncio", "Invalid choice"),
    ("timeout", 900, "1 to 540 seconds for event-driven functions", {"trigger_type": "pubsub"}),
    ("timeout", 3601, "1 to 3600 seconds for HTTP functions"),
    ("timeout", 0, "1 to 3600"),
    ("min_instances", -1, "0 to 1000"),
    ("max_instances", 0, "1 to 1000"),
    ("max_instances", 2, "at least min_instances (3)", {"min_instances": 3}),
    ("service_account", "runtime@example.com", "service account email"),
    ("service_account", "sa@my-project-id.iam.gserviceaccount.com", "service account email"),
    ("trigger_service_account", "not-an-email", "service account email"),
    ("trigger_location", "moon", "a region such as us-central1, or one of us, eu, asia"),
    ("ingress_settings", "internal", "Invalid choice"),
    ("secrets", "API_KEY=api-key:latest", "must be a list"),
    ("secrets", ["API_KEY"], "NAME=secret-id:version"),
    ("secrets", ["PORT=port:1"], "PORT is reserved"),
    ("secrets", ["THREADS=threads:1"], "THREADS is reserved"),
    ("secrets", ["CONCURRENCY=c:1"], "CONCURRENCY is reserved"),
    ("secrets", ["X_GOOGLE_KEY=key:1"], "X_GOOGLE_KEY is reserved"),
    ("secrets", ["API=KEY=api-key:latest"], 'cannot contain "="'),
    ("secrets", ["1KEY=api-key:latest"], "letters, digits and underscores"),
    ("secrets", ["/api_key=api-key:latest"], "a file in a directory"),
    ("secrets", ["/etc/api_key=api-key:latest"], "a directory of its own"),
    ("secrets", ["/etc/secrets/=api-key:latest"], "a file in a directory"),
    ("secrets", ["/etc/secrets/../key=api-key:latest"], "a file in a directory"),
    ("secrets", ["API_KEY=api-key:v1"], "latest or a positive number"),
    ("secrets", ["API_KEY=api-key:0"], "latest or a positive number"),
    ("secrets", ["API_KEY=api key:latest"], "secret id"),
    ("secrets", ["KEY=a:1", "KEY=b:1"], "KEY is set twice"),
    ("secrets", ["/etc/s/a=a:1", "/etc/s/a=a:2"], "one secret per mount path"),
    ("secrets", ["/etc/s/a=a:1", "/etc/s/b=b:1"], "from one secret"),
    ("vpc", "vpn", "Invalid choice"),
    ("vpc_connector", "My_Connector", "connector name"),
    ("vpc_connector", "c" * 26, "connector name"),
    ("vpc_network", "Default", "vpc_network: must be a name"),
    ("vpc_subnet", "sub net", "vpc_subnet: must be a name"),
    ("vpc_egress", "private-only", "Invalid choice"),
    ("vpc_egress", "all-traffic", "Invalid choice", {"vpc": "direct"}),
    ("ci_provider", "jenkins", "Invalid choice"),
    ("repository", "just-a-name", "OWNER/NAME"),
    ("repository", "acme/sub/name", "OWNER/NAME"),
    ("repository", "acme", "GROUP/NAME", {"ci_provider": "gitlab_ci"}),
]

GOOD_ANSWERS: list[tuple[Any, ...]] = [
    ("concurrency", 500, {"function_style": "async"}),
    ("concurrency", 1000, {"function_style": "sync"}),
    ("function_name", "a"),
    ("function_name", "f" * 63, {"environments": ["production"]}),
    ("function_name", "f" * 55, {"environments": ["staging", "production"]}),
    ("entry_point", "_private"),
    ("entry_point", "match"),
    ("gcp_project_id", "abcdef"),
    ("pubsub_topic", "Orders.v1~eu%2B"),
    ("storage_bucket", "my_bucket.example"),
    ("firestore_database", "crm-eu"),
    ("firestore_document", "orgs/{orgId}/members/{memberId}"),
    ("firestore_document", "config/global"),
    ("audit_method_name", "storage.objects.create"),
    ("schedule", "*/15 0-23/2 1-31 JAN-DEC 0-7"),
    ("schedule", "0 9 * * MON-FRI"),
    ("schedule", "5,35 8,20 1,15 1,7 sun"),
    ("schedule_time_zone", "America/Argentina/Buenos_Aires"),
    ("schedule_time_zone", "UTC"),
    ("cpu", "0.5", {"workload": "cpu_bound", "memory": "1Gi"}),
    ("cpu", "8", {"memory": "32Gi"}),
    ("cpu", "6", {"memory": "4Gi"}),
    (
        "secrets",
        [
            "API_KEY=api-key:latest",
            "/etc/secrets/a=s:1",
            "/etc/secrets/b=s:2",
            "T=projects/my-project-id/secrets/t:9",
        ],
    ),
    ("trigger_location", "eu"),
    ("service_account", "123-compute@developer.gserviceaccount.com"),
    ("repository", "acme/platform/orders", {"ci_provider": "gitlab_ci"}),
]


def answers_for(question: str, value: Any, others: dict[str, Any] | None = None) -> dict[str, Any]:
    answers = {**NEEDS.get(question, {}), question: value}
    if question in TRIGGER_OF:
        answers["trigger_type"] = TRIGGER_OF[question]
    return {**answers, **(others or {})}


def ids(case: tuple[Any, ...]) -> str:
    return f"{case[0]}={case[1]!r}"[:60]


@pytest.mark.parametrize("case", BAD_ANSWERS, ids=ids)
def test_bad_answer_is_refused_and_nothing_is_written(
    case, template_copy: Path, tmp_path: Path
) -> None:
    question, value, rule, *others = case
    destination = tmp_path / "fn"
    with pytest.raises(ValueError, match=question) as error:
        copier.run_copy(
            str(template_copy),
            destination,
            data=answers_for(question, value, *others),
            defaults=True,
            unsafe=True,
            quiet=True,
        )
    assert rule in str(error.value)
    assert not destination.exists()


@pytest.mark.parametrize("case", GOOD_ANSWERS, ids=ids)
def test_unusual_but_valid_answer_is_accepted(case, render) -> None:
    question, value, *others = case
    path = render(**answers_for(question, value, *others))
    assert yaml.safe_load((path / ".copier-answers.yml").read_text())[question] == value


# Through the command line a user runs, one bad answer of each kind: free text, a number, a
# YAML list, a choice, several choices, and a rule across answers. (Every question's refusal
# goes through Copier's own code above; the command line only adds how it is reported.)
CLI_KINDS = ("function_name", "timeout", "secrets", "runtime", "environments", "repository")
CLI_CASES = [next(case for case in BAD_ANSWERS if case[0] == key) for key in CLI_KINDS]


@pytest.mark.parametrize("case", CLI_CASES, ids=ids)
def test_copier_cli_exits_non_zero_and_names_the_field(
    case, template_copy: Path, tmp_path: Path
) -> None:
    question, value, rule, *others = case
    data = []
    for key, item in answers_for(question, value, *others).items():
        text = (
            "[" + ", ".join(item) + "]"
            if isinstance(item, list)
            else str(item).lower()
            if isinstance(item, bool)
            else str(item)
        )
        data += ["--data", f"{key}={text}"]
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    result = run(
        [
            COPIER,
            "copy",
            "--trust",
            "--defaults",
            *data,
            str(template_copy),
            str(existing),
        ],
        tmp_path,
    )
    assert result.returncode != 0
    assert f"'{question}'" in result.stderr
    assert rule in result.stderr
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"], "files were written"
