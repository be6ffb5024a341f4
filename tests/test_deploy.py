"""Deploy commands and CI files of generated repos, checked against the platform's rules.

For each trigger type and option combination: `make deploy ENV=<env> DRY_RUN=1` prints a
command that gcloud_rules.py accepts and that carries every answer; the script runs
exactly that command; and the CI files pass check-jsonschema, zizmor, shellcheck and
yamllint, with every action pinned to a full commit SHA.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from gcloud_parser import commands_in, commands_of, parse_errors
from gcloud_rules import check_deploy_command, check_run_deploy_command, one, parse_run

from conftest import MAKE, actionlint_findings, check, run

SECRETS = [
    "API_KEY=api-key:latest",
    "/etc/secrets/db/password=db-credentials:3",
    "/etc/secrets/db/user=db-credentials:3",
    "TOKEN=projects/shared-secrets/secrets/token:1",
]

# name -> answers: every trigger type, and the resource, identity, network and CI options.
DEPLOY_VARIANTS: dict[str, dict[str, Any]] = {
    "http-defaults": {"deploy_api": "functions"},
    "http-public-cpu-bound": {
        "deploy_api": "functions",
        "allow_unauthenticated": True,
        "workload": "cpu_bound",
        "environments": ["dev", "staging", "production"],
        "min_instances": 2,
        "max_instances": 5,
        "timeout": 3600,
        "ci_provider": "gitlab_ci",
        "repository": "acme/platform/orders",
    },
    "pubsub-retry-secrets": {
        "deploy_api": "functions",
        "trigger_type": "pubsub",
        "retry_on_failure": True,
        "secrets": SECRETS,
        "ci_provider": "cloud_build",
    },
    "storage-connector": {
        "deploy_api": "functions",
        "trigger_type": "storage",
        "storage_event": "archived",
        "trigger_location": "us",
        "vpc": "connector",
        "vpc_egress": "all",
        "memory": "4Gi",
        "cpu": "2",
        "concurrency": 200,
        "timeout": 540,
    },
    "firestore-direct-vpc": {
        "deploy_api": "functions",
        "trigger_type": "firestore",
        "trigger_location": "nam5",
        "workload": "mixed",
        "vpc": "direct",
        "vpc_network": "shared-vpc",
        "vpc_subnet": "functions",
        "ci_provider": "none",
    },
    "audit-log-large": {
        "deploy_api": "functions",
        "trigger_type": "audit_log",
        "memory": "16Gi",
        "cpu": "4",
        "concurrency": 1000,
        "ingress_settings": "internal-and-gclb",
        "environments": ["production"],
        "service_account": "123456789012-compute@developer.gserviceaccount.com",
    },
    "pipeline": {
        "deploy_api": "functions",
        "preset": "pipeline",
        "environments": ["dev", "production"],
    },
    "http-async": {"deploy_api": "functions", "function_style": "async", "concurrency": 400},
    "scheduler-small": {
        "deploy_api": "functions",
        "trigger_type": "scheduler",
        "workload": "cpu_bound",
        "memory": "128Mi",
        "environments": ["dev", "staging"],
        "schedule": "*/5 9-17 * * MON-FRI",
    },
    # The Cloud Run Admin API route (the default): every trigger, the pipeline, the database.
    "run-http-defaults": {},
    "run-http-public-min-instances": {
        "allow_unauthenticated": True,
        "environments": ["dev", "staging", "production"],
        "min_instances": 1,
        "ci_provider": "gitlab_ci",
        "repository": "acme/platform/orders",
    },
    "run-pubsub-secrets": {
        "trigger_type": "pubsub",
        "secrets": SECRETS,
        "ci_provider": "cloud_build",
    },
    "run-storage-connector": {
        "trigger_type": "storage",
        "storage_event": "deleted",
        "trigger_location": "eu",
        "vpc": "connector",
        "vpc_egress": "all",
        "memory": "4Gi",
        "cpu": "2",
        "concurrency": 200,
        "timeout": 540,
    },
    "run-firestore-direct-vpc": {
        "trigger_type": "firestore",
        "trigger_location": "nam5",
        "vpc": "direct",
        "vpc_network": "shared-vpc",
        "vpc_subnet": "functions",
        "ci_provider": "none",
    },
    "run-audit-log-internal-lb": {
        "trigger_type": "audit_log",
        "ingress_settings": "internal-and-gclb",
        "environments": ["production"],
    },
    "run-scheduler": {"trigger_type": "scheduler", "environments": ["dev", "staging"]},
    "run-pipeline": {"preset": "pipeline", "environments": ["dev", "production"]},
    "run-database": {"database": "cloudsql_postgres", "database_auth": "password"},
}

# The variants each test applies to: one function (the pipeline's functions have settings of
# their own: test_pipeline_deploy), and those whose CI is GitHub Actions (workflow files).
SINGLE_VARIANTS = [
    n
    for n, a in DEPLOY_VARIANTS.items()
    if a.get("preset", "single") == "single" and a.get("deploy_api") == "functions"
]
RUN_VARIANTS = [n for n, a in DEPLOY_VARIANTS.items() if a.get("deploy_api", "run") == "run"]
GITHUB_VARIANTS = [
    n
    for n, a in DEPLOY_VARIANTS.items()
    if a.get("ci_provider", "github_actions") == "github_actions"
]

YAMLLINT = (
    "{extends: default, rules: {document-start: disable, line-length: {max: 160}, truthy: {check-keys: false},"
    " indentation: {indent-sequences: consistent}}}"
)
BIN = Path(sys.executable).parent


@pytest.fixture(params=list(DEPLOY_VARIANTS), scope="module")
def variant(request: pytest.FixtureRequest, render) -> tuple[str, dict[str, Any], Path]:
    answers = DEPLOY_VARIANTS[request.param]
    return request.param, answers, render(**answers)


def printed(path: Path, environment: str, *options: str) -> list[str]:
    """What `make deploy DRY_RUN=1` prints: one line of shell for each step."""
    return check([*MAKE, "deploy", f"ENV={environment}", "DRY_RUN=1", *options], path).splitlines()


def dry_run(path: Path, environment: str, *options: str) -> list[str]:
    """Every command of the dry run's shell, in order (both branches of an `if`)."""
    return [shlex.join(words) for words in commands_of(printed(path, environment, *options))]


