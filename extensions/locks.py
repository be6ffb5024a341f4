"""Lock every requirements.in the template can write (`python3 tasks.py lock [--upgrade]`).

For each combination of the answers that choose requirements.in (gcf.LOCK_ANSWERS), renders
a repo from this work tree, runs in it what `make lock` runs (gcf_devkit.lock: uv, from PyPI,
so it needs the network), and keeps its locks in locks/locks.txt, in sections <key>/<file>
beside the requirements.in they lock, each without its --hash lines: the hashes of every
package are kept once, in locks/hashes.txt. A copy renders them from there (gcf.locked),
exactly as uv wrote them. The file holds the combinations that exist now, and no other. docs/decisions/0007-locked-requirements.md says why.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import copier
from gcf_devkit.lock import LOCKS, lock

ROOT = Path(__file__).resolve().parents[1]


def load_gcf() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gcf_template_extension", Path(__file__).with_name("gcf.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(template: Path, destination: Path, answers: dict[str, str]) -> None:
    copier.run_copy(
        str(template),
        destination,
        data=answers,
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )


def without_hashes(gcf: ModuleType, lock: Path, hashes: dict[str, list[str]]) -> str:
    """A lock as it is kept: without its hashes, which go to `hashes` (locks/hashes.txt)."""
    text = lock.read_text()
    without, found = gcf.without_hashes(text)
    for package, values in found.items():
        if hashes.setdefault(package, values) != values:
            raise SystemExit(f"{lock}: {package} has other hashes than in another lock")
    assert gcf.with_hashes(without, found) == text, f"{lock}: not kept as uv wrote it"
    return without


def lock_all(gcf: ModuleType, root: Path, repos: list[Path], upgrade: bool) -> Path:
    """Lock every package any repo can hold, together (the sections all/... of locks.txt): the versions each
    combination's lock prefers, and the constraints of this repository's .venv (tasks.py),
    so that the tests run the versions that deploy."""
    lines: dict[str, None] = {}
    for repo in repos:
        for line in (repo / "requirements.in").read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                lines[line] = None
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.in").write_text(
        "# Every package a requirements.in of the template lists (extensions/locks.py).\n"
        + "\n".join(lines)
        + "\n"
    )
    shutil.copyfile(repos[0] / "requirements-dev.in", root / "requirements-dev.in")
    for _, name in LOCKS[:2]:
        before = gcf.stored_lock("all", name)
        if before is not None:
            (root / name).write_text(before)  # the versions locked before, preferred
    lock(root, upgrade=upgrade)
    return root / "requirements-dev.txt"


def main(argv: list[str]) -> int:
    gcf = load_gcf()
    upgrade = "--upgrade" in argv
    kept: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory() as temporary:
        template = Path(temporary) / "gcf-template"
        shutil.copytree(
            ROOT, template, ignore=shutil.ignore_patterns(".git", ".venv", ".tools", "__pycache__")
        )
        repos: dict[str, tuple[Path, dict[str, str]]] = {}
        for number, answers in enumerate(gcf.lock_combinations()):
            repo = Path(temporary) / f"repo-{number}"
            render(template, repo, {**answers, "ci_provider": "github_actions"})
            repos.setdefault(gcf.lock_key((repo / "requirements.in").read_text()), (repo, answers))
        print(f"locking every package of {len(repos)} combinations together", flush=True)
        all_repos = [repo for repo, _ in repos.values()]
        union = lock_all(gcf, Path(temporary) / "all", all_repos, upgrade)
        hashes: dict[str, list[str]] = {}
        kept["all", "requirements.in"] = union.with_name("requirements.in").read_text()
        for name in ("requirements.txt", "requirements-dev.txt"):
            kept["all", name] = without_hashes(gcf, union.with_name(name), hashes)
        for key, (repo, answers) in repos.items():
            print(f"locking {key}: {answers}", flush=True)
            for _, name in LOCKS:
                shutil.copyfile(union, repo / name)  # its versions preferred
            lock(repo)
            kept[key, "requirements.in"] = (repo / "requirements.in").read_text()
            for _, name in LOCKS:
                kept[key, name] = without_hashes(gcf, repo / name, hashes)
    gcf.HASHES.write_text(
        "".join(f"{package} {' '.join(hashes[package])}\n" for package in sorted(hashes))
    )
    gcf.STORE.write_text(gcf.store_text(kept))
    print(f"{len(repos)} combinations locked in {gcf.STORE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
