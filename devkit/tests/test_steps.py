"""What a real run of `gcf deploy` and `gcf setup` does, and what their dry runs print.

A stand-in `gcloud` (and `bq`) on PATH logs every call and answers `describe` from a
folder of resources that "exist". For each plan and each state (nothing there, everything
there, a resource of another repo, a subscription with another topic), the dry run's lines
run by `bash -e` make exactly the calls a real run makes, and end the same way.
"""

from __future__ import annotations

import io
import os
import shlex
import stat
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gcf_devkit.cloud import _steps, deploy, setup
from gcf_devkit.project import Project

if TYPE_CHECKING:
    from tests.conftest import Repo

# The stand-in: a describe succeeds when a file named after its arguments exists in
# $STATE, and prints that file; every other command succeeds. Each call is logged.
STAND_IN = """#!/bin/sh
printf '%s\\n' "$(basename "$0") $*" >> "$STATE/calls.log"
case " $* " in
  *" describe "*|*" show "*|*" list "*)
    key=$(printf '%s' "$*" | sed 's/ --format=[^ ]*//' | tr -c 'a-zA-Z0-9\\n' '_')
    [ -f "$STATE/$key" ] || exit 1
    cat "$STATE/$key" ;;
esac
exit 0
"""
PIPELINE = {
    "worker": {
        "trigger_type": "pubsub",
        "pubsub_topic": "jobs",
        "dead_letter_topic": "jobs-dead",
        "max_delivery_attempts": 5,
        "publishes": {"OUT": "results"},
        "roles": [{"role": "roles/bigquery.dataEditor", "dataset": "rows"}],
    },
    "tick": {"trigger_type": "scheduler", "pubsub_topic": "ticks", "schedule": "0 * * * *"},
}
# On the Cloud Run route, an Eventarc trigger of the repo's own too.
RUN_EXTRA = {
    "ingest": {"trigger_type": "storage", "storage_bucket": "drop-zone"},
    "audit": {
        "trigger_type": "audit_log",
        "audit_service_name": "bigquery.googleapis.com",
        "audit_method_name": "jobservice.insert",
    },
}
BUDGET = {"billing_account": "01ABCD-23EF45-6789AB", "monthly_budget": 50}
BUDGET_NAME = "billingAccounts/01ABCD-23EF45-6789AB/budgets/b-1"


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of "existing" resources; gcloud and bq on PATH answer from it."""
    state = tmp_path / "state"
    bin_dir = tmp_path / "bin"
    state.mkdir()
    bin_dir.mkdir()
    for tool in ("gcloud", "bq"):
        (bin_dir / tool).write_text(STAND_IN)
        (bin_dir / tool).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STATE", str(state))
    return state


def key(command: tuple[str, ...]) -> str:
    """The stand-in's file name for a describe command (as its shell script computes it)."""
    args = " ".join(a for a in command[1:] if not a.startswith("--format="))
    return "".join(c if c.isalnum() else "_" for c in args)


def exist(state: Path, plan: _steps.Plan, answers: dict[str, str] | None = None) -> None:
    """Make every resource the plan looks at exist (with the expected fields unless given)."""
    for step in plan.steps:
        if step.exists:
            given = [v for k, v in (answers or {}).items() if k in step.exists]
            found = given[0] if given else BUDGET_NAME if step.lists else step.expect
            (state / key(step.exists)).write_text(found + "\n")


def calls(state: Path) -> list[str]:
    log = state / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def real_run(plan: _steps.Plan, root: Path, jobs: int = 1) -> tuple[bool, list[str]]:
    """A real run: a deploy's functions `jobs` at once, a setup's steps in order."""
    try:
        if plan.units:
            _steps.execute_units(plan, "test", root, jobs)
        else:
            _steps.execute(plan.steps, "test", root)
    except _steps.CommandError:
        return False, calls(Path(os.environ["STATE"]))
    return True, calls(Path(os.environ["STATE"]))


def by_unit(plan: _steps.Plan, made: list[str]) -> dict[str, list[str]]:
    """The calls of a run, by the unit (deployed function) whose name they carry, in order;
    "" for the shared ones. Units run at once interleave: compare each one's sequence."""
    names = sorted(plan.units, key=len, reverse=True)
    grouped: dict[str, list[str]] = {}
    for call in made:
        words = set(call.split())
        unit = next((n for n in names if any(w == n or w.endswith(f"={n}") for w in words)), "")
        grouped.setdefault(unit, []).append(call)
    return grouped


