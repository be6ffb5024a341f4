"""The questionnaire as Copier asks it interactively: every prompt renders, Enter always works.

Copier builds a prompt for every question in copier.yml's order, asked or not: it renders the
help, the default and the choices even of a question whose `when` is false, and then lets
questionary skip it. These tests drive Copier's own questionnaire loop (`Worker._ask`) with a
stand-in for questionary that answers as a person does: the choice it is told to make, else
Enter (the default). Every combination of two choice answers is covered (a pairwise set over
every choice and yes/no question), and at each prompt:

- the help, the default and the choices render, whether the question is asked or skipped;
- the validator renders with the default, asked or skipped;
- the default of an asked question passes its validator, so Enter is always accepted.

tests/test_terminal.py answers the same questionnaire in a real terminal.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import _main as copier_main
from copier._main import Worker
from copier._user_data import Question
from questionary import Choice

from conftest import ROOT

QUESTIONS: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text())


def choice_values(question: dict[str, Any]) -> list[Any]:
    """The answers a person can pick at a choice or yes/no question."""
    if isinstance(question.get("default"), bool):
        return [False, True]
    choices = question["choices"]
    values = list(choices.values()) if isinstance(choices, dict) else list(choices)
    # A choice with a validator of its own is a map with its value.
    values = [v["value"] if isinstance(v, dict) else v for v in values]
    if question.get("multiselect"):
        return [
            list(subset)
            for size in range(1, len(values) + 1)
            for subset in itertools.combinations(values, size)
        ]
    return values


# Every question a person answers by picking: its key and what can be picked.
PICKED: dict[str, list[Any]] = {
    key: choice_values(question)
    for key, question in QUESTIONS.items()
    if not key.startswith("_")
    and question.get("when") is not False
    and (isinstance(question.get("default"), bool) or "choices" in question)
}


def pairwise(options: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Answer sets in which every pair of values of two questions appears at least once
    (greedy: each new set covers as many uncovered pairs as it can)."""
    keys = list(options)
    uncovered = {
        (a, i, b, j)
        for a, b in itertools.combinations(keys, 2)
        for i in range(len(options[a]))
        for j in range(len(options[b]))
    }
    sets: list[dict[str, int]] = []
    while uncovered:
        first = min(uncovered)
        chosen = {first[0]: first[1], first[2]: first[3]}
        for key in keys:
            if key in chosen:
                continue
            chosen[key] = max(
                range(len(options[key])),
                key=lambda i, key=key: sum(
                    (other, chosen[other], key, i) in uncovered
                    or (key, i, other, chosen[other]) in uncovered
                    for other in chosen
                ),
            )
        uncovered -= {(a, chosen[a], b, chosen[b]) for a, b in itertools.combinations(keys, 2)}
        sets.append(chosen)
    return [{key: options[key][index] for key, index in s.items()} for s in sets]


ANSWER_SETS = pairwise(PICKED)


