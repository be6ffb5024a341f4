"""gcf-template's Jinja extensions, as Copier loads them (copier.yml, `_jinja_extensions`).

copier-template-extensions compiles and runs this file once for each extension copier.yml
names, from a new temporary clone of the template on every copy. So it stays small: it loads
the extensions (extensions/_gcf.py) and gcf-devkit's rules (devkit/src/gcf_devkit/rules) with
their compiled code kept in the user's cache folder, found by a digest of the source, since
Python's own would go with the clone (docs/decisions/0003-copy-time.md). Every name of _gcf.py
(`Questionnaire`, `Derived`, `locked`, `lock_key`, ...) reads through this module too.
"""

from __future__ import annotations

import _imp
import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
RULES = HERE.parent / "devkit" / "src" / "gcf_devkit" / "rules"
# Where copies keep compiled Jinja and Python (cache_folder()): a folder, or "off".
CACHE_VARIABLE = "GCF_TEMPLATE_CACHE"


def cache_folder() -> Path | None:
    """Where copies keep what they compiled (GCF_TEMPLATE_CACHE: a folder, or "off"), else the
    user's cache folder, beside the git mirrors Copier keeps there."""
    folder = os.environ.get(CACHE_VARIABLE, "")
    if folder.lower() == "off":
        return None
    if folder:
        return Path(folder)
    from platformdirs import user_cache_path  # a dependency of Copier

    return user_cache_path("gcf-template", appauthor=False)


class CachedCode(importlib.machinery.SourceFileLoader):
    """Loads a module with its compiled code kept in the cache folder, found by its source
    (and Python's version): tracebacks still name the file of this clone."""

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_data(self.path)
        folder = cache_folder()
        if folder is None:
            return self.source_to_code(source, self.path)
        digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + source).hexdigest()
        path = folder / "python" / f"{digest}.code"
        try:
            code = marshal.loads(path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            code = self.source_to_code(source, self.path)
            with contextlib.suppress(OSError):
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
                    file.write(marshal.dumps(code))
                os.replace(file.name, path)
        _imp._fix_co_filename(code, self.path)
        return code


class PackageFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of one package loaded by load_rules(), and loads them with CachedCode."""

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not fullname.startswith(self.package + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            spec.loader = CachedCode(fullname, spec.origin)
        return spec


def load_rules() -> ModuleType:
    """gcf_devkit.rules of this template, under a module name of its own: one per content,
    so that a process making many copies (a test suite, a platform team's script) loads it once."""
    digest = hashlib.sha256()
    for path in sorted(RULES.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    name = "_gcf_template_rules_" + digest.hexdigest()[:16]
    if name not in sys.modules:
        sys.meta_path.insert(0, PackageFinder(name))
        sys.modules[name] = run(RULES / "__init__.py", name, package=True)
    return sys.modules[name]


def run(path: Path, name: str, package: bool = False, **names: Any) -> ModuleType:
    """The module of `path` with its code from the cache, run with `names` set first."""
    loader = CachedCode(name, str(path))
    locations = [str(path.parent)] if package else None
    spec = importlib.util.spec_from_file_location(
        name, path, loader=loader, submodule_search_locations=locations
    )
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    vars(module).update(names)
    if package:
        sys.modules[name] = module  # its modules import it
    loader.exec_module(module)
    return module


# Run for each copy (its paths are this clone's: the locks, the bytecode cache), from code
# compiled once per content.
extensions = run(
    HERE / "_gcf.py", "_gcf_template_extensions", rules=load_rules(), cache_folder=cache_folder
)
Questionnaire = extensions.Questionnaire
Derived = extensions.Derived


def __getattr__(name: str) -> Any:
    return getattr(extensions, name)
