"""What a real run of `gcf deploy` and `gcf setup` does, and what their dry runs print.

A stand-in `gcloud` (and `bq`) on PATH logs every call and answers `describe` from a
folder of resources that "exist". For each plan and each state (nothing there, everything
there, a resource of another repo, a subscription with another topic), the dry run's lines
run by `bash -e` make exactly the calls a real run makes, and end the same way.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

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
  *" describe "*|*" show "*)
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
            found = given[0] if given else step.expect
            (state / key(step.exists)).write_text(found + "\n")


def calls(state: Path) -> list[str]:
    log = state / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def real_run(plan: _steps.Plan, root: Path) -> tuple[bool, list[str]]:
    try:
        _steps.execute(plan.steps, "test", root)
    except _steps.CommandError:
        return False, calls(Path(os.environ["STATE"]))
    return True, calls(Path(os.environ["STATE"]))


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


@pytest.mark.parametrize("state", ["missing", "there", "another topic", "another repo"])
def test_a_dry_run_does_what_a_real_run_does(
    repo: Repo,
    stand_in: Path,
    capsys: pytest.CaptureFixture[str],
    state: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPOSITORY_ID", "4242")
    root = repo(PIPELINE)
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
        real = real_run(plan, root)
        printed = dry_run_in_bash(plan, root, capsys)
        assert printed == real
        for name in stand_in.iterdir():
            name.unlink()
        ok, made = real
        if isinstance(plan, deploy.Deployment):
            # A deploy stops, changing nothing, unless setup made what it needs.
            assert ok is (state in ("there", "another repo"))
        else:
            assert ok is (state in ("missing", "there"))
        if not ok:
            changed = [c for c in made if not any(w in c.split()[:5] for w in ("describe", "show"))]
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
