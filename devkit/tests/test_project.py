"""gcf_devkit.project: a repo read from hand-written files (the `repo` fixture of conftest.py).

- A function's settings: its own keys, else the answers, else the defaults; answers given
  for another kind or type of trigger are not inherited; the typed `Function`.
- Every problem of functions.yaml, one line each naming the function and the key.
- Names and topics per environment.
- The one reader of env files and .secrets.yaml, and where a repo is found.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gcf_devkit import rules
from gcf_devkit.project import (
    KEYS,
    Function,
    Layout,
    Project,
    ProjectError,
    read_answers,
    read_env_file,
    read_secrets_file,
    resolve,
)

if TYPE_CHECKING:
    from tests.conftest import Repo

SA = "runner@my-project-id.iam.gserviceaccount.com"
DEFAULT_SA = "my-function-86e4-sa@my-project-id.iam.gserviceaccount.com"
DEFAULT_TRIGGER_SA = "my-function-86e4-trg@my-project-id.iam.gserviceaccount.com"
# A pubsub repo's answers, on top of the http ones of conftest.py.
PUBSUB_REPO = {
    "trigger_type": "pubsub",
    "pubsub_topic": "orders",
    "retry_on_failure": True,
    "trigger_service_account": "deliverer@my-project-id.iam.gserviceaccount.com",
    "ingress_settings": "internal-only",
    "storage_bucket": "my-uploads",
    "schedule": "0 * * * *",
}
# The answers of a repo with a database (IAM authentication, one instance).
DATABASE = {
    "database": "cloudsql_postgres",
    "cloudsql_instance": "my-project-id:us-central1:orders-db",
    "database_name": "app",
    "database_auth": "iam",
    "database_user": "runner@my-project-id.iam",
    "service_account": SA,
    "database_ip": "public",
    "max_connections": 100,
    "max_instances": 1,
}


def case_id(value: Any) -> str:
    """A case named by the error it expects, not by its position (mutation testing maps each
    test's name to the code it covers: an added case must not rename the others)."""
    if isinstance(value, list):
        value = value[0]
    return value.partition(" (got")[0] if isinstance(value, str) else ""


def errors_of(root: Path) -> list[str]:
    """The problems Project.load reports, one line each."""
    with pytest.raises(ProjectError) as info:
        Project.load(root)
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def one_function(root: Path) -> Function:
    (function,) = Project.load(root).functions.values()
    return function


# -- settings: the function's own, else the answers', else the default


def test_a_function_takes_its_own_keys_else_the_answers_else_the_defaults(repo: Repo) -> None:
    root = repo(
        {"my-function": {"trigger_type": "http", "memory": "1Gi", "concurrency": 10}},
        answers={"ingress_settings": "internal-and-gclb"},
    )
    f = one_function(root)
    # Its own:
    assert (f.name, f.memory, f.concurrency) == ("my-function", "1Gi", 10)
    # The answers':
    assert (f.entry_point, f.region, f.cpu, f.timeout) == ("my_function", "us-central1", "1", 60)
    assert (f.min_instances, f.max_instances, f.ingress_settings) == (0, 100, "internal-and-gclb")
    # The defaults:
    assert f.service_account == DEFAULT_SA
    assert (f.allow_unauthenticated, f.secrets, f.roles, f.publishes) == (False, (), (), {})
    assert (f.vpc, f.database, f.max_connections) == ("none", "none", 100)


def test_the_defaults_of_an_http_function(repo: Repo) -> None:
    f = one_function(repo(answers={"allow_unauthenticated": None}))
    assert f.trigger_type == "http"
    assert f.http
    assert f.signature_type == "http"
    assert f.event_type == ""
    assert f.ingress_settings == "all"
    assert f.allow_unauthenticated is False
    assert not f.push_subscription
    assert not f.has_database


def test_the_repos_own_function_takes_the_answers_entry_point_and_others_their_name(
    repo: Repo,
) -> None:
    root = repo(
        {"my-function": {}, "resize-images": {}, "thumb": {"entry_point": "make_thumbnail"}},
        answers={"entry_point": "handle"},
    )
    points = {n: f.entry_point for n, f in Project.load(root).functions.items()}
    assert points == {
        "my-function": "handle",
        "resize-images": "resize_images",
        "thumb": "make_thumbnail",
    }


def test_without_a_trigger_type_anywhere_a_function_is_http(repo: Repo) -> None:
    root = repo({"my-function": {}, "second": {}}, answers={"trigger_type": None})
    assert {f.trigger_type for f in Project.load(root).functions.values()} == {"http"}


def test_without_a_trigger_type_the_repos_http_answers_apply(repo: Repo) -> None:
    root = repo(
        {"my-function": {}, "second": {}},
        answers={"trigger_type": None, "allow_unauthenticated": True},
    )
    assert [f.allow_unauthenticated for f in Project.load(root).functions.values()] == [True, True]


def test_resolve_gives_every_key_and_a_string_cpu() -> None:
    answers = {"function_name": "my-function", "gcp_project_id": "my-project-id", "cpu": 1}
    settings = resolve("worker", {"trigger_type": "pubsub", "memory": "1Gi"}, answers)
    assert set(settings) == set(KEYS)
    assert (settings["cpu"], settings["memory"], settings["entry_point"]) == ("1", "1Gi", "worker")
    assert settings["trigger_service_account"] == DEFAULT_TRIGGER_SA
    assert resolve("f", {"cpu": 0.5}, answers)["cpu"] == "0.5"


def test_a_function_without_trigger_type_takes_the_repos(repo: Repo) -> None:
    root = repo({"my-function": {}, "second": {}}, answers=PUBSUB_REPO)
    for f in Project.load(root).functions.values():
        assert (f.trigger_type, f.pubsub_topic) == ("pubsub", "orders")
        assert f.retry_on_failure is True
        assert f.trigger_service_account == PUBSUB_REPO["trigger_service_account"]
        assert f.ingress_settings == "internal-only"


def test_an_event_function_in_an_http_repo_does_not_inherit_http_answers(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {"trigger_type": "http"},
            "api": {"trigger_type": "http"},
            "worker": {"trigger_type": "pubsub", "pubsub_topic": "jobs"},
        },
        answers={"allow_unauthenticated": True, "ingress_settings": "internal-and-gclb"},
    )
    functions = Project.load(root).functions
    for name in ("my-function", "api"):
        assert functions[name].allow_unauthenticated is True
        assert functions[name].ingress_settings == "internal-and-gclb"
    worker = functions["worker"]
    assert worker.allow_unauthenticated is False
    assert worker.ingress_settings == "internal-only"
    assert worker.retry_on_failure is False
    assert worker.trigger_service_account == DEFAULT_TRIGGER_SA


def test_an_http_function_in_an_event_repo_does_not_inherit_event_answers(repo: Repo) -> None:
    root = repo({"my-function": {}, "api": {"trigger_type": "http"}}, answers=PUBSUB_REPO)
    api = Project.load(root).functions["api"]
    assert api.ingress_settings == "all"
    assert (api.retry_on_failure, api.trigger_service_account, api.pubsub_topic) == (False, "", "")


def test_an_event_function_of_another_event_type_inherits_by_kind_not_by_type(repo: Repo) -> None:
    root = repo(
        {"my-function": {}, "uploads": {"trigger_type": "storage", "storage_bucket": "bucket-b"}},
        answers={**PUBSUB_REPO, "trigger_location": "eu"},
    )
    uploads = Project.load(root).functions["uploads"]
    # By kind (an event function): retries, who delivers, ingress.
    assert uploads.retry_on_failure is True
    assert uploads.trigger_service_account == PUBSUB_REPO["trigger_service_account"]
    assert uploads.ingress_settings == "internal-only"
    # By type (a storage function, and the repo's are pubsub): not the answers' location.
    assert uploads.trigger_location == "us-central1"
    assert uploads.storage_bucket == "bucket-b"