class Person:
    """A stand-in for questionary's prompt: picks what it is told, else presses Enter.

    Records each question it was shown (asked) and the ones Copier built but skipped.
    """

    def __init__(self, picks: dict[str, Any]) -> None:
        self.picks = picks
        self.asked: list[str] = []
        self.skipped: list[str] = []
        self.refused: dict[str, str] = {}

    def __call__(self, questions: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
        (structure,) = questions
        name = structure["name"]
        if not structure["when"](answers):
            self.skipped.append(name)
            return answers
        self.asked.append(name)
        default = structure.get("default")
        if isinstance(default, Choice):
            default = default.value
        if structure.get("choices") is not None and isinstance(default, type(None)):
            default = [c.value for c in structure["choices"] if c.checked]  # multiselect
        answer = default
        if name in self.picks:
            answer = self.picks[name]
            picked = yaml.safe_dump(answer) if isinstance(answer, list) else answer
            disabled = [
                c.disabled
                for c in structure.get("choices") or []
                if isinstance(c, Choice) and c.value == answer and c.disabled
            ]
            if disabled:  # a list offers it greyed out: a person takes the default
                self.refused[name] = str(disabled[0])
                answer = default
            elif "validate" in structure and (message := structure["validate"](picked)) is not True:
                self.refused[name] = str(message)  # a person then takes the default
                answer = default
        if "validate" in structure and not isinstance(answer, (list, bool)):
            verdict = structure["validate"](str(answer))
            assert verdict is True, f"Enter at {name!r} is refused: {verdict}"
        return {name: structure["filter"](answer) if "filter" in structure else answer}


@pytest.fixture
def person(monkeypatch: pytest.MonkeyPatch) -> Person:
    """Copier's questionnaire talking to a stand-in person; skipped questions' validators
    rendered too (Copier renders them for recorded and `--data` answers)."""
    original = Question.get_questionary_structure

    def structure(self: Question) -> dict[str, Any]:
        result = original(self)
        if self.validator:
            default = self.get_default()
            self.render_value(self.validator, {self.var_name: default})
        return result

    monkeypatch.setattr(Question, "get_questionary_structure", structure)
    stand_in = Person({})
    monkeypatch.setattr(copier_main, "unsafe_prompt", stand_in)
    return stand_in


def ask(template: Path, destination: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Copier's questionnaire: the answers, and what each applicable question's validator says
    of its final answer (Copier validates what it asks, not the defaults it takes unasked)."""
    with Worker(src_path=str(template), dst_path=destination, unsafe=True, quiet=True) as worker:
        worker._ask()
        answers = dict(worker.answers.combined)
        verdicts = {}
        for key, details in worker.template.questions_data.items():
            question = Question(
                answers=worker.answers,
                context=worker._render_context(),
                jinja_env=worker.jinja_env,
                var_name=key,
                **details,
            )
            if question.get_when():
                try:
                    question.validate_answer(answers[key])
                    verdicts[key] = ""
                except ValueError as error:
                    verdicts[key] = str(error)
        return answers, verdicts


def describe(answers: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in answers.items() if QUESTIONS[k].get("default") != v)


def test_pairwise_covers_every_pick() -> None:
    """Each value of each choice question is picked in some answer set."""
    for key, values in PICKED.items():
        for value in values:
            assert any(s[key] == value for s in ANSWER_SETS), (key, value)
    assert {"preset", "trigger_type", "database", "ci_provider", "vpc"} <= set(PICKED)


@pytest.mark.parametrize("picks", ANSWER_SETS, ids=[f"set{i}" for i in range(len(ANSWER_SETS))])
def test_every_prompt_renders_and_enter_is_accepted(
    person: Person, template_copy: Path, tmp_path: Path, picks: dict[str, Any]
) -> None:
    person.picks = picks
    answers, verdicts = ask(template_copy, tmp_path / "fn")
    asked = set(person.asked)
    assert person.asked, "no question was asked"
    # Each question of copier.yml went through Copier's prompt building, but those it answers
    # with their default unasked (`ask`: when not customizing); customizing, all of them.
    built = asked | set(person.skipped)
    unasked = {k for k in QUESTIONS if not k.startswith("_")} - built
    assert all("ask" in QUESTIONS[k] for k in unasked), unasked
    assert not picks["advanced"] or not unasked, unasked
    for key, value in picks.items():
        if key in asked and key not in person.refused:
            assert answers[key] == value, (key, answers[key], value)
    # Every answer the questionnaire ends with, asked or not, passes its question's rule.
    assert {k: v for k, v in verdicts.items() if v} == {}


def test_the_stand_in_sees_a_skipped_help_crash(
    person: Person, template_copy: Path, tmp_path: Path
) -> None:
    """The stand-in drives the same code path that crashed in a terminal: a help that only
    renders for some triggers stops the questionnaire at the first trigger it fails for."""
    copier_yml = template_copy / "copier.yml"
    broken = tmp_path / "template"
    shutil.copytree(template_copy, broken)
    text = copier_yml.read_text().replace(
        "help: Which object event triggers the function",
        "help: \"{{ {'storage': 'Which object event'}[trigger_type] }}\"",
    )
    (broken / "copier.yml").write_text(text)
    person.picks = {"trigger_type": "http"}
    with pytest.raises(Exception, match="has no attribute 'http'"):
        ask(broken, tmp_path / "fn")
