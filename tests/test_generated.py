"""Render the template for every trigger type and run each generated repo's own checks.

Each variant is rendered once (through the copier CLI or through copier.run_copy)
and shared by the tests of its group, which xdist keeps on one worker.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import COPIER, ROOT, TRIGGERS, check, run

LONG = {
    "project_name": "P" * 80,
    "function_name": "f" + "-x" * 30 + "yz",  # 63 characters
    "description": "D" * 200,
    "gcp_project_id": "p" * 30,
    # Outside production a deploy is named <function_name>-<environment>, which must fit too.
    "environments": ["production"],
}

# name -> (how to render, answers); every trigger, with several answer combinations.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "http-defaults": ("cli", {}),
    "http-public": (
        "api",
        {
            "allow_unauthenticated": True,
            "runtime": "python311",
            "environments": ["dev", "staging", "production"],
            "entry_point": "handle_request",
        },
    ),
    "http-long-answers": ("api", {**LONG, "entry_point": "h" * 48}),
    "pubsub": (
        "cli",
        {
            "trigger_type": "pubsub",
            "runtime": "python312",
            "region": "europe-west1",
            "secrets": ["API_KEY=api-key:latest", "/etc/secrets/db/password=db-password:2"],
        },
    ),
    "pubsub-long-topic": ("api", {**LONG, "trigger_type": "pubsub", "pubsub_topic": "t" * 255}),
    "storage-finalized": ("api", {"trigger_type": "storage"}),
    "storage-deleted": (
        "cli",
        {
            "trigger_type": "storage",
            "storage_event": "deleted",
            "storage_bucket": "b" * 63,
            "runtime": "python314",
        },
    ),
    "firestore-written": ("api", {"trigger_type": "firestore"}),
    "firestore-created": (
        "cli",
        {
            "trigger_type": "firestore",
            "firestore_event": "created",
            "firestore_database": "crm-eu",
            "firestore_document": "orgs/{orgId}/members/{memberId}",
        },
    ),
    "audit-log": ("cli", {"trigger_type": "audit_log"}),
    "audit-log-storage": (
        "api",
        {
            "trigger_type": "audit_log",
            "audit_service_name": "storage.googleapis.com",
            "audit_method_name": "storage.objects." + "create" * 20,
            "environments": ["production"],
        },
    ),
    "scheduler": (
        "api",
        {
            "trigger_type": "scheduler",
            "schedule": "30 6 * * MON-FRI",
            "schedule_time_zone": "Europe/Paris",
        },
    ),
    # Async functions (functions_framework.aio): every trigger, the database with two of them.
    "http-async": ("cli", {"function_style": "async"}),
    "http-async-database": (
        "api",
        {"function_style": "async", "database": "cloudsql_postgres", "runtime": "python311"},
    ),
    "pubsub-async-database": (
        "cli",
        {"trigger_type": "pubsub", "function_style": "async", "database": "cloudsql_postgres"},
    ),
    "storage-async": ("api", {"trigger_type": "storage", "function_style": "async"}),
    "firestore-async": (
        "api",
        {"trigger_type": "firestore", "function_style": "async", "runtime": "python314"},
    ),
    "audit-log-async": ("api", {"trigger_type": "audit_log", "function_style": "async"}),
    "scheduler-async": (
        "cli",
        {"trigger_type": "scheduler", "function_style": "async", "runtime": "python312"},
    ),
    "pipeline": (
        "cli",
        {
            "preset": "pipeline",
            "storage_bucket": "acme-orders",
            "records_topic": "orders",
            "summary_topic": "order-summaries",
            "runtime": "python314",
        },
    ),
}


def events_folder(answers: dict[str, Any]) -> str:
    return (
        "pipeline" if answers.get("preset") == "pipeline" else answers.get("trigger_type", "http")
    )


def cli_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return str(value)


@pytest.fixture(scope="module")
def cli_render(tmp_path_factory: pytest.TempPathFactory):
    """Render through the copier command line, from the git repository at HEAD plus changes."""
    renders: dict[str, Path] = {}

    def render_cli(name: str, answers: dict[str, Any]) -> Path:
        if name not in renders:
            destination = tmp_path_factory.mktemp(name) / "fn"
            data = [arg for k, v in answers.items() for arg in ("--data", f"{k}={cli_value(v)}")]
            check(
                [
                    COPIER,
                    "copy",
                    "--trust",
                    "--defaults",
                    "--quiet",
                    "--vcs-ref=HEAD",
                    *data,
                    str(ROOT),
                    str(destination),
                ],
                ROOT,
            )
            renders[name] = destination
        return renders[name]

    return render_cli


@pytest.fixture(params=list(VARIANTS), scope="module")
def variant(request: pytest.FixtureRequest, render, cli_render) -> tuple[str, dict[str, Any], Path]:
    name = request.param
    how, answers = VARIANTS[name]
    path = cli_render(name, answers) if how == "cli" else render(**answers)
    return name, answers, path


def test_make_check_lint_and_test_pass(variant, mypy_cache: dict[str, str]) -> None:
    """The generated Makefile's check, lint and test targets pass, in the shared environment."""
    _, _, path = variant
    venv = sys.prefix
    check(
        ["make", "check", "lint", "test", f"VENV={venv}", "-o", f"{venv}/.installed"],
        path,
        **mypy_cache,
    )