def test_a_storage_repo_passes_its_location_to_its_storage_functions(repo: Repo) -> None:
    root = repo(
        {"my-function": {}, "more": {}},
        answers={
            "trigger_type": "storage",
            "storage_bucket": "my-uploads",
            "trigger_location": "eu",
        },
    )
    for f in Project.load(root).functions.values():
        assert (f.trigger_location, f.storage_bucket, f.storage_event) == (
            "eu",
            "my-uploads",
            "finalized",
        )
        assert f.event_type == "google.cloud.storage.object.v1.finalized"


def test_answers_given_for_another_trigger_type_are_required_again(repo: Repo) -> None:
    """A scheduler or storage function added to a pubsub repo names its own topic, schedule
    and bucket: the answers' were given for the pubsub function."""
    root = repo(
        {
            "my-function": {},
            "tick": {"trigger_type": "scheduler"},
            "up": {"trigger_type": "storage"},
        },
        answers=PUBSUB_REPO,
    )
    assert errors_of(root) == [
        "functions.yaml: function 'tick': pubsub_topic: required for a scheduler function",
        "functions.yaml: function 'tick': schedule: required for a scheduler function",
        "functions.yaml: function 'up': storage_bucket: required for a storage function",
    ]


def test_scheduler_defaults(repo: Repo) -> None:
    root = repo(
        {"tick": {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"}},
        answers={"schedule_time_zone": "Europe/Paris"},
    )
    tick = one_function(root)
    assert tick.schedule_time_zone == "Etc/UTC"
    assert tick.event_type == "google.cloud.pubsub.topic.v1.messagePublished"
    assert tick.signature_type == "cloudevent"
    root = repo(
        {"my-function": {}},
        answers={
            "trigger_type": "scheduler",
            "pubsub_topic": "ticks",
            "schedule": "*/5 * * * *",
            "schedule_time_zone": "Europe/Paris",
        },
    )
    assert one_function(root).schedule_time_zone == "Europe/Paris"


AUDIT = {
    "audit_service_name": "storage.googleapis.com",
    "audit_method_name": "storage.objects.create",
}
DOCUMENT = {"firestore_document": "users/{userId}"}


@pytest.mark.parametrize(
    ("entry", "location"),
    [
        ({"trigger_type": "audit_log", **AUDIT}, "global"),
        ({"trigger_type": "audit_log", **AUDIT, "region": "europe-west1"}, "global"),
        ({"trigger_type": "firestore", **DOCUMENT, "region": "europe-west1"}, "europe-west1"),
        ({"trigger_type": "firestore", **DOCUMENT, "trigger_location": "nam5"}, "nam5"),
        ({"trigger_type": "storage", "storage_bucket": "my-bucket"}, "us-central1"),
    ],
)
def test_trigger_location_defaults(repo: Repo, entry: dict[str, Any], location: str) -> None:
    assert one_function(repo({"f": entry})).trigger_location == location


@pytest.mark.parametrize(("dead_letter", "retry"), [(True, True), (False, False)])
def test_a_dead_letter_topic_turns_retries_on(repo: Repo, dead_letter: bool, retry: bool) -> None:
    entry: dict[str, Any] = {"trigger_type": "pubsub", "pubsub_topic": "jobs"}
    if dead_letter:
        entry["dead_letter_topic"] = "jobs-dead"
    f = one_function(repo({"worker": entry}))
    assert f.retry_on_failure is retry
    assert f.push_subscription is dead_letter
    assert f.max_delivery_attempts == 5


# -- typed fields


@pytest.mark.parametrize(
    ("cpu", "memory", "concurrency", "typed"),
    [
        (1, "512Mi", 80, "1"),
        (0.5, "1Gi", 1, "0.5"),
        ("2", "2Gi", 80, "2"),
        ("0.083", "128Mi", 1, "0.083"),
    ],
)
def test_cpu_is_a_string_however_written(
    repo: Repo, cpu: Any, memory: str, concurrency: int, typed: str
) -> None:
    entry = {"cpu": cpu, "memory": memory, "concurrency": concurrency}
    f = one_function(repo({"my-function": entry}))
    assert f.cpu == typed
    assert isinstance(f.cpu, str)


def test_cpu_answered_as_a_number_is_a_string(repo: Repo) -> None:
    assert one_function(repo(answers={"cpu": 1})).cpu == "1"


def test_settings_that_do_not_apply_to_the_trigger_are_empty(repo: Repo) -> None:
    """An http repo's answers may hold event answers (Copier keeps them): they do not apply."""
    root = repo(
        {"my-function": {}, "worker": {"trigger_type": "pubsub", "pubsub_topic": "jobs"}},
        answers={**PUBSUB_REPO, "trigger_type": "http", "allow_unauthenticated": True},
    )
    functions = Project.load(root).functions
    http = functions["my-function"]
    assert (http.pubsub_topic, http.storage_bucket, http.schedule, http.schedule_time_zone) == (
        "",
        "",
        "",
        "",
    )
    assert (http.retry_on_failure, http.trigger_service_account, http.trigger_location) == (
        False,
        "",
        "",
    )
    assert (http.dead_letter_topic, http.max_delivery_attempts) == ("", 0)
    assert http.allow_unauthenticated is True
    worker = functions["worker"]
    assert (worker.allow_unauthenticated, worker.storage_bucket, worker.schedule) == (False, "", "")
    assert (worker.firestore_database, worker.firestore_event, worker.trigger_location) == (
        "",
        "",
        "",
    )
    assert (worker.pubsub_topic, worker.retry_on_failure) == ("jobs", False)
    assert worker.trigger_service_account == DEFAULT_TRIGGER_SA


def test_lists_and_maps_are_typed(repo: Repo) -> None:
    root = repo(
        {
            "my-function": {
                "secrets": ["API_KEY=api-key:latest", "/etc/secrets/key=cert:1"],
                "roles": ["roles/bigquery.dataEditor"],
                "publishes": {"OUT_TOPIC": "results"},
            }
        }
    )
    f = one_function(root)
    assert f.secrets == ("API_KEY=api-key:latest", "/etc/secrets/key=cert:1")
    assert f.secret_names == {"API_KEY", "/etc/secrets/key"}
    assert f.roles == (rules.Grant("roles/bigquery.dataEditor"),)
    assert f.publishes == {"OUT_TOPIC": "results"}


# The settings of an HTTP function as resolve() gives them, for Function.from_settings.
HTTP_SETTINGS = {
    "entry_point": "handle",
    "trigger_type": "http",
    "region": "us-central1",
    "memory": "1Gi",
    "cpu": "1",
    "concurrency": 1,
    "timeout": 60,
    "min_instances": 0,
    "max_instances": 3,
    "service_account": SA,
    "ingress_settings": "all",
}


def test_from_settings_types_every_value() -> None:
    settings = {
        **HTTP_SETTINGS,
        "cpu": 0.5,
        "secrets": ["K=k:1"],
        "roles": None,
        "publishes": {"OUT": "records"},
        "pubsub_topic": None,
        "max_delivery_attempts": None,
        "retry_on_failure": None,
        "unknown": "ignored",
    }
    f = Function.from_settings("f", settings)
    assert (f.name, f.cpu, f.secrets, f.roles, f.publishes) == (
        "f",
        "0.5",
        ("K=k:1",),
        (),
        {"OUT": "records"},
    )
    assert (f.pubsub_topic, f.max_delivery_attempts, f.retry_on_failure) == ("", 0, False)


def test_from_settings_makes_none_the_empty_value_of_each_type_and_keeps_its_name() -> None:
    """An empty key (`publishes:` with nothing after it) reads as None; the name is the
    entry's, whatever the settings hold."""
    settings = {
        **HTTP_SETTINGS,
        "name": "not-this-one",
        "publishes": None,
        "max_delivery_attempts": None,
        "max_connections": None,
        "retry_on_failure": None,
        "pubsub_topic": None,
    }
    f = Function.from_settings("f", settings)
    assert (f.name, f.publishes) == ("f", {})
    empty = (f.max_delivery_attempts, f.max_connections, f.retry_on_failure, f.pubsub_topic)
    assert [repr(value) for value in empty] == ["0", "0", "False", "''"]


def test_a_function_with_a_database(repo: Repo) -> None:
    f = one_function(repo(answers=DATABASE))
    assert f.has_database
    assert (f.cloudsql_instance, f.database_name, f.database_user) == (
        "my-project-id:us-central1:orders-db",
        "app",
        "runner@my-project-id.iam",
    )
    assert (f.database_auth, f.database_ip, f.max_connections, f.service_account) == (
        "iam",
        "public",
        100,
        SA,
    )


# -- every problem of functions.yaml, naming the function and the key


def test_an_unknown_key_is_reported_with_the_known_ones(repo: Repo) -> None:
    (error,) = errors_of(repo({"my-function": {"colour": "blue"}}))
    assert error.startswith(
        "functions.yaml: function 'my-function': colour: unknown key; known keys are "
        "entry_point, deploy_api, trigger_type, "
    )
    assert error.endswith(", max_connections, function_style")


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"concurrency": "80"}, 'concurrency: must be a whole number (got "80")'),
        ({"concurrency": True}, "concurrency: must be a whole number (got true)"),
        ({"timeout": 60.5}, "timeout: must be a whole number (got 60.5)"),
        (
            {"allow_unauthenticated": "yes"},
            'allow_unauthenticated: must be true or false (got "yes")',
        ),
        ({"cpu": True}, "cpu: must be a string or a number (got true)"),
        ({"memory": 512}, "memory: must be a string (got 512)"),
        ({"secrets": "API_KEY=api-key:1"}, 'secrets: must be a list (got "API_KEY=api-key:1")'),
        ({"publishes": ["records"]}, 'publishes: must be a dict (got ["records"])'),
    ],
)
def test_a_value_of_the_wrong_yaml_type_is_reported(
    repo: Repo, entry: dict[str, Any], error: str
) -> None:
    assert errors_of(repo({"my-function": entry})) == [
        f"functions.yaml: function 'my-function': {error}"
    ]


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            {"trigger_type": "pubsub", "pubsub_topic": "topic-1", "allow_unauthenticated": True},
            "allow_unauthenticated: only for http functions, and this one is pubsub",
        ),
        (
            {"trigger_type": "http", "pubsub_topic": "topic-1"},
            "pubsub_topic: only for pubsub, scheduler functions, and this one is http",
        ),
        (
            {"trigger_type": "http", "retry_on_failure": True},
            "retry_on_failure: only for pubsub, storage, firestore, audit_log, scheduler "
            "functions, and this one is http",
        ),
        (
            {"trigger_type": "pubsub", "pubsub_topic": "topic-1", "schedule": "0 * * * *"},
            "schedule: only for scheduler functions, and this one is pubsub",
        ),
        (
            {
                "trigger_type": "scheduler",
                "pubsub_topic": "topic-1",
                "schedule": "0 * * * *",
                "dead_letter_topic": "dead",
            },
            "dead_letter_topic: only for pubsub functions, and this one is scheduler",
        ),
        (
            {
                "trigger_type": "pubsub",
                "pubsub_topic": "topic-1",
                "trigger_location": "us-central1",
            },
            "trigger_location: only for storage, firestore, audit_log functions, and this one is "
            "pubsub",
        ),
    ],
)
def test_a_key_of_another_trigger_is_reported(
    repo: Repo, entry: dict[str, Any], error: str
) -> None:
    assert errors_of(repo({"f": entry})) == [f"functions.yaml: function 'f': {error}"]


