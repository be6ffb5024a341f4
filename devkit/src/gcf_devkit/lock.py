"""Lock the repo's requirements: each requirements*.in to a requirements*.txt with hashes.

`requirements.in` lists what the functions import (edit it); `requirements-dev.in` the tools
of development and tests; `requirements-deploy.in` what CI's deploy job needs. Each lock holds
the whole closure, every package pinned with the hashes of its files on PyPI: Cloud Functions
installs requirements.txt in hash-checking mode, so a deploy installs exactly what the tests
ran. The locks are universal (every platform, every Python from 3.11: a developer's macOS,
and each runtime), and the lock of the dev tools is constrained by requirements.txt, so that
the packages both hold have the same versions.

Each command is written in its lock's header, as `uv pip compile` writes it: Dependabot and
Renovate read the header and run the same command when they update a package, so the locks
they write are the ones `gcf lock` writes. gcf-devkit itself is not in a lock: pip cannot check
hashes of a git requirement, so `make install` installs it after the lock, without its
dependencies (requirements-devkit.txt), and requirements-dev.in names them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# The oldest Python the locks must install on: the oldest runtime the template offers.
LOCK_PYTHON = "3.11"
# (source, lock), in the order they are compiled: each constrains the ones after it.
LOCKS = (
    ("requirements.in", "requirements.txt"),
    ("requirements-dev.in", "requirements-dev.txt"),
    ("requirements-deploy.in", "requirements-deploy.txt"),
)


def compile_command(source: str, lock: str) -> list[str]:
    """The arguments after `uv` that lock `source` into `lock` (the header's command)."""
    return [
        "pip",
        "compile",
        "--generate-hashes",
        "--universal",
        "--python-version",
        LOCK_PYTHON,
        "--output-file",
        lock,
        source,
    ]


def uv() -> str:
    """The uv of the repo's .venv (requirements-dev.in pins it), else the one on PATH."""
    beside = Path(sys.executable).with_name("uv.exe" if os.name == "nt" else "uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("gcf lock: uv not found: run make install (requirements-dev.in has it)")
    return found


def lock(root: Path, *, upgrade: bool = False) -> list[str]:
    """Write each lock of `root` whose source exists; return the locks written. Versions
    already locked are kept unless `upgrade` (or the source asks for another)."""
    written = []
    for source, target in LOCKS:
        if not (root / source).exists():
            continue
        command = [uv(), *compile_command(source, target), "--quiet"]
        if upgrade:
            command.append("--upgrade")
        subprocess.run(command, cwd=root, check=True)
        written.append(target)
    return written


# `name[extras] ==version ; marker` at the start of a requirement line.
_REQUIREMENT = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s;\\]+))?"
)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_requirements(root: Path, source: str) -> dict[str, str]:
    """What a source asks for, following its `-r` files: name -> pinned version ("" if none)."""
    wanted: dict[str, str] = {}
    for raw in (root / source).read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            wanted |= direct_requirements(root, line.split(maxsplit=1)[1])
        elif line and not line.startswith(("#", "-")):
            match = _REQUIREMENT.match(line)
            if match:
                wanted[normalized(match[1])] = match[2] or ""
    return wanted


def locked_versions(text: str) -> dict[str, set[str]]:
    """A lock's packages: name -> its versions (two where markers fork it)."""
    versions: dict[str, set[str]] = {}
    for match in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text, re.M):
        versions.setdefault(normalized(match[1]), set()).add(match[2])
    return versions


def unhashed(text: str) -> list[str]:
    """The requirements of a lock that carry no --hash (pip would refuse to install it)."""
    entries = re.split(r"\n(?=\S)", text)
    return [
        entry.split()[0]
        for entry in entries
        if entry.strip() and not entry.startswith(("#", "-")) and "--hash=" not in entry
    ]


def stale(root: Path) -> list[str]:
    """Why the locks of `root` do not lock their sources (nothing when they do)."""
    problems = []
    for source, target in LOCKS:
        if not (root / source).exists():
            continue
        if not (root / target).exists():
            problems.append(f"{target}: missing")
            continue
        text = (root / target).read_text()
        versions = locked_versions(text)
        for name, version in direct_requirements(root, source).items():
            if name not in versions:
                problems.append(f"{target}: {name} of {source} is not locked")
            elif version and version not in versions[name]:
                found = ", ".join(sorted(versions[name]))
                problems.append(
                    f"{target}: {name} is locked at {found}, {source} asks for {version}"
                )
        problems += [f"{target}: {name} has no --hash" for name in unhashed(text)]
    return problems