def test_make_lint_fails_on_a_type_error(
    render, tmp_path: Path, mypy_cache: dict[str, str]
) -> None:
    """`make lint` type-checks main.py: code that ruff accepts but mypy refuses fails it."""
    broken = tmp_path / "broken"
    shutil.copytree(render(), broken, ignore=shutil.ignore_patterns(".git"))
    main_py = broken / "main.py"
    main_py.write_text(main_py.read_text() + '\n\ndef count() -> int:\n    return "one"\n')
    venv = sys.prefix
    result = run(["make", "lint", f"VENV={venv}", "-o", f"{venv}/.installed"], broken, **mypy_cache)
    assert result.returncode != 0
    assert "main.py:" in result.stdout
    assert "Incompatible return value type" in result.stdout


RUNTIMES = ("python311", "python312", "python313", "python314")
CACHES = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}


def test_lint_passes_for_every_runtime(variant) -> None:
    """The repo is clean under its own ruff configuration for each runtime's target.

    ruff formats some syntax per target (from 3.14, `except (A, B):` loses its
    parentheses), so code that one target formats another may refuse.
    """
    _, answers, path = variant
    config = (path / "pyproject.toml").read_text()
    assert f'target-version = "py{answers.get("runtime", "python313")[6:]}"' in config
    ruff = str(Path(sys.executable).with_name("ruff"))
    for runtime in RUNTIMES:
        target = f"--target-version=py{runtime[6:]}"
        check([ruff, "check", "--quiet", target, "."], path)
        check([ruff, "format", "--check", "--quiet", target, "."], path)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_make_install_warns_when_python_is_older_than_the_runtime(render, runtime: str) -> None:
    """The Makefile's check, run by the Python of this suite (3.11 or later)."""
    path = render(runtime=runtime)
    warn = 'warn: ; @$(PYTHON) -c "$$OLDER_PYTHON_WARNING"'
    result = run(["make", "--eval", warn, "warn", f"PYTHON={sys.executable}"], path)
    assert result.returncode == 0, result.stderr
    older = sys.version_info[:2] < (3, int(runtime[7:]))
    assert ("older than the functions' runtime" in result.stderr) == older, result.stderr
    if older:
        assert f"Install Python 3.{runtime[7:]}" in result.stderr


def empty_folders(path: Path) -> list[str]:
    return [
        d.relative_to(path).as_posix()
        for d in path.rglob("*")
        if d.is_dir() and not CACHES & set(d.relative_to(path).parts) and not any(d.iterdir())
    ]


def test_no_empty_folders(variant) -> None:
    """Only what belongs to the answers is written: no folder is left empty."""
    _, _, path = variant
    assert empty_folders(path) == []


@pytest.mark.parametrize("provider", ["gitlab_ci", "cloud_build", "none"])
def test_no_empty_folders_for_other_ci_providers(provider: str, render) -> None:
    assert empty_folders(render(ci_provider=provider)) == []


