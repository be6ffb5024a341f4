"""`copier update` of generated repos, across versions of throw-away copies of this template.

v3.0.0 is the template as it is, plus a question `team`; v4.0.0 changes files the
template owns, and renames `team` to `owner_team` with a migration. Repos made from
v3.0.0 are then updated as users update them, through the copier command line.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import COPIER, IGNORED, MAKE, ROOT, VERSION, check, load_module, releasable, run

MIGRATIONS = ROOT / "hooks" / "migrations.py"

V1_QUESTION = """
team:
  type: str
  help: Team that owns the function
  default: platform
"""
V2_QUESTION = """
owner_team:
  type: str
  help: Team that owns the function
  default: platform
"""
V2_MIGRATION = """_migrations:
  - version: v4.0.0
    when: "{{ _stage == 'before' }}"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/migrations.py",
              "rename-answer", "team", "owner_team"]
"""
MAKEFILE_LINE = "lint: install ## Check code style, formatting and types"
MAKEFILE_LINE_V2 = "lint: install ## Check code style, formatting and types (ruff, mypy)"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def commit_and_tag(repo: Path, tag: str) -> None:
    check(["git", "add", "--all"], repo)
    check(["git", "commit", "--quiet", "--message", f"Release {tag}"], repo)
    check(["git", "tag", tag], repo)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of this template, tagged v3.0.0 and v4.0.0."""
    repo = tmp_path_factory.mktemp("versions") / "gcf-template"
    shutil.copytree(ROOT, repo, ignore=IGNORED)
    check(["git", "init", "--quiet"], repo)

    # v3.0.0: the template as it is, with a question that v4.0.0 renames.
    edit(
        repo / "copier.yml",
        "# ---------------------------------------------------------------- delivery\n",
        V1_QUESTION.lstrip("\n")
        + "# ---------------------------------------------------------------- delivery\n",
    )
    edit(
        repo / "template" / "README.md.jinja",
        "{{ description }}\n",
        "{{ description }}\n\nOwned by the {{ team }} team.\n",
    )
    commit_and_tag(repo, "v3.0.0")

    # v4.0.0: changes to files the template owns, and `team` renamed with a migration.
    edit(repo / "copier.yml", V1_QUESTION, V2_QUESTION)
    edit(repo / "copier.yml", "_migrations:\n", V2_MIGRATION)
    edit(repo / "template" / "README.md.jinja", "{{ team }}", "{{ owner_team }}")
    edit(repo / "template" / "Makefile.jinja", MAKEFILE_LINE, MAKEFILE_LINE_V2)
    edit(
        repo / "template" / "logs.py.jinja",
        "one JSON object per line on stdout.",
        "one JSON object per line on stdout (v2).",
    )
    commit_and_tag(repo, "v4.0.0")
    return repo


def copy(template: Path, destination: Path, version: str, *data: str) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    args = [arg for item in data for arg in ("--data", item)]
    check(
        [
            COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--quiet",
            f"--vcs-ref={version}",
            *args,
            str(template),
            str(destination),
        ],
        destination.parent,
    )
    return destination


def update(project: Path, *args: str) -> str:
    return check([COPIER, "update", "--trust", "--defaults", "--quiet", *args], project)


def commit_all(project: Path, message: str) -> None:
    check(["git", "add", "--all"], project)
    check(["git", "commit", "--quiet", "--no-verify", "--message", message], project)


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def answers(project: Path) -> dict[str, object]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_an_update_without_user_edits_gives_a_fresh_copy_of_the_new_version(
    template: Path, tmp_path: Path
) -> None:
    old = copy(template, tmp_path / "old" / "fn", "v3.0.0", "team=payments", "trigger_type=pubsub")
    update(old)
    fresh = copy(
        template, tmp_path / "fresh" / "fn", "v4.0.0", "owner_team=payments", "trigger_type=pubsub"
    )
    assert tree(old) == tree(fresh)