@pytest.mark.parametrize(
    ("trigger", "required"),
    [
        ("pubsub", ["pubsub_topic"]),
        ("scheduler", ["pubsub_topic", "schedule"]),
        ("storage", ["storage_bucket"]),
        ("firestore", ["firestore_document"]),
        ("audit_log", ["audit_service_name", "audit_method_name"]),
    ],
)
def test_a_required_key_missing_is_reported(repo: Repo, trigger: str, required: list[str]) -> None:
    assert errors_of(repo({"f": {"trigger_type": trigger}})) == [
        f"functions.yaml: function 'f': {key}: required for a {trigger} function"
        for key in required
    ]


def test_an_unknown_trigger_type_is_reported(repo: Repo) -> None:
    assert errors_of(repo({"f": {"trigger_type": "queue"}})) == [
        "functions.yaml: function 'f': trigger_type: must be one of http, pubsub, storage, "
        'firestore, audit_log, scheduler (got "queue")'
    ]


def test_two_functions_with_one_entry_point_are_reported(repo: Repo) -> None:
    root = repo({"a": {"entry_point": "handle"}, "b": {"entry_point": "handle"}})
    assert errors_of(root) == [
        "functions.yaml: function 'b': entry_point: handle is also the entry point of 'a'; "
        "each function needs its own"
    ]


def test_a_dead_letter_topic_without_retries_is_reported(repo: Repo) -> None:
    entry = {
        "trigger_type": "pubsub",
        "pubsub_topic": "jobs",
        "dead_letter_topic": "jobs-dead",
        "retry_on_failure": False,
    }
    assert errors_of(repo({"worker": entry})) == [
        "functions.yaml: function 'worker': dead_letter_topic: needs retry_on_failure: true, "
        "since only retried messages reach a dead-letter topic"
    ]


def test_max_delivery_attempts_without_a_dead_letter_topic_is_reported(repo: Repo) -> None:
    entry = {"trigger_type": "pubsub", "pubsub_topic": "jobs", "max_delivery_attempts": 10}
    assert errors_of(repo({"worker": entry})) == [
        "functions.yaml: function 'worker': max_delivery_attempts: needs a dead_letter_topic"
    ]


@pytest.mark.parametrize(("attempts", "valid"), [(4, False), (5, True), (100, True), (101, False)])
def test_max_delivery_attempts(repo: Repo, attempts: int, valid: bool) -> None:
    entry = {
        "trigger_type": "pubsub",
        "pubsub_topic": "jobs",
        "dead_letter_topic": "jobs-dead",
        "max_delivery_attempts": attempts,
    }
    root = repo({"worker": entry})
    if valid:
        assert one_function(root).max_delivery_attempts == attempts
    else:
        assert errors_of(root) == [
            "functions.yaml: function 'worker': max_delivery_attempts: must be 5 to 100 "
            f"(got {attempts})"
        ]