def test_generated_files(variant) -> None:
    name, answers, path = variant
    trigger = answers.get("trigger_type", "http")
    files = {
        p.relative_to(path).as_posix()
        for p in path.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }
    for required in (
        "main.py",
        "logs.py",
        "payloads.py",
        "requirements.in",
        "requirements.txt",
        "requirements-dev.in",
        "requirements-dev.txt",
        "requirements-devkit.txt",
        "pyproject.toml",
        "Makefile",
        "README.md",
        ".gitignore",
        ".gcloudignore",
        ".copier-answers.yml",
        "tests/conftest.py",
        "tests/unit/test_main.py",
        "tests/unit/test_payloads.py",
        "tests/integration/test_server.py",
    ):
        assert required in files, f"{name}: {required} is missing"
    # The tooling is gcf-devkit's, installed: no copy of it in the repo.
    assert not [f for f in files if f.startswith(("tools/", "scripts/"))], name
    event_dirs = {f.split("/")[1] for f in files if f.startswith("events/")}
    assert event_dirs == {events_folder(answers)}, f"{name}: sample events of {event_dirs}"
    pipeline = answers.get("preset") == "pipeline"
    assert ("clients.py" in files) == (pipeline or trigger in ("storage", "firestore"))
    with_ci = answers.get("ci_provider", "github_actions") != "none"
    deploy = {"requirements-deploy.in", "requirements-deploy.txt"}
    assert deploy <= files if with_ci else not deploy & files, name
    environments = answers.get("environments", ["dev", "production"])
    assert {f for f in files if f.startswith("env.")} == {f"env.{e}.yaml" for e in environments}


def test_env_files_hold_string_values(variant) -> None:
    _, answers, path = variant
    for env_file in path.glob("env.*.yaml"):
        values = yaml.safe_load(env_file.read_text())
        assert isinstance(values, dict), env_file.name
        assert all(isinstance(v, str) for v in values.values()), env_file.name
        assert values["ENVIRONMENT"] == env_file.name.split(".")[1]
        assert values["GOOGLE_CLOUD_PROJECT"] == answers.get("gcp_project_id", "my-project-id")


def test_the_pipeline_keeps_its_state_out_of_the_bucket_that_triggers_it(render) -> None:
    """Every object written to the upload bucket triggers validate-and-parse: the pipeline's
    state goes to a bucket of its own, which only notify-stakeholders may write to; and
    MAX_UPLOAD_BYTES is a whole number of bytes."""
    path = render(preset="pipeline")
    manifest = yaml.safe_load((path / "functions.yaml").read_text())
    functions = manifest["functions"]
    uploads = {f["storage_bucket"] for f in functions.values() if "storage_bucket" in f}
    assert uploads
    for env_file in path.glob("env.*.yaml"):
        values = yaml.safe_load(env_file.read_text())
        assert values["STATE_BUCKET"] and values["STATE_BUCKET"] not in uploads, env_file.name
        assert values["MAX_UPLOAD_BYTES"].isdigit(), env_file.name
        writers = [
            name
            for name, f in functions.items()
            if any(role.get("bucket") == values["STATE_BUCKET"] for role in f.get("roles", []))
        ]
        assert writers == ["notify-stakeholders"], env_file.name


def test_sample_events_are_cloudevents_of_the_trigger(variant) -> None:
    _, answers, path = variant
    trigger = answers.get("trigger_type", "http")
    samples = sorted((path / "events" / events_folder(answers)).glob("*.json"))
    assert samples
    for sample in samples:
        document = json.loads(sample.read_text())
        if answers.get("preset") == "pipeline":
            assert document["type"] in (
                "google.cloud.storage.object.v1.finalized",
                "google.cloud.pubsub.topic.v1.messagePublished",
            )
            continue
        if trigger == "http":
            assert document["method"] in ("GET", "POST")
            continue
        assert document["specversion"] == "1.0"
        assert {"id", "source", "type", "data"} <= document.keys()
        prefix = {
            "pubsub": "google.cloud.pubsub.topic.v1.messagePublished",
            "scheduler": "google.cloud.pubsub.topic.v1.messagePublished",
            "storage": "google.cloud.storage.object.v1."
            + answers.get("storage_event", "finalized"),
            "firestore": "google.cloud.firestore.document.v1."
            + answers.get("firestore_event", "written"),
            "audit_log": "google.cloud.audit.log.v1.written",
        }[trigger]
        assert document["type"] == prefix


def test_answers_file_records_the_answers(variant) -> None:
    _, answers, path = variant
    recorded = yaml.safe_load((path / ".copier-answers.yml").read_text())
    for key, value in answers.items():
        assert recorded[key] == value
    assert "python_version" not in recorded, "computed values must not be stored"


def test_post_copy_made_a_git_repository_with_one_commit(variant) -> None:
    _, _, path = variant
    assert check(["git", "log", "--format=%s"], path).splitlines() == [
        "Initial commit from gcf-template"
    ]
    assert check(["git", "status", "--porcelain"], path) == ""


def entry_point_body(main_py: Path, entry_point: str) -> tuple[int, int]:
    """Return the line of the first statement after the docstring, and its indentation."""
    tree = ast.parse(main_py.read_text())
    function = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point
    )
    first = function.body[1]  # body[0] is the docstring
    return first.lineno, first.col_offset