def test_user_edits_and_files_survive_an_update_of_template_files(
    template: Path, tmp_path: Path
) -> None:
    project = copy(template, tmp_path / "fn", "v3.0.0")
    main_py = project / "main.py"
    main_py.write_text(main_py.read_text() + "\n\ndef helper() -> int:\n    return 42\n")
    unit = project / "tests" / "unit" / "test_main.py"
    unit.write_text(
        unit.read_text() + "\n\ndef test_helper() -> None:\n    assert main.helper() == 42\n"
    )
    integration = project / "tests" / "integration" / "test_server.py"
    integration.write_text(integration.read_text() + "\n# my note\n")
    edit(project / "env.dev.yaml", 'LOG_LEVEL: "DEBUG"', 'LOG_LEVEL: "WARNING"\nFEATURE_FLAG: "on"')
    (project / "helpers.py").write_text("VALUE = 1\n")
    edit(project / "events" / "http" / "greet_get.json", "Ada", "Lovelace")
    mine = {
        p: (project / p).read_text()
        for p in (
            "main.py",
            "tests/unit/test_main.py",
            "tests/integration/test_server.py",
            "helpers.py",
            "events/http/greet_get.json",
        )
    }
    commit_all(project, "My changes")

    update(project)

    for path, text in mine.items():
        assert (project / path).read_text() == text, f"{path} changed"
    env = (project / "env.dev.yaml").read_text()
    assert 'LOG_LEVEL: "WARNING"' in env
    assert 'FEATURE_FLAG: "on"' in env
    assert MAKEFILE_LINE_V2 in (project / "Makefile").read_text()
    assert "(v2)" in (project / "logs.py").read_text()
    assert answers(project)["_commit"] == "v4.0.0"
    check(
        [sys.executable, "-m", "pytest", "-q", "-m", "not integration", "-p", "no:cacheprovider"],
        project,
    )


def test_conflicting_changes_get_markers_and_the_commit_hook_refuses_them(
    template: Path, tmp_path: Path
) -> None:
    project = copy(template, tmp_path / "fn", "v3.0.0")
    edit(project / "Makefile", MAKEFILE_LINE, "lint: install ## Run my linters")
    commit_all(project, "My Makefile")

    update(project)

    makefile = (project / "Makefile").read_text()
    assert "<<<<<<< before updating" in makefile
    assert "lint: install ## Run my linters" in makefile, "the user's line must be kept"
    assert MAKEFILE_LINE_V2 in makefile, "the template's line must be offered"
    assert ">>>>>>> after updating" in makefile

    # The generated pre-commit hook refuses to commit the markers.
    env = {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "SKIP": "ruff-check,ruff-format"}
    pre_commit = str(Path(sys.executable).with_name("pre-commit"))
    check([pre_commit, "install"], project, **env)
    check(["git", "add", "--all"], project)
    result = run(["git", "commit", "--quiet", "--message", "Update"], project, **env)
    assert result.returncode != 0
    assert "Merge conflict string" in result.stdout + result.stderr
    assert check(["git", "log", "--format=%s", "-1"], project).strip() == "My Makefile"


def test_a_migration_carries_a_renamed_answer_over(template: Path, tmp_path: Path) -> None:
    project = copy(template, tmp_path / "fn", "v3.0.0", "team=payments")
    assert answers(project)["team"] == "payments"

    update(project)

    recorded = answers(project)
    assert recorded["owner_team"] == "payments"
    assert "team" not in recorded
    assert "Owned by the payments team." in (project / "README.md").read_text()