@pytest.mark.parametrize(
    ("entry", "answers", "error"),
    [
        ({"cpu": "0.079", "memory": "128Mi", "concurrency": 1}, {}, "cpu: must be a number"),
        ({"cpu": "0.999", "concurrency": 2}, {}, "concurrency: above 1 needs at least 1 vCPU"),
        ({"timeout": 3601}, {}, "timeout: must be 1 to 3600 seconds for HTTP functions"),
        (
            {"trigger_type": "pubsub", "pubsub_topic": "topic-1", "timeout": 541},
            {},
            "timeout: must be 1 to 540 seconds",
        ),
        ({"min_instances": 1}, {"environments": ["dev", "staging"]}, "min_instances: "),
        ({"min_instances": 5, "max_instances": 4}, {}, "max_instances: must be at least"),
        ({"memory": "3Gi"}, {}, "memory: must be one of"),
        ({"region": "mars-north1"}, {}, "region: must be a region"),
        ({"secrets": ["PORT=p:1"]}, {}, "secrets: PORT is reserved"),
        ({"roles": ["roles/owner"]}, {}, "roles: roles/owner is a basic role"),
        ({"service_account": "me"}, {}, "service_account: must be a service account email"),
        ({"ingress_settings": "public"}, {}, "ingress_settings: must be one of"),
        ({"vpc": "connector"}, {}, "vpc_connector: must be a connector name"),
        ({"vpc": "direct", "vpc_network": "net"}, {}, "vpc_subnet: must be a name"),
        ({"publishes": {"PORT": "topic-1"}}, {}, 'publishes: PORT is a reserved name (got "PORT")'),
        ({"publishes": {"OUT": 3}}, {}, "publishes: must map environment variable names"),
        ({"publishes": {"OUT": "goog-x"}}, {}, 'publishes.OUT: must not start with "goog"'),
        (
            {"database": "cloudsql_postgres"},
            {},
            "database: the repo has no database module (database.py and its requirements): "
            "add it with `copier update --data database=cloudsql_postgres`",
        ),
        ({"database": "mysql"}, {}, "database: must be one of none, cloudsql_postgres"),
        (
            {"trigger_type": "firestore", "firestore_document": "users"},
            {},
            "firestore_document: must name documents, so an even number of segments",
        ),
        (
            {
                "trigger_type": "firestore",
                "firestore_document": "users/{userId}",
                "firestore_event": "changed",
            },
            {},
            "firestore_event: must be one of created, updated, deleted, written",
        ),
        (
            {
                "trigger_type": "firestore",
                "firestore_document": "users/{userId}",
                "firestore_database": "Bad DB",
            },
            {},
            "firestore_database: must be (default) or 4-63 characters",
        ),
        (
            {
                "trigger_type": "audit_log",
                "audit_service_name": "storage",
                "audit_method_name": "storage.objects.create",
            },
            {},
            "audit_service_name: must be a Google API service name ending in .googleapis.com",
        ),
        (
            {
                "trigger_type": "audit_log",
                "audit_service_name": "storage.googleapis.com",
                "audit_method_name": "bad method!",
            },
            {},
            "audit_method_name: must be a dotted method name",
        ),
        (
            {"trigger_type": "storage", "storage_bucket": "Bad_Bucket!"},
            {},
            "storage_bucket: must be 3-63 characters of lower-case letters",
        ),
        (
            {"trigger_type": "storage", "storage_bucket": "my-bucket", "storage_event": "created"},
            {},
            "storage_event: must be one of finalized, deleted, archived, metadataUpdated",
        ),
        (
            {"trigger_type": "scheduler", "pubsub_topic": "topic-1", "schedule": "0 * * *"},
            {},
            "schedule: must be a cron expression with 5 fields",
        ),
        (
            {
                "trigger_type": "scheduler",
                "pubsub_topic": "topic-1",
                "schedule": "0 * * * *",
                "schedule_time_zone": "Mars/Olympus",
            },
            {},
            "schedule_time_zone: must be a time zone name",
        ),
        (
            {"trigger_type": "storage", "storage_bucket": "my-bucket", "trigger_location": "nam5"},
            {},
            "trigger_location: must be a region",
        ),
        (
            {"trigger_type": "pubsub", "pubsub_topic": "topic-1", "trigger_service_account": "x"},
            {},
            "trigger_service_account: must be a service account email",
        ),
    ],
    ids=case_id,
)
def test_the_platforms_rules_are_applied(
    repo: Repo, entry: dict[str, Any], answers: dict[str, Any], error: str
) -> None:
    (message,) = errors_of(repo({"f": entry}, answers=answers))
    assert message.startswith(f"functions.yaml: function 'f': {error}")


@pytest.mark.parametrize(
    ("entry", "errors"),
    [
        (
            {"entry_point": "my-func"},
            [
                "entry_point: must be a Python identifier (letters, digits and underscores, not "
                'starting with a digit) (got "my-func")'
            ],
        ),
        # A route that does not exist stops the checks: the others depend on the route.
        (
            {"deploy_api": "gke", "timeout": 99999},
            ['deploy_api: must be one of run, functions (got "gke")'],
        ),
        ({"vpc": "peering"}, ['vpc: must be one of none, connector, direct (got "peering")']),
        (
            {"vpc": "connector", "vpc_connector": "conn-1", "vpc_egress": "some"},
            ['vpc_egress: must be one of private-ranges-only, all (got "some")'],
        ),
        (
            {"vpc": "connector"},
            [
                "vpc_connector: must be a connector name of 2-25 lower-case letters, digits and "
                'hyphens, or projects/PROJECT/locations/REGION/connectors/NAME (got "")'
            ],
        ),
        (
            {"vpc": "direct", "timeout": 99999},
            [
                "timeout: must be 1 to 3600 seconds for HTTP functions (got 99999)",
                "vpc_network: must be a name of 1-63 lower-case letters, digits and hyphens, or "
                'its full resource path (got "")',
                "vpc_subnet: must be a name of 1-63 lower-case letters, digits and hyphens, or its "
                'full resource path (got "")',
            ],
        ),
        # cpu and concurrency are checked only against a memory and a cpu that are valid.
        (
            {"memory": "3Gi", "cpu": "0.5"},
            [
                "memory: must be one of 128Mi, 256Mi, 512Mi, 1Gi, 2Gi, 4Gi, 8Gi, 16Gi, 32Gi "
                '(got "3Gi")'
            ],
        ),
        (
            {"cpu": "0.07", "concurrency": 80},
            [
                "cpu: must be a number of vCPUs from 0.08 to 1 (at most 3 decimals), or 2, 4, 6 "
                'or 8 (got "0.07")'
            ],
        ),
        ({"cpu": True}, ["cpu: must be a string or a number (got true)"]),
        (
            {"publishes": {"bad-name": "topic-1"}},
            [
                "publishes: must map environment variable names to topic ids, such as "
                '{RECORDS_TOPIC: records} (got {"bad-name": "topic-1"})'
            ],
        ),
        (
            {"trigger_type": "storage", "storage_bucket": "my-b", "dead_letter_topic": "dl-1"},
            ["dead_letter_topic: only for pubsub functions, and this one is storage"],
        ),
    ],
    ids=case_id,
)
def test_a_functions_settings_are_reported_exactly(
    repo: Repo, entry: dict[str, Any], errors: list[str]
) -> None:
    assert errors_of(repo({"f": entry})) == [f"functions.yaml: function 'f': {e}" for e in errors]


def test_a_bad_route_is_the_only_problem_reported(repo: Repo) -> None:
    """The other checks depend on the route: none runs, not even whether a key applies."""
    assert errors_of(repo({"f": {"deploy_api": "gke", "storage_bucket": "b-1"}})) == [
        "functions.yaml: function 'f': deploy_api: must be one of run, functions (got \"gke\")"
    ]


