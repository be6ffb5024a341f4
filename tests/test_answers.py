"""Every free-text answer is refused by its validator, or lands verbatim and inert.

Property-based (Hypothesis), over every free-text question of copier.yml (a `str` question
without choices, and the entries of the `secrets` list), with hostile strings: quotes,
backslashes, Jinja (`{{ }}`, `{% %}`), shell (`$(...)`, backticks), line breaks, unicode, and
what YAML reads specially.

- Fast, many examples: the questionnaire is evaluated as Copier evaluates it (defaults,
  `when`, `ask` and validators, rendered by a Jinja environment like Copier's, with copier.yml's
  extensions, then every value extensions/gcf.py derives for the files). A value is either
  refused with a message that names a question, or every derived value (and the message after
  copy) renders, and the answer reaches them verbatim.
- Slow, a few examples: accepted hostile values are rendered by a real `copier copy`. Its
  Python files compile to the same top-level names as a benign render, its YAML, JSON and
  TOML files parse, the deploy dry-run prints lines that `shlex.split` back to the same words,
  and no Jinja expression or shell command inside an answer was evaluated.
- Through the CLI, a refused answer stops Copier with "Validation error for question '<key>'"
  and writes nothing.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from copier._user_data import CAST_STR_TO_NATIVE
from gcloud_parser import commands_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import COPIER, MAKE, ROOT, check, copier_jinja, load_module

# CI tries at least 100 values per question, the same ones on every run; locally, fewer.
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")

QUESTIONS: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text())
EXTENSION = load_module(ROOT / "extensions" / "gcf.py", "gcf_template_extension_answers")
FREE_TEXT = [
    k
    for k, q in QUESTIONS.items()
    if not k.startswith("_")
    and q.get("type", "str") == "str"
    and isinstance(q.get("default"), str)
    and "choices" not in q
] + ["secrets"]

# A file an injected shell command would create, and what an injected Jinja expression gives.
MARKER = Path("/tmp/gcf-injected")
JINJA = "{{ 4321 * 1000 }}"
EVALUATED = "4321000"
HOSTILE = [
    '"',
    "'",
    "\\",
    JINJA,
    "{% if true %}evaluated{% endif %}",
    "{# comment #}",
    f"$(touch {MARKER})",
    f"`touch {MARKER}`",
    "\n",
    "\r\n",
    "\t",
    ": ",
    " #",
    "&anchor",
    "*alias",
    "!tag",
    "- ",
    "|",
    ">",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    ":",
    "%",
    "@",
    "~",
    "+",
    "/",
    "..",
    "__",
    " ",
    "ü",
    "🚀",
    "\u2028",
    "\x85",
    "\x7f",
    "٣",
    "\u017f",  # long s: upper-cases to S
]

# The answers under which each free-text question is asked, and a value it accepts there.
CONTEXT: dict[str, dict[str, Any]] = {
    "pubsub_topic": {"trigger_type": "pubsub"},
    "records_topic": {"preset": "pipeline"},
    "summary_topic": {"preset": "pipeline"},
    "storage_bucket": {"trigger_type": "storage"},
    "firestore_database": {"trigger_type": "firestore"},
    "firestore_document": {"trigger_type": "firestore"},
    "audit_service_name": {"trigger_type": "audit_log"},
    "audit_method_name": {"trigger_type": "audit_log"},
    "schedule": {"trigger_type": "scheduler"},
    "schedule_time_zone": {"trigger_type": "scheduler"},
    "trigger_location": {"trigger_type": "firestore"},
    "trigger_service_account": {"trigger_type": "pubsub"},
    "cpu": {"concurrency": 1},
    "vpc_connector": {"vpc": "connector"},
    "vpc_network": {"vpc": "direct"},
    "vpc_subnet": {"vpc": "direct"},
    "repository": {"ci_provider": "gitlab_ci"},
    "cloudsql_instance": {"database": "cloudsql_postgres", "max_instances": 1},
    "database_name": {"database": "cloudsql_postgres", "max_instances": 1},
    "database_user": {
        "database": "cloudsql_postgres",
        "database_auth": "password",
        "max_instances": 1,
    },
}
VALID: dict[str, str] = {
    "project_name": "Acme Orders",
    "function_name": "acme-orders",
    "entry_point": "handle_order",
    "description": "Handles orders.",
    "gcp_project_id": "acme-prod-42",
    "region": "europe-west1",
    "pubsub_topic": "orders.v1~new%2B+x",
    "records_topic": "records",
    "summary_topic": "summaries",
    "storage_bucket": "acme.uploads_2",
    "firestore_database": "crm-eu",
    "firestore_document": "orgs/{orgId}/members/m%40x~1+@a",
    "audit_service_name": "storage.googleapis.com",
    "audit_method_name": "storage.objects.create",
    "schedule": "*/5  9-17 * JAN-MAR MON-FRI",
    "schedule_time_zone": "America/Argentina/Buenos_Aires",
    "trigger_location": "nam5",
    "memory": "1Gi",
    "cpu": "0.5",
    "service_account": "runner-1@acme-prod-42.iam.gserviceaccount.com",
    "trigger_service_account": "123456789012-compute@developer.gserviceaccount.com",
    "vpc_connector": "projects/acme-prod-42/locations/europe-west1/connectors/c1",
    "vpc_network": "projects/acme-prod-42/global/networks/shared",
    "vpc_subnet": "fns",
    "repository": "group/sub.group/name_1",
    "billing_account": "01AB23-45CD67-89EF01",
    "cloudsql_instance": "acme-prod-42:europe-west1:orders-db",
    "database_name": "orders",
    "database_user": "orders_app",
    "secrets": "/etc/secrets/db/pw=projects/acme-prod-42/secrets/db_pw:2",
}
# The values extensions/gcf.py derives for the files.
DERIVED = [
    "http",
    "python_version",
    "manifest",
    "secret_names",
    "trigger_summary",
    "deployers",
    "deployments",
    "deploy_jobs",
]
# The derived values each answer reaches, where it must arrive verbatim.
FEEDS: dict[str, list[str]] = {
    "function_name": ["manifest"],
    "entry_point": ["manifest"],
    "pubsub_topic": ["trigger_summary"],
    "records_topic": ["manifest"],
    "summary_topic": ["manifest"],
    "storage_bucket": ["trigger_summary"],
    "firestore_document": ["trigger_summary"],
    "audit_service_name": ["trigger_summary"],
    "audit_method_name": ["trigger_summary"],
    "schedule": ["trigger_summary"],
    "schedule_time_zone": ["trigger_summary"],
    "gcp_project_id": ["deployers"],
    "secrets": ["secret_names"],
}


def test_every_free_text_question_is_covered() -> None:
    """A new free-text question needs a valid example here, and so joins the properties."""
    assert sorted(FREE_TEXT) == sorted(VALID)
    for key in FREE_TEXT:
        assert "validator" in QUESTIONS[key], f"{key} has no validator"


class Questionnaire:
    """copier.yml evaluated as Copier evaluates it, with compiled templates kept."""

    def __init__(self) -> None:
        self.jinja = copier_jinja()
        self.compiled: dict[str, jinja2.Template] = {}

    def render(self, source: str, context: dict[str, Any]) -> str:
        if source not in self.compiled:
            self.compiled[source] = self.jinja.from_string(source)
        return self.compiled[source].render(context)

    def value(self, key: str, raw: Any, context: dict[str, Any]) -> Any:
        question = QUESTIONS[key]
        kind = question.get("type") or {bool: "bool", int: "int", str: "str"}.get(
            type(question.get("default")), "yaml"
        )
        if isinstance(raw, str) and key not in context.get("_given", ()):
            raw = self.render(raw, context)
        return CAST_STR_TO_NATIVE[kind](raw) if isinstance(raw, str) else raw

    def walk(
        self, given: dict[str, Any], context: dict[str, Any]
    ) -> Iterator[tuple[str, dict[str, Any], bool]]:
        """Each question in Copier's order, with whether it applies (`when`) and is asked
        (`ask`), once its answer (given, else its default rendered) is in `context`."""
        context["_given"] = set(given)
        for key, question in QUESTIONS.items():
            if key.startswith("_"):
                continue
            raw = given[key] if key in given else question.get("default")
            context[key] = self.value(key, raw, context)
            applies, asked = (
                CAST_STR_TO_NATIVE["bool"](self.render(v, context) if isinstance(v, str) else v)
                for v in (question.get("when", True), question.get("ask", True))
            )
            yield key, question, applies, applies and asked
        del context["_given"]

    def evaluate(self, given: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The first validator error (or ""), and every answer and derived value."""
        context: dict[str, Any] = {}
        error = ""
        for key, question, applies, _ in self.walk(given, context):
            # Copier validates what it asks, and what is given with --data.
            if applies and not error and "validator" in question:
                error = self.render(question["validator"], context).strip()
            if key in given and not error and "validator" in question:
                error = self.render(question["validator"], context).strip()
        if not error:
            context.update(EXTENSION.derived(context))
        return error, context

    def prompts(self, given: dict[str, Any]) -> dict[str, list[str]]:
        """What Copier shows for each question it asks: the help and the choices' labels,
        rendered with the answers."""
        context: dict[str, Any] = {}
        shown = {}
        for key, question, _, asked in self.walk(given, context):
            if asked:
                choices = question.get("choices", [])
                labels = list(choices) if isinstance(choices, dict) else []
                shown[key] = [self.render(text, context) for text in (question["help"], *labels)]
        return shown


