"""The questionnaire answered the way a person answers it: in a terminal, key by key.

Each test runs the real `copier copy` (or `copier update`) in a pseudo-terminal (pexpect),
waits for each prompt, and presses keys: Enter at every prompt, the arrow keys to pick a
trigger, a database or a runtime, the space bar to tick environments, and typed values,
among them one the validator refuses before a right one is accepted. Each generated repo
then passes `make check`. The number of prompts of each path is printed (`-s` shows it).

A prompt is recognised by its help text: the plain-text parts of the question's `help` in
copier.yml, so these tests follow the questionnaire as it changes.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml
from gcf_devkit import rules

from conftest import COPIER, MAKE, ROOT, TRIGGERS, check

QUESTIONS: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text())

ENTER, DOWN, UP, SPACE, CLEAR = "\r", "\x1b[B", "\x1b[A", " ", "\x15"  # CLEAR: Ctrl-U
YES = "y"  # a yes/no prompt takes the key alone
# A prompt starts when prompt_toolkit turns bracketed paste on; its first line is the help.
PROMPT_START = r"\x1b\[\?2004h"
MESSAGE = re.compile(r"🎤(?:\x1b\[[0-9;]*m)* (.*?)\x1b\[0m")


def literal_parts(help_text: str) -> list[str]:
    """The plain-text parts of a help text, between its Jinja, with YAML's folding undone."""
    parts = re.split(r"\{\{.*?\}\}|\{%.*?%\}", help_text, flags=re.DOTALL)
    return [text for part in parts if (text := " ".join(part.split()))]


# The plain-text parts of each question's help.
HELP: dict[str, list[str]] = {
    key: literal_parts(question["help"])
    for key, question in QUESTIONS.items()
    if not key.startswith("_") and "help" in question
}


def question_of(message: str) -> str:
    """The key of the question whose help this prompt shows: every plain-text part of its help
    is in the message (the most text wins), or "?"."""
    shown = " ".join(message.split())
    matches = [key for key, parts in HELP.items() if all(part in shown for part in parts)]
    return max(matches, key=lambda key: sum(map(len, HELP[key])), default="?")


def pick(key: str, value: str) -> str:
    """The keys that move a select prompt from its default to `value`, then Enter."""
    choices = list(QUESTIONS[key]["choices"].values())
    default = QUESTIONS[key]["default"]
    if isinstance(default, str) and "suggest(" in default:  # a constant of gcf_devkit.rules
        default = rules.CONSTANT_DEFAULTS[key]
    offset = choices.index(value) - choices.index(default)
    return (DOWN * offset if offset > 0 else UP * -offset) + ENTER


def typed(value: str) -> str:
    """Clear the prefilled default, type `value`, press Enter."""
    return CLEAR + value + ENTER


@dataclass
class Refused:
    """Type a value the validator refuses, see `message`, then type one it accepts."""

    wrong: str
    message: str
    right: str


Action = str | Refused


@dataclass
class Session:
    """What a run in the terminal showed: the prompts, in order, and how it ended."""

    prompts: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    exit_status: int | None = None
    output: str = ""


def answer(args: list[str], cwd: Path, actions: dict[str, Action]) -> Session:
    """Run copier with `args` in a pseudo-terminal; at each prompt, do the action given for
    its question (keys, or a refused value then a right one), else press Enter."""
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"}
    child = pexpect.spawn(
        COPIER, args, cwd=str(cwd), env=env, encoding="utf-8", dimensions=(60, 500), timeout=60
    )
    session = Session()
    transcript: list[str] = []
    child.logfile_read = _Transcript(transcript)
    try:
        while child.expect([PROMPT_START, pexpect.EOF]) == 0:
            child.expect(MESSAGE)
            key = question_of(child.match.group(1))
            session.prompts.append(key)
            action = actions.get(key, ENTER)
            if isinstance(action, Refused):
                child.send(typed(action.wrong))
                child.expect(re.escape(action.message))
                session.refusals.append(key)
                action = typed(action.right)
            child.send(action)
    except pexpect.TIMEOUT:
        pytest.fail(f"copier waited with no prompt after {session.prompts}:\n{''.join(transcript)}")
    child.close()
    session.exit_status = child.exitstatus
    session.output = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", "".join(transcript))
    return session