def test_answers_left_from_another_trigger_are_checked_against_the_function(repo: Repo) -> None:
    """A storage repo whose answers still hold a dead-letter topic (from a pubsub past)."""
    answers = {"trigger_type": "storage", "storage_bucket": "my-b", "dead_letter_topic": "dl-1"}
    assert errors_of(repo({"my-function": {}}, answers=answers)) == [
        "functions.yaml: function 'my-function': dead_letter_topic: only for pubsub functions, "
        "and this one is storage"
    ]


def test_settings_that_wait_for_another_are_not_checked_without_it(repo: Repo) -> None:
    """vpc_egress applies only with a VPC; the repo's own function without an entry_point
    answer (a repo made before the question) takes its name."""
    root = repo({"my-function": {}}, answers={"vpc_egress": "some", "entry_point": None})
    assert one_function(root).entry_point == "my_function"


def test_an_http_function_in_a_pipeline_repo_is_checked_and_defaulted_as_http(repo: Repo) -> None:
    """Each function of functions.yaml is checked as the single function of a repo, whatever
    the preset: the pipeline's first function is a Storage one, this one is HTTP."""
    root = repo(
        {
            "validate": {"trigger_type": "storage", "storage_bucket": "my-uploads"},
            "api": {"timeout": 1000},
        },
        answers={"preset": "pipeline", "records_topic": "records", "summary_topic": "summary"},
    )
    api = Project.load(root).functions["api"]
    assert (api.trigger_type, api.timeout, api.ingress_settings) == ("http", 1000, "all")


def test_answers_without_the_project_or_function_name_are_reported_not_a_crash(
    repo: Repo,
) -> None:
    """A hand-edited answers file: the identities that cannot be derived are each refused with
    what was derived (without a function name the defaults still derive, from "function")."""
    functions = {"f": {}, "g": {"trigger_type": "pubsub", "pubsub_topic": "t-1"}}
    rule = (
        "must be a service account email such as name@project-id.iam.gserviceaccount.com, "
        "whose name is 6-30 lower-case letters, digits and hyphens (got "
    )
    assert errors_of(repo(functions, answers={"gcp_project_id": None})) == [
        f"functions.yaml: function 'f': service_account: {rule}\"my-function-9985-f@.iam.gserviceaccount.com\")",
        f"functions.yaml: function 'g': trigger_service_account: {rule}null)",
        f"functions.yaml: function 'g': service_account: {rule}\"my-function-d64a-g@.iam.gserviceaccount.com\")",
    ]
    assert errors_of(repo(functions, answers={"function_name": None})) == [
        f"functions.yaml: function 'f': service_account: {rule}\"-84ea-f@my-project-id.iam.gserviceaccount.com\")",
        f"functions.yaml: function 'g': service_account: {rule}\"-acaf-g@my-project-id.iam.gserviceaccount.com\")",
    ]


def test_every_problem_of_every_function_is_reported(repo: Repo) -> None:
    root = repo(
        {
            "good": {},
            "a": {"memory": "3Gi", "timeout": 0},
            "b": {"trigger_type": "pubsub", "pubsub_topic": "ab"},
        }
    )
    errors = errors_of(root)
    assert [e.partition(": ")[2].partition(":")[0] for e in errors] == [
        "function 'a'",
        "function 'a'",
        "function 'b'",
    ]
    assert [e.split(": ")[2] for e in errors] == ["memory", "timeout", "pubsub_topic"]


@pytest.mark.parametrize(
    ("length", "environments", "valid"),
    [
        (59, ["dev", "production"], True),
        (60, ["dev", "production"], False),
        (63, ["production"], True),
    ],
)
def test_a_name_leaves_room_for_its_environment_suffix(
    repo: Repo, length: int, environments: list[str], valid: bool
) -> None:
    name = "f" * length
    root = repo({name: {"entry_point": "handler"}}, answers={"environments": environments})
    if valid:
        assert list(Project.load(root).functions) == [name]
    else:
        assert errors_of(root) == [
            f"functions.yaml: function '{name}': name: outside production the function deploys "
            f'as {name}-<environment>, which must fit in 63 characters (got "{name}")'
        ]


def test_an_invalid_name_is_reported(repo: Repo) -> None:
    (error,) = errors_of(repo({"My_Function": {"entry_point": "my_function"}}))
    assert error.startswith("functions.yaml: function 'My_Function': name: must be 1-63 characters")


@pytest.mark.parametrize(
    ("key", "entry"),
    [
        ("publishes.OUT", {"trigger_type": "http", "publishes": {"OUT": "{topic}"}}),
        (
            "pubsub_topic",
            {"trigger_type": "scheduler", "pubsub_topic": "{topic}", "schedule": "0 * * * *"},
        ),
        (
            "dead_letter_topic",
            {"trigger_type": "pubsub", "pubsub_topic": "jobs", "dead_letter_topic": "{topic}"},
        ),
    ],
)
@pytest.mark.parametrize(("length", "valid"), [(251, True), (252, False)])
def test_the_repos_own_topics_leave_room_for_the_suffix(
    repo: Repo, key: str, entry: dict[str, Any], length: int, valid: bool
) -> None:
    """Owned topics are suffixed -dev outside production: 251 characters and 4 for "-dev"."""
    topic = "t" * length
    entry = {k: (topic if v == "{topic}" else v) for k, v in entry.items()}
    if "publishes" in entry:
        entry["publishes"] = {"OUT": topic}
    root = repo({"f": entry})
    if valid:
        assert topic in Project.load(root).owned_topics()
    else:
        (error,) = errors_of(root)
        assert error.startswith(
            f"functions.yaml: function 'f': {key}: must be at most 251 characters"
        )


def test_a_push_subscriptions_own_topic_leaves_room_for_the_suffix(repo: Repo) -> None:
    entry = {"trigger_type": "pubsub", "pubsub_topic": "t" * 252, "dead_letter_topic": "dead"}
    (error,) = errors_of(repo({"f": entry}))
    assert error.startswith("functions.yaml: function 'f': pubsub_topic: must be at most 251")


def test_a_pubsub_topic_owned_by_no_one_may_take_255_characters(repo: Repo) -> None:
    entry = {"trigger_type": "pubsub", "pubsub_topic": "t" * 255}
    assert one_function(repo({"f": entry})).pubsub_topic == "t" * 255


def test_an_entry_that_is_not_a_map_is_reported(repo: Repo) -> None:
    assert errors_of(repo({"my-function": "http"})) == [
        "functions.yaml: function 'my-function': must be a map of settings such as "
        '{entry_point: ..., trigger_type: ...} (got "http")'
    ]


@pytest.mark.parametrize("text", ["functions: {}\n", "functions: [a]\n", "other: 1\n", "", "[1]\n"])
def test_a_manifest_without_functions_is_reported(repo: Repo, text: str) -> None:
    root = repo()
    (root / "functions.yaml").write_text(text)
    assert errors_of(root) == [
        "functions.yaml: must have a map `functions:` from function names to their settings"
    ]


def test_a_manifest_that_is_not_yaml_is_reported(repo: Repo) -> None:
    root = repo()
    (root / "functions.yaml").write_text("functions: [\n")
    (error,) = errors_of(root)
    assert error.startswith("functions.yaml is not valid YAML: ")


