"""The locks this template keeps (locks/, `python3 tasks.py lock`), checked without a network:
one for every requirements.in a copy can write, current with it, every package hashed, and
the versions this repository's .venv runs the tests with (docs/decisions/0007-locked-requirements.md)."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from gcf_devkit.lock import (
    LOCKS,
    compile_command,
    direct_requirements,
    locked_versions,
    normalized,
    stale,
)
from packaging.requirements import Requirement

from conftest import ROOT, copier_jinja, load_module

gcf = load_module(ROOT / "extensions" / "gcf.py", "gcf_template_extension_locks")
NAMES = [lock for _, lock in LOCKS]


def render_in(name: str, answers: dict[str, Any]) -> str:
    """A requirements*.in of the template, rendered with `answers` and nothing else they
    derive from but `aio`: a template that read another answer fails here (StrictUndefined),
    so that gcf.LOCK_ANSWERS keeps naming every answer the locks depend on."""
    context = {
        **answers,
        "aio": answers["preset"] == "single" and answers["function_style"] == "async",
        "function_name": "my-function",
        "uv_version": gcf.UV_VERSION,
    }
    return copier_jinja().get_template(f"template/{name}").render(context)


def combinations() -> dict[str, dict[str, str]]:
    keys: dict[str, dict[str, str]] = {}
    for answers in gcf.lock_combinations():
        keys.setdefault(gcf.lock_key(render_in("requirements.in.jinja", answers)), answers)
    return keys


KEYS = combinations()


def test_every_combination_of_answers_has_its_locks_and_no_lock_is_left_over() -> None:
    assert len(KEYS) >= 13
    files = gcf.stored_files()
    stored = {key for key, _ in files} - {"all"}
    missing = {key: KEYS[key] for key in KEYS.keys() - stored}
    assert missing == {}, "run python3 tasks.py lock"
    assert stored - KEYS.keys() == set(), "locks of no combination: run python3 tasks.py lock"
    for key in KEYS:
        assert sorted(name for k, name in files if k == key) == sorted(["requirements.in", *NAMES])
    assert gcf.store_text(files) == gcf.STORE.read_text()  # as tasks.py lock writes it


def test_the_hashes_kept_apart_are_those_of_the_locked_packages() -> None:
    """locks/hashes.txt holds each locked package's hashes once: every package of every lock
    has its hashes there (or a copy would fail to render), and nothing else is kept."""
    hashes = gcf.read_hashes()
    locked = set()
    for (key, name), text in gcf.stored_files().items():
        if name.endswith(".txt"):
            assert "--hash=" not in text, (key, name)
            locked |= {
                f"{package}=={version}"
                for package, versions in locked_versions(text).items()
                for version in versions
            }
    assert {
        normalized(p.partition("==")[0]) + "==" + p.partition("==")[2] for p in hashes
    } == locked
    assert all(
        values and all(v.startswith("--hash=sha256:") for v in values) for values in hashes.values()
    )


def test_the_answers_of_the_locks_are_answers_a_copy_takes() -> None:
    for answers in gcf.lock_combinations():
        assert set(answers) == set(gcf.LOCK_ANSWERS)


@pytest.fixture(params=sorted(KEYS), scope="module")
def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A combination's requirements*.in as the template renders them, beside its locks."""
    key = request.param
    path = tmp_path_factory.mktemp("lock") / key
    path.mkdir()
    answers = KEYS[key]
    (path / "requirements.in").write_text(render_in("requirements.in.jinja", answers))
    (path / "requirements-dev.in").write_text(render_in("requirements-dev.in.jinja", answers))
    deploy = "{% if ci_provider != 'none' %}requirements-deploy.in{% endif %}.jinja"
    (path / "requirements-deploy.in").write_text(render_in(deploy, answers))
    for name in NAMES:
        (path / name).write_text(gcf.stored_lock(key, name))
    return path


def test_each_lock_pins_what_its_source_pins_and_hashes_every_package(repo: Path) -> None:
    """Fails when a pin of requirements*.in.jinja changed and the locks were not made again,
    or when a lock has a package without --hash (pip would refuse the whole file)."""
    assert stale(repo) == []
    # The section is named by the requirements.in it locks, kept beside the locks.
    kept = gcf.stored_files()[repo.name, "requirements.in"]
    assert gcf.lock_key(kept) == repo.name
    stored = repo / "stored"
    stored.mkdir(exist_ok=True)
    (stored / "requirements.in").write_text(kept)
    assert direct_requirements(stored, "requirements.in") == direct_requirements(
        repo, "requirements.in"
    )


