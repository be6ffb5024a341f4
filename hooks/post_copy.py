"""Copier task run after `copier copy`: make the new repo a git repository.

`copier update` works on a git repository whose files are committed, so this
task runs `git init`, `git add --all` and a first commit when the destination
is not inside a work tree already. It needs only the standard library and git,
and it never fails the copy: when git is missing or cannot commit (no identity
set, say), it prints what to run by hand. `copier copy --skip-tasks` skips it;
the generated repo is complete either way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

MESSAGE = "Initial commit from gcf-template"
BY_HAND = f'git init && git add --all && git commit -m "{MESSAGE}"'


def git(*args: str) -> subprocess.CompletedProcess[str]:
    # No automatic maintenance after the first commit: it would start one more git process.
    command = ["git", "-c", "maintenance.auto=false", "-c", "gc.auto=0", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def inside_work_tree() -> bool:
    """Whether the destination is in a git work tree already (as `git rev-parse` finds one)."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return git("rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    here = Path.cwd().resolve()
    return any((folder / ".git").exists() for folder in (here, *here.parents))


def main() -> int:
    if shutil.which("git") is None:
        print(f"gcf-template: git is not installed; later run: {BY_HAND}", file=sys.stderr)
        return 0
    if inside_work_tree():
        print(
            "gcf-template: the destination is inside a git repository; commit the new files there."
        )
        return 0

    branch = git("config", "--get", "init.defaultBranch").stdout.strip() or "main"
    # `add` with a threshold of 1 byte writes every file into one pack (git's bulk check-in)
    # rather than a file and a folder each: the same objects, written faster.
    steps = {
        "init": ("init", "--quiet", f"--initial-branch={branch}"),
        "add": ("-c", "core.bigFileThreshold=1", "add", "--all"),
    }
    for step, args in steps.items():
        if (result := git(*args)).returncode != 0:
            print(f"gcf-template: git {step} failed: {result.stderr.strip()}", file=sys.stderr)
            print(f"gcf-template: run by hand: {BY_HAND}", file=sys.stderr)
            return 0
    commit = git("commit", "--quiet", "--message", MESSAGE)
    if commit.returncode != 0:
        print(
            f"gcf-template: made a git repository, but the first commit failed:\n"
            f"{commit.stderr.strip()}\n"
            f'Set your identity (git config --global user.email ...) and run: git commit -m "{MESSAGE}"',
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