def test_update_data_reconfigures_without_touching_user_code(
    template: Path, tmp_path: Path
) -> None:
    project = copy(template, tmp_path / "fn", "v4.0.0")
    main_py = project / "main.py"
    main_py.write_text(main_py.read_text() + "\n# my code\n")
    commit_all(project, "My code")
    mine = main_py.read_text()

    update(project, "--data", "memory=1Gi", "--data", "cpu=2", "--data", "concurrency=100")
    dry_run = check([*MAKE, "deploy", "ENV=production", "DRY_RUN=1"], project)
    assert "--memory=1Gi --cpu=2 --concurrency=100" in dry_run
    env_file = project / ".deploy" / "production" / "my-function.yaml"
    assert yaml.safe_load(env_file.read_text())["THREADS"] == "100"
    commit_all(project, "1Gi")

    update(
        project,
        "--data",
        "environments=[dev, staging, production]",
        "--data",
        "ci_provider=gitlab_ci",
    )
    assert 'ENVIRONMENT: "staging"' in (project / "env.staging.yaml").read_text()
    assert check([*MAKE, "deploy", "ENV=staging", "DRY_RUN=1"], project).startswith(
        "gcloud run deploy my-function-staging "
    )
    assert (project / ".gitlab-ci.yml").exists()
    assert not (project / ".github").exists()
    assert main_py.read_text() == mine
    assert answers(project)["environments"] == ["dev", "staging", "production"]
    commit_all(project, "staging")

    # The deploy route is the owner's to change, and stays as answered.
    update(project, "--data", "deploy_api=functions")
    assert check([*MAKE, "deploy", "ENV=staging", "DRY_RUN=1"], project).startswith(
        "gcloud functions deploy my-function-staging "
    )
    assert answers(project)["deploy_api"] == "functions"


def test_a_bad_answer_to_update_changes_nothing(template: Path, tmp_path: Path) -> None:
    project = copy(template, tmp_path / "fn", "v4.0.0")
    before = tree(project)
    result = run([COPIER, "update", "--trust", "--defaults", "--data", "memory=3Gi"], project)
    assert result.returncode != 0
    assert "memory: must be one of" in result.stderr
    assert tree(project) == before


def test_a_downgrade_is_refused(template: Path, tmp_path: Path) -> None:
    project = copy(template, tmp_path / "fn", "v4.0.0")
    result = run([COPIER, "update", "--trust", "--defaults", "--vcs-ref=v3.0.0"], project)
    assert result.returncode != 0
    assert "downgrading" in result.stderr.lower()
    assert answers(project)["_commit"] == "v4.0.0"


def test_a_dirty_repo_is_refused(template: Path, tmp_path: Path) -> None:
    project = copy(template, tmp_path / "fn", "v3.0.0")
    (project / "main.py").write_text("# uncommitted\n")
    result = run([COPIER, "update", "--trust", "--defaults"], project)
    assert result.returncode != 0
    assert "dirty" in result.stderr.lower()
    assert (project / "main.py").read_text() == "# uncommitted\n"
    assert answers(project)["_commit"] == "v3.0.0"


def test_check_update_reports_the_newer_version(template: Path, tmp_path: Path) -> None:
    project = copy(template, tmp_path / "fn", "v3.0.0")
    report = json.loads(check([COPIER, "check-update", "--output-format", "json"], project))
    assert report == {
        "update_available": True,
        "current_version": "3.0.0",
        "latest_version": "4.0.0",
    }
    workflow = (project / ".github" / "workflows" / "template-update.yml").read_text()
    assert "copier check-update --output-format json" in workflow
    assert "cron:" in workflow


def test_rendering_is_deterministic(template: Path, tmp_path: Path) -> None:
    first = copy(template, tmp_path / "a" / "fn", "v4.0.0", "trigger_type=firestore")
    second = copy(template, tmp_path / "b" / "fn", "v4.0.0", "trigger_type=firestore")
    assert tree(first) == tree(second)


# ---------------------------------------------------------------- hooks/migrations.py

ANSWERS = "_commit: v1.0.0\n_src_path: gh:org/gcf-template\nenvironments:\n- dev\n- production\nteam: payments\nstorage_event: finalize\n"


@pytest.fixture
def migrations():
    return load_module(MIGRATIONS, "gcf_template_migrations")


def test_rename_answer_keeps_the_value_and_is_idempotent(migrations) -> None:
    once = migrations.rename_answer(ANSWERS, "team", "owner_team")
    assert yaml.safe_load(once)["owner_team"] == "payments"
    assert "team" not in yaml.safe_load(once)
    assert migrations.rename_answer(once, "team", "owner_team") == once
    renamed_list = migrations.rename_answer(ANSWERS, "environments", "stages")
    assert yaml.safe_load(renamed_list)["stages"] == ["dev", "production"]


def test_rename_answer_refuses_to_overwrite_an_answer(migrations) -> None:
    with pytest.raises(SystemExit, match="already have owner_team"):
        migrations.rename_answer(ANSWERS + "owner_team: other\n", "team", "owner_team")