@pytest.fixture(scope="module")
def questionnaire() -> Questionnaire:
    return Questionnaire()


def answer(key: str, value: str) -> dict[str, Any]:
    return {**CONTEXT.get(key, {}), key: [value] if key == "secrets" else value}


def values(valid: str) -> st.SearchStrategy[str]:
    """Hostile strings: fragments put into a valid value, fragments alone, and any text."""
    fragment = st.sampled_from(HOSTILE) | st.text(max_size=4)
    inserted = st.tuples(
        st.integers(0, len(valid)), st.lists(fragment, min_size=1, max_size=3)
    ).map(lambda t: valid[: t[0]] + "".join(t[1]) + valid[t[0] :])
    return inserted | st.lists(fragment, max_size=6).map("".join) | st.text()


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


@pytest.mark.parametrize("key", FREE_TEXT)
@given(data=st.data())
def test_an_answer_is_refused_or_reaches_computed_values_verbatim(
    questionnaire: Questionnaire, key: str, data: st.DataObject
) -> None:
    value = data.draw(values(VALID[key]), label=key)
    error, context = questionnaire.evaluate(answer(key, value))
    if error:
        named = error.partition(":")[0]
        assert named in QUESTIONS, f"the error names no question: {error!r}"
        return
    for name in DERIVED:  # every derived value computed
        assert name in context
    expected = value.partition("=")[0] if key == "secrets" else value
    for name in FEEDS.get(key, []):
        assert any(expected in s for s in strings(context[name])), (name, context[name])
    message = questionnaire.render(
        QUESTIONS["_message_after_copy"], {**context, "_copier_conf": {"dst_path": "/tmp/fn"}}
    )
    assert f'"{context["project_name"]}"' in message


