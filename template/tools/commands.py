"""gcloud commands that create what is missing and leave what exists, for deploy and setup.

A `Step` is one command; with `exists`, a command that succeeds when the resource is
there already, the step is skipped (or its `update` runs instead). A dry run prints each
step as one shell-quoted line; a real run stops at the first failure and says what was
done and what was not.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tools.manifest import ManifestError

if TYPE_CHECKING:
    from tools.manifest import Manifest

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


class Plan:
    """The commands for one environment's project, in order, each once."""

    def __init__(
        self, manifest: Manifest, environment: str, project: str, project_number: str
    ) -> None:
        self.manifest = manifest
        self.environment = environment
        self.project = project
        self.project_number = project_number
        self.steps: list[Step] = []

    def add(self, step: Step) -> None:
        if step not in self.steps:
            self.steps.append(step)

    def topic(self, topic: str) -> str:
        """A topic's id in this environment."""
        return self.manifest.topic(topic, self.environment)

    def create(self, kind: tuple[str, ...], name: str, *flags: str, project: str = "") -> None:
        """Create a resource unless `describe` finds it."""
        where = f"--project={project or self.project}"
        self.add(
            Step(
                gcloud(*kind, "create", name, where, *flags),
                exists=gcloud(*kind, "describe", name, where),
            )
        )

    def grant(
        self, kind: tuple[str, ...], resource: str, member: str, role: str, project: str = ""
    ) -> None:
        """Grant a role on one resource (`projects` for the project itself)."""
        on_project = kind == ("projects",)
        self.add(
            Step(
                gcloud(
                    *kind,
                    "add-iam-policy-binding",
                    resource,
                    *(() if on_project else (f"--project={project or self.project}",)),
                    f"--member={member}",
                    f"--role={role}",
                    *(("--condition=None",) if on_project else ()),
                    "--quiet",
                )
            )
        )


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


def require_gcloud() -> None:
    """Stop before a real run when gcloud is missing (a dry run needs no gcloud)."""
    if shutil.which("gcloud") is None:
        raise CommandError("gcloud is not installed: see https://cloud.google.com/sdk/docs/install")


def perform(steps: list[Step], tool: str, dry_run: bool) -> None:
    """Print the steps, one shell line each (a dry run), or run them."""
    if dry_run:
        print("\n".join(step.line() for step in steps))
    else:
        execute(steps, tool)


def run_tool(tool: str, nothing_done: str, body: Callable[[], int]) -> int:
    """Run a tool's main body; a manifest or command error ends it with its message and 2."""
    try:
        return body()
    except ManifestError as error:
        print("\n".join(error.errors), file=sys.stderr)
        print(f"{tool}: {nothing_done}", file=sys.stderr)
    except CommandError as error:
        print(f"{tool}: {error}", file=sys.stderr)
    return 2