MUTANTS = {
    "http": ('f"Hello, {name}!"', 'f"Hi, {name}!"'),
    "pubsub": ('"attributes": message.attributes,', '"attributes": {},'),
    "storage": ('"size": obj.size,', '"size": 0,'),
    "firestore": (
        '"value": payloads.fields_of(change.value),',
        '"value": payloads.fields_of(change.old_value),',
    ),
    "audit_log": ('principal = entry.principal or "unknown"', 'principal = "unknown"'),
    "scheduler": ('"job": message.json_or_text()', '"job": message.text()'),
}


ONE_PER_TRIGGER = [
    "http-defaults",
    "pubsub",
    "storage-finalized",
    "firestore-written",
    "audit-log",
    "scheduler",
]


@pytest.mark.parametrize("variant", ONE_PER_TRIGGER, indirect=True)
@pytest.mark.parametrize("mutation", ["raise", "semantic"])
def test_generated_tests_fail_when_the_function_is_broken(variant, mutation, tmp_path) -> None:
    _, answers, path = variant
    broken = tmp_path / "broken"
    shutil.copytree(path, broken, ignore=shutil.ignore_patterns(".git"))
    main_py = broken / "main.py"
    source = main_py.read_text()
    if mutation == "raise":
        line, indent = entry_point_body(main_py, answers.get("entry_point", "my_function"))
        lines = source.splitlines(keepends=True)
        lines.insert(line - 1, " " * indent + 'raise RuntimeError("broken")\n')
        main_py.write_text("".join(lines))
    else:
        before, after = MUTANTS[answers.get("trigger_type", "http")]
        assert before in source
        main_py.write_text(source.replace(before, after))
    # The unit tests first: -x stops at the first failure, before any server starts.
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    result = run([*command, "tests/unit", "tests/integration"], broken)
    assert result.returncode == 1, result.stdout


# The user's code: written once by `copier copy`, never touched by `copier update`.
USER_CODE = ("main.py", "tests/unit/test_main.py", "tests/integration/test_server.py")
# The most lines of Python the template may own in a repo: the runtime modules that deploy
# with the functions (payloads.py, logs.py, clients.py, ...) and their tests; the tooling is
# gcf-devkit's. A repo with the defaults (HTTP) at most 600, any other single function at most
# 750 (Cloud Storage and Firestore add clients.py and its tests), the pipeline at most 900.
MOST_TEMPLATE_LINES = {"http": 600, "pipeline": 900}


def python_lines(path: Path) -> dict[str, int]:
    return {
        p.relative_to(path).as_posix(): len(p.read_text().splitlines())
        for p in path.rglob("*.py")
        if not CACHES & set(p.relative_to(path).parts)
    }


@pytest.mark.parametrize("trigger", [*TRIGGERS, "pipeline"])
def test_a_repo_holds_little_template_owned_python(render, trigger: str) -> None:
    answers = {"preset": "pipeline"} if trigger == "pipeline" else {"trigger_type": trigger}
    lines = python_lines(render(**answers))
    owned = sum(n for f, n in lines.items() if f not in USER_CODE)
    most = MOST_TEMPLATE_LINES.get(trigger, 750)
    assert owned <= most, f"{owned} lines of template-owned Python: {lines}"
    assert all(f in lines for f in USER_CODE)


IMAGE_DIGEST = r"@sha256:[0-9a-f]{64}$"


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("provider", ["gitlab_ci", "cloud_build"])
def test_ci_images_are_pinned_by_tag_and_digest(render, provider: str, runtime: str) -> None:
    """Every container image of generated CI runs by digest, tagged with what it is: the
    python image of the repo's runtime (Renovate's docker:pinDigests refreshes the digest)."""
    path = render(ci_provider=provider, runtime=runtime)
    version = f"{runtime[6]}.{runtime[7:]}"
    images = []
    for name in (".gitlab-ci.yml", "cloudbuild.yaml", "cloudbuild.template-update.yaml"):
        if (path / name).exists():
            config = yaml.safe_load((path / name).read_text())
            jobs = [job for job in config.values() if isinstance(job, dict)]
            images += [job["image"] for job in jobs if "image" in job]
            images += [step["name"] for step in config.get("steps", [])]
    assert images
    for image in images:
        assert re.search(IMAGE_DIGEST, image), f"{image}: not pinned by digest"
        tag = image.split("@")[0]
        assert tag in (f"python:{version}", "gcr.io/google.com/cloudsdktool/cloud-sdk:slim"), image
    assert f"python:{version}" in {image.split("@")[0] for image in images}