@pytest.mark.parametrize("given", [{}, {"trigger_type": "pubsub"}, {"preset": "pipeline"}])
def test_the_next_steps_name_real_targets_and_files(
    render, questionnaire: Questionnaire, given: dict[str, str]
) -> None:
    """Each `make ...` of the message after copy is a target of the repo; each FILE= exists."""
    _, context = questionnaire.evaluate(given)
    message = questionnaire.render(
        QUESTIONS["_message_after_copy"], {**context, "_copier_conf": {"dst_path": "/tmp/fn"}}
    )
    path = render(**given)
    targets = set(re.findall(r"^([a-z-]+):", (path / "Makefile").read_text(), re.MULTILINE))
    commands = [line.split("#")[0].split() for line in message.splitlines()]
    commands = [words for words in commands if words[:1] == ["make"]]
    assert len(commands) >= 5, message
    for words in commands:
        assert words[1] in targets, words
        for word in words[2:]:
            if word.startswith("FILE="):
                assert (path / word.removeprefix("FILE=")).is_file(), word


def test_the_valid_examples_are_accepted(questionnaire: Questionnaire) -> None:
    """Each example above is accepted where it is asked, so the properties reach the renders."""
    for key, value in VALID.items():
        error, _ = questionnaire.evaluate(answer(key, value))
        assert error == "", (key, error)


# Answer sets that between them ask every question.
PROMPTED = [
    {"advanced": True},
    {"advanced": True, "preset": "pipeline"},
    *(
        {"advanced": True, "trigger_type": t}
        for t in ("pubsub", "storage", "firestore", "audit_log", "scheduler")
    ),
    {
        "advanced": True,
        "database": "cloudsql_postgres",
        "vpc": "connector",
        "billing_account": "0A1B2C-3D4E5F-6A7B8C",
    },
    {
        "advanced": True,
        "database": "cloudsql_postgres",
        "database_auth": "password",
        "vpc": "direct",
    },
]


def test_every_question_shows_its_help_and_choices(questionnaire: Questionnaire) -> None:
    """Help texts and choice labels hold Jinja too: each renders, as the questions are asked."""
    asked: set[str] = set()
    for answers in PROMPTED:
        for key, texts in questionnaire.prompts(answers).items():
            asked.add(key)
            assert texts[0].strip(), key
            assert not any("{{" in t or "{%" in t for t in texts), (key, texts)
    assert asked == {k for k in QUESTIONS if not k.startswith("_")}


# ---------------------------------------------------------------- full renders

