"""gcloud commands that create what is missing and leave what exists, for deploy and setup.

A `Step` is one command; with `exists`, a command that succeeds when the resource is
there already, the step is skipped (or its `update` runs instead). A dry run prints each
step as one shell-quoted line; a real run stops at the first failure and says what was
done and what was not.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class CommandError(Exception):
    """A command failed, or cannot be built; the message says which and why."""


@dataclass(frozen=True)
class Step:
    """One gcloud command; with `exists`, it runs only when that command fails (or `update` runs)."""

    command: tuple[str, ...]
    exists: tuple[str, ...] = ()
    update: tuple[str, ...] = ()

    def line(self) -> str:
        return shlex.join(self.command)


def gcloud(*args: str) -> tuple[str, ...]:
    return ("gcloud", *args)


def run_output(command: tuple[str, ...]) -> str:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandError(f"{shlex.join(command)} failed:\n{result.stderr.strip()}")
    return result.stdout.strip()


def succeeds(command: tuple[str, ...]) -> bool:
    return subprocess.run(command, cwd=ROOT, capture_output=True, check=False).returncode == 0


def execute(steps: list[Step], tool: str) -> None:
    """Run the steps in order; on a failure, say what was done and what was not."""
    for index, step in enumerate(steps):
        command = step.command
        if step.exists and succeeds(step.exists):
            if not step.update:
                print(f"{tool}: exists, left as it is: {step.line()}", file=sys.stderr)
                continue
            command = step.update
        print(f"{tool}: {shlex.join(command)}", file=sys.stderr, flush=True)
        if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
            left = [s.line() for s in steps[index + 1 :]]
            raise CommandError(
                f"failed: {shlex.join(command)}\n{index} step(s) done before it; not run:\n"
                + "\n".join(left or ["(nothing)"])
            )