def test_replace_value_changes_only_the_old_value(migrations) -> None:
    changed = migrations.replace_value(ANSWERS, "storage_event", "finalize", "finalized")
    assert yaml.safe_load(changed)["storage_event"] == "finalized"
    assert migrations.replace_value(changed, "storage_event", "finalize", "finalized") == changed
    assert migrations.replace_value(ANSWERS, "team", "finance", "x") == ANSWERS


# Values that YAML reads as something else than the string when written bare: booleans,
# numbers, null, dates, flow collections, comments, keys, quotes, blanks and escapes.
TRICKY_VALUES = [
    "yes",
    "No",
    "on",
    "1.0",
    "0755",
    "1e3",
    "null",
    "~",
    "",
    "2024-01-01",
    "[a, b]",
    "{a: 1}",
    "#not a comment",
    "a # b",
    "key: value",
    "'single'",
    '"double"',
    "back\\slash",
    " padded ",
    "tab\tand\nnewline",
    "caf\u00e9",
    "\U0001f600 non-BMP",
    "- item",
    "*alias",
    "!tag",
]


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_replace_value_writes_a_string_that_reads_back_as_itself(migrations, value: str) -> None:
    """The new value is a string whatever it looks like: `yes` stays "yes", not true."""
    changed = migrations.replace_value(ANSWERS, "storage_event", "finalize", value)
    answers = yaml.safe_load(changed)
    assert answers["storage_event"] == value
    assert type(answers["storage_event"]) is str
    assert answers == {**yaml.safe_load(ANSWERS), "storage_event": value}
    # And it is found again as the old value of a later replacement.
    again = migrations.replace_value(changed, "storage_event", value, "finalized")
    assert yaml.safe_load(again)["storage_event"] == "finalized"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text())
def test_any_replaced_value_reads_back_as_itself(migrations, value: str) -> None:
    changed = migrations.replace_value(ANSWERS, "team", "payments", value)
    assert yaml.safe_load(changed) == {**yaml.safe_load(ANSWERS), "team": value}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.text())
def test_a_value_as_copier_writes_it_is_found(migrations, value: str) -> None:
    """The old value is compared as YAML reads it, however Copier's YAML writer quoted it."""
    written = yaml.dump({"team": value}, allow_unicode=True, default_flow_style=False)
    if len(written.splitlines()) > 1:  # a value over several lines is left alone
        assert migrations.replace_value(written, "team", value, "x") == written
        return
    assert yaml.safe_load(migrations.replace_value(written, "team", value, "x")) == {"team": "x"}


def test_add_answer_records_a_value_only_where_the_key_is_missing(migrations) -> None:
    added = migrations.add_answer(ANSWERS, "deploy_api", "functions")
    assert yaml.safe_load(added) == {**yaml.safe_load(ANSWERS), "deploy_api": "functions"}
    assert migrations.add_answer(added, "deploy_api", "run") == added
    chosen = ANSWERS + "deploy_api: run\n"
    assert migrations.add_answer(chosen, "deploy_api", "functions") == chosen
    assert yaml.safe_load(migrations.add_answer("a: 1", "b", "yes")) == {"a": 1, "b": "yes"}