def test_the_first_function_out_of_step_with_the_answers_is_explained(repo: Repo) -> None:
    root = repo({"my-function": {"trigger_type": "storage"}}, answers=PUBSUB_REPO)
    assert errors_of(root) == [
        "functions.yaml: function 'my-function': storage_bucket: required for a storage function",
        "functions.yaml: function 'my-function': trigger_type: functions.yaml makes my-function a "
        "storage function, and the answers' trigger_type is pubsub: after changing the answer, "
        'change this entry and the function in main.py to match (README.md, "Changing an answer")',
    ]


# -- databases


@pytest.mark.parametrize(("max_instances", "valid"), [(10, True), (11, False)])
def test_every_pool_must_fit_the_databases_connections(
    repo: Repo, max_instances: int, valid: bool
) -> None:
    root = repo(
        {"my-function": {"concurrency": 8, "max_instances": max_instances}}, answers=DATABASE
    )
    if valid:
        assert one_function(root).max_instances == max_instances
    else:
        (error,) = errors_of(root)
        assert error.startswith(
            "functions.yaml: function 'my-function': max_instances: max_instances (11) x "
            "(pool_size 8 + max_overflow 2) = 110 connections exceed"
        )


def test_one_instance_must_fit_the_databases_connections(repo: Repo) -> None:
    root = repo({"my-function": {"concurrency": 99}}, answers=DATABASE)
    (error,) = errors_of(root)
    assert error.startswith(
        "functions.yaml: function 'my-function': max_connections: must be at least 101"
    )
    assert (
        one_function(repo({"my-function": {"concurrency": 98}}, answers=DATABASE)).concurrency == 98
    )


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ({"cloudsql_instance": None}, "cloudsql_instance: required for a function with a database"),
        (
            {"database_user": "someone@my-project-id.iam"},
            "database_user: with database_auth iam the user is the function's service account "
            'without .gserviceaccount.com, runner@my-project-id.iam (got "someone@my-project-id.iam")',
        ),
        (
            {"database_auth": "password", "database_user": "app"},
            "database_auth: password needs DB_PASSWORD in the function's secrets, such as "
            "DB_PASSWORD=db-password:latest",
        ),
        (
            {"database_ip": "private"},
            "database_ip: a private IP is reached through a VPC network, and vpc is none: set "
            'vpc to connector or direct, or use database_ip public (got "private")',
        ),
    ],
    ids=case_id,
)
def test_database_settings_are_checked(repo: Repo, answers: dict[str, Any], error: str) -> None:
    assert errors_of(repo(answers={**DATABASE, **answers})) == [
        f"functions.yaml: function 'my-function': {error}"
    ]


def test_a_password_database_with_its_secret_passes(repo: Repo) -> None:
    answers = {**DATABASE, "database_auth": "password", "database_user": "app"}
    root = repo({"my-function": {"secrets": ["DB_PASSWORD=db-password:latest"]}}, answers=answers)
    assert one_function(root).database_auth == "password"


def test_an_added_function_keeps_the_database_user_it_names(repo: Repo) -> None:
    """With IAM authentication an added function's user is derived from its own identity,
    unless it names one: then that one is checked against its identity, not replaced."""
    functions = {"my-function": {}, "reports": {"database": "cloudsql_postgres"}}
    derived = Project.load(repo(functions, answers=DATABASE)).functions["reports"]
    assert derived.database_user == rules.iam_database_user(derived.service_account)
    functions["reports"]["database_user"] = "runner@my-project-id.iam"
    assert errors_of(repo(functions, answers=DATABASE)) == [
        "functions.yaml: function 'reports': database_user: with database_auth iam the user is "
        f"the function's service account without .gserviceaccount.com, "
        f'{derived.database_user} (got "runner@my-project-id.iam")'
    ]


def test_a_malformed_db_password_entry_is_reported_once_as_a_secret(repo: Repo) -> None:
    """The entry names DB_PASSWORD (its name ends at the first "="): the secret's own error
    says what is wrong, not a second one claiming DB_PASSWORD is missing."""
    answers = {**DATABASE, "database_auth": "password", "database_user": "app"}
    root = repo({"my-function": {"secrets": ["DB_PASSWORD=db=password:latest"]}}, answers=answers)
    assert errors_of(root) == [
        "functions.yaml: function 'my-function': secrets: an environment variable name cannot "
        'contain "=" (got "DB_PASSWORD=db=password:latest")'
    ]


FUNCTION = "functions.yaml: function 'my-function': "


def test_a_database_in_a_repo_without_the_database_module_says_how_to_add_it(
    repo: Repo,
) -> None:
    assert errors_of(repo({"my-function": {"database": "cloudsql_postgres"}})) == [
        FUNCTION + "database: the repo has no database module (database.py and its "
        "requirements): add it with `copier update --data database=cloudsql_postgres`"
    ]


def test_every_missing_database_setting_is_reported_at_once(repo: Repo) -> None:
    answers = {**DATABASE, "database_name": None, "database_user": None}
    assert errors_of(repo(answers=answers)) == [
        FUNCTION + "database_name: required for a function with a database",
        FUNCTION + "database_user: required for a function with a database",
    ]


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        (
            {"cloudsql_instance": "orders-db"},
            "cloudsql_instance: must be the instance connection name PROJECT:REGION:INSTANCE, "
            "such as my-project:us-central1:orders-db (a project id, a region, and an instance "
            'id of lower-case letters, digits and hyphens starting with a letter) (got "orders-db")',
        ),
        # The questionnaire once took a trailing new line that `make check` refused.
        (
            {"database_name": "app\n"},
            "database_name: must be 1-63 lower-case letters, digits and underscores, starting "
            "with a letter or underscore and not with pg_ (a PostgreSQL name that needs no "
            'quotes) (got "app\\n")',
        ),
        (
            {"database_auth": "kerberos"},
            'database_auth: must be one of iam, password (got "kerberos")',
        ),
        (
            {"database_ip": "somewhere"},
            'database_ip: must be one of public, private (got "somewhere")',
        ),
    ],
    ids=case_id,
)
def test_a_database_setting_breaking_its_rule_is_reported_under_its_key(
    repo: Repo, answers: dict[str, Any], error: str
) -> None:
    assert errors_of(repo(answers={**DATABASE, **answers})) == [FUNCTION + error]


# -- the project: environments, names and topics


