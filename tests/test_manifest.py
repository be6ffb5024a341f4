"""functions.yaml: one set of rules for the questions and the manifest, and a repo of many functions.

- Over a shared table of cases, the questionnaire's validators (copier.yml, run by Jinja as
  Copier runs them) and gcf check (gcf_devkit.project) accept and refuse
  the same values.
- A second function added the way the README says (main.py and functions.yaml) is checked,
  tested, served by `make dev` and in the deploy dry-run; so is a seed-style function.
- A bad manifest entry stops `make check` and `make deploy` with the function and key named,
  having deployed nothing; a function in one of main.py and functions.yaml but not the other
  is reported with both names.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from gcf_devkit import rules
from gcf_devkit.project import _manifest as manifest
from jinja2.sandbox import SandboxedEnvironment
from test_deploy import fakes

from conftest import GENERATED_PYTEST, MAKE, ROOT, check, copier_jinja, eventually, free_port, run

# The answers every case starts from, as Copier's defaults give them.
BASE: dict[str, Any] = {
    "preset": "single",
    "project_name": "My Function",
    "function_name": "my-function",
    "entry_point": "my_function",
    "gcp_project_id": "my-project-id",
    "region": "us-central1",
    "environments": ["dev", "production"],
    "trigger_type": "pubsub",
    "pubsub_topic": "my-topic",
    "storage_bucket": "my-uploads",
    "firestore_document": "users/{userId}",
    "audit_service_name": "storage.googleapis.com",
    "audit_method_name": "storage.objects.create",
    "schedule": "0 * * * *",
    "workload": "io_bound",
    "memory": "512Mi",
    "cpu": "1",
    "concurrency": 80,
    "timeout": 60,
    "min_instances": 0,
    "max_instances": 100,
    "database": "none",
    "secrets": [],
    "ci_provider": "github_actions",
}

# The answers of a function with a database (IAM authentication, one instance at most).
DATABASE: dict[str, Any] = {
    "database": "cloudsql_postgres",
    "cloudsql_instance": "my-project-id:us-central1:my-db",
    "database_name": "app",
    "database_auth": "iam",
    "database_user": "runner@my-project-id.iam",
    "service_account": "runner@my-project-id.iam.gserviceaccount.com",
    "database_ip": "public",
    "vpc": "none",
    "max_connections": 100,
    "max_instances": 1,
}
PASSWORD = {**DATABASE, "database_auth": "password", "secrets": ["DB_PASSWORD=db:latest"]}

# (question, value, other answers, valid): the same rules, asked and in the manifest.
CASES: list[tuple[str, Any, dict[str, Any], bool]] = [
    ("function_name", "resize-images", {}, True),
    ("function_name", "Resize", {}, False),
    ("function_name", "resize_images", {}, False),
    ("function_name", "9lives", {}, False),
    ("function_name", "trailing-", {}, False),
    ("function_name", "f" * 59, {}, True),
    ("function_name", "f" * 60, {}, False),  # f...-dev is longer than 63
    ("entry_point", "handle", {}, True),
    ("entry_point", "class", {}, False),
    ("entry_point", "1st", {}, False),
    ("entry_point", "h" * 48, {}, True),
    ("entry_point", "h" * 49, {}, False),
    ("region", "europe-west1", {}, True),
    ("region", "mars-north1", {}, False),
    ("memory", "1Gi", {"cpu": "1"}, True),
    ("memory", "3Gi", {}, False),
    ("cpu", "0.5", {"memory": "1Gi", "concurrency": 1}, True),
    ("cpu", "0.08", {"memory": "128Mi", "concurrency": 1}, True),
    ("cpu", "0.07", {"memory": "128Mi", "concurrency": 1}, False),
    ("cpu", "3", {"memory": "8Gi"}, False),
    ("cpu", "1", {"memory": "8Gi"}, False),
    ("cpu", "0.5", {"memory": "4Gi", "concurrency": 1}, False),
    ("cpu", "0.4", {"memory": "1Gi", "concurrency": 1}, False),
    ("cpu", "4", {"memory": "1Gi"}, False),
    ("cpu", "2", {"memory": "8Gi"}, True),
    ("concurrency", 80, {"cpu": "1", "memory": "512Mi"}, True),
    ("concurrency", 80, {"cpu": "0.167", "memory": "256Mi"}, False),
    ("concurrency", 1, {"cpu": "0.167", "memory": "256Mi"}, True),
    ("concurrency", 1001, {}, False),
    ("concurrency", 0, {}, False),
    ("timeout", 540, {}, True),
    ("timeout", 541, {}, False),
    ("timeout", 3600, {"trigger_type": "http"}, True),
    ("timeout", 3601, {"trigger_type": "http"}, False),
    ("timeout", 0, {}, False),
    ("max_instances", 5, {"min_instances": 2}, True),
    ("max_instances", 1, {"min_instances": 2}, False),
    ("max_instances", 0, {}, False),
    ("max_instances", 1001, {}, False),
    ("min_instances", 1001, {"max_instances": 1000}, False),
    ("min_instances", 2, {"max_instances": 5}, True),
    ("min_instances", 2, {"max_instances": 5, "environments": ["dev"]}, False),  # warm in dev
    ("pubsub_topic", "orders", {}, True),
    ("pubsub_topic", "goog-orders", {}, False),
    ("pubsub_topic", "GOOGorders", {}, False),
    ("pubsub_topic", "ab", {}, False),
    ("pubsub_topic", "projects/p/topics/t", {}, False),
    ("pubsub_topic", "t" * 255, {}, True),
    ("pubsub_topic", "t" * 256, {}, False),
    ("pubsub_topic", "t" * 251, {"trigger_type": "scheduler"}, True),
    ("pubsub_topic", "t" * 252, {"trigger_type": "scheduler"}, False),
    # On the Cloud Run route an event function's events are always retried.
    ("retry_on_failure", True, {"trigger_type": "storage", "deploy_api": "run"}, True),
    ("retry_on_failure", False, {"trigger_type": "storage", "deploy_api": "run"}, False),
    ("retry_on_failure", False, {"trigger_type": "pubsub", "deploy_api": "run"}, False),
    ("retry_on_failure", False, {"trigger_type": "storage", "deploy_api": "functions"}, True),
    ("storage_bucket", "acme-uploads", {"trigger_type": "storage"}, True),
    ("storage_bucket", "goog-uploads", {"trigger_type": "storage"}, False),
    ("storage_bucket", "my-google-files", {"trigger_type": "storage"}, False),
    ("storage_bucket", "a..b", {"trigger_type": "storage"}, False),
    ("storage_bucket", "192.168.1.1", {"trigger_type": "storage"}, False),
    ("storage_bucket", "Uploads", {"trigger_type": "storage"}, False),
    ("firestore_database", "(default)", {"trigger_type": "firestore"}, True),
    ("firestore_database", "crm-eu", {"trigger_type": "firestore"}, True),
    ("firestore_database", "ab", {"trigger_type": "firestore"}, False),
    ("firestore_document", "users/{userId}", {"trigger_type": "firestore"}, True),
    ("firestore_document", "orgs/{org}/members/{m}", {"trigger_type": "firestore"}, True),
    ("firestore_document", "users", {"trigger_type": "firestore"}, False),
    ("firestore_document", "users/{user id}", {"trigger_type": "firestore"}, False),
    ("firestore_document", "users//x", {"trigger_type": "firestore"}, False),
    ("audit_service_name", "storage.googleapis.com", {"trigger_type": "audit_log"}, True),
    ("audit_service_name", "storage.example.com", {"trigger_type": "audit_log"}, False),
    ("audit_method_name", "storage.objects.create", {"trigger_type": "audit_log"}, True),
    ("audit_method_name", "create", {"trigger_type": "audit_log"}, False),
    ("schedule", "*/5 9-17 * * MON-FRI", {"trigger_type": "scheduler"}, True),
    ("schedule", "0 0 1 JAN *", {"trigger_type": "scheduler"}, True),
    ("schedule", "61 * * * *", {"trigger_type": "scheduler"}, False),
    ("schedule", "* * *", {"trigger_type": "scheduler"}, False),
    ("schedule", "0 0 * * 8", {"trigger_type": "scheduler"}, False),
    ("schedule_time_zone", "Europe/Paris", {"trigger_type": "scheduler"}, True),
    ("schedule_time_zone", "Mars/Olympus", {"trigger_type": "scheduler"}, False),
    ("trigger_location", "us", {"trigger_type": "storage"}, True),
    ("trigger_location", "nam5", {"trigger_type": "storage"}, False),
    ("trigger_location", "nam5", {"trigger_type": "firestore"}, True),
    ("trigger_location", "global", {"trigger_type": "audit_log"}, True),
    ("trigger_location", "global", {"trigger_type": "storage"}, False),
    ("secrets", ["API_KEY=api-key:latest", "/etc/secrets/db/pw=db:2"], {}, True),
    ("secrets", ["PORT=port:1"], {}, False),
    ("secrets", ["THREADS=t:1"], {}, False),
    ("secrets", ["X_GOOGLE_A=a:1"], {}, False),
    ("secrets", ["KEY=key:0"], {}, False),
    ("secrets", ["KEY=key"], {}, False),
    ("secrets", ["KEY=a:1", "KEY=b:1"], {}, False),
    ("secrets", ["/etc/secrets/a=one:1", "/etc/secrets/b=two:1"], {}, False),
    ("secrets", ["/etc/key=one:1"], {}, False),
    ("secrets", "KEY=key:1", {}, False),
    ("service_account", "runner@my-project-id.iam.gserviceaccount.com", {}, True),
    ("service_account", "123456789012-compute@developer.gserviceaccount.com", {}, True),
    ("service_account", "runner@gmail.com", {}, False),
    ("service_account", "run@my-project-id.iam.gserviceaccount.com", {}, False),
    ("trigger_service_account", "events@my-project-id.iam.gserviceaccount.com", {}, True),
    ("trigger_service_account", "events", {}, False),
    ("vpc_connector", "my-connector", {"vpc": "connector"}, True),
    (
        "vpc_connector",
        "projects/my-project-id/locations/us-central1/connectors/c1",
        {"vpc": "connector"},
        True,
    ),
    ("vpc_connector", "My_Connector", {"vpc": "connector"}, False),
    ("vpc_network", "shared-vpc", {"vpc": "direct", "vpc_subnet": "default"}, True),
    ("vpc_network", "Shared VPC", {"vpc": "direct", "vpc_subnet": "default"}, False),
    (
        "vpc_subnet",
        "projects/my-project-id/regions/us-central1/subnetworks/fns",
        {"vpc": "direct", "vpc_network": "default"},
        True,
    ),
    ("vpc_subnet", "-bad", {"vpc": "direct", "vpc_network": "default"}, False),
    # Cloud SQL for PostgreSQL: the connection name, names, reachability and the pool.
    ("cloudsql_instance", "my-project-id:europe-west1:orders-db", DATABASE, True),
    ("cloudsql_instance", "orders-db", DATABASE, False),
    ("cloudsql_instance", "my-project-id:orders-db", DATABASE, False),
    ("cloudsql_instance", "my-project-id:us-central1:Orders_DB", DATABASE, False),
    ("database_name", "orders", DATABASE, True),
    ("database_name", "Orders", DATABASE, False),
    ("database_name", "pg_orders", DATABASE, False),
    ("database_name", "app\n", DATABASE, False),  # a Jinja regex's `$` took it; fullmatch does not
    ("database_user", "runner@my-project-id.iam", DATABASE, True),
    ("database_user", "runner", DATABASE, False),  # IAM: the service account's user
    ("database_user", "orders_app", PASSWORD, True),
    ("database_user", "orders-app", PASSWORD, False),
    ("database_ip", "private", {**DATABASE, "vpc": "connector", "vpc_connector": "c1"}, True),
    ("database_ip", "private", DATABASE, False),  # no VPC access
    ("max_connections", 100, DATABASE, True),  # 1 x (80 + 2) <= 100
    ("max_connections", 100, {**DATABASE, "max_instances": 2}, False),  # 2 x 82 > 100
    ("max_connections", 100, {**DATABASE, "max_instances": 25, "concurrency": 2}, True),
    ("max_connections", 100, {**DATABASE, "max_instances": 26, "concurrency": 2}, False),
    ("max_connections", 10, {**DATABASE, "concurrency": 1}, False),
    ("max_connections", 81, DATABASE, False),  # not even one instance's 80 + 2
    ("max_connections", 100, {**DATABASE, "min_instances": 2, "max_instances": 2}, False),
]
CASE_IDS = [
    f"{key}={json.dumps(value)[:40]}{'-ok' if ok else '-bad'}" for key, value, _, ok in CASES
]

# Questions of the repo as a whole, which gcf check does not check per function: the
# questionnaire's verdict and the devkit's (gcf setup, gcf deploy) on the same value.
REPO_CASES: list[tuple[str, Any, dict[str, Any], bool]] = [
    ("project_name", "Orders", {}, True),
    ("project_name", 'say "hi"', {}, False),
    ("description", "Handles orders.", {}, True),
    ("description", "two\nlines", {}, False),
    ("gcp_project_id", "acme-prod-42", {}, True),
    ("gcp_project_id", "acme-google-1", {}, False),
    ("environments", ["dev", "production"], {}, True),
    ("environments", [], {}, False),
    ("records_topic", "records", {"preset": "pipeline"}, True),
    ("records_topic", "goog-records", {"preset": "pipeline"}, False),
    ("summary_topic", "summaries", {"preset": "pipeline", "records_topic": "records"}, True),
    ("summary_topic", "records", {"preset": "pipeline", "records_topic": "records"}, False),
    ("billing_account", "01AB23-45CD67-89EF01", {}, True),
    ("billing_account", "01ab23-45cd67-89ef01", {}, False),
    ("monthly_budget", 100, {"billing_account": "01AB23-45CD67-89EF01"}, True),
    ("monthly_budget", 100, {"billing_account": ""}, False),
    ("repository", "acme/orders", {}, True),
    ("repository", "acme", {}, False),
]


@pytest.fixture(scope="module")
def questions() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "copier.yml").read_text())


@pytest.fixture(scope="module")
def jinja() -> SandboxedEnvironment:
    return copier_jinja()


def question_error(
    questions: dict[str, Any], jinja: SandboxedEnvironment, answers: dict[str, Any], key: str
) -> str:
    """The validator of copier.yml, rendered as Copier renders it, for one answer."""
    return jinja.from_string(questions[key]["validator"]).render(answers).strip()


def test_every_rule_has_a_verdict_case(questions: dict[str, Any]) -> None:
    """Each question with a rule is in a table above, accepted once and refused once."""
    validated = {k for k, q in questions.items() if not k.startswith("_") and "validator" in q}
    cases = CASES + REPO_CASES
    for verdict in (True, False):
        assert validated - {key for key, _, _, ok in cases if ok is verdict} == set(), verdict


@pytest.mark.parametrize(("key", "value", "others", "valid"), REPO_CASES)
def test_questions_and_the_devkit_agree_on_the_repo_s_answers(
    questions: dict[str, Any],
    jinja: SandboxedEnvironment,
    key: str,
    value: Any,
    others: dict[str, Any],
    valid: bool,
) -> None:
    answers = {**BASE, **others, key: value}
    asked = question_error(questions, jinja, answers, key)
    devkit = rules.question_error(key, answers)
    assert asked == devkit
    assert (asked == "") == valid, asked


@pytest.fixture(scope="module")
def manifest_errors() -> list[list[str]]:
    """gcf check's errors for every case."""
    entries = []
    for key, value, others, _ in CASES:
        answers = {**BASE, **others, key: value}
        name = answers["function_name"]
        entry = {
            k: answers[k] for k in (key, *others) if k not in ("function_name", "environments")
        }
        entry.setdefault("trigger_type", answers["trigger_type"])
        entries.append({"answers": answers, "name": name, "entry": entry})
    results = []
    for case in entries:
        answers, name, entry = case["answers"], case["name"], case["entry"]
        settings = manifest.resolve(name, entry, answers)
        results.append(manifest.function_errors(name, entry, settings, answers))
    return results