def deploy_lines(lines: list[str]) -> dict[str, str]:
    """The `gcloud functions deploy` lines, by deployed function name."""
    return {
        shlex.split(line)[3]: line for line in lines if line.startswith("gcloud functions deploy ")
    }


def run_deploy_lines(lines: list[str]) -> dict[str, str]:
    """The `gcloud run deploy` lines, by deployed function name."""
    return {shlex.split(line)[3]: line for line in lines if line.startswith("gcloud run deploy ")}


def environments_of(answers: dict[str, Any]) -> list[str]:
    return answers.get("environments", ["dev", "production"])


def test_dry_run_prints_commands_the_platform_accepts(variant) -> None:
    _name, answers, path = variant
    functions = yaml.safe_load((path / "functions.yaml").read_text())["functions"]
    printed = []
    for environment in environments_of(answers):
        lines = dry_run(path, environment)
        printed += lines
        production = environment == "production"
        route = answers.get("deploy_api", "run")
        deploys = deploy_lines(lines) if route == "functions" else run_deploy_lines(lines)
        assert set(deploys) == {f if production else f"{f}-{environment}" for f in functions}
        assert not (deploy_lines(lines) if route == "run" else run_deploy_lines(lines))
        for function, line in deploys.items():
            if route == "run":
                flags = check_run_deploy_command(line, path)
            else:
                flags = check_deploy_command(line, path)
            assert one(flags, "--min-instances") == str(
                answers.get("min_instances", 0) if production else 0
            )
            settings_name = function if production else function.removesuffix(f"-{environment}")
            assert one(flags, "--env-vars-file") == f".deploy/{environment}/{settings_name}.yaml"
    # The real gcloud parses every command of every environment.
    assert parse_errors(printed, path) == []


