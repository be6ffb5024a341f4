"""The layers of gcf_devkit (README.md, "Layers"): each imports only the layers below it.

Every module is parsed with `ast`; every import counts, at module level, inside functions
and under `if TYPE_CHECKING:`. `from package import name` counts as importing the module
package.name when there is one, else the package.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import pytest

import gcf_devkit

PACKAGE = Path(gcf_devkit.__file__).parent
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


@cache
def imports(name: str) -> frozenset[str]:
    """Every module `name` imports: gcf_devkit's by their module, others by their top name."""
    path = modules()[name]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, up level - 1
                base = name if is_package(name) else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in modules() else source)
    return frozenset(found)


def own(name: str) -> set[str]:
    """The modules of gcf_devkit that `name` imports."""
    return {i for i in imports(name) if i == "gcf_devkit" or i.startswith("gcf_devkit.")}


def outside(name: str) -> set[str]:
    """The top-level names of what `name` imports from outside gcf_devkit."""
    return {i.split(".")[0] for i in imports(name) if not i.startswith("gcf_devkit")}


def within(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def in_layer(layer: str) -> list[str]:
    found = [m for m in modules() if within(m, layer)]
    assert found, f"no module in {layer}"
    return found


def test_the_modules_and_their_imports_are_found() -> None:
    """The checks below are not vacuous: the parser sees the package as it is."""
    assert {"gcf_devkit.rules._cron", "gcf_devkit.cli", "gcf_devkit.cloud.setup"} <= set(modules())
    assert "gcf_devkit.rules._common" in own("gcf_devkit.rules._cron")
    assert "gcf_devkit.rules" in own("gcf_devkit.project._files")
    assert "gcf_devkit.local.emulators" in own("gcf_devkit.local.devserver")  # inside a function
    assert "gcf_devkit.local.commands" in own("gcf_devkit.cli")  # under TYPE_CHECKING
    assert "gcf_devkit.cli" in own("gcf_devkit.__main__")
    assert "yaml" in outside("gcf_devkit.project._files")


@pytest.mark.parametrize("module", [*in_layer("gcf_devkit.rules"), "gcf_devkit._errors"])
def test_rules_and_errors_use_the_standard_library_only(module: str) -> None:
    assert outside(module) <= STDLIB, outside(module) - STDLIB
    assert all(within(m, "gcf_devkit.rules") for m in own(module)), own(module)
    if module == "gcf_devkit._errors":
        assert own(module) == set()


@pytest.mark.parametrize("module", in_layer("gcf_devkit.events"))
def test_events_import_only_the_rules(module: str) -> None:
    assert own(module) <= {"gcf_devkit.rules"}


@pytest.mark.parametrize("module", in_layer("gcf_devkit.project"))
def test_the_project_imports_only_rules_and_errors(module: str) -> None:
    allowed = ("gcf_devkit.project", "gcf_devkit.rules", "gcf_devkit._errors")
    assert all(any(within(m, layer) for layer in allowed) for m in own(module)), own(module)


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("gcf_devkit.cloud", ("gcf_devkit.local", "gcf_devkit.cli", "gcf_devkit.testing")),
        ("gcf_devkit.local", ("gcf_devkit.cloud", "gcf_devkit.cli", "gcf_devkit.testing")),
    ],
)
def test_cloud_and_local_stand_apart(layer: str, forbidden: tuple[str, ...]) -> None:
    for module in in_layer(layer):
        wrong = {m for m in own(module) if any(within(m, f) for f in forbidden)}
        assert wrong == set(), f"{module} imports {wrong}"


def test_only_main_imports_the_command_line() -> None:
    importers = {m for m in modules() if "gcf_devkit.cli" in own(m)}
    assert importers == {"gcf_devkit.__main__"}


def test_the_bottom_layers_do_not_import_the_top_ones() -> None:
    below = ("gcf_devkit.rules", "gcf_devkit._errors", "gcf_devkit.events", "gcf_devkit.project")
    above = ("gcf_devkit.cloud", "gcf_devkit.local", "gcf_devkit.testing", "gcf_devkit.cli")
    for module in modules():
        if any(within(module, layer) for layer in below):
            wrong = {m for m in own(module) if any(within(m, layer) for layer in above)}
            assert wrong == set(), f"{module} imports {wrong}"


def test_there_is_no_import_cycle() -> None:
    graph = {m: own(m) & set(modules()) for m in modules()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            cycle = (*path[path.index(module) :], module)
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
    assert done == set(graph)