# Accepted answers with every character the validators let through that a file format, Jinja or
# a shell could read specially, one answer set per kind of repo.
HOSTILE_NAME = f"Ü🚀 {JINJA} {{% raw %}} $(touch {MARKER}) `id` &*a #b: 'c'"
HOSTILE_DESCRIPTION = f"Says {JINJA}; runs $(touch {MARKER}) -- not: a [list] & *not #ref 'x'."
COMMON = {
    "project_name": HOSTILE_NAME,
    "description": HOSTILE_DESCRIPTION,
    "function_name": "acme-orders",
    "secrets": ["API_KEY=projects/acme-prod-42/secrets/api-key:latest", "/etc/secrets/db/pw=db:2"],
}
VARIANTS: dict[str, dict[str, Any]] = {
    "firestore": {
        **COMMON,
        "trigger_type": "firestore",
        "firestore_document": "a%2B~+@b/{docId}/c.d_e-f/{x_1}",
        "vpc": "connector",
        "ci_provider": "gitlab_ci",
        "repository": "group/sub.group/name_1",
    },
    "scheduler": {
        **COMMON,
        "trigger_type": "scheduler",
        "schedule": "*/5  9-17 * JAN-MAR MON-FRI",
        "pubsub_topic": "ticks.v1~%2B+x",
        "schedule_time_zone": "America/Argentina/Buenos_Aires",
        "vpc": "direct",
    },
    "pipeline": {
        **COMMON,
        "preset": "pipeline",
        "records_topic": "records~%2B.v1+x",
        "summary_topic": "summary~%2B.v1+x",
        "billing_account": "01AB23-45CD67-89EF01",
        "monthly_budget": 100,
    },
}
BENIGN = {"project_name": "My Function", "description": "Does things."}


def top_level_names(source: str) -> list[str]:
    return [
        getattr(node, "name", None) or ast.dump(node)[:40]
        for node in ast.parse(source).body
        if not isinstance(node, ast.Expr)
    ]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_accepted_hostile_answers_render_verbatim_and_inert(
    render, questionnaire: Questionnaire, variant: str
) -> None:
    answers = VARIANTS[variant]
    assert questionnaire.evaluate(answers)[0] == ""
    MARKER.unlink(missing_ok=True)
    path = render(**answers)
    benign = render(**{**answers, **BENIGN})
    assert not MARKER.exists(), "a shell command inside an answer ran"

    files = [p for p in path.rglob("*") if p.is_file() and ".git" not in p.parts]
    for file in files:
        text = file.read_text()
        where = file.relative_to(path)
        assert EVALUATED not in text, f"{where}: a Jinja expression inside an answer was evaluated"
        if file.suffix == ".py":
            twin = benign / where
            assert top_level_names(text) == top_level_names(twin.read_text()), where
        elif file.suffix in (".yaml", ".yml"):
            yaml.safe_load(text)
        elif file.suffix == ".json":
            json.loads(text)
        elif file.suffix == ".toml":
            tomllib.loads(text)
    readme = (path / "README.md").read_text()
    assert f"# {HOSTILE_NAME}\n" in readme
    assert HOSTILE_DESCRIPTION in readme
    assert tomllib.loads((path / "pyproject.toml").read_text())["project"]["description"] == (
        HOSTILE_DESCRIPTION
    )
    main = ast.parse((path / "main.py").read_text())
    assert (ast.get_docstring(main) or "").startswith(HOSTILE_DESCRIPTION)
    answers_file = yaml.safe_load((path / ".copier-answers.yml").read_text())
    for key, value in answers.items():
        assert answers_file[key] == value

    # The dry run's shell, run by bash with a gcloud that logs its arguments and finds nothing:
    # each hostile value reaches gcloud as one argument, verbatim, and none runs.
    script = check([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1"], path)
    commands = commands_of(script.splitlines())
    assert commands
    stand_in = path / ".bin" / "gcloud"
    stand_in.parent.mkdir()
    stand_in.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "with open(os.environ['GCLOUD_LOG'], 'a') as log:\n"
        "    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(1)\n"
    )
    stand_in.chmod(0o755)
    log = path / ".bin" / "calls.log"
    environment = {**os.environ, "GCLOUD_LOG": str(log)}
    environment["PATH"] = f"{stand_in.parent}{os.pathsep}{os.environ['PATH']}"
    subprocess.run(["bash", "-e"], input=script, text=True, env=environment, check=False)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls
    assert calls == [words[1:] for words in commands[: len(calls)]]
    assert not MARKER.exists()


def test_a_refused_answer_stops_the_cli_and_writes_nothing(tmp_path: Path) -> None:
    """One refusal per kind of question: a str answer, and an entry of the yaml secrets list."""
    for key, value, others in [
        ("firestore_document", 'users/{a"b}', ["--data", "trigger_type=firestore"]),
        ("secrets", '["KEY=$(touch /tmp/x):1"]', []),
    ]:
        destination = tmp_path / key
        result = subprocess.run(
            [
                *(COPIER, "copy", "--trust", "--defaults", "--quiet", "--vcs-ref=HEAD"),
                *(*others, "--data", f"{key}={value}", str(ROOT), str(destination)),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        assert f"Validation error for question '{key}'" in result.stderr
        assert not destination.exists()