@pytest.mark.parametrize("variant", SINGLE_VARIANTS, indirect=True)
def test_dry_run_carries_every_answer(variant) -> None:
    _name, answers, path = variant
    trigger = answers.get("trigger_type", "http")
    for environment in environments_of(answers):
        lines = dry_run(path, environment)
        [(deployed, line)] = deploy_lines(lines).items()
        flags = check_deploy_command(line, path)
        production = environment == "production"
        assert deployed == ("my-function" if production else f"my-function-{environment}")
        assert ("--retry" in flags) == answers.get("retry_on_failure", False)
        assert (
            flags.get("--set-secrets", [None]) == [",".join(answers["secrets"])]
            if "secrets" in answers
            else "--set-secrets" not in flags
        )
        assert ("--vpc-connector" in flags) == (answers.get("vpc") == "connector")
        assert ("--network" in flags) == (answers.get("vpc") == "direct")
        for question, flag in (
            ("memory", "--memory"),
            ("cpu", "--cpu"),
            ("concurrency", "--concurrency"),
            ("max_instances", "--max-instances"),
        ):
            if question in answers:
                assert one(flags, flag) == str(answers[question])
        others = [other for other in lines if other != line]
        if trigger == "http":
            assert others == [], lines
            continue
        # The trigger identity may invoke this function (and no other).
        invoker = (
            f"gcloud functions add-invoker-policy-binding {deployed} --project=my-project-id "
            f"--region={answers.get('region', 'us-central1')} "
            "--member=serviceAccount:my-function-86e4-trg@my-project-id.iam.gserviceaccount.com"
        )
        assert invoker in others
        assert lines.index(invoker) == lines.index(line) + 1
        if trigger in ("scheduler", "pubsub"):
            # The topic is setup's: a deploy stops, changing nothing, when it is missing.
            topic = answers.get(
                "pubsub_topic", f"my-function-{'ticks' if trigger == 'scheduler' else 'topic'}"
            )
            # A Scheduler function's topic is the repo's own, one per environment.
            own = trigger == "scheduler" and not production
            topic = f"{topic}-{environment}" if own else topic
            assert lines[0] == f"gcloud pubsub topics describe {topic} --project=my-project-id"
            assert one(flags, "--trigger-topic") == topic
        if trigger == "scheduler":
            [job] = [
                shlex.split(c) for c in others if c.startswith("gcloud scheduler jobs create ")
            ]
            assert job[:5] == ["gcloud", "scheduler", "jobs", "create", "pubsub"]
            assert f"--topic={topic}" in job
            assert f"--schedule={answers['schedule']}" in job
            [update] = [
                shlex.split(c) for c in others if c.startswith("gcloud scheduler jobs update ")
            ]
            assert update[5:] == job[5:]


@pytest.mark.parametrize(
    "variant",
    [n for n in RUN_VARIANTS if DEPLOY_VARIANTS[n].get("preset", "single") == "single"],
    indirect=True,
)
def test_the_run_route_carries_every_answer(variant) -> None:
    """`gcloud run deploy --function` with every setting; the trigger as a resource of its own
    (an Eventarc trigger, or the repo's push subscription); run.invoker for who delivers."""
    _name, answers, path = variant
    trigger = answers.get("trigger_type", "http")
    trigger_sa = "my-function-86e4-trg@my-project-id.iam.gserviceaccount.com"
    for environment in environments_of(answers):
        lines = dry_run(path, environment)
        [(name, line)] = run_deploy_lines(lines).items()
        flags = check_run_deploy_command(line, path)
        assert one(flags, "--function") == "my_function"
        assert one(flags, "--base-image") == "python313"
        assert one(flags, "--min-instances") == str(
            answers.get("min_instances", 0) if environment == "production" else 0
        )
        public = trigger == "http" and answers.get("allow_unauthenticated", False)
        assert ("--allow-unauthenticated" in flags) == public
        ingress = answers.get("ingress_settings", "all" if trigger == "http" else "internal-only")
        assert (
            one(flags, "--ingress")
            == {
                "all": "all",
                "internal-only": "internal",
                "internal-and-gclb": "internal-and-cloud-load-balancing",
            }[ingress]
        )
        for question, flag in (
            ("memory", "--memory"),
            ("cpu", "--cpu"),
            ("concurrency", "--concurrency"),
        ):
            if question in answers:
                assert one(flags, flag) == str(answers[question])
        if answers.get("vpc") == "connector":
            assert one(flags, "--vpc-egress") == "all-traffic"
        if answers.get("vpc") == "direct":
            assert (one(flags, "--network"), one(flags, "--subnet")) == ("shared-vpc", "functions")
        if answers.get("secrets"):
            assert one(flags, "--set-secrets") == ",".join(answers["secrets"])
        if answers.get("database") == "cloudsql_postgres":
            assert "DB_PASSWORD=my-function-db-password:latest" in one(flags, "--set-secrets")
        others = [other for other in lines if other != line]
        if trigger == "http":
            assert [o for o in others if "describe" not in o.split()[:4]] == []
            continue
        invoker = (
            f"gcloud run services add-iam-policy-binding {name} --project=my-project-id "
            f"--region=us-central1 --member=serviceAccount:{trigger_sa} "
            "--role=roles/run.invoker --quiet"
        )
        assert lines[lines.index(line) + 1] == invoker
        eventarc = [o for o in printed(path, environment) if "eventarc" in o]
        if trigger in ("pubsub", "scheduler"):
            assert eventarc == []
            [update] = [o for o in others if " subscriptions update " in o]
            endpoint = f"https://{name}-PROJECT_NUMBER.us-central1.run.app"
            assert f"--push-endpoint={endpoint}/projects/my-project-id/topics/" in update
            assert f"--push-auth-token-audience={endpoint}" in update.split()
            assert "--clear-dead-letter-policy" in update.split()
            continue
        # Created when missing, else updated in place (never deleted and recreated).
        [trigger_line] = eventarc
        [describe, update, create] = commands_in(trigger_line)
        assert describe[:5] == ["gcloud", "eventarc", "triggers", "describe", name]
        assert update[3:5] == ["update", name]
        assert create[3:5] == ["create", name]
        assert update[5:] == create[5:]
        assert f"--destination-run-service={name}" in create
        assert f"--service-account={trigger_sa}" in create
        location = answers.get(
            "trigger_location", "global" if trigger == "audit_log" else "us-central1"
        )
        assert f"--location={location}" in create
        filters = [w for w in create if w.startswith("--event-filters=")]
        event = {
            "storage": f"google.cloud.storage.object.v1.{answers.get('storage_event', 'finalized')}",
            "firestore": "google.cloud.firestore.document.v1.written",
            "audit_log": "google.cloud.audit.log.v1.written",
        }[trigger]
        assert filters[0] == f"--event-filters=type={event}"
        if trigger == "firestore":
            assert "--event-filters-path-pattern=document=users/{userId}" in create
            assert "--event-data-content-type=application/protobuf" in create