def pipeline(repo: Repo) -> Project:
    """A repo of four functions: a publisher, a push subscription, Eventarc, a scheduler."""
    root = repo(
        {
            "my-function": {"publishes": {"RECORDS_TOPIC": "records"}},
            "enrich": {
                "trigger_type": "pubsub",
                "pubsub_topic": "records",
                "dead_letter_topic": "records-dead",
                "publishes": {"SUMMARY_TOPIC": "summary"},
            },
            "listen": {"trigger_type": "pubsub", "pubsub_topic": "external-events"},
            "tick": {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"},
        },
        answers={"environments": ["dev", "staging", "production"]},
    )
    return Project.load(root)


def test_owned_topics(repo: Repo) -> None:
    assert pipeline(repo).owned_topics() == {"records", "records-dead", "summary", "ticks"}


@pytest.mark.parametrize(
    ("topic", "environment", "deployed"),
    [
        ("records", "dev", "records-dev"),
        ("records", "staging", "records-staging"),
        ("records", "production", "records"),
        ("records-dead", "dev", "records-dead-dev"),
        ("summary", "dev", "summary-dev"),
        ("ticks", "dev", "ticks-dev"),
        ("ticks", "production", "ticks"),
        ("external-events", "dev", "external-events"),
        ("someone-elses", "dev", "someone-elses"),
    ],
)
def test_only_owned_topics_are_suffixed(
    repo: Repo, topic: str, environment: str, deployed: str
) -> None:
    assert pipeline(repo).topic(topic, environment) == deployed


def test_names_and_environments(repo: Repo) -> None:
    project = pipeline(repo)
    enrich = project.functions["enrich"]
    assert project.deployed_name(enrich, "dev") == "enrich-dev"
    assert project.deployed_name(enrich, "production") == "enrich"
    assert project.environments == ["dev", "staging", "production"]
    assert project.ci_environments == ["dev", "production"]
    assert project.project_id == "my-project-id"
    assert project.function_name == "my-function"
    assert project.runtime == "python313"
    assert project.ci_provider == "github_actions"
    assert project.deployer("production") == (
        "my-function-86e4-dep-prd@my-project-id.iam.gserviceaccount.com"
    )
    assert set(project.by_entry_point()) == {"my_function", "enrich", "listen", "tick"}
    assert [f.name for f in project.select(None)] == ["my-function", "enrich", "listen", "tick"]
    assert [f.name for f in project.select("listen")] == ["listen"]


def test_selecting_an_unknown_function_names_the_known_ones(repo: Repo) -> None:
    with pytest.raises(ProjectError) as info:
        pipeline(repo).select("nope")
    assert info.value.errors == [
        "no function 'nope' in functions.yaml: it has my-function, enrich, listen, tick"
    ]


def test_an_unknown_environment_names_the_known_ones(repo: Repo) -> None:
    project = Project.load(repo())
    project.check_environment("dev")
    with pytest.raises(ProjectError) as info:
        project.check_environment("qa")
    assert info.value.errors == ["unknown environment 'qa': known environments are dev, production"]


def test_without_environments_there_is_production(repo: Repo) -> None:
    project = Project.load(repo(answers={"environments": None}))
    assert project.environments == ["production"]
    assert project.ci_environments == ["production"]


def test_each_environment_deploys_to_the_project_of_its_env_file(repo: Repo) -> None:
    project = Project.load(repo(env={"dev": {"GOOGLE_CLOUD_PROJECT": "Not_A_Project"}}))
    assert project.cloud_project("production") == "my-project-id"
    assert project.variables("production")["ENVIRONMENT"] == "production"
    with pytest.raises(ProjectError) as info:
        project.cloud_project("dev")
    assert info.value.errors == [
        "env.dev.yaml must set GOOGLE_CLOUD_PROJECT to a project id (got 'Not_A_Project')"
    ]


def test_an_env_file_without_a_project_says_it_must_set_one(repo: Repo) -> None:
    root = repo()
    (root / "env.dev.yaml").write_text('ENVIRONMENT: "dev"\nLOG_LEVEL: "DEBUG"\n')
    with pytest.raises(ProjectError) as info:
        Project.load(root).cloud_project("dev")
    assert info.value.errors == [
        "env.dev.yaml must set GOOGLE_CLOUD_PROJECT to a project id (got '')"
    ]


def test_the_answers_are_read_without_copiers_own_keys(repo: Repo) -> None:
    answers = read_answers(Layout(repo()))
    assert "_commit" not in answers
    assert "_src_path" not in answers
    assert answers["function_name"] == "my-function"


def test_answers_that_are_not_a_map_are_reported(repo: Repo) -> None:
    root = repo()
    (root / ".copier-answers.yml").write_text("- a\n")
    assert errors_of(root) == [".copier-answers.yml must be a map of answers"]
    (root / ".copier-answers.yml").unlink()
    assert errors_of(root) == [".copier-answers.yml is missing"]


# -- env files


def test_an_env_file_of_quoted_values_is_read(tmp_path: Path) -> None:
    path = tmp_path / "env.dev.yaml"
    path.write_text(
        "# comment\n\nENVIRONMENT: \"dev\"\nLOG_LEVEL: 'DEBUG'  # inline comment\n"
        'EMPTY: ""\nURL: "https://example.com/a#b"\n'
    )
    assert read_env_file(path) == {
        "ENVIRONMENT": "dev",
        "LOG_LEVEL": "DEBUG",
        "EMPTY": "",
        "URL": "https://example.com/a#b",
    }


def test_an_env_file_in_any_yaml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "env.dev.yaml"
    path.write_text('ENVIRONMENT: dev\nQUOTED: "it\'s \\"x\\""\n')
    assert read_env_file(path) == {"ENVIRONMENT": "dev", "QUOTED": 'it\'s "x"'}
    path.write_text("")
    assert read_env_file(path) == {}


@pytest.mark.parametrize("value", ["3", "true", "1.5", "null", "[a]", "{a: b}"])
def test_an_env_file_value_that_is_not_a_string_is_refused(tmp_path: Path, value: str) -> None:
    path = tmp_path / "env.dev.yaml"
    path.write_text(f'ENVIRONMENT: "dev"\nRETRIES: {value}\n')
    with pytest.raises(ProjectError) as info:
        read_env_file(path)
    assert info.value.errors == [
        "env.dev.yaml: values must be strings, as Cloud Run sets them; quote them: RETRIES"
    ]


def test_every_value_that_is_not_a_string_is_named(tmp_path: Path) -> None:
    path = tmp_path / "env.staging.yaml"
    path.write_text("RETRIES: 3\nDEBUG: true\nNAME: x\n")
    with pytest.raises(ProjectError) as info:
        read_env_file(path)
    assert info.value.errors == [
        "env.staging.yaml: values must be strings, as Cloud Run sets them; quote them: RETRIES, DEBUG"
    ]


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("PORT", "is set by Cloud Run itself"),
        ("K_SERVICE", "is set by Cloud Run itself"),
        ("FUNCTION_TARGET", "is set by Cloud Run itself"),
        ("X_GOOGLE_FOO", "is set by Cloud Run itself"),
        ("A B", "a variable name must be letters, digits and underscores"),
        ("1A", "a variable name must be letters, digits and underscores"),
        ("A-B", "a variable name must be letters, digits and underscores"),
    ],
)
def test_an_env_file_name_cloud_run_refuses_is_reported(
    tmp_path: Path, name: str, rule: str
) -> None:
    path = tmp_path / "env.dev.yaml"
    path.write_text(f'ENVIRONMENT: "dev"\n{name}: "x"\n')
    with pytest.raises(ProjectError) as info:
        read_env_file(path)
    (error,) = info.value.errors
    assert error.startswith("env.dev.yaml: ")
    assert rule in error
    assert error.endswith(f'(got "{name}")')


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n", "# comment\n---\n~\n"])
def test_an_env_file_without_variables_is_empty(tmp_path: Path, text: str) -> None:
    path = tmp_path / "env.dev.yaml"
    path.write_text(text)
    assert read_env_file(path) == {}