def dry_run_in_bash(
    plan: _steps.Plan, root: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[bool, list[str]]:
    _steps.perform(plan.steps, "test", True, root)
    script = capsys.readouterr().out
    result = subprocess.run(
        ["bash", "-e"], input=script, text=True, cwd=root, capture_output=True, check=False
    )
    return result.returncode == 0, calls(Path(os.environ["STATE"]))


def plans(root: Path) -> list[_steps.Plan]:
    project = Project.load(root)
    return [
        deploy.plan(project, "dev", None, dry_run=True),
        setup.plan(project, "dev", dry_run=True),
    ]


@pytest.mark.parametrize("route", ["functions", "run"])
@pytest.mark.parametrize("state", ["missing", "there", "another topic", "another repo"])
def test_a_dry_run_does_what_a_real_run_does(
    repo: Repo,
    stand_in: Path,
    capsys: pytest.CaptureFixture[str],
    state: str,
    route: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPOSITORY_ID", "4242")
    root = repo(
        {**PIPELINE, **(RUN_EXTRA if route == "run" else {})},
        answers={**BUDGET, "deploy_api": route},
    )
    for plan in plans(root):
        if state != "missing":
            exist(stand_in, plan)
        if state == "another topic":
            exist(stand_in, plan, {"worker-dev": "projects/my-project-dev/topics/elsewhere"})
        if state == "another repo":
            exist(
                stand_in,
                plan,
                {
                    "my-function-86e4-dep-dev@my-project-id.iam.gserviceaccount.com": "gcf-template: acme/other, dev",
                    "my-function-86e4": "gcf-template: acme/other",
                },
            )
        real = real_run(plan, root, jobs=4)
        printed = dry_run_in_bash(plan, root, capsys)
        assert printed[0] == real[0]
        assert by_unit(plan, printed[1]) == by_unit(plan, real[1])
        assert sorted(printed[1]) == sorted(real[1])
        for name in stand_in.iterdir():
            name.unlink()
        ok, made = real
        if isinstance(plan, deploy.Deployment):
            # A deploy stops, changing nothing, unless setup made what it needs.
            assert ok is (state in ("there", "another repo"))
        else:
            assert ok is (state in ("missing", "there"))
        if not ok:
            changed = [
                c for c in made if not any(w in c.split()[:5] for w in ("describe", "show", "list"))
            ]
            assert changed == []


def test_a_real_run_stops_before_anything_naming_both_topics(
    repo: Repo, stand_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo(PIPELINE)
    plan = deploy.plan(Project.load(root), "dev", None, dry_run=True)
    exist(stand_in, plan, {"worker-dev": "projects/my-project-dev/topics/elsewhere"})
    with pytest.raises(_steps.CommandError) as raised:
        _steps.execute(plan.steps, "deploy", root)
    message = str(raised.value)
    assert message.startswith("deploy: nothing was changed: the push subscription worker-dev ")
    assert "projects/my-project-dev/topics/jobs-dev" in message
    assert "it is projects/my-project-dev/topics/elsewhere" in message


def test_setup_never_changes_another_repos_deployer_or_provider(
    repo: Repo, stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPOSITORY_ID", "4242")
    root = repo()
    plan = setup.plan(Project.load(root), "dev", dry_run=True)
    exist(stand_in, plan, {"my-function-86e4": "gcf-template: acme/other"})
    with pytest.raises(
        _steps.CommandError,
        match="the identity provider my-function-86e4 exists and is not acme/my-function's: it is gcf-template: acme/other",
    ):
        _steps.execute(plan.steps, "setup", root)
    assert [c for c in calls(stand_in) if "describe" not in c] == []


def test_the_stand_in_answers_as_the_tests_expect(stand_in: Path) -> None:
    """The stand-in itself: a describe fails until its resource exists, then prints it."""
    command = ("gcloud", "pubsub", "topics", "describe", "t", "--project=p")
    assert subprocess.run(command, check=False).returncode == 1
    (stand_in / key(command)).write_text("x\n")
    found = subprocess.run((*command, "--format=value(name)"), check=False, capture_output=True)
    assert found.stdout == b"x\n"
    assert calls(stand_in) == [" ".join(command), " ".join((*command, "--format=value(name)"))]


def test_a_budget_made_before_is_updated_by_the_name_found(
    repo: Repo, stand_in: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = setup.plan(Project.load(repo(answers=BUDGET)), "dev", dry_run=True)
    exist(stand_in, plan)
    ok, made = real_run(plan, repo_root := plan.project.root)
    assert ok
    assert dry_run_in_bash(plan, repo_root, capsys) == (True, made)
    [update] = [c for c in made if c.startswith("gcloud billing budgets update ")]
    assert update.split()[4] == BUDGET_NAME
    assert not [c for c in made if c.startswith("gcloud billing budgets create ")]
    for name in stand_in.iterdir():  # none: the list prints nothing, and it is created
        name.unlink()
    ok, made = real_run(plan, repo_root)
    assert ok
    assert [c for c in made if c.startswith("gcloud billing budgets create ")]


# -- many functions at once

# A stand-in whose deploys take DEPLOY_SECONDS, fail for a name with a file fail-NAME in
# $STATE, and answer a quota error once for a name with a file quota-NAME; describes find
# nothing. Each call is logged, each deploy's start and end too.
SLOW_STAND_IN = """#!/bin/sh
printf '%s\\n' "$(basename "$0") $*" >> "$STATE/calls.log"
case " $* " in *" describe "*) exit 1 ;; esac
if [ "$2" = deploy ]; then
  printf 'start %s\\n' "$3" >> "$STATE/times.log"
  sleep "${DEPLOY_SECONDS:-0}"
  if [ -f "$STATE/quota-$3" ]; then
    rm "$STATE/quota-$3"
    echo "ERROR: (gcloud.$1.deploy) RESOURCE_EXHAUSTED: Quota exceeded for quota metric" >&2
    exit 1
  fi
  if [ -f "$STATE/fail-$3" ]; then echo "ERROR: (gcloud.$1.deploy) Build failed" >&2; exit 1; fi
  printf 'end %s\\n' "$3" >> "$STATE/times.log"
  echo "Service URL: https://$3-123456789012.us-central1.run.app" >&2
fi
exit 0
"""
SIX = {f"fn-{i}": {"trigger_type": "http"} for i in range(6)}


@pytest.fixture
def slow_gcloud(stand_in: Path) -> Path:
    gcloud = Path(os.environ["PATH"].split(os.pathsep)[0]) / "gcloud"
    gcloud.write_text(SLOW_STAND_IN)
    return stand_in


def six_deploys(repo: Repo, route: str = "run") -> deploy.Deployment:
    root = repo(SIX, answers={"deploy_api": route})
    return deploy.plan(Project.load(root), "dev", None, dry_run=True)


@pytest.mark.parametrize("route", ["run", "functions"])
def test_functions_deploy_at_once_up_to_the_cap(
    repo: Repo,
    slow_gcloud: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    route: str,
) -> None:
    monkeypatch.setenv("DEPLOY_SECONDS", "0.6")
    plan = six_deploys(repo, route)
    assert list(plan.units) == [f"fn-{i}-dev" for i in range(6)]
    start = time.monotonic()
    outcomes = _steps.execute_units(plan, "deploy", plan.project.root, jobs=3, url=plan.url)
    elapsed = time.monotonic() - start
    # Six deploys of 0.6 s, three at a time: two rounds, not six.
    assert 1.2 <= elapsed < 2.4, elapsed
    assert [o.name for o in outcomes if o.ok] == list(plan.units)
    made = [c.split()[3] for c in calls(slow_gcloud)]
    assert sorted(made) == sorted(plan.units)
    starts = (slow_gcloud / "times.log").read_text().splitlines()
    # Never more than three at once.
    running = peak = 0
    for line in starts:
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    assert peak == 3
    report = capsys.readouterr().err
    header, *rows = report.splitlines()[-7:]
    assert header.split() == ["function", "result", "duration", "URL"]
    assert [r.split()[:2] for r in rows] == [[f"fn-{i}-dev", "deployed"] for i in range(6)]
    assert rows[0].split()[3] == "https://fn-0-dev-123456789012.us-central1.run.app"
    assert "[fn-5-dev] done in " in report


def test_a_failed_function_is_named_and_the_others_deploy(
    repo: Repo,
    slow_gcloud: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = six_deploys(repo)
    (slow_gcloud / "fail-fn-2-dev").touch()
    (slow_gcloud / "fail-fn-4-dev").touch()
    (slow_gcloud / "quota-fn-1-dev").touch()
    with pytest.raises(_steps.CommandError) as raised:
        _steps.execute_units(plan, "deploy", plan.project.root, jobs=4, delay=0.01)
    message = str(raised.value)
    assert message.startswith("2 of 6 failed: fn-2-dev, fn-4-dev\n")
    assert "fn-2-dev: failed: gcloud run deploy fn-2-dev " in message
    assert "ERROR: (gcloud.run.deploy) Build failed" in message
    assert message.endswith("deployed: fn-0-dev, fn-1-dev, fn-3-dev, fn-5-dev")
    made = [c.split()[3] for c in calls(slow_gcloud)]
    # The quota error was retried (once), the build failures were not.
    assert sorted(made) == sorted([*plan.units, "fn-1-dev"])
    report = capsys.readouterr().err
    assert "[fn-1-dev] quota exceeded; retrying in 0s (attempt 2 of 6)" in report
    rows = {line.split()[0]: line.split()[1] for line in report.splitlines()[-6:]}
    assert rows == {
        **{f"fn-{i}-dev": "deployed" for i in (0, 1, 3, 5)},
        "fn-2-dev": "FAILED",
        "fn-4-dev": "FAILED",
    }


def test_quota_errors_are_retried_with_growing_waits_then_given_up(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(_steps.time, "sleep", waits.append)
    gcloud = Path(os.environ["PATH"].split(os.pathsep)[0]) / "gcloud"
    gcloud.write_text("#!/bin/sh\necho 'HTTP 429: Too Many Requests' >&2\nexit 1\n")
    runner = _steps.Runner("deploy", stand_in, retries=3, delay=1.0, quiet=True)
    result = runner.run("fn", ("gcloud", "run", "deploy", "fn"))
    assert result.returncode == 1
    assert len(waits) == 3
    assert [round(w) for w in waits] == [round(w) for w in sorted(waits)]
    assert 1 <= waits[0] <= 1.25
    assert 4 <= waits[2] <= 5


CREATE = ("gcloud", "a", "create", "x")
DESCRIBE = ("gcloud", "a", "describe", "x")
UPDATE = ("gcloud", "a", "update", "x")


@pytest.mark.parametrize(
    ("step", "check_line", "line"),
    [
        (
            _steps.Step(("gcloud", "d")),
            None,
            "gcloud d",
        ),
        (
            _steps.Step(CREATE, exists=DESCRIBE),
            None,
            "gcloud a describe x >/dev/null 2>&1 || gcloud a create x",
        ),
        (
            _steps.Step(CREATE, exists=DESCRIBE, update=UPDATE),
            None,
            "if gcloud a describe x >/dev/null 2>&1; then gcloud a update x; "
            "else gcloud a create x; fi",
        ),
        (
            _steps.Step(CREATE, DESCRIBE, UPDATE, expect="p/t", conflict='x is "y" $z'),
            "if found=$(gcloud a describe x 2>/dev/null); then case $found in p/t) ;; "
            '*) { echo "x is \\"y\\" \\$z: it is $found" >&2; exit 1; } ;; esac; fi',
            "if gcloud a describe x >/dev/null 2>&1; then gcloud a update x; "
            "else gcloud a create x; fi",
        ),
        (
            _steps.Step((), DESCRIBE, UPDATE, "p/t", "c", missing="run `make setup` first"),
            'found=$(gcloud a describe x 2>/dev/null) || { echo "run \\`make setup\\` first" >&2; '
            'exit 1; }; case $found in p/t) ;; *) { echo "c: it is $found" >&2; exit 1; } ;; esac',
            "gcloud a update x",
        ),
        (
            _steps.Step((), exists=DESCRIBE, missing="topic q is missing"),
            'gcloud a describe x >/dev/null 2>&1 || { echo "topic q is missing" >&2; exit 1; }',
            "",
        ),
        (
            _steps.Step(
                CREATE,
                exists=("gcloud", "b", "list", "--format=value(name)"),
                update=("gcloud", "b", "update", _steps.FOUND, "--k=v w"),
            ),
            None,
            "if found=$(gcloud b list '--format=value(name)') && [ -n \"$found\" ]; then "
            "gcloud b update \"$found\" '--k=v w'; else gcloud a create x; fi",
        ),
    ],
    ids=["plain", "create", "update", "expect", "required", "missing", "listed"],
)
def test_each_kind_of_step_prints_this_shell(
    step: _steps.Step, check_line: str | None, line: str
) -> None:
    """The dry run's exact words: what a person reads, and pastes into a shell."""
    assert step.checked is (check_line is not None)
    if check_line is not None:
        assert step.check_line() == check_line
    assert step.line() == line


# -- a real run's steps, one by one: where they run, what they print, how they fail


def shell(script: str) -> tuple[str, ...]:
    return ("sh", "-c", script)


def test_a_real_run_runs_each_step_in_the_repo_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Commands run from the repo's root (a deploy uploads `--source=.`), the look too."""
    (tmp_path / "there").write_text("")
    steps = [
        _steps.Step(shell("pwd > made")),
        _steps.Step(shell("touch skipped"), exists=("test", "-f", "there")),
        _steps.Step(shell("touch created"), exists=("test", "-f", "absent")),
        _steps.Step(shell("touch new"), exists=("test", "-f", "there"), update=shell("pwd > upd")),
    ]
    _steps.execute(steps, "setup", tmp_path)
    assert (tmp_path / "made").read_text() == f"{tmp_path}\n"
    assert (tmp_path / "upd").read_text() == f"{tmp_path}\n"
    assert (tmp_path / "created").exists()
    assert not (tmp_path / "skipped").exists()
    assert not (tmp_path / "new").exists()
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "setup: sh -c 'pwd > made'",
        "setup: exists, left as it is: test -f there",
        "setup: sh -c 'touch created'",
        "setup: sh -c 'pwd > upd'",
    ]


def test_a_failed_step_says_what_was_done_and_what_was_not(tmp_path: Path) -> None:
    steps = [
        _steps.Step(shell("true")),
        _steps.Step(shell("exit 1")),
        _steps.Step(CREATE, exists=DESCRIBE),
        _steps.Step(("gcloud", "d")),
    ]
    with pytest.raises(_steps.CommandError) as raised:
        _steps.execute(steps, "setup", tmp_path)
    assert str(raised.value) == (
        "failed: sh -c 'exit 1'\n1 step(s) done before it; not run:\n"
        "gcloud a describe x >/dev/null 2>&1 || gcloud a create x\ngcloud d"
    )
    with pytest.raises(_steps.CommandError) as raised:
        _steps.execute([_steps.Step(shell("exit 2"))], "setup", tmp_path)
    assert str(raised.value) == (
        "failed: sh -c 'exit 2'\n0 step(s) done before it; not run:\n(nothing)"
    )


def test_a_step_that_cannot_create_its_resource_stops_the_run_before_anything(
    tmp_path: Path,
) -> None:
    steps = [
        _steps.Step(shell("touch made")),
        _steps.Step((), exists=("test", "-f", "topic"), missing="topic t is missing: run setup"),
    ]
    with pytest.raises(_steps.CommandError) as raised:
        _steps.execute(steps, "deploy", tmp_path)
    assert str(raised.value) == "deploy: nothing was changed: topic t is missing: run setup"
    assert not (tmp_path / "made").exists()
    # There, in the repo's root: the run goes on.
    (tmp_path / "topic").write_text("")
    _steps.execute(steps, "deploy", tmp_path)
    assert (tmp_path / "made").exists()


def test_a_listed_resource_is_there_only_when_the_list_names_it(tmp_path: Path) -> None:
    """A budget is found by listing: an empty list is a missing budget, made anew."""
    lists = shell("cat budgets")
    update = ("sh", "-c", 'echo "$0" > done', _steps.FOUND)
    step = _steps.Step(shell("echo created > done"), lists, update)
    (tmp_path / "budgets").write_text("")
    assert _steps.probe(step, tmp_path) is None
    _steps.execute([step], "setup", tmp_path)
    assert (tmp_path / "done").read_text() == "created\n"
    (tmp_path / "budgets").write_text("budgets/b-1\n")
    assert _steps.probe(step, tmp_path) == "budgets/b-1"
    _steps.execute([step], "setup", tmp_path)
    assert (tmp_path / "done").read_text() == "budgets/b-1\n"


@pytest.fixture
def fake_gcloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A gcloud on PATH that logs its folder and arguments and prints $ANSWER (or fails)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "gcloud"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$(pwd) $*" >> {tmp_path}/gcloud.log\n'
        '[ -n "$ANSWER" ] || { echo "ERROR: (gcloud) permission denied" >&2; exit 1; }\n'
        'echo "$ANSWER"\n'
    )
    script.chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "gcloud.log"


def test_the_project_number_comes_from_gcloud(
    fake_gcloud: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _steps.project_number("my-project-dev", tmp_path, dry_run=True) == "PROJECT_NUMBER"
    assert not fake_gcloud.exists()  # a dry run asks nothing
    monkeypatch.setenv("ANSWER", "123456789012")
    assert _steps.project_number("my-project-dev", tmp_path, dry_run=False) == "123456789012"
    assert fake_gcloud.read_text() == (
        f"{tmp_path} projects describe my-project-dev --format=value(projectNumber)\n"
    )
    monkeypatch.setenv("ANSWER", "")
    with pytest.raises(_steps.CommandError) as raised:
        _steps.project_number("my-project-dev", tmp_path, dry_run=False)
    assert str(raised.value) == (
        "gcloud projects describe my-project-dev '--format=value(projectNumber)' failed:\n"
        "ERROR: (gcloud) permission denied"
    )


def test_a_real_run_needs_gcloud(fake_gcloud: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _steps.require_gcloud()  # on PATH: nothing to say
    monkeypatch.setenv("PATH", str(fake_gcloud.parent / "empty"))
    with pytest.raises(_steps.CommandError) as raised:
        _steps.require_gcloud()
    assert str(raised.value) == (
        "gcloud is not installed: see https://cloud.google.com/sdk/docs/install"
    )


def test_a_plan_creates_what_describe_does_not_find_and_grants_exactly(repo: Repo) -> None:
    plan = _steps.Plan(Project.load(repo()), "dev", "my-project-dev", "42")
    plan.create(("pubsub", "topics"), "t-dev", "--labels=a=b")
    plan.create(("eventarc", "channels"), "c", project="other", scope=("--location=global",))
    plan.grant(("projects",), "my-project-dev", "serviceAccount:a@b", "roles/x")
    plan.grant(("projects",), "my-project-dev", "serviceAccount:a@b", "roles/y", condition="c")
    plan.grant(("pubsub", "topics"), "t-dev", "serviceAccount:a@b", "roles/z", condition="c")
    assert [(" ".join(s.command), " ".join(s.exists)) for s in plan.steps] == [
        (
            "gcloud pubsub topics create t-dev --project=my-project-dev --labels=a=b",
            "gcloud pubsub topics describe t-dev --project=my-project-dev",
        ),
        (
            "gcloud eventarc channels create c --project=other --location=global",
            "gcloud eventarc channels describe c --project=other --location=global",
        ),
        (
            "gcloud projects add-iam-policy-binding my-project-dev --member=serviceAccount:a@b "
            "--role=roles/x --condition=None --quiet",
            "",
        ),
        (
            "gcloud projects add-iam-policy-binding my-project-dev --member=serviceAccount:a@b "
            "--role=roles/y --condition=c --quiet",
            "",
        ),
        (
            "gcloud pubsub topics add-iam-policy-binding t-dev --project=my-project-dev "
            "--member=serviceAccount:a@b --role=roles/z --quiet",
            "",
        ),
    ]


# -- one unit of a parallel run (a function of a deploy), and the table of all


def test_a_unit_runs_its_steps_in_the_repo_and_names_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "there").write_text("")
    steps = [
        _steps.Step(shell("pwd > made")),
        _steps.Step(shell("touch skipped"), exists=("test", "-f", "there")),
        _steps.Step(shell("echo created > c"), exists=("test", "-f", "absent"), update=shell("x")),
        # Listed: updated by the name its list prints.
        _steps.Step(shell("x"), shell("echo b-1"), ("sh", "-c", 'echo "$0" > u', _steps.FOUND)),
        _steps.Step(shell("echo 'Service URL: https://fn-1.a.run.app'")),
    ]
    runner = _steps.Runner("deploy", tmp_path, retries=0, delay=0)
    outcome = runner.unit("fn", steps, lambda name: f"https://{name}.example")
    assert (tmp_path / "made").read_text() == f"{tmp_path}\n"
    assert (tmp_path / "c").read_text() == "created\n"
    assert (tmp_path / "u").read_text() == "b-1\n"
    assert not (tmp_path / "skipped").exists()
    assert outcome.ok
    assert outcome.done == [
        "sh -c 'pwd > made'",
        "sh -c 'echo created > c'",
        "sh -c 'echo \"$0\" > u' b-1",
        "sh -c 'echo '\"'\"'Service URL: https://fn-1.a.run.app'\"'\"''",
    ]
    assert outcome.url == "https://fn-1.a.run.app"  # as gcloud printed it
    assert 0 <= outcome.seconds < 60
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[:-1] == [
        f"deploy: [fn] {line}"
        for line in [
            "sh -c 'pwd > made'",
            "exists, left as it is: test -f there",
            *outcome.done[1:],
        ]
    ]
    assert err.splitlines()[-1].startswith("deploy: [fn] done in ")
    # No URL printed: the one the plan expects.
    outcome = runner.unit("other", [_steps.Step(shell("true"))], lambda name: f"https://{name}.x")
    assert outcome.url == "https://other.x"


def test_a_failed_unit_says_why_and_what_it_did_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = _steps.Runner("deploy", tmp_path, retries=0, delay=0)
    noisy = "for n in $(seq 1 25); do echo line $n; done >&2; exit 3"
    steps = [
        _steps.Step(shell("true")),
        _steps.Step(shell(noisy)),
        _steps.Step(CREATE, exists=DESCRIBE),
        _steps.Step(("gcloud", "d")),
    ]
    outcome = runner.unit("fn", steps, lambda name: "")
    assert not outcome.ok
    assert (outcome.done, outcome.failed, outcome.reason) == (
        ["sh -c true"],
        shlex.join(shell(noisy)),
        "line 25",
    )
    assert outcome.not_run == [
        "gcloud a describe x >/dev/null 2>&1 || gcloud a create x",
        "gcloud d",
    ]
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[2] == "deploy: [fn] failed: line 25"
    assert lines[3:] == [f"  line {n}" for n in range(6, 26)]  # the last 20 lines of output
    # A command that fails saying nothing: its exit status.
    outcome = runner.unit("fn", [_steps.Step(shell("exit 3"))], lambda name: "")
    assert outcome.reason == "exit status 3"
    assert outcome.not_run == []


def test_quota_errors_wait_at_most_a_quarter_more_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(_steps.time, "sleep", waits.append)
    monkeypatch.setattr(_steps.random, "random", lambda: 1.0)  # the most jitter
    gcloud = tmp_path / "gcloud"
    gcloud.write_text("#!/bin/sh\npwd\necho 'RESOURCE_EXHAUSTED: Quota exceeded' >&2\nexit 1\n")
    gcloud.chmod(stat.S_IRWXU)
    command = (str(gcloud), "run", "deploy", "fn")
    result = _steps.Runner("deploy", tmp_path, retries=2, delay=2.0).run("fn", command)
    assert (result.returncode, result.stdout) == (1, f"{tmp_path}\n")
    assert waits == [2.5, 5.0]
    assert capsys.readouterr().err.splitlines() == [
        "deploy: [fn] quota exceeded; retrying in 2s (attempt 2 of 3): run deploy",
        "deploy: [fn] quota exceeded; retrying in 5s (attempt 3 of 3): run deploy",
    ]
    quiet = _steps.Runner("deploy", tmp_path, retries=1, delay=1.0, quiet=True)
    quiet.run("fn", command)
    assert capsys.readouterr().err == ""


def test_the_table_of_units() -> None:
    outcomes = [
        _steps.Outcome("a", seconds=1.23, url="https://a.example"),
        _steps.Outcome("bbbbbb", failed="x", seconds=10.0),
    ]
    assert _steps.table(outcomes).splitlines() == [
        "function  result    duration  URL",
        "a         deployed  1.2s      https://a.example",
        "bbbbbb    FAILED    10.0s     -",
    ]


def test_a_real_perform_runs_the_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _steps.perform([_steps.Step(shell("pwd > made"))], "setup", False, tmp_path)
    assert (tmp_path / "made").read_text() == f"{tmp_path}\n"
    assert capsys.readouterr() == ("", "setup: sh -c 'pwd > made'\n")


def test_a_stop_message_keeps_its_words(tmp_path: Path) -> None:
    """Only what the shell would expand is escaped in the dry run's echo."""
    step = _steps.Step((), exists=("test", "-f", "x"), missing='X "$HOME" `id` \\ stays')
    assert step.check_line() == (
        'test -f x >/dev/null 2>&1 || { echo "X \\"\\$HOME\\" \\`id\\` \\\\ stays" >&2; exit 1; }'
    )
    result = subprocess.run(
        ["bash", "-c", step.check_line()], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stderr) == (1, 'X "$HOME" `id` \\ stays\n')


def units_plan(repo: Repo, units: dict[str, list[_steps.Step]]) -> _steps.Plan:
    plan = _steps.Plan(Project.load(repo()), "dev", "my-project-dev", "42")
    plan.add(_steps.Step(shell("pwd > shared")))
    for name, steps in units.items():
        with plan.unit(name):
            for step in steps:
                plan.add(step)
    return plan


def test_units_run_after_the_shared_steps_and_a_failure_names_each_unit(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = units_plan(
        repo,
        {
            "a": [_steps.Step(shell("pwd > a"))],
            "b": [_steps.Step(shell("echo nope >&2; exit 1")), _steps.Step(("gcloud", "d"))],
            "c": [_steps.Step(shell("true")), _steps.Step(shell("exit 2"))],
        },
    )
    root = plan.project.root
    with pytest.raises(_steps.CommandError) as raised:
        _steps.execute_units(plan, "deploy", root, jobs=1)
    assert str(raised.value) == (
        "2 of 3 failed: b, c\n"
        "b: failed: sh -c 'echo nope >&2; exit 1'\n  nope\n  done before it: 0 step(s)\n"
        "  not run:\n    gcloud d\n"
        "c: failed: sh -c 'exit 2'\n  exit status 2\n  done before it: 1 step(s)\n"
        "    sh -c true\n  not run:\n    (nothing)\n"
        "deployed: a"
    )
    assert (root / "shared").read_text() == (root / "a").read_text() == f"{root}\n"
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "deploy: sh -c 'pwd > shared'"
    assert "deploy: [a] sh -c 'pwd > a'" in err
    # Nothing deployed.
    plan = units_plan(repo, {"b": [_steps.Step(shell("exit 1"))]})
    with pytest.raises(_steps.CommandError, match=r"\ndeployed: \(none\)$"):
        _steps.execute_units(plan, "deploy", root, jobs=1)


def test_units_run_after_every_check_and_at_least_one_at_a_time(repo: Repo) -> None:
    plan = units_plan(repo, {"a": [_steps.Step(shell("touch a"))]})
    plan.add(_steps.Step((), exists=("test", "-f", "topic"), missing="topic t is missing"))
    root = plan.project.root
    with pytest.raises(
        _steps.CommandError, match=r"^deploy: nothing was changed: topic t is missing$"
    ):
        _steps.execute_units(plan, "deploy", root, jobs=1)
    assert not (root / "a").exists()
    with pytest.raises(_steps.CommandError, match=r"^jobs: must be 1 or more \(got 0\)$"):
        _steps.execute_units(plan, "deploy", root, jobs=0)
    (root / "topic").write_text("")
    _steps.execute_units(plan, "deploy", root, jobs=1)
    assert (root / "a").exists()


def test_a_deploy_waits_5_seconds_then_twice_as_long_on_a_quota_error(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `gcf deploy` uses: 5 retries, the first after 5 s (up to a quarter more)."""
    waits: list[float] = []
    monkeypatch.setattr(_steps.time, "sleep", waits.append)
    monkeypatch.setattr(_steps.random, "random", lambda: 1.0)
    plan = units_plan(repo, {"a": [_steps.Step(shell("echo 'HTTP 429' >&2; exit 1"))]})
    with pytest.raises(_steps.CommandError):
        _steps.execute_units(plan, "deploy", plan.project.root, jobs=1)
    assert waits == [6.25, 12.5, 25.0, 50.0, 100.0]


def test_a_real_setup_asks_gcloud_for_the_project_number_and_looks_up_no_repository(
    repo: Repo, fake_gcloud: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a repository answer, nothing is looked up (CI is set up once it has one)."""
    monkeypatch.setenv("ANSWER", "123456789012")
    monkeypatch.delenv("REPOSITORY_ID", raising=False)

    def no_lookup(*args: object, **kwargs: object) -> None:
        raise AssertionError("looked up a repository")

    monkeypatch.setattr("gcf_devkit.cloud.setup.urllib.request.urlopen", no_lookup)
    root = repo(answers={"repository": None})
    plan = setup.plan(Project.load(root), "dev", dry_run=False)
    assert plan.project_number == "123456789012"
    assert fake_gcloud.read_text() == (
        f"{root} projects describe my-project-dev --format=value(projectNumber)\n"
    )
    assert plan.repository_id == ""


def test_a_real_deploy_asks_gcloud_for_the_project_number_of_a_run_app_push_endpoint(
    repo: Repo, fake_gcloud: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push subscription of the Cloud Run route pushes to a run.app URL, which names the
    project number: asked of gcloud, in the repo, for the environment's project."""
    monkeypatch.setenv("ANSWER", "123456789012")
    worker = {"trigger_type": "pubsub", "pubsub_topic": "jobs"}
    root = repo({"worker": worker}, answers={"deploy_api": "run"})
    plan = deploy.plan(Project.load(root), "dev", None, dry_run=False)
    assert fake_gcloud.read_text() == (
        f"{root} projects describe my-project-dev --format=value(projectNumber)\n"
    )
    url = "https://worker-dev-123456789012.us-central1.run.app"
    assert f"--push-auth-token-audience={url}" in plan.steps[-1].update
    assert plan.url("worker-dev") == url


def test_a_real_setup_looks_up_its_repository_id(
    repo: Repo, fake_gcloud: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWER", "123456789012")
    monkeypatch.delenv("REPOSITORY_ID", raising=False)
    monkeypatch.delenv("GITLAB_TOKEN", raising=False)
    asked: list[str] = []

    def lookup(request: Any, timeout: float) -> io.BytesIO:
        asked.append(request.full_url)
        return io.BytesIO(b'{"id": 987654}')

    monkeypatch.setattr("gcf_devkit.cloud.setup.urllib.request.urlopen", lookup)
    root = repo(answers={"ci_provider": "gitlab_ci", "repository": "group/x"})
    plan = setup.plan(Project.load(root), "dev", dry_run=False)
    assert asked == ["https://gitlab.com/api/v4/projects/group%2Fx"]
    assert plan.repository_id == "987654"
