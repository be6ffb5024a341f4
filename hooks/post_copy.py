"""Copier task run after `copier copy`: make the new repo a git repository.

`copier update` works on a git repository whose files are committed, so this
task runs `git init`, `git add --all` and a first commit when the destination
is not inside a work tree already. It needs only the standard library and git,
and it never fails the copy: when git is missing or cannot commit (no identity
set, say), it prints what to run by hand. `copier copy --skip-tasks` skips it;
the generated repo is complete either way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

MESSAGE = "Initial commit from gcf-template"
BY_HAND = f'git init && git add --all && git commit -m "{MESSAGE}"'


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def main() -> int:
    if shutil.which("git") is None:
        print(f"gcf-template: git is not installed; later run: {BY_HAND}", file=sys.stderr)
        return 0
    if git("rev-parse", "--is-inside-work-tree").stdout.strip() == "true":
        print(
            "gcf-template: the destination is inside a git repository; commit the new files there."
        )
        return 0

    branch = git("config", "--get", "init.defaultBranch").stdout.strip() or "main"
    for args in (("init", "--quiet", f"--initial-branch={branch}"), ("add", "--all")):
        if (result := git(*args)).returncode != 0:
            print(f"gcf-template: git {args[0]} failed: {result.stderr.strip()}", file=sys.stderr)
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