def test_pipeline_deploy(render) -> None:
    """Every hop of the pipeline: the topics and push subscriptions setup made, checked before
    anything changes; each function deployed before its subscription is pointed at it."""
    path = render(preset="pipeline", deploy_api="functions")
    lines = dry_run(path, "dev")
    words = [shlex.split(line) for line in lines]
    # A deploy creates no topic or subscription: it requires those of `make setup`.
    assert not [w for w in words if "create" in w[1:4]]
    required = [w[4] for w in words if w[1:4] == ["pubsub", "topics", "describe"]]
    assert sorted(required) == ["enrichment-complete-dev", "validated-records-dev"]
    deploys = deploy_lines(lines)
    assert set(deploys) == {
        "validate-and-parse-dev",
        "enrich-records-dev",
        "notify-stakeholders-dev",
    }
    assert "--retry" in deploys["validate-and-parse-dev"].split()
    for function, topic in (
        ("enrich-records-dev", "validated-records-dev"),
        ("notify-stakeholders-dev", "enrichment-complete-dev"),
    ):
        assert "--trigger-http" in deploys[function].split()
        assert "--no-allow-unauthenticated" in deploys[function].split()
        # Its subscription is looked at first: it must exist, on the function's topic.
        check_line = next(
            line
            for line in printed(path, "dev")
            if commands_in(line)[0][1:5] == ["pubsub", "subscriptions", "describe", function]
        )
        assert f"case $found in projects/my-project-id/topics/{topic})" in check_line
        [subscription] = [
            w for w in words if w[1:4] == ["pubsub", "subscriptions", "update"] and w[4] == function
        ]
        options = dict(word.split("=", 1) for word in subscription[6:])
        assert "--topic" not in options
        assert options["--dead-letter-topic"] == topic.replace("-dev", "-dead-letter-dev")
        assert options["--max-delivery-attempts"] == "5"
        assert options["--min-retry-delay"] == "10s"
        assert options["--max-retry-delay"] == "600s"
        assert options["--push-endpoint"].endswith(
            f"/{function}/projects/my-project-id/topics/{topic}"
        )
        # Deployed before its subscription pushes to it.
        assert lines.index(deploys[function]) < lines.index(shlex.join(subscription))
    env = yaml.safe_load((path / ".deploy" / "dev" / "validate-and-parse.yaml").read_text())
    assert env["RECORDS_TOPIC"] == "validated-records-dev"
    assert "SENDGRID_API_KEY=sendgrid-api-key:latest" in deploys["notify-stakeholders-dev"]