def test_each_lock_was_written_by_the_command_in_its_header(repo: Path) -> None:
    """The header is what Dependabot and Renovate run again, and what `make lock` runs."""
    for source, lock in LOCKS:
        header = (repo / lock).read_text().splitlines()[:2]
        assert header[0] == "# This file was autogenerated by uv via the following command:"
        assert shlex.split(header[1].lstrip("# ")) == ["uv", *compile_command(source, lock)]


def test_the_dev_and_deploy_locks_hold_the_versions_of_the_lock_they_are_constrained_by(
    repo: Path,
) -> None:
    runtime = locked_versions((repo / "requirements.txt").read_text())
    dev = locked_versions((repo / "requirements-dev.txt").read_text())
    deploy = locked_versions((repo / "requirements-deploy.txt").read_text())
    assert runtime.keys() <= dev.keys()
    assert {n: dev[n] for n in runtime} == runtime
    assert {n: dev[n] for n in deploy} == deploy


def test_a_copy_holds_the_locks_of_its_requirements(render) -> None:
    for answers in ({}, {"trigger_type": "firestore", "function_style": "async"}):
        path = render(**answers)
        key = gcf.lock_key((path / "requirements.in").read_text())
        for name in NAMES:
            assert (path / name).read_text() == gcf.stored_lock(key, name)
        assert stale(path) == []


def test_the_tests_run_the_locked_versions() -> None:
    """Every package a lock holds that this repository's .venv has is installed at the
    locked version (tasks.py installs .venv with all/requirements-dev.txt as constraints), so that the
    generated repos' tests here run what their deploys install."""
    installed = {
        normalized(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()
    }
    differing = {}
    for (key, lock), text in sorted(gcf.stored_files().items()):
        if not lock.endswith(".txt"):
            continue
        for name, versions in locked_versions(text).items():
            if name in installed and installed[name] not in versions:
                differing[f"{key}/{lock}: {name}"] = (installed[name], versions)
    assert differing == {}, "run python3 tasks.py venv (or python3 tasks.py lock)"


def test_every_dependency_of_the_devkit_is_in_the_dev_lock() -> None:
    """gcf-devkit is installed without dependencies, after requirements-dev.txt: the lock must
    hold each one (requirements-dev.in names them)."""
    requires = importlib.metadata.requires("gcf-devkit") or []
    names = {normalized(Requirement(r).name) for r in requires}
    assert names
    for key in KEYS:
        dev = locked_versions(gcf.stored_files()[key, "requirements-dev.txt"])
        assert names - dev.keys() == set(), key


def test_the_bots_update_the_sources_and_lock_them_again(render) -> None:
    """Renovate's pip-compile manager runs each lock's header command (it must match every
    lock, and pip_requirements must not edit a lock line by line); Dependabot's uv ecosystem
    does the same. Neither moves gcf-devkit (requirements-devkit.txt)."""
    renovate = json.loads((render(ci_provider="gitlab_ci") / "renovate.json").read_text())
    patterns = [re.compile(p.strip("/")) for p in renovate["pip-compile"]["managerFilePatterns"]]
    for name in [*NAMES, "requirements-devkit.txt", "requirements.in"]:
        matched = any(p.search(name) for p in patterns)
        assert matched == (name in NAMES), name
    assert renovate["pip_requirements"] == {**renovate["pip_requirements"], "enabled": False}
    assert renovate["lockFileMaintenance"]["enabled"] is True
    rules = renovate["packageRules"]
    assert {"matchPackageNames": ["gcf-devkit"], "enabled": False}.items() <= next(
        r for r in rules if r.get("matchPackageNames") == ["gcf-devkit"]
    ).items()
    dependabot = yaml.safe_load((render() / ".github" / "dependabot.yml").read_text())
    [python] = [u for u in dependabot["updates"] if u["package-ecosystem"] == "uv"]
    assert python["directory"] == "/"
    assert {"dependency-name": "gcf-devkit"} in python["ignore"]
