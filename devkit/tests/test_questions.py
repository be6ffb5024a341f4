"""gcf_devkit.rules' questions: each question's check and default, from the answers before it.

The questionnaire (copier.yml) and `gcf check` ask `question_error` and `question_default`;
tests/test_questions.py drives them through Copier, these call them directly: the defaults a
user is offered for each question, the exact message of each refusal, and the answers that
change them (the preset, the trigger, the environments, the database).
"""

from __future__ import annotations

from typing import Any

import pytest

from gcf_devkit.rules import (
    CONSTANT_DEFAULTS,
    database_password_secret,
    has_database,
    question_default,
    question_error,
)

SA = "orders-sa@my-project-id.iam.gserviceaccount.com"
DB = {"database": "cloudsql_postgres", "max_connections": 100, "concurrency": 10}
POOL = (
    "max_instances: max_instances (30) x (pool_size 10 + max_overflow 2) = 360 connections "
    "exceed the Cloud SQL for PostgreSQL instance's max_connections (100): set max_instances to "
    "at most 8, lower concurrency (pool_size is the concurrency), or raise max_connections "
    "(got 30)"
)
# A topic id of 252 characters: too long for a topic the repo owns in a repo with dev.
LONG_TOPIC = "t" + "x" * 251


def too_long(key: str, room: int, value: str = LONG_TOPIC) -> str:
    return (
        f"{key}: must be at most {room} characters, to leave room for the -<environment> "
        f'suffix of non-production topics (got "{value}")'
    )


# -- defaults