def test_the_command_line_edits_the_answers_file(tmp_path: Path) -> None:
    answers_file = tmp_path / ".copier-answers.yml"
    answers_file.write_text(ANSWERS)
    result = run([sys.executable, str(MIGRATIONS), "rename-answer", "team", "owner_team"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "renamed answer team to owner_team" in result.stdout
    assert yaml.safe_load(answers_file.read_text())["owner_team"] == "payments"
    added = run(
        [sys.executable, str(MIGRATIONS), "add-answer", "deploy_api", "functions"], tmp_path
    )
    assert "recorded answer deploy_api: functions" in added.stdout
    assert yaml.safe_load(answers_file.read_text())["deploy_api"] == "functions"
    missing = run(
        [sys.executable, str(MIGRATIONS), "--answers-file", "nope.yml", "rename-answer", "a", "b"],
        tmp_path,
    )
    assert missing.returncode == 1
    assert "no answers file" in missing.stderr


def test_generated_pre_commit_config_guards_against_conflict_markers(render) -> None:
    config = yaml.safe_load((render() / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "--assume-in-merge" in hooks["check-merge-conflict"]["entry"]


# ---------------------------------------------------------------- from the previous release

# v1.0.0, the last release with the tooling in each repo (tools/, scripts/deploy.sh).
PREVIOUS_RELEASE = "d5d0a1fdb8201213a72793ebdb840d77cecc7734"
# The version the work tree is released as.
CURRENT = f"v{VERSION}"


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo of this template: v1.0.0 from history, then the work tree released as
    `python3 tasks.py release` makes a release (CURRENT: the devkit's version)."""
    repo = tmp_path_factory.mktemp("releases") / "gcf-template"
    repo.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", PREVIOUS_RELEASE],
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, (
        f"v1.0.0 ({PREVIOUS_RELEASE}) is not in this clone's history: {archive.stderr.decode()}"
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(repo, filter="data")
    check(["git", "init", "--quiet"], repo)
    commit_and_tag(repo, "v1.0.0")
    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(ROOT, repo, ignore=IGNORED, dirs_exist_ok=True)
    check(["git", "add", "--all"], repo)
    check(["git", "commit", "--quiet", "--message", "The work tree"], repo)
    check([sys.executable, "tasks.py", "release", releasable(repo)], repo)  # as releases are made
    return repo


def test_an_update_from_the_previous_release_moves_the_tooling_to_the_devkit(
    releases: Path, tmp_path: Path, mypy_cache: dict[str, str]
) -> None:
    """From v1.0.0: tools/ and scripts/ go, user code stays, an edited tool is kept and named,
    the tests import gcf_devkit, and the repo checks, lints, tests and deploys as before."""
    project = copy(releases, tmp_path / "fn", "v1.0.0", "trigger_type=pubsub")
    assert (project / "tools" / "deploy.py").is_file()
    main_py = project / "main.py"
    main_py.write_text(main_py.read_text() + "\n\n# my code\n")
    edit(project / "env.dev.yaml", '"my-project-id"', '"acme-dev"')
    edited_tool = project / "tools" / "setup.py"
    edited_tool.write_text(edited_tool.read_text() + "\n# my label\n")
    commit_all(project, "My changes")
    mine = main_py.read_text()
    deployed_before = check([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1"], project)

    output = update(project)

    assert main_py.read_text() == mine
    assert not (project / "scripts").exists()
    assert sorted(p.name for p in (project / "tools").iterdir()) == ["setup.py.edited"]
    assert (project / "tools" / "setup.py.edited").read_text().endswith("# my label\n")
    assert "tools/setup.py has your edits" in output
    assert "kept as tools/setup.py.edited" in output
    unit = (project / "tests" / "unit" / "test_main.py").read_text()
    assert "from gcf_devkit import events" in unit
    assert "from tools import" not in unit
    pin = f"gcf-devkit[local,testing] @ file://{releases}/devkit"
    assert pin in (project / "requirements-devkit.txt").read_text()
    env = yaml.safe_load((project / "env.dev.yaml").read_text())
    assert env["GOOGLE_CLOUD_PROJECT"] == "acme-dev"
    assert "my-function: my_function (pubsub, sync)" in check([*MAKE, "check"], project)
    check([*MAKE, "lint"], project, **mypy_cache)
    check([*MAKE, "test"], project)
    # The function deploys with the same settings, as the same identity (a recorded answer);
    # since 2.0.0 the deploy first checks that setup made its topic, and then lets the trigger
    # identity invoke this function only (docs/decisions/0006-identities-and-dry-runs.md).
    deployed_after = check([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1"], project)
    [deploy] = [line for line in deployed_after.splitlines() if "functions deploy" in line]
    assert deployed_before.splitlines()[0] == deploy
    assert deployed_after.splitlines() == [
        "gcloud pubsub topics describe my-function-topic --project=acme-dev >/dev/null 2>&1"
        ' || { echo "topic my-function-topic is missing: run \\`make setup ENV=dev\\` first (it'
        ' makes what functions.yaml names)" >&2; exit 1; }',
        deploy,
        "gcloud functions add-invoker-policy-binding my-function-dev --project=acme-dev"
        " --region=us-central1"
        " --member=serviceAccount:my-function-trigger@my-project-id.iam.gserviceaccount.com",
    ]


def test_an_update_from_the_previous_release_without_edits_gives_a_fresh_copy(
    releases: Path, tmp_path: Path
) -> None:
    old = copy(releases, tmp_path / "old" / "fn", "v1.0.0", "trigger_type=storage")
    before = tree(old)
    update(old)
    # The accounts 1.0.0 recorded keep their names (new repos get names with a hash).
    recorded = yaml.safe_load((old / ".copier-answers.yml").read_text())
    accounts = [f"{k}={recorded[k]}" for k in ("service_account", "trigger_service_account")]
    assert accounts == [
        "service_account=my-function-sa@my-project-id.iam.gserviceaccount.com",
        "trigger_service_account=my-function-trigger@my-project-id.iam.gserviceaccount.com",
    ]
    # The route too: a repo made before 2.0.0 keeps deploying through the Cloud Functions API.
    assert recorded["deploy_api"] == "functions"
    accounts.append("deploy_api=functions")
    fresh = copy(releases, tmp_path / "fresh" / "fn", CURRENT, "trigger_type=storage", *accounts)
    # The user's code stays as v1.0.0 wrote it, but for the import of events from gcf_devkit
    # (the 2.0.0 migration); all else is v2.0.0's.
    # functions.yaml is the user's too (written once): its comments stay as v1.0.0 wrote them.
    user_code = {
        "main.py",
        "tests/unit/test_main.py",
        "tests/integration/test_server.py",
        "functions.yaml",
    }
    after, new = tree(old), tree(fresh)
    migrations = load_module(MIGRATIONS, "gcf_template_migrations_release")
    assert {p: after[p] for p in user_code} == {
        p: migrations.use_devkit_import(before[p].decode()).encode() for p in user_code
    }
    # functions.yaml is written once, then the user's (_skip_if_exists): it stays as it was.
    assert after["functions.yaml"] == before["functions.yaml"]
    user_code.add("functions.yaml")
    differing = sorted(p for p in after.keys() | new.keys() if after.get(p) != new.get(p))
    assert [p for p in differing if p not in user_code] == []
    assert {p: v for p, v in after.items() if p not in user_code} == {
        p: v for p, v in new.items() if p not in user_code
    }


def test_an_update_from_the_previous_release_keeps_the_packages_its_owner_added(
    releases: Path, tmp_path: Path
) -> None:
    """From v1.0.0, whose requirements.txt listed the direct pins: the packages its owner
    added are carried to requirements.in and requirements-dev.in, the locks are the
    template's (hashed, no conflict markers), and `make check` says what to lock until
    `make lock` has run."""
    project = copy(releases, tmp_path / "fn", "v1.0.0", "trigger_type=pubsub")
    edit(project / "requirements.txt", "flask==", "requests==2.32.5\nflask==")
    dev = project / "requirements-dev.txt"
    dev.write_text(dev.read_text() + "freezegun==1.5.5  # mine\n")
    commit_all(project, "My packages")

    output = update(project)

    direct = (project / "requirements.in").read_text()
    assert "\nrequests==2.32.5\n" in direct
    assert "freezegun==1.5.5  # mine\n" in (project / "requirements-dev.in").read_text()
    assert "requests (requirements.in), freezegun (requirements-dev.in)" in output
    assert "run `make lock`" in output
    gcf = load_module(ROOT / "extensions" / "gcf.py", "gcf_template_extension_update")
    template_direct = direct.partition("# Yours, from requirements.txt")[0]
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-deploy.txt"):
        assert (project / name).read_text() == gcf.locked(template_direct, name), name
    checked = run([*MAKE, "check"], project)
    assert checked.returncode != 0
    assert "requirements.txt: requests of requirements.in is not locked" in checked.stderr
    assert "requirements-dev.txt: freezegun of requirements-dev.in is not locked" in checked.stderr
    assert "run `make lock`" in checked.stderr