def test_cpu_and_memory_defaults_follow_the_workload(render) -> None:
    def resources(**answers: Any) -> tuple[str, str, str]:
        [line] = run_deploy_lines(dry_run(render(**answers), "production")).values()
        _, flags = parse_run(line)
        return one(flags, "--memory"), one(flags, "--cpu"), one(flags, "--concurrency")

    assert resources(workload="io_bound") == ("512Mi", "1", "80")
    assert resources(workload="mixed") == ("1Gi", "1", "20")
    assert resources(workload="cpu_bound") == ("2Gi", "1", "1")
    # Memory alone sets the CPU it gets by default, raised to 1 vCPU for a concurrent workload.
    assert resources(memory="256Mi")[1] == "1"
    assert resources(memory="256Mi", workload="cpu_bound")[1] == "0.167"


FAKE_TOOL = """#!{python}
# Logs its arguments; describe/show/list find a resource only when the state file says so,
# and print what it says.
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
state = json.loads(open(os.environ["FAKE_STATE"]).read())
if sys.argv[1:3] == ["projects", "describe"]:  # the project number (run.app URLs)
    print("123456789012")
elif {{"describe", "show", "list"}} & set(sys.argv[1:5]):
    key = " ".join(a for a in sys.argv[1:] if not a.startswith("--format="))
    if state is None or (key not in state and "list" not in sys.argv[1:5]):
        sys.exit(1)
    print((state or {{}}).get(key, ""))
"""


def expected_state(lines: list[str]) -> dict[str, str]:
    """What the dry run's checks expect to find: each describe's expected field."""
    state = {}
    for line in lines:
        [probe, *_] = commands_in(line) or [[]]
        pattern = re.search(r"case \$found in (.*?)\) ;;", line)
        key = " ".join(w for w in probe[1:] if not w.startswith("--format="))
        state[key] = shlex.split(pattern[1])[0] if pattern else ""
    return state


def fakes(directory: Path, state: dict[str, str] | None) -> dict[str, str]:
    """A fake gcloud and bq in `directory` (FAKE_TOOL: nothing exists when `state` is None);
    the variables that put them on PATH, with FAKE_LOG, the file their calls go to."""
    directory.mkdir(exist_ok=True)
    for tool in ("gcloud", "bq"):
        (directory / tool).write_text(FAKE_TOOL.format(python=sys.executable))
        (directory / tool).chmod(0o755)
    log, state_file = directory / "calls.jsonl", directory / "state.json"
    log.unlink(missing_ok=True)
    state_file.write_text(json.dumps(state))
    return {
        "PATH": f"{directory}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "FAKE_STATE": str(state_file),
    }


def run_with_fakes(
    command: list[str], path: Path, directory: Path, state: dict[str, str] | None, script: str = ""
) -> tuple[bool, list[list[str]]]:
    """Run a command with a fake gcloud (and bq) on PATH; whether it succeeded, and the calls."""
    environment = fakes(directory, state)
    log = Path(environment["FAKE_LOG"])
    if script:
        result = subprocess.run(
            command,
            input=script,
            text=True,
            cwd=path,
            env={**os.environ, **environment},
            capture_output=True,
            check=False,
        )
    else:
        result = run(command, path, **environment)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result.returncode == 0, calls


def test_the_script_runs_exactly_the_printed_commands(variant, tmp_path: Path) -> None:
    """The dry run's shell, run by bash, makes the very calls of a real deploy and ends the
    same way: with nothing there (a deploy that needs setup's topics stops before any change)
    and with everything there as setup made it."""
    _, answers, path = variant
    environment = environments_of(answers)[-1]
    lines = printed(path, environment)
    needs_setup = any("describe" in commands_in(line)[0][:4] for line in lines if "|| {" in line)
    script = "\n".join(lines).replace("PROJECT_NUMBER", "123456789012") + "\n"
    names = set(run_deploy_lines(lines)) | set(deploy_lines(lines))
    for state in (None, expected_state(lines)):
        shell = run_with_fakes(["bash", "-e"], path, tmp_path, state, script)
        real = run_with_fakes([*MAKE, "deploy", f"ENV={environment}"], path, tmp_path, state)
        # The real run looks the project number up (the dry run shows PROJECT_NUMBER), and
        # deploys functions at once: each function's calls are in the same order.
        looked_up = [c for c in real[1] if c[:2] != ["projects", "describe"]]
        assert shell[0] == real[0]
        assert sorted(map(json.dumps, shell[1])) == sorted(map(json.dumps, looked_up))
        assert by_function(shell[1], names) == by_function(looked_up, names)
        ok, calls = real
        assert ok is (state is not None or not needs_setup)
        if not ok:
            assert [c for c in calls if "describe" not in c[:4]] == []


