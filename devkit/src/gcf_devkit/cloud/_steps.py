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
from dataclasses import dataclass
from pathlib import Path

from gcf_devkit._errors import GcfError
from gcf_devkit.project import Project


class CommandError(GcfError):
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


TOPICS = ("pubsub", "topics")
SUBSCRIPTIONS = ("pubsub", "subscriptions")


class Plan:
    """The commands for one environment's project, in order, each once."""

    def __init__(
        self, project: Project, environment: str, cloud_project: str, project_number: str
    ) -> None:
        self.project = project
        self.environment = environment
        self.cloud_project = cloud_project
        self.project_number = project_number
        self.steps: list[Step] = []

    def add(self, step: Step) -> None:
        if step not in self.steps:
            self.steps.append(step)

    def topic(self, topic: str) -> str:
        """A topic's id in this environment."""
        return self.project.topic(topic, self.environment)

    def create(
        self,
        kind: tuple[str, ...],
        name: str,
        *flags: str,
        project: str = "",
        scope: tuple[str, ...] = (),
    ) -> None:
        """Create a resource unless `describe` finds it; `scope` names where it is, for both
        (such as --location=global)."""
        where = (f"--project={project or self.cloud_project}", *scope)
        self.add(
            Step(
                gcloud(*kind, "create", name, *where, *flags),
                exists=gcloud(*kind, "describe", name, *where),
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
                    *(() if on_project else (f"--project={project or self.cloud_project}",)),
                    f"--member={member}",
                    f"--role={role}",
                    *(("--condition=None",) if on_project else ()),
                    "--quiet",
                )
            )
        )


def run_output(command: tuple[str, ...], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandError(f"{shlex.join(command)} failed:\n{result.stderr.strip()}")
    return result.stdout.strip()


def succeeds(command: tuple[str, ...], cwd: Path) -> bool:
    return subprocess.run(command, cwd=cwd, capture_output=True, check=False).returncode == 0


def execute(steps: list[Step], tool: str, cwd: Path) -> None:
    """Run the steps in order; on a failure, say what was done and what was not."""
    for index, step in enumerate(steps):
        command = step.command
        if step.exists and succeeds(step.exists, cwd):
            if not step.update:
                print(f"{tool}: exists, left as it is: {step.line()}", file=sys.stderr)
                continue
            command = step.update
        print(f"{tool}: {shlex.join(command)}", file=sys.stderr, flush=True)
        if subprocess.run(command, cwd=cwd, check=False).returncode != 0:
            left = [s.line() for s in steps[index + 1 :]]
            raise CommandError(
                f"failed: {shlex.join(command)}\n{index} step(s) done before it; not run:\n"
                + "\n".join(left or ["(nothing)"])
            )


def require_gcloud() -> None:
    """Stop before a real run when gcloud is missing (a dry run needs no gcloud)."""
    if shutil.which("gcloud") is None:
        raise CommandError("gcloud is not installed: see https://cloud.google.com/sdk/docs/install")


def project_number(cloud_project: str, cwd: Path, dry_run: bool) -> str:
    """The project's number, which only gcloud knows: PROJECT_NUMBER in a dry run."""
    if dry_run:
        return "PROJECT_NUMBER"
    return run_output(
        gcloud("projects", "describe", cloud_project, "--format=value(projectNumber)"), cwd
    )


def perform(steps: list[Step], tool: str, dry_run: bool, cwd: Path) -> None:
    """Print the steps, one shell line each (a dry run), or run them."""
    if dry_run:
        print("\n".join(step.line() for step in steps))
    else:
        execute(steps, tool, cwd)
