"""What main.py defines and registers with functions-framework, against functions.yaml."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from gcf_devkit.project._files import MANIFEST
from gcf_devkit.project._project import Project


def registered_functions(main_py: Path) -> tuple[dict[str, str], set[str]]:
    """What main.py registers with functions-framework (name -> signature type), and the
    callables it defines. Imports main.py, as the server does."""
    from functions_framework import _function_registry

    _function_registry.REGISTRY_MAP.clear()
    spec = importlib.util.spec_from_file_location("main", main_py)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {main_py}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["main"] = module
    folder = str(main_py.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # main.py imports the repo's own modules
    spec.loader.exec_module(module)
    defined = {name for name, value in vars(module).items() if callable(value)}
    registered = {
        name: kind for name, kind in _function_registry.REGISTRY_MAP.items() if name in defined
    }
    return registered, defined


def main_py_errors(project: Project) -> list[str]:
    """Functions that functions.yaml and main.py disagree on, with both names."""
    registered, defined = registered_functions(project.layout.main_py)
    errors = []
    for function in project.functions.values():
        entry_point, kind = function.entry_point, registered.get(function.entry_point)
        where = f"{MANIFEST} declares {function.name!r} with entry_point {entry_point!r}"
        if entry_point not in defined:
            errors.append(f"{where}, which main.py does not define")
        elif kind is None and function.signature_type != "http":
            errors.append(
                f"{where} as a {function.trigger_type} function, but main.py's {entry_point} "
                "has no @functions_framework.cloud_event decorator"
            )
        elif kind is not None and kind != function.signature_type:
            errors.append(
                f"{where} as a {function.trigger_type} function ({function.signature_type}), "
                f"but main.py registers {entry_point} as {kind}"
            )
    declared = project.by_entry_point()
    errors += [
        f"main.py registers {name!r} ({kind}), which {MANIFEST} lacks: add it under functions:, "
        f"for example `{name.replace('_', '-')}: {{entry_point: {name}, trigger_type: ...}}`"
        for name, kind in registered.items()
        if name not in declared
    ]
    return errors
