"""What main.py defines and registers with functions-framework, against functions.yaml."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from gcf_devkit import rules
from gcf_devkit.project._files import MANIFEST
from gcf_devkit.project._project import Project

AIO_DECORATOR = {
    "http": "@functions_framework.aio.http",
    "cloudevent": "@functions_framework.aio.cloud_event",
}
SYNC_DECORATOR = {
    "http": "@functions_framework.http",
    "cloudevent": "@functions_framework.cloud_event",
}


def registered_functions(main_py: Path) -> tuple[dict[str, str], set[str]]:
    """What main.py registers with functions-framework (name -> signature type), and the
    callables it defines. Imports main.py, as the server does."""
    from functions_framework import _function_registry

    _function_registry.REGISTRY_MAP.clear()
    _function_registry.ASGI_FUNCTIONS.clear()
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


def async_functions() -> set[str]:
    """The functions main.py registers with functions_framework.aio (after registered_functions)."""
    from functions_framework import _function_registry

    return set(_function_registry.ASGI_FUNCTIONS)


def pinned_version(requirements: Path, package: str) -> str:
    """The version a requirements file pins `package` to, or the least it allows (`==X`,
    `>=X`, `~=X`); "" when it names no version."""
    text = requirements.read_text() if requirements.exists() else ""
    name = re.escape(package).replace(r"\-", "[-_.]")
    found = re.search(
        rf"^{name}(?:\[[^]]*\])?\s*(?:==|>=|~=)\s*([^\s;#,]+)", text, re.MULTILINE | re.IGNORECASE
    )
    return found[1] if found else ""


def style_errors(project: Project, registered: dict[str, str], aio: set[str]) -> list[str]:
    """The decorator decides a function's style: functions.yaml's function_style must agree."""
    errors = []
    for function in project.functions.values():
        kind = registered.get(function.entry_point)
        if kind is None or (function.entry_point in aio) == function.is_async:
            continue
        style = "async" if function.entry_point in aio else "sync"
        decorator = (AIO_DECORATOR if style == "async" else SYNC_DECORATOR).get(kind, kind)
        errors.append(
            f"{MANIFEST} declares {function.name!r} function_style {function.function_style}, but "
            f"main.py registers {function.entry_point} with {decorator}: set "
            f"`function_style: {style}` in its entry (the decorator decides how it is served)"
        )
    if any(f.is_async for f in project.functions.values()):
        pinned = pinned_version(project.root / "requirements.txt", "functions-framework")
        errors.append(rules.aio_pin_error(pinned))
    return [e for e in errors if e]


def main_py_errors(project: Project) -> list[str]:
    """Functions that functions.yaml and main.py disagree on, with both names."""
    registered, defined = registered_functions(project.layout.main_py)
    errors = style_errors(project, registered, async_functions())
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
