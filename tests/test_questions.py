"""Bad answers: Copier refuses them, names the field and the rule, and writes nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from conftest import ROOT, run

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

# (question, bad answer, words the message must contain)
BAD_ANSWERS: list[tuple[str, Any, str]] = [
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
]

GOOD_ANSWERS: list[tuple[str, Any]] = [
    ("function_name", "a"),
    ("function_name", "f" * 63),
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
]


def answers_for(question: str, value: Any) -> dict[str, Any]:
    answers = {question: value}
    if question in TRIGGER_OF:
        answers["trigger_type"] = TRIGGER_OF[question]
    return answers


def ids(case: tuple[Any, ...]) -> str:
    return f"{case[0]}={case[1]!r}"[:60]


@pytest.mark.parametrize("case", BAD_ANSWERS, ids=ids)
def test_bad_answer_is_refused_and_nothing_is_written(
    case, template_copy: Path, tmp_path: Path
) -> None:
    question, value, rule = case
    destination = tmp_path / "fn"
    with pytest.raises(ValueError, match=question) as error:
        copier.run_copy(
            str(template_copy),
            destination,
            data=answers_for(question, value),
            defaults=True,
            unsafe=True,
            quiet=True,
        )
    assert rule in str(error.value)
    assert not destination.exists()


@pytest.mark.parametrize("case", GOOD_ANSWERS, ids=ids)
def test_unusual_but_valid_answer_is_accepted(case, render) -> None:
    question, value = case
    path = render(**answers_for(question, value))
    assert yaml.safe_load((path / ".copier-answers.yml").read_text())[question] == value


# One bad answer per validated question, through the command line a user runs.
CLI_CASES = [
    case for i, case in enumerate(BAD_ANSWERS) if case[0] != BAD_ANSWERS[i - 1][0] or i == 0
]


@pytest.mark.parametrize("case", CLI_CASES, ids=ids)
def test_copier_cli_exits_non_zero_and_names_the_field(case, tmp_path: Path) -> None:
    question, value, rule = case
    data = []
    for key, item in answers_for(question, value).items():
        text = "[" + ", ".join(item) + "]" if isinstance(item, list) else str(item)
        data += ["--data", f"{key}={text}"]
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    copier = str(Path(sys.executable).with_name("copier"))
    result = run(
        [
            copier,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            *data,
            str(ROOT),
            str(existing),
        ],
        tmp_path,
    )
    assert result.returncode != 0
    assert f"'{question}'" in result.stderr
    assert rule in result.stderr
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"], "files were written"