class _Transcript:
    """A file-like sink for pexpect that keeps what the terminal showed."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = parts

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass


def copy(template: Path, destination: Path, actions: dict[str, Action]) -> Session:
    session = answer(
        ["copy", "--trust", str(template), str(destination)], destination.parent, actions
    )
    assert session.exit_status == 0, session.output[-3000:]
    return session


def recorded(repo: Path) -> dict[str, Any]:
    return yaml.safe_load((repo / ".copier-answers.yml").read_text())


def report(name: str, session: Session) -> None:
    print(f"\n{name}: {len(session.prompts)} prompts: {' '.join(session.prompts)}")


# Enter at every prompt, but the choices that pick the path: (name, actions).
ENTER_PATHS: list[tuple[str, dict[str, Action]]] = [
    *[(trigger, {"trigger_type": pick("trigger_type", trigger)}) for trigger in TRIGGERS],
    *[
        (
            f"{trigger}-database",
            {
                "trigger_type": pick("trigger_type", trigger),
                "database": pick("database", "cloudsql_postgres"),
            },
        )
        for trigger in TRIGGERS
    ],
    ("pipeline", {"preset": pick("preset", "pipeline")}),
    ("http-async", {"function_style": pick("function_style", "async")}),
]


@pytest.mark.parametrize(("name", "actions"), ENTER_PATHS, ids=[p[0] for p in ENTER_PATHS])
def test_enter_at_every_prompt(
    template_copy: Path, tmp_path: Path, name: str, actions: dict[str, Action]
) -> None:
    repo = tmp_path / "my-function"
    session = copy(template_copy, repo, actions)
    report(name, session)
    if "database" not in name:  # a default copy: the rest is derived, or asked when customizing
        assert len(session.prompts) <= 15, session.prompts
    answers = recorded(repo)
    if name == "pipeline":
        assert answers["preset"] == "pipeline"
        assert "trigger_type" not in session.prompts
    elif name == "http-async":
        assert "function_style" in session.prompts
        assert answers["function_style"] == "async"
    else:
        trigger = name.removesuffix("-database")
        assert answers["trigger_type"] == trigger
        assert answers["database"] == ("cloudsql_postgres" if "database" in name else "none")
    assert "?" not in session.prompts, "a prompt that no question's help matches"
    assert (repo / "main.py").is_file()
    check([*MAKE, "check"], repo)


def test_arrows_space_and_typing(template_copy: Path, tmp_path: Path) -> None:
    """A path through choices with the arrow keys, ticks with the space bar, typed values, and
    one refused value: the validator's message is shown, the prompt stays, the next value is
    taken."""
    repo = tmp_path / "orders"
    actions: dict[str, Action] = {
        "project_name": typed("Orders API"),
        "advanced": YES,
        "gcp_project_id": Refused("abc", "6-30 characters", "acme-orders-42"),
        "region": typed("europe-west1"),
        "runtime": pick("runtime", "python312"),
        # [x] dev  [ ] staging  [x] production: tick staging.
        "environments": DOWN + SPACE + ENTER,
        "trigger_type": pick("trigger_type", "pubsub"),
        "workload": pick("workload", "mixed"),
        "timeout": Refused("900", "must be 1 to 540 seconds", "300"),
        "vpc": pick("vpc", "direct"),
        "ci_provider": pick("ci_provider", "gitlab_ci"),
    }
    session = copy(template_copy, repo, actions)
    report("arrows-space-typing", session)
    assert session.refusals == ["gcp_project_id", "timeout"]
    answers = recorded(repo)
    assert {k: answers[k] for k in ("project_name", "gcp_project_id", "region", "runtime")} == {
        "project_name": "Orders API",
        "gcp_project_id": "acme-orders-42",
        "region": "europe-west1",
        "runtime": "python312",
    }
    assert answers["environments"] == ["dev", "staging", "production"]
    assert answers["trigger_type"] == "pubsub"
    assert answers["workload"] == "mixed"
    assert answers["concurrency"] == 20  # the workload's default, shown and taken with Enter
    assert answers["timeout"] == 300
    assert answers["vpc"] == "direct"
    assert "vpc_network" in session.prompts
    assert answers["ci_provider"] == "gitlab_ci"
    assert (repo / ".gitlab-ci.yml").is_file()
    assert (repo / "env.staging.yaml").is_file()
    check([*MAKE, "check"], repo)


@pytest.fixture(scope="module")
def git_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of this template, committed, so that `copier update` can read versions."""
    from conftest import IGNORED

    repo = tmp_path_factory.mktemp("terminal") / "gcf-template"
    shutil.copytree(ROOT, repo, ignore=IGNORED)
    check(["git", "init", "--quiet"], repo)
    check(["git", "add", "--all"], repo)
    check(["git", "commit", "--quiet", "--message", "template"], repo)
    return repo


UPDATE_PATHS: list[tuple[str, dict[str, Action], dict[str, Any]]] = [
    ("http", {}, {}),
    (
        "pipeline",
        {"advanced": YES, "memory": Refused("3Gi", "memory: must be one of", "1Gi")},
        {"advanced": True, "memory": "1Gi"},
    ),
]


@pytest.mark.parametrize(
    ("name", "actions", "changes"), UPDATE_PATHS, ids=[p[0] for p in UPDATE_PATHS]
)
def test_update_in_a_terminal(
    git_template: Path,
    tmp_path: Path,
    name: str,
    actions: dict[str, Action],
    changes: dict[str, Any],
) -> None:
    """`copier update` asks again with the recorded answers as defaults: Enter keeps each one,
    a typed answer (after a refused one) changes only itself."""
    repo = tmp_path / "my-function"
    picks: dict[str, Action] = {"preset": pick("preset", "pipeline")} if name == "pipeline" else {}
    copied = answer(
        ["copy", "--trust", "--vcs-ref=HEAD", str(git_template), str(repo)], tmp_path, picks
    )
    assert copied.exit_status == 0, copied.output[-3000:]
    before = recorded(repo)
    assert check(["git", "status", "--porcelain"], repo) == ""  # committed by the copy's task
    session = answer(["update", "--trust", "--vcs-ref=HEAD"], repo, actions)
    report(f"update-{name}", session)
    assert session.exit_status == 0, session.output[-3000:]
    assert recorded(repo) == {**before, **changes}
    assert session.prompts[0] == "project_name"
    assert set(changes) <= set(session.prompts)
    check([*MAKE, "check"], repo)
