"""gcloud commands that create what is missing and leave what exists, for deploy and setup.

A `Step` is one command; with `exists`, a command that succeeds when the resource is
there already, the step is skipped (or its `update` runs instead). With `expect`, the
resource must also be the one the repo means (`exists` prints a field, such as a
subscription's topic or the description that names the repo that made it): when it is
another, the run stops and names both, before changing anything else. Without a `command`,
a missing resource stops the run too (with `missing`, which says what to do).

A dry run prints each step as one line of shell that does what a real run does in both
cases, resource missing or there (`bash -e` runs it the same way); a real run stops at the
first failure and says what was done and what was not.
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
    """One gcloud command, or the commands for one resource: `command` when it is missing,
    `update` (or nothing) when `exists` finds it, a stop when it is not the one expected."""

    command: tuple[str, ...]
    exists: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    expect: str = ""
    conflict: str = ""
    missing: str = ""

    @property
    def checked(self) -> bool:
        """Whether the resource is looked at before anything runs."""
        return bool(self.expect or (self.exists and not self.command))

    def check_line(self) -> str:
        """The look before anything runs, as one line of shell (see `verify`)."""
        if not self.expect:
            return f"{shlex.join(self.exists)} >/dev/null 2>&1 || {_stop(self.missing)}"
        probe = f"{shlex.join(self.exists)} 2>/dev/null"
        case = (
            f"case $found in {shlex.quote(self.expect)}) ;; *) {_stop(self.conflict, True)} ;; esac"
        )
        if self.command:
            return f"if found=$({probe}); then {case}; fi"
        return f"found=$({probe}) || {_stop(self.missing)}; {case}"

    def line(self) -> str:
        """The step as one line of shell that does what a real run does ("" when nothing)."""
        if not self.exists:
            return shlex.join(self.command)
        probe = f"{shlex.join(self.exists)} >/dev/null 2>&1"
        if not self.command:
            return shlex.join(self.update)
        if self.update:
            return (
                f"if {probe}; then {shlex.join(self.update)}; else {shlex.join(self.command)}; fi"
            )
        return f"{probe} || {shlex.join(self.command)}"


def _stop(message: str, found: bool = False) -> str:
    """Shell that prints the message (and what was found) on stderr and stops the script."""
    text = "".join(f"\\{c}" if c in '\\"`$' else c for c in message)
    return f'{{ echo "{text}{": it is $found" if found else ""}" >&2; exit 1; }}'


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
        self,
        kind: tuple[str, ...],
        resource: str,
        member: str,
        role: str,
        project: str = "",
        condition: str = "",
    ) -> None:
        """Grant a role on one resource (`projects` for the project itself, where `condition`
        can limit it to some of the project's resources)."""
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
                    *((f"--condition={condition or 'None'}",) if on_project else ()),
                    "--quiet",
                )
            )
        )


def run_output(command: tuple[str, ...], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandError(f"{shlex.join(command)} failed:\n{result.stderr.strip()}")
    return result.stdout.strip()


def probe(step: Step, cwd: Path) -> str | None:
    """What `exists` prints when the resource is there; None when it is missing."""
    result = subprocess.run(step.exists, cwd=cwd, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def verify(steps: list[Step], tool: str, cwd: Path) -> None:
    """Look at each resource a step expects, in order, before changing anything: the first
    that is another repo's, or another than the repo means, or missing when it cannot be made
    here, stops the run naming it (as the dry run's check lines do)."""
    for step in steps:
        if not step.checked:
            continue
        found = probe(step, cwd)
        if found is None and not step.command:
            problem = step.missing
        elif found is not None and step.expect and found != step.expect:
            problem = f"{step.conflict}: it is {found}"
        else:
            continue
        raise CommandError(f"{tool}: nothing was changed: {problem}")


def execute(steps: list[Step], tool: str, cwd: Path) -> None:
    """Run the steps in order; on a failure, say what was done and what was not."""
    verify(steps, tool, cwd)
    for index, step in enumerate(steps):
        command = step.command
        # A step that cannot create its resource was looked at by `verify`: it is there.
        if step.exists and (not step.command or probe(step, cwd) is not None):
            if not step.update:
                print(f"{tool}: exists, left as it is: {shlex.join(step.exists)}", file=sys.stderr)
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
        lines = [s.check_line() for s in steps if s.checked] + [s.line() for s in steps]
        print("\n".join(line for line in lines if line))
    else:
        execute(steps, tool, cwd)