def test_constant_defaults() -> None:
    """The questions whose default depends on no earlier answer."""
    assert CONSTANT_DEFAULTS == {
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
    for key, value in CONSTANT_DEFAULTS.items():
        assert question_default(key, {}) == value, key
    assert question_default("allow_unauthenticated", {}) is False


def test_a_list_default_is_a_new_list_each_time() -> None:
    """A questionnaire that appends to its secrets does not change the next repo's default."""
    secrets = question_default("secrets", {})
    secrets.append("API_KEY=api-key:latest")
    assert question_default("secrets", {}) == []


@pytest.mark.parametrize(
    ("project_name", "function_name"),
    [
        ("My Project", "my-project"),
        ("  123 Foo__Bar!! ", "foo-bar"),  # leading digits and runs of others go
        ("Foo!!", "foo"),  # no trailing hyphen
        ("9lives", "lives"),  # a function name starts with a letter
        ("orders2", "orders2"),
        ("", "my-function"),
        ("---", "my-function"),
        ("42", "my-function"),
    ],
)
def test_function_name_default(project_name: str, function_name: str) -> None:
    assert question_default("function_name", {"project_name": project_name}) == function_name


def test_function_name_default_without_a_project_name() -> None:
    assert question_default("function_name", {}) == "my-function"


@pytest.mark.parametrize(
    ("function_name", "database_name"),
    [
        ("orders", "orders"),
        ("my-func", "my_func"),  # PostgreSQL names take underscores
        ("pg_stats", "stats"),  # pg_ is reserved for system names
        ("1abc", "abc"),  # a name starts with a letter or underscore
        ("9-pg_x", "_pg_x"),
        ("a-pg_b", "a_pg_b"),  # pg_ only at the start
        ("123", "app"),
        ("pg_", "app"),
    ],
)
def test_database_name_default(function_name: str, database_name: str) -> None:
    assert question_default("database_name", {"function_name": function_name}) == database_name


def test_database_user_default() -> None:
    """With IAM (the default) the service account without its domain, with a password "app"."""
    iam_user = "orders-sa@my-project-id.iam"
    assert question_default("database_user", {"service_account": SA}) == iam_user
    answers = {"service_account": SA, "database_auth": "iam"}
    assert question_default("database_user", answers) == iam_user
    answers = {"service_account": SA, "database_auth": "password"}
    assert question_default("database_user", answers) == "app"


def test_max_instances_default() -> None:
    """100 without a database; with one, as many instances as its connections allow."""
    assert question_default("max_instances", {}) == 100
    assert question_default("max_instances", DB) == 8  # 100 // (10 + 2)
    assert question_default("max_instances", {**DB, "concurrency": 1}) == 33
    assert question_default("max_instances", {**DB, "max_connections": 5000}) == 100
    # The pipeline preset has no database, whatever the answer says.
    assert question_default("max_instances", {**DB, "preset": "pipeline"}) == 100


@pytest.mark.parametrize(
    ("answers", "ingress"),
    [
        ({}, "all"),  # an HTTP function unless told
        ({"trigger_type": "http"}, "all"),
        ({"preset": "single", "trigger_type": "http"}, "all"),
        ({"trigger_type": "pubsub"}, "internal-only"),
        ({"trigger_type": "storage"}, "internal-only"),
        # The pipeline's first function starts from an upload, whatever trigger_type says.
        ({"preset": "pipeline", "trigger_type": "http"}, "internal-only"),
    ],
)
def test_ingress_settings_default_follows_the_trigger(
    answers: dict[str, Any], ingress: str
) -> None:
    assert question_default("ingress_settings", answers) == ingress


def test_trigger_location_and_retry_defaults_follow_the_trigger() -> None:
    audit = {"trigger_type": "audit_log", "region": "europe-west1"}
    assert question_default("trigger_location", audit) == "global"
    pipeline = {**audit, "preset": "pipeline"}  # a storage trigger: regional
    assert question_default("trigger_location", pipeline) == "europe-west1"
    # Retried unless told on the Cloud Run route, for event functions only.
    assert question_default("retry_on_failure", {"deploy_api": "run", "trigger_type": "pubsub"})
    assert not question_default("retry_on_failure", {"trigger_type": "pubsub"})
    assert not question_default("retry_on_failure", {"deploy_api": "run"})
    assert question_default("retry_on_failure", {"deploy_api": "run", "preset": "pipeline"})


# -- checks


def test_a_question_without_a_rule_is_accepted() -> None:
    assert question_error("allow_unauthenticated", {"allow_unauthenticated": "yes"}) == ""
    assert question_error("no_such_question", {}) == ""


def test_timeout_limit_follows_the_trigger() -> None:
    event = "timeout: must be 1 to 540 seconds for event-driven functions (got 541)"
    assert question_error("timeout", {"timeout": 541}) == ""  # HTTP: up to 3600
    assert question_error("timeout", {"timeout": 541, "trigger_type": "pubsub"}) == event
    answers = {"timeout": 541, "preset": "pipeline", "trigger_type": "http"}
    assert question_error("timeout", answers) == event


def test_retry_check_follows_the_trigger_of_the_pipeline() -> None:
    answers = {"deploy_api": "run", "retry_on_failure": False}
    assert question_error("retry_on_failure", answers) == ""  # HTTP: nothing to retry
    message = question_error("retry_on_failure", {**answers, "preset": "pipeline"})
    assert message.startswith("retry_on_failure: a function deployed with deploy_api: run ")
    assert message.endswith(" (got false)")


def test_the_pipeline_takes_the_locations_of_a_storage_trigger() -> None:
    """Its first function starts from an upload: a multi-region such as eu is a place."""
    assert (
        question_error("trigger_location", {"preset": "pipeline", "trigger_location": "eu"}) == ""
    )
    pubsub = {"trigger_type": "pubsub", "trigger_location": "eu"}
    assert question_error("trigger_location", pubsub).startswith(
        "trigger_location: must be a region such as us-central1"
    )


def test_pubsub_topic_keeps_room_for_the_suffix_only_when_the_repo_owns_it() -> None:
    """A scheduler's topic, or one with a dead-letter topic, is the repo's: -dev is appended."""
    envs = {"pubsub_topic": LONG_TOPIC, "environments": ["dev", "production"]}
    assert question_error("pubsub_topic", {**envs, "trigger_type": "pubsub"}) == ""
    scheduler = {**envs, "trigger_type": "scheduler"}
    assert question_error("pubsub_topic", scheduler) == too_long("pubsub_topic", 251)
    dead_letter = {**envs, "trigger_type": "pubsub", "dead_letter_topic": "orders-dlq"}
    assert question_error("pubsub_topic", dead_letter) == too_long("pubsub_topic", 251)
    no_dead_letter = {**dead_letter, "dead_letter_topic": ""}
    assert question_error("pubsub_topic", no_dead_letter) == ""
    # Production only (or no answer yet): nothing is appended, 255 characters fit.
    production = {**scheduler, "environments": ["production"]}
    assert question_error("pubsub_topic", production) == ""
    assert question_error("pubsub_topic", {"pubsub_topic": LONG_TOPIC}) == ""
    goog = {"pubsub_topic": "goog-orders", "trigger_type": "pubsub"}
    assert question_error("pubsub_topic", goog) == (
        'pubsub_topic: must not start with "goog" (got "goog-orders")'
    )


def test_pipeline_topics_keep_room_for_the_longest_suffix() -> None:
    answers = {"environments": ["staging", "production"]}  # -staging: 8 characters
    for key in ("records_topic", "summary_topic"):
        assert question_error(key, {**answers, key: LONG_TOPIC}) == too_long(key, 247)
        assert question_error(key, {**answers, key: LONG_TOPIC[:247]}) == ""


def test_summary_topic_differs_from_records_topic() -> None:
    same = {"summary_topic": "rows", "records_topic": "rows", "environments": ["production"]}
    assert question_error("summary_topic", same) == (
        'summary_topic: must differ from records_topic (got "rows")'
    )
    assert question_error("summary_topic", {**same, "records_topic": "rows-2"}) == ""
    assert question_error("summary_topic", {"summary_topic": "rows"}) == ""
    # An invalid topic is reported as such, not as equal to the other.
    goog = {"summary_topic": "goog", "records_topic": "goog"}
    assert question_error("summary_topic", goog) == (
        'summary_topic: must not start with "goog" (got "goog")'
    )


def test_max_instances_check() -> None:
    assert question_error("max_instances", {"max_instances": 3}) == ""  # min_instances 0
    assert question_error("max_instances", {"max_instances": 1000}) == ""
    assert question_error("max_instances", {"max_instances": 0}) == (
        "max_instances: must be 1 to 1000 (got 0)"
    )
    assert question_error("max_instances", {"max_instances": 3, "min_instances": 5}) == (
        "max_instances: must be at least min_instances (5) (got 3)"
    )
    assert question_error("max_instances", {"max_instances": 5, "min_instances": 5}) == ""


def test_max_instances_check_with_a_database_counts_the_pools() -> None:
    assert question_error("max_instances", {**DB, "max_instances": 8}) == ""
    assert question_error("max_instances", {**DB, "max_instances": 30}) == POOL
    # The range is checked first; without a database no pool is counted.
    answers = {**DB, "max_instances": 0}
    assert question_error("max_instances", answers) == "max_instances: must be 1 to 1000 (got 0)"
    assert question_error("max_instances", {**DB, "max_instances": 30, "preset": "pipeline"}) == ""
    assert question_error("max_instances", {**DB, "max_instances": 30, "database": "none"}) == ""


def test_has_database() -> None:
    assert has_database({"database": "cloudsql_postgres"})
    assert has_database({"database": "cloudsql_postgres", "preset": "single"})
    assert not has_database({"database": "none"})
    assert not has_database({})
    assert not has_database({"preset": "pipeline"})
    assert not has_database({"database": "cloudsql_postgres", "preset": "pipeline"})


def test_database_password_secret() -> None:
    """A password database's secret; none with IAM, without a database or in the pipeline."""
    answers = {"function_name": "orders", "database": "cloudsql_postgres"}
    password = {**answers, "database_auth": "password"}
    assert database_password_secret(password) == "DB_PASSWORD=orders-db-password:latest"
    assert database_password_secret(answers) == ""  # IAM unless told
    assert database_password_secret({**answers, "database_auth": "iam"}) == ""
    assert database_password_secret({**password, "database": "none"}) == ""
    assert database_password_secret({**password, "preset": "pipeline"}) == ""