def by_function(calls: list[list[str]], names: set[str]) -> dict[str, list[list[str]]]:
    """Calls by the deployed function they are about ("" for the shared checks), in order."""
    grouped: dict[str, list[list[str]]] = {}
    for call in calls:
        about = [n for n in names if any(w == n or w.endswith(f"={n}") for w in call)]
        grouped.setdefault(max(about, key=len, default=""), []).append(call)
    return grouped


@pytest.fixture(scope="module")
def path_without_gcloud(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH with every program of this machine's PATH but gcloud."""
    directory = tmp_path_factory.mktemp("no-gcloud")
    for folder in reversed(os.environ["PATH"].split(os.pathsep)):
        for program in Path(folder).glob("*") if Path(folder).is_dir() else []:
            if program.name != "gcloud" and os.access(program, os.X_OK):
                link = directory / program.name
                link.unlink(missing_ok=True)
                link.symlink_to(program)
    assert shutil.which("gcloud", path=str(directory)) is None
    return str(directory)


def test_dry_run_works_without_gcloud(render, path_without_gcloud: str) -> None:
    result = run(
        [*MAKE, "deploy", "ENV=production", "DRY_RUN=1"], render(), PATH=path_without_gcloud
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gcloud run deploy my-function ")


def test_a_real_deploy_without_gcloud_says_so(render, path_without_gcloud: str) -> None:
    result = run([*MAKE, "deploy", "ENV=dev"], render(), PATH=path_without_gcloud)
    assert result.returncode != 0
    assert "gcloud is not installed" in result.stderr


@pytest.mark.parametrize("environment", ["qa", "Production", ""])
def test_an_unknown_environment_is_refused_with_the_known_ones(render, environment: str) -> None:
    result = run(
        [*MAKE, "deploy", f"ENV={environment}", "DRY_RUN=1"],
        render(environments=["dev", "staging", "production"]),
    )
    assert result.returncode != 0
    assert "dev, staging, production" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("line", "replacement", "message"),
    [
        (
            'LOG_LEVEL: "DEBUG"',
            "LOG_LEVEL: 10",
            "values must be strings, as Cloud Run sets them; quote them: LOG_LEVEL",
        ),
        (
            'GOOGLE_CLOUD_PROJECT: "my-project-id"',
            'GOOGLE_CLOUD_PROJECT: ""',
            "must set GOOGLE_CLOUD_PROJECT",
        ),
    ],
)
def test_an_env_file_out_of_step_is_refused(
    render, tmp_path: Path, line: str, replacement: str, message: str
) -> None:
    path = tmp_path / "fn"
    shutil.copytree(render(), path)
    env_file = path / "env.dev.yaml"
    env_file.write_text(env_file.read_text().replace(line, replacement))
    result = run([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1"], path)
    assert result.returncode != 0
    assert message in result.stderr


def test_each_environment_deploys_to_the_project_of_its_env_file(render, tmp_path: Path) -> None:
    path = tmp_path / "fn"
    shutil.copytree(render(), path)
    env_file = path / "env.dev.yaml"
    env_file.write_text(
        env_file.read_text().replace(
            'GOOGLE_CLOUD_PROJECT: "my-project-id"',
            "GOOGLE_CLOUD_PROJECT: 'acme-dev'  # dev project",
        )
    )
    assert "--project=acme-dev" in dry_run(path, "dev")[0].split()
    assert "--project=my-project-id" in dry_run(path, "production")[0].split()
    assert "\nTHREADS:" not in (path / "env.dev.yaml").read_text(), "THREADS is per function"


# ---------------------------------------------------------------- CI files


def ci_files(path: Path) -> dict[str, list[Path]]:
    """The CI and dependency-update files of a repo, by the schema that validates them."""
    return {
        "vendor.github-workflows": sorted((path / ".github" / "workflows").glob("*.yml")),
        "vendor.dependabot": [p for p in [path / ".github" / "dependabot.yml"] if p.exists()],
        "vendor.gitlab-ci": [p for p in [path / ".gitlab-ci.yml"] if p.exists()],
        "vendor.cloudbuild": [p for p in [path / "cloudbuild.yaml"] if p.exists()],
        "vendor.renovate": [p for p in [path / "renovate.json"] if p.exists()],
    }


def test_ci_files_are_those_of_the_provider(variant) -> None:
    _, answers, path = variant
    provider = answers.get("ci_provider", "github_actions")
    present = {schema for schema, files in ci_files(path).items() if files}
    expected = {
        "github_actions": {"vendor.github-workflows", "vendor.dependabot"},
        "gitlab_ci": {"vendor.gitlab-ci", "vendor.renovate"},
        "cloud_build": {"vendor.cloudbuild", "vendor.renovate"},
        "none": {"vendor.renovate"},
    }[provider]
    assert present == expected


def test_ci_files_pass_check_jsonschema(variant) -> None:
    _, _, path = variant
    for schema, files in ci_files(path).items():
        if files:
            check(
                [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)], path
            )


@pytest.mark.parametrize("variant", GITHUB_VARIANTS, indirect=True)
def test_workflows_have_no_zizmor_findings_and_pinned_actions(variant) -> None:
    _, _, path = variant
    workflows = ci_files(path)["vendor.github-workflows"]
    assert workflows
    audited = [*workflows, *ci_files(path)["vendor.dependabot"]]
    output = check(
        [str(BIN / "zizmor"), "--offline", "--persona=pedantic", *map(str, audited)], path
    )
    assert "No findings" in output
    for workflow in workflows:
        uses = re.findall(r"^\s*-?\s*uses:\s*(\S+)(.*)$", workflow.read_text(), re.M)
        assert uses
        for action, comment in uses:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), (
                f"{action} is not pinned to a commit"
            )
            assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", comment), (
                f"{action} has no release tag comment"
            )