@pytest.mark.parametrize("case", range(len(CASES)), ids=CASE_IDS)
def test_questions_and_manifest_accept_and_refuse_the_same_values(
    case: int,
    questions: dict[str, Any],
    jinja: SandboxedEnvironment,
    manifest_errors: list[list[str]],
) -> None:
    key, value, others, valid = CASES[case]
    answers = {**BASE, **others, key: value}
    asked = question_error(questions, jinja, answers, key)
    # Rules between questions are checked by the later question, as Copier asks them in order.
    for later in ("environments", "cpu", "concurrency", "max_instances"):
        if not asked and (later in others or later == "environments") and later != key:
            asked = question_error(questions, jinja, answers, later)
    checked = manifest_errors[case]
    assert (asked == "") == valid, f"questionnaire: {asked!r}"
    assert (checked == []) == valid, f"manifest: {checked}"
    if not valid:
        field = "name" if key == "function_name" and "63" in " ".join(checked) else key
        # A pool that does not fit is max_instances' error for both: asked after max_connections.
        fields = (field, key, *(["max_instances"] if key == "max_connections" else []))
        assert any(e.startswith(tuple(f"{f}:" for f in fields)) for e in checked), checked
        assert asked.split(":")[0] in (key, *others, "environments"), asked


# ---------------------------------------------------------------- a repo of many functions

