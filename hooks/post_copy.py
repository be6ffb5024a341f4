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
import sys

MESSAGE = "Initial commit from gcf-template"
BY_HAND = f'git init && git add --all && git commit -m "{MESSAGE}"'


class Result:
    """What a git command did: its exit code and its output (stdout and stderr together)."""

    def __init__(self, returncode: int, output: str) -> None:
        self.returncode, self.output = returncode, output


def git(*args: str, errors: bool = True) -> Result:
    """Run git without a shell; its errors are in the output unless `errors` is false. With
    os.posix_spawnp, since importing subprocess (and the modules it imports) would take this
    short-lived process longer than the git commands."""
    # No automatic maintenance after the first commit: it would start one more git process.
    command = ["git", "-c", "maintenance.auto=false", "-c", "gc.auto=0", *args]
    try:
        return spawn(command, errors)
    except OSError as error:  # git gone since has_git(), or not runnable: said, never raised
        return Result(127, f"{command[0]}: {error}")


def spawn(command: list[str], errors: bool) -> Result:
    read, write = os.pipe()
    if not hasattr(os, "posix_spawnp") or min(read, write) <= 2:
        # Windows; or this process started without stdout or stderr, so that the pipe took
        # their numbers, which the child's redirections would close.
        os.close(read)
        os.close(write)
        import subprocess

        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return Result(done.returncode, done.stdout + (done.stderr if errors else ""))
    actions = [
        (os.POSIX_SPAWN_DUP2, write, 1),
        (os.POSIX_SPAWN_DUP2, write, 2)
        if errors
        else (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_CLOSE, read),
        (os.POSIX_SPAWN_CLOSE, write),
    ]
    try:
        pid = os.posix_spawnp("git", command, os.environ, file_actions=actions)
    except OSError:
        os.close(read)
        raise
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as output:
        text = output.read().decode(errors="replace")
    return Result(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), text)


def has_git() -> bool:
    """Whether git is on PATH."""
    folders = os.environ.get("PATH", os.defpath).split(os.pathsep)
    names = ("git", "git.exe") if os.name == "nt" else ("git",)
    paths = [os.path.join(f, n) for f in folders if f for n in names]
    return any(os.path.isfile(p) and os.access(p, os.X_OK) for p in paths)


def inside_work_tree() -> bool:
    """Whether the destination is in a git work tree already (as `git rev-parse` finds one)."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return git("rev-parse", "--is-inside-work-tree", errors=False).output.strip() == "true"
    folder = os.path.realpath(os.getcwd())
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def main() -> int:
    if not has_git():
        print(f"gcf-template: git is not installed; later run: {BY_HAND}", file=sys.stderr)
        return 0
    if inside_work_tree():
        print(
            "gcf-template: the destination is inside a git repository; commit the new files there."
        )
        return 0

    configured = git("config", "--get", "init.defaultBranch", errors=False)
    branch = (configured.returncode == 0 and configured.output.strip()) or "main"
    # `add` with a threshold of 1 byte writes every file into one pack (git's bulk check-in)
    # rather than a file and a folder each: the same objects, written faster.
    steps = {
        "init": ("init", "--quiet", f"--initial-branch={branch}"),
        "add": ("-c", "core.bigFileThreshold=1", "add", "--all"),
    }
    for step, args in steps.items():
        if (result := git(*args)).returncode != 0:
            print(f"gcf-template: git {step} failed: {result.output.strip()}", file=sys.stderr)
            print(f"gcf-template: run by hand: {BY_HAND}", file=sys.stderr)
            return 0
    commit = git("commit", "--quiet", "--message", MESSAGE)
    if commit.returncode != 0:
        print(
            f"gcf-template: made a git repository, but the first commit failed:\n"
            f"{commit.output.strip()}\n"
            f'Set your identity (git config --global user.email ...) and run: git commit -m "{MESSAGE}"',
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
