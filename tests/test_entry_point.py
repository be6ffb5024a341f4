"""The entry point never clashes with a name in main.py.

main.py holds the user's functions only; the helpers live in payloads.py. The
entry_point validator refuses every name the rendered main.py binds at module
level, for every trigger, so the function can never be replaced by an import,
`logger` or a helper; and names that main.py does not bind render and work.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
import yaml
from gcf_devkit import rules

from conftest import ROOT, TRIGGERS, check, copier_jinja

ENTRY_POINT = "my_function"


def validator_message(entry_point: str) -> str:
    """Render the entry_point validator of copier.yml, as Copier does, for one value."""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    source = questions["entry_point"]["validator"]
    return copier_jinja().from_string(source).render(entry_point=entry_point).strip()


def module_level_names(statements: list[ast.stmt]) -> set[str]:
    """Every name that statements at a module's top level bind (in if, try and with blocks too)."""
    names: set[str] = set()
    for node in statements:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            blocks = [getattr(node, field, []) for field in ("body", "orelse", "finalbody")]
            blocks += [handler.body for handler in getattr(node, "handlers", [])]
            names |= module_level_names([s for block in blocks for s in block])
    return names


def main_py(path: Path) -> list[ast.stmt]:
    return ast.parse((path / "main.py").read_text()).body


@pytest.fixture(params=TRIGGERS, scope="module")
def trigger(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def bound_names(trigger: str, render) -> set[str]:
    names = module_level_names(main_py(render(trigger_type=trigger)))
    assert ENTRY_POINT in names
    return names - {ENTRY_POINT}


def test_main_py_binds_only_imports_logger_and_the_function(trigger: str, render) -> None:
    statements = main_py(render(trigger_type=trigger))
    imports = [s for s in statements if isinstance(s, ast.Import | ast.ImportFrom)]
    others = [s for s in statements if s not in imports]
    assert module_level_names(others) == {ENTRY_POINT, "logger"}
    definitions = [
        node.name
        for node in statements
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert definitions == [ENTRY_POINT]


def test_validator_refuses_every_name_main_py_binds(bound_names: set[str]) -> None:
    assert {"logger", "logs", "payloads", "functions_framework"} <= bound_names
    for name in sorted(bound_names):
        message = validator_message(name)
        assert message.startswith("entry_point: must not be a name main.py already uses"), name
        assert repr(name).replace("'", '"') in message


def test_validator_accepts_the_default_and_the_helpers_names() -> None:
    for name in (ENTRY_POINT, "to_python", "parse_body", "fields_of", "document_event_data"):
        assert validator_message(name) == "", name


def test_every_taken_name_is_bound_by_main_py_or_a_module_of_the_repo(render) -> None:
    """The list of taken names holds nothing stale: each is bound by some main.py or is a module."""
    bound = set().union(*(module_level_names(main_py(render(trigger_type=t))) for t in TRIGGERS))
    modules = {"main", "logs", "payloads", "clients", "settings"}
    taken = rules.TAKEN_NAMES
    assert set(taken) - bound - modules == set()
    assert modules <= set(taken)


# Names of the helpers that main.py used to define, with the trigger whose main.py had them.
FORMER_HELPERS = [
    ("firestore", "to_python"),
    ("firestore", "fields_of"),
    ("firestore", "document_event_data"),
    ("scheduler", "parse_body"),
]


@pytest.mark.parametrize(("helper_trigger", "entry_point"), FORMER_HELPERS)
def test_a_former_helper_name_renders_and_passes_the_generated_tests(
    render, mypy_cache: dict[str, str], helper_trigger: str, entry_point: str
) -> None:
    path = render(trigger_type=helper_trigger, entry_point=entry_point)
    check([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], path)
    check([sys.executable, "-m", "mypy", "main.py", "payloads.py"], path, **mypy_cache)
