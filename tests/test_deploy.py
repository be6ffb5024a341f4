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
from gcloud_rules import check_deploy_command, one, parse

from conftest import MAKE, actionlint_findings, check, run

SECRETS = [
    "API_KEY=api-key:latest",
    "/etc/secrets/db/password=db-credentials:3",
    "/etc/secrets/db/user=db-credentials:3",
    "TOKEN=projects/shared-secrets/secrets/token:1",
]

# name -> answers: every trigger type, and the resource, identity, network and CI options.
DEPLOY_VARIANTS: dict[str, dict[str, Any]] = {
    "http-defaults": {},
    "http-public-cpu-bound": {
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
        "trigger_type": "pubsub",
        "retry_on_failure": True,
        "secrets": SECRETS,
        "ci_provider": "cloud_build",
    },
    "storage-connector": {
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
        "trigger_type": "firestore",
        "trigger_location": "nam5",
        "workload": "mixed",
        "vpc": "direct",
        "vpc_network": "shared-vpc",
        "vpc_subnet": "functions",
        "ci_provider": "none",
    },
    "audit-log-large": {
        "trigger_type": "audit_log",
        "memory": "16Gi",
        "cpu": "4",
        "concurrency": 1000,
        "ingress_settings": "internal-and-gclb",
        "environments": ["production"],
        "service_account": "123456789012-compute@developer.gserviceaccount.com",
    },
    "pipeline": {"preset": "pipeline", "environments": ["dev", "production"]},
    "http-async": {"function_style": "async", "concurrency": 400},
    "scheduler-small": {
        "trigger_type": "scheduler",
        "workload": "cpu_bound",
        "memory": "128Mi",
        "environments": ["dev", "staging"],
        "schedule": "*/5 9-17 * * MON-FRI",
    },
}

# The variants each test applies to: one function (the pipeline's functions have settings of
# their own: test_pipeline_deploy), and those whose CI is GitHub Actions (workflow files).
SINGLE_VARIANTS = [n for n, a in DEPLOY_VARIANTS.items() if a.get("preset", "single") == "single"]
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
        deploys = deploy_lines(lines)
        assert set(deploys) == {f if production else f"{f}-{environment}" for f in functions}
        for function, line in deploys.items():
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


def test_pipeline_deploy(render) -> None:
    """Every hop of the pipeline: the topics and push subscriptions setup made, checked before
    anything changes; each function deployed before its subscription is pointed at it."""
    path = render(preset="pipeline")
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
        [line] = deploy_lines(dry_run(render(**answers), "production")).values()
        _, flags = parse(line)
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
if {{"describe", "show", "list"}} & set(sys.argv[1:5]):
    key = " ".join(a for a in sys.argv[1:] if not a.startswith("--format="))
    if state is None or (key not in state and "list" not in sys.argv[1:5]):
        sys.exit(1)
    print((state or {{}}).get(key, ""))
"""


def fake_gcloud(directory: Path, log: Path) -> None:
    """A `gcloud` that records its arguments and finds nothing."""
    script = directory / "gcloud"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(log)!r}, 'a') as f: f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(1 if 'describe' in sys.argv[2:5] else 0)\n"
    )
    script.chmod(0o755)


def expected_state(lines: list[str]) -> dict[str, str]:
    """What the dry run's checks expect to find: each describe's expected field."""
    state = {}
    for line in lines:
        [probe, *_] = commands_in(line) or [[]]
        pattern = re.search(r"case \$found in (.*?)\) ;;", line)
        key = " ".join(w for w in probe[1:] if not w.startswith("--format="))
        state[key] = shlex.split(pattern[1])[0] if pattern else ""
    return state


def run_with_fakes(
    command: list[str], path: Path, directory: Path, state: dict[str, str] | None, script: str = ""
) -> tuple[bool, list[list[str]]]:
    """Run a command with a fake gcloud (and bq) on PATH; whether it succeeded, and the calls."""
    directory.mkdir(exist_ok=True)
    for tool in ("gcloud", "bq"):
        (directory / tool).write_text(FAKE_TOOL.format(python=sys.executable))
        (directory / tool).chmod(0o755)
    log, state_file = directory / "calls.jsonl", directory / "state.json"
    log.unlink(missing_ok=True)
    state_file.write_text(json.dumps(state))
    environment = {
        "PATH": f"{directory}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "FAKE_STATE": str(state_file),
    }
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
    for state in (None, expected_state(lines)):
        shell = run_with_fakes(["bash", "-e"], path, tmp_path, state, "\n".join(lines) + "\n")
        real = run_with_fakes([*MAKE, "deploy", f"ENV={environment}"], path, tmp_path, state)
        assert shell == real
        ok, calls = real
        assert ok is (state is not None or not needs_setup)
        if not ok:
            assert [c for c in calls if "describe" not in c[:4]] == []


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
    assert result.stdout.startswith("gcloud functions deploy my-function ")


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
    """A venv with what CI's deploy jobs install: requirements-deploy.txt, without dependencies."""
    path = render(preset="pipeline")
    venv = tmp_path_factory.mktemp("deploy") / "venv"
    check([sys.executable, "-m", "venv", str(venv)], path)
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    check([*pip, "--no-deps", "-r", "requirements-deploy.txt"], path)
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
        assert "--no-deps -r requirements-deploy.txt" in runs[install]
        assert install < uses.index("google-github-actions/auth")
        assert runs[-1] == f'"$RUNNER_TEMP/deploy/bin/gcf" deploy {name.removeprefix("deploy-")}'
        assert not [run for run in runs if "make " in run or "uv " in run]