def test_a_missing_env_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as info:
        read_env_file(tmp_path / "env.qa.yaml")
    assert info.value.errors == ["env.qa.yaml is missing"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- a\n- b\n", "env.dev.yaml must be a map of names to string values"),
        ("A: [\n", "env.dev.yaml is not valid YAML: "),
    ],
)
def test_an_env_file_that_is_not_a_map_is_reported(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "env.dev.yaml"
    path.write_text(text)
    with pytest.raises(ProjectError) as info:
        read_env_file(path)
    (message,) = info.value.errors
    assert message.startswith(error)


# -- .secrets.yaml


def test_an_absent_secrets_file_has_no_secrets(tmp_path: Path) -> None:
    assert read_secrets_file(tmp_path / ".secrets.yaml") == {}


def test_a_secrets_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / ".secrets.yaml"
    path.write_text("API_KEY: \"key-1\"\n/etc/secrets/cert: 'cert'\nDB_PASSWORD: plain\n")
    assert read_secrets_file(path) == {
        "API_KEY": "key-1",
        "/etc/secrets/cert": "cert",
        "DB_PASSWORD": "plain",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('API_KEY: "ok"\nDB_PASSWORD: "hunter2-secret\n', 3),
        ('API_KEY: "ok"\nDB_PASSWORD: hunter2-secret: x\n', 2),
        ('API_KEY: "ok"\nDB_PASSWORD: [hunter2-secret\n', 3),
        ('DB_PASSWORD: "hunter2-secret\\q"\n', 1),
        pytest.param(
            'API_KEY: "ok"\nDB_PASSWORD: !hunter2-secret\n',
            2,
            id="tag",
        ),
        pytest.param(
            'API_KEY: "ok"\nDB_PASSWORD: *hunter2-secret\n',
            2,
            id="alias",
        ),
    ],
)
def test_a_malformed_secrets_file_is_reported_without_the_secret(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / ".secrets.yaml"
    path.write_text(text)
    with pytest.raises(ProjectError) as info:
        read_secrets_file(path)
    (error,) = info.value.errors
    assert error.startswith(f".secrets.yaml is not valid YAML at line {line}, column ")
    assert "hunter2" not in error


def test_a_secret_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".secrets.yaml"
    path.write_text('API_KEY: "ok"\nPIN: 1234\nFLAG: true\n')
    with pytest.raises(ProjectError) as info:
        read_secrets_file(path)
    assert info.value.errors == [".secrets.yaml: values must be strings; quote them: PIN, FLAG"]
    assert "1234" not in str(info.value)


def test_a_secret_name_that_is_neither_a_variable_nor_a_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".secrets.yaml"
    path.write_text('"API KEY": "x"\n')
    with pytest.raises(ProjectError) as info:
        read_secrets_file(path)
    assert info.value.errors == [
        ".secrets.yaml: 'API KEY' must be a variable name or a mount path such as /etc/secrets/key"
    ]


def test_the_project_reads_its_secrets_and_variables(repo: Repo) -> None:
    root = repo(env={"dev": {"FEATURE": "on"}})
    (root / ".secrets.yaml").write_text('API_KEY: "k"\n')
    project = Project.load(root)
    assert project.secrets() == {"API_KEY": "k"}
    assert project.variables("dev") == {
        "ENVIRONMENT": "dev",
        "GOOGLE_CLOUD_PROJECT": "my-project-dev",
        "LOG_LEVEL": "DEBUG",
        "FEATURE": "on",
    }


# -- where a repo is


def test_a_repo_is_found_from_a_subfolder(repo: Repo) -> None:
    root = repo()
    below = root / "tests" / "deep"
    below.mkdir(parents=True)
    layout = Layout.find(below)
    assert layout.root == root.resolve()
    assert layout.manifest == root.resolve() / "functions.yaml"
    assert layout.answers.name == ".copier-answers.yml"
    assert layout.env_file("dev") == root.resolve() / "env.dev.yaml"
    assert layout.deploy_dir == root.resolve() / ".deploy"
    assert layout.secrets.name == ".secrets.yaml"
    assert layout.environments_on_disk() == ["dev", "production"]
    assert Project.load(below).root == root.resolve()


def test_the_current_folder_is_the_default_start(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = repo()
    monkeypatch.chdir(root)
    assert Layout.find().root == root.resolve()


def test_no_repo_above_a_folder_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    with pytest.raises(ProjectError) as info:
        Layout.find(folder)
    assert info.value.errors == [
        f"no functions.yaml in {folder.resolve()} or above it: run this in a repo made by "
        "gcf-template"
    ]


def test_each_added_function_runs_as_an_identity_of_its_own(repo: Repo) -> None:
    """The repo's function runs as the answers' account; one added to functions.yaml as one of
    its own (`gcf setup` makes it) unless it names one; with IAM authentication its database
    user follows its identity."""
    root = repo(
        {
            "my-function": {},
            "worker": {"trigger_type": "pubsub", "pubsub_topic": "jobs"},
            "named": {"service_account": SA},
        },
        answers={
            "database": "cloudsql_postgres",
            "cloudsql_instance": "my-project-id:us-central1:db",
            "database_name": "app",
            "database_user": "my-function-86e4-sa@my-project-id.iam",
            "database_auth": "iam",
            "max_instances": 1,
        },
    )
    functions = Project.load(root).functions
    assert functions["my-function"].service_account == DEFAULT_SA
    worker = rules.function_account("my-function", "my-project-id", "worker")
    assert worker == "my-function-2955-worker@my-project-id.iam.gserviceaccount.com"
    assert functions["worker"].service_account == worker
    assert functions["worker"].database_user == "my-function-2955-worker@my-project-id.iam"
    assert functions["named"].service_account == SA
    assert functions["named"].database_user == "runner@my-project-id.iam"


def test_functions_with_different_rights_sharing_an_identity_are_warned(repo: Repo) -> None:
    shared = {"service_account": SA}
    root = repo(
        {
            "my-function": {
                **shared,
                "secrets": ["API_KEY=api-key:latest"],
                "publishes": {"OUT_TOPIC": "results"},
            },
            "worker": {**shared, "trigger_type": "pubsub", "pubsub_topic": "jobs"},
            "same": {
                **shared,
                "secrets": ["API_KEY=api-key:latest"],
                "publishes": {"RESULTS_TOPIC": "results"},
            },
        }
    )
    [warning] = Project.load(root).shared_identity_warnings()
    assert warning == (
        f"identity: my-function, worker, same run as {SA} but need different rights "
        "(my-function: publish to results, secret api-key; worker: nothing; same: publish to "
        "results, secret api-key), so each holds the others' too. Give each its own "
        "service_account in functions.yaml (`make setup` creates it)."
    )
    alike = repo({"my-function": shared, "other": shared})
    assert Project.load(alike).shared_identity_warnings() == []


# -- the deploy route


def test_the_route_is_the_answers_else_functions_and_a_function_may_take_the_other(
    repo: Repo,
) -> None:
    functions = {
        "my-function": {"trigger_type": "http"},
        "worker": {"trigger_type": "pubsub", "pubsub_topic": "jobs", "deploy_api": "run"},
    }
    before = Project.load(repo(functions))  # answers made before the question: as it was
    assert (before.functions["my-function"].deploy_api, before.functions["worker"].run) == (
        "functions",
        True,
    )
    # On the Cloud Run route an event is retried unless told, and delivered by a push
    # subscription of the repo's own.
    assert before.functions["worker"].retry_on_failure is True
    assert before.functions["worker"].push_subscription is True
    new = Project.load(
        repo({"my-function": {"trigger_type": "http"}}, answers={"deploy_api": "run"})
    )
    assert new.functions["my-function"].run is True


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            {"deploy_api": "cloudrun"},
            'deploy_api: must be one of run, functions (got "cloudrun")',
        ),
        (
            {
                "trigger_type": "storage",
                "storage_bucket": "b-1-2",
                "deploy_api": "run",
                "retry_on_failure": False,
            },
            "retry_on_failure: a function deployed with deploy_api: run gets its events from an "
            "Eventarc trigger or a push subscription",
        ),
    ],
)
def test_a_route_the_platform_cannot_honour_is_refused(
    repo: Repo, entry: dict[str, object], error: str
) -> None:
    messages = errors_of(repo({"uploads": entry}))
    assert len(messages) == 1, messages
    (message,) = messages
    assert message.startswith(f"functions.yaml: function 'uploads': {error}"), message