@pytest.mark.parametrize("variant", GITHUB_VARIANTS, indirect=True)
def test_workflows_pass_actionlint(variant, tmp_path: Path) -> None:
    _, _, path = variant
    workflows = ci_files(path)["vendor.github-workflows"]
    assert workflows
    # One run over the workflows and a copy with a mistake in an expression, which it finds.
    broken = tmp_path / workflows[0].name
    text = workflows[0].read_text()
    assert "github.ref" in text
    broken.write_text(text.replace("github.ref", "github.no_such_ref"))
    findings = actionlint_findings([*workflows, broken], path)
    assert findings
    assert [f for f in findings if not f.startswith(str(broken))] == []


def test_dependency_updates_wait_seven_days_after_a_release(variant) -> None:
    _, _, path = variant
    for dependabot in ci_files(path)["vendor.dependabot"]:
        updates = yaml.safe_load(dependabot.read_text())["updates"]
        assert [u["cooldown"]["default-days"] >= 7 for u in updates] == [True] * len(updates)
    for renovate in ci_files(path)["vendor.renovate"]:
        age = json.loads(renovate.read_text())["minimumReleaseAge"]
        assert re.fullmatch(r"\d+ days", age) and int(age.split()[0]) >= 7, age


def shell_scripts(path: Path) -> dict[str, str]:
    """Every shell script a repo runs: the commands of its CI files."""
    scripts: dict[str, str] = {}
    for workflow in ci_files(path)["vendor.github-workflows"]:
        for name, job in yaml.safe_load(workflow.read_text())["jobs"].items():
            for i, step in enumerate(job["steps"]):
                if "run" in step:
                    scripts[f"{workflow.name}:{name}:{i}"] = (
                        "#!/usr/bin/env bash\nset -e\n" + step["run"]
                    )
    for gitlab in ci_files(path)["vendor.gitlab-ci"]:
        for name, job in yaml.safe_load(gitlab.read_text()).items():
            if isinstance(job, dict):
                lines = job.get("before_script", []) + job.get("script", [])
                if lines:
                    scripts[f".gitlab-ci.yml:{name}"] = "#!/usr/bin/env bash\nset -e\n" + "\n".join(
                        lines
                    )
    for cloudbuild in ci_files(path)["vendor.cloudbuild"]:
        for step in yaml.safe_load(cloudbuild.read_text())["steps"]:
            if step.get("entrypoint") == "bash" and step["args"][0] == "-c":
                scripts[f"{cloudbuild.name}:{step['id']}"] = (
                    "#!/usr/bin/env bash\nset -e\n" + step["args"][1]
                )
            elif step.get("entrypoint") == "bash":
                assert (path / step["args"][0]).exists(), step["args"]
    return scripts