SECOND_FUNCTION = '''

@functions_framework.cloud_event
def count_words(cloud_event: CloudEvent) -> None:
    """Log how many words a Pub/Sub message has."""
    text = payloads.pubsub_message(cloud_event).text()
    logger.info("Counted %d words", len(text.split()), extra={"event_id": cloud_event["id"]})


def hello(request: flask.Request) -> str:
    """A plain HTTP function, as Cloud Functions' samples write them."""
    return f"Hello, {request.args.get('name', 'World')}!"
'''

SECOND_ENTRIES = """\
  count-words:
    entry_point: count_words
    trigger_type: pubsub
    pubsub_topic: words
    concurrency: 4
  hello:
    entry_point: hello
    trigger_type: http
"""

SECOND_TESTS = '''\
"""Unit tests of count_words and hello."""

import flask
from gcf_devkit import events
from gcf_devkit.testing import Handle

import main


def test_counts_words(handle: Handle) -> None:
    record = handle(main.count_words, events.pubsub_message("three small words"))
    assert record.getMessage() == "Counted 3 words"


def test_says_hello() -> None:
    with flask.Flask(__name__).test_request_context("/?name=Ada"):
        assert main.hello(flask.request) == "Hello, Ada!"
'''


@pytest.fixture(scope="module")
def two_functions(render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default repo with two more functions, added as README.md says."""
    path = tmp_path_factory.mktemp("added") / "fn"
    shutil.copytree(render(), path)
    main_py = path / "main.py"
    text = main_py.read_text()
    imports = [
        "import flask",
        "import functions_framework",
        "from cloudevents.http import CloudEvent",
    ]
    imports += ["import payloads"]
    missing = "".join(f"{line}\n" for line in imports if f"{line}\n" not in text)
    text = text.replace(
        "from __future__ import annotations\n",
        f"from __future__ import annotations\n\n{missing}",
        1,
    )
    main_py.write_text(text + SECOND_FUNCTION)
    manifest = path / "functions.yaml"
    manifest.write_text(manifest.read_text() + SECOND_ENTRIES)
    (path / "tests" / "unit" / "test_count_words.py").write_text(SECOND_TESTS)
    return path


def test_added_functions_are_checked_linted_and_tested(two_functions: Path, tmp_path: Path) -> None:
    output = check([*MAKE, "check"], two_functions)
    assert "count-words: count_words (pubsub" in output
    assert "hello: hello (http" in output
    check([*MAKE, "format"], two_functions)
    # `make unit` runs the added tests: each is in pytest's report, and passed.
    report = tmp_path / "unit.xml"
    check(
        [*MAKE, "lint", "unit"],
        two_functions,
        PYTEST_ADDOPTS=f"{GENERATED_PYTEST} --junitxml={report}",
    )
    cases = {
        (case.get("classname"), case.get("name")): [child.tag for child in case]
        for case in ElementTree.parse(report).iter("testcase")
    }
    for name in ("test_counts_words", "test_says_hello"):
        assert cases.get(("tests.unit.test_count_words", name)) == [], (name, cases)


def test_added_functions_are_in_the_deploy_dry_run(two_functions: Path) -> None:
    lines = check([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1"], two_functions).splitlines()
    deploys = {shlex.split(line)[3]: line for line in lines if line.startswith("gcloud run deploy")}
    assert set(deploys) == {"my-function-dev", "count-words-dev", "hello-dev"}
    # On the Cloud Run route (the default) the repo's push subscription delivers the topic.
    [subscription] = [line for line in lines if " subscriptions update count-words-dev " in line]
    assert "/projects/my-project-id/topics/words" in subscription
    assert "--concurrency=4" in deploys["count-words-dev"].split()
    assert "--no-allow-unauthenticated" in deploys["hello-dev"].split()
    env_file = two_functions / ".deploy" / "dev" / "count-words.yaml"
    assert yaml.safe_load(env_file.read_text())["THREADS"] == "4"
    one = check([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1", "FUNCTION=hello"], two_functions)
    assert [shlex.split(line)[3] for line in one.splitlines()] == ["hello-dev"]


def index(port: int) -> Any:
    """What `make dev` lists at /, or None while it does not answer yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


def test_make_dev_serves_every_function_with_its_own_settings(two_functions: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*MAKE, "dev", f"PORT={port}"],
        cwd=two_functions,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        listing = eventually(lambda: index(port), what="make dev's listing")
        served = {f["name"]: f for f in listing["functions"]}
        assert served["count_words"]["signature_type"] == "cloudevent"
        assert served["count_words"]["concurrency"] == 4
        assert served["hello"]["signature_type"] == "http"
        assert served["my_function"]["concurrency"] == 80
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello?name=Ada", timeout=5) as r:
            assert r.read() == b"Hello, Ada!"
        # A function answers at its deployed name too, as `make deploy FUNCTION=` names it.
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/count-words", timeout=5)
        assert error.value.code == 405, "a GET reaches count_words, which takes POSTs"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/count-letters", timeout=5)
        assert error.value.code == 404
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_trigger_changed_in_the_answers_only_is_explained(render, tmp_path: Path) -> None:
    """After `copier update --data trigger_type=http`, functions.yaml (the user's) still says
    pubsub: make check says why the entry fails and what to change."""
    path = tmp_path / "fn"
    shutil.copytree(render(trigger_type="pubsub"), path)
    answers_file = path / ".copier-answers.yml"
    answers = yaml.safe_load(answers_file.read_text())
    answers["trigger_type"] = "http"
    del answers["pubsub_topic"]
    answers_file.write_text(yaml.safe_dump(answers))
    result = run([*MAKE, "check"], path)
    assert result.returncode != 0
    assert "functions.yaml makes my-function a pubsub function" in result.stderr, result.stderr
    assert "the answers' trigger_type is http" in result.stderr


def test_cpu_may_be_written_as_a_number(render, tmp_path: Path) -> None:
    """`cpu: 2` and `cpu: 0.5` are what gcloud's --cpu takes: accepted unquoted."""
    path = tmp_path / "fn"
    shutil.copytree(render(), path)
    manifest = path / "functions.yaml"
    original = manifest.read_text()
    for settings, flag in (
        ("    memory: 4Gi\n    cpu: 2\n", "--cpu=2 "),
        ("    memory: 512Mi\n    cpu: 0.5\n    concurrency: 1\n", "--cpu=0.5 "),
    ):
        manifest.write_text(original.replace('  "my-function":\n', '  "my-function":\n' + settings))
        check([*MAKE, "check"], path)
        lines = check([*MAKE, "deploy", "ENV=production", "DRY_RUN=1"], path).splitlines()
        assert any(line.startswith("gcloud run deploy ") and flag in line for line in lines), lines
    manifest.write_text(original.replace('  "my-function":\n', '  "my-function":\n    cpu: true\n'))
    result = run([*MAKE, "check"], path)
    assert "function 'my-function': cpu: must be a string or a number (got true)" in result.stderr


@pytest.mark.parametrize(
    ("entry", "key", "rule"),
    [
        (
            "  slow:\n    entry_point: my_function\n    memory: 256Mi\n    cpu: '0.167'\n    concurrency: 80\n",
            "concurrency",
            "above 1 needs at least 1 vCPU",
        ),
        (
            "  listener:\n    entry_point: my_function\n    trigger_type: pubsub\n    pubsub_topic: goog-events\n",
            "pubsub_topic",
            'must not start with "goog"',
        ),
        ("  typo:\n    entry_point: my_function\n    memroy: 1Gi\n", "memroy", "unknown key"),
    ],
    ids=["concurrency-at-0.167-cpu", "goog-topic", "unknown-key"],
)
def test_a_bad_entry_stops_check_and_deploy_having_deployed_nothing(
    render, tmp_path: Path, entry: str, key: str, rule: str
) -> None:
    path = tmp_path / "fn"
    shutil.copytree(render(), path)
    manifest = path / "functions.yaml"
    manifest.write_text(
        manifest.read_text().replace('  "my-function":', entry + '  "my-function":')
    )
    name = entry.split(":")[0].strip()
    result = run([*MAKE, "check"], path)
    assert result.returncode != 0
    assert f"function {name!r}: {key}: " in result.stderr and rule in result.stderr, result.stderr

    environment = fakes(tmp_path / "bin", None)
    result = run([*MAKE, "deploy", "ENV=production"], path, **environment)
    assert result.returncode != 0
    assert f"function {name!r}: {key}: " in result.stderr
    assert "nothing was deployed" in result.stderr
    calls = Path(environment["FAKE_LOG"])
    assert not calls.exists(), calls.read_text()


def test_main_py_and_the_manifest_must_agree_and_both_names_are_reported(
    render, tmp_path: Path
) -> None:
    path = tmp_path / "fn"
    shutil.copytree(render(), path)
    (path / "main.py").write_text(
        (path / "main.py").read_text().replace("def my_function(", "def greet(")
    )
    result = run([*MAKE, "check"], path)
    assert result.returncode != 0
    assert (
        "'my-function' with entry_point 'my_function', which main.py does not define"
        in result.stderr
    )
    assert "main.py registers 'greet' (http), which functions.yaml lacks" in result.stderr