def test_shell_code_is_shellcheck_clean(variant, tmp_path: Path) -> None:
    _, _, path = variant
    for i, (name, script) in enumerate(shell_scripts(path).items()):
        file = tmp_path / f"script-{i}.sh"
        file.write_text(script)
        result = run([str(BIN / "shellcheck"), "--severity=style", "--shell=bash", str(file)], path)
        assert result.returncode == 0, f"{name}:\n{result.stdout}"


def test_yaml_files_pass_yamllint(variant) -> None:
    _, _, path = variant
    files = [
        str(p) for p in path.rglob("*.y*ml") if ".git" not in p.parts and ".venv" not in p.parts
    ]
    assert any(Path(f).name.startswith("env.") for f in files)
    check([str(BIN / "yamllint"), "--strict", "-d", YAMLLINT, *files], path)


def test_ci_deploys_with_the_same_command(variant) -> None:
    _, answers, path = variant
    provider = answers.get("ci_provider", "github_actions")
    environments = environments_of(answers)
    expected = [e for e in environments if e != "production"][:1] + [
        e for e in environments if e == "production"
    ]
    text = "\n".join(p.read_text() for files in ci_files(path).values() for p in files)
    if provider == "github_actions":
        found = re.findall(r"""run: '"\$RUNNER_TEMP/deploy/bin/gcf" deploy (\S+)'""", text)
    elif provider == "gitlab_ci":
        found = re.findall(r"- /tmp/deploy-venv/bin/gcf deploy (\S+)", text)
    elif provider == "cloud_build":
        assert '/tmp/deploy-venv/bin/gcf deploy "${_ENV}"' in text
        found = re.findall(r"--substitutions=_ENV=(\S+)", (path / "README.md").read_text())
    else:
        found = []
    assert found == (expected if provider != "none" else [])


@pytest.fixture(scope="module")
def deploy_venv(render, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with what CI's deploy jobs install: the lock requirements-deploy.txt, its hashes
    checked, then requirements-devkit.txt without dependencies."""
    path = render(preset="pipeline")
    venv = tmp_path_factory.mktemp("deploy") / "venv"
    check([sys.executable, "-m", "venv", str(venv)], path)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    check([*pip, "--require-hashes", "-r", "requirements-deploy.txt"], path)
    check([*pip, "--no-deps", "-r", "requirements-devkit.txt"], path)
    return venv


def test_ci_deploys_with_requirements_deploy_only(render, deploy_venv: Path) -> None:
    """What the deploy jobs install (gcf-devkit and PyYAML, nothing they depend on) deploys:
    it prints the very commands of `make deploy`, and cannot import the local tools' libraries."""
    path = render(preset="pipeline")
    python = str(deploy_venv / "bin" / "python")
    assert run([python, "-c", "import flask"], path).returncode != 0
    printed_by_ci = check([str(deploy_venv / "bin" / "gcf"), "deploy", "dev", "--dry-run"], path)
    assert printed_by_ci.splitlines() == printed(path, "dev")


def test_the_github_deploy_job_installs_before_it_authenticates_and_runs_gcf(render) -> None:
    workflow = yaml.safe_load((render() / ".github" / "workflows" / "ci.yml").read_text())
    for name in ("deploy-dev", "deploy-production"):
        steps = workflow["jobs"][name]["steps"]
        uses = [step.get("uses", "").partition("@")[0] for step in steps]
        runs = [step.get("run", "") for step in steps]
        install = next(i for i, run in enumerate(runs) if "requirements-deploy.txt" in run)
        assert "--require-hashes -r requirements-deploy.txt" in runs[install]
        assert "--no-deps -r requirements-devkit.txt" in runs[install]
        assert install < uses.index("google-github-actions/auth")
        assert runs[-1] == f'"$RUNNER_TEMP/deploy/bin/gcf" deploy {name.removeprefix("deploy-")}'
        assert not [run for run in runs if "make " in run or "uv " in run]
