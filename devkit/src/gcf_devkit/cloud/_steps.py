"""gcloud commands that create what is missing and leave what exists, for deploy and setup.

A `Step` is one command; with `exists`, a command that succeeds when the resource is
there already, the step is skipped (or its `update` runs instead). With `expect`, the
resource must also be the one the repo means (`exists` prints a field, such as a
subscription's topic or the description that names the repo that made it): when it is
another, the run stops and names both, before changing anything else. Without a `command`,
a missing resource stops the run too (with `missing`, which says what to do). When `update`
holds FOUND, `exists` lists rather than describes: the resource is there when it prints a
name, and `update` takes that name in place of FOUND (a budget is found by its display name).

A dry run prints each step as one line of shell that does what a real run does in both
cases, resource missing or there (`bash -e` runs it the same way); a real run stops at the
first failure and says what was done and what was not.

A plan whose steps belong to units of their own (`Plan.unit`: the functions of a deploy)
runs in two phases (`execute_units`): the checks and shared steps first, then each unit's
steps in order, several units at once (at most `jobs`), retrying a command that failed on a
quota (HTTP 429, RESOURCE_EXHAUSTED) with exponential backoff. A unit that fails stops its
own steps only; the run ends with a table of every unit and fails naming each that failed.
The dry run prints the same steps, each unit's in its order, one unit after another.
"""

from __future__ import annotations

import random
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gcf_devkit._errors import GcfError
from gcf_devkit.project import Project

# In a step's `update`: the name that `exists` printed.
FOUND = "{found}"


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
    def lists(self) -> bool:
        """Whether `exists` lists what it finds (an empty list: missing) for `update` to name."""
        return FOUND in self.update

    def updated(self, found: str) -> tuple[str, ...]:
        """The update of the resource `exists` found."""
        return tuple(found if word == FOUND else word for word in self.update)

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
        if self.lists:
            update = shlex.join(self.update).replace(shlex.quote(FOUND), '"$found"')
            return (
                f'if found=$({shlex.join(self.exists)}) && [ -n "$found" ]; then {update}; '
                f"else {shlex.join(self.command)}; fi"
            )
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
        # The steps of each unit (a function), in order; a step in none is shared.
        self.units: dict[str, list[Step]] = {}
        self._unit: str | None = None

    @contextmanager
    def unit(self, name: str) -> Iterator[None]:
        """Steps added inside belong to the unit `name`, but for checks, which are shared
        (they run before any unit's steps, as they run before anything in a dry run)."""
        self.units.setdefault(name, [])
        self._unit = name
        try:
            yield
        finally:
            self._unit = None

    def add(self, step: Step) -> None:
        if step not in self.steps:
            self.steps.append(step)
            if self._unit is not None and (step.command or step.update):
                self.units[self._unit].append(step)

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
    found = result.stdout.strip() if result.returncode == 0 else None
    return None if step.lists and not found else found


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


def execute(steps: list[Step], tool: str, cwd: Path, verified: bool = False) -> None:
    """Run the steps in order (after their checks, unless `verified`); on a failure, say what
    was done and what was not."""
    if not verified:
        verify(steps, tool, cwd)
    for index, step in enumerate(steps):
        command = step.command
        # A step that cannot create its resource was looked at by `verify`: it is there.
        found = probe(step, cwd) if step.exists and step.command else ""
        if step.exists and found is not None:
            if not step.update:
                print(f"{tool}: exists, left as it is: {shlex.join(step.exists)}", file=sys.stderr)
                continue
            command = step.updated(found)
        print(f"{tool}: {shlex.join(command)}", file=sys.stderr, flush=True)
        if subprocess.run(command, cwd=cwd, check=False).returncode != 0:
            left = [s.line() for s in steps[index + 1 :]]
            raise CommandError(
                f"failed: {shlex.join(command)}\n{index} step(s) done before it; not run:\n"
                + "\n".join(left or ["(nothing)"])
            )


# What gcloud prints when a request was refused for a quota: worth retrying after a while.
QUOTA = re.compile(r"\b429\b|RESOURCE_EXHAUSTED|Quota exceeded", re.IGNORECASE)
# Where gcloud says a deployed service's URL: `gcloud run deploy` ("Service URL: ...") and
# `gcloud functions deploy` (its YAML, "url: ...").
URL = re.compile(r"(?:Service URL|^\s*url):\s*(https://\S+)", re.MULTILINE)


@dataclass
class Outcome:
    """What became of one unit: its steps done, the one that failed (and why), how long."""

    name: str
    done: list[str] = field(default_factory=list)
    failed: str = ""
    reason: str = ""
    not_run: list[str] = field(default_factory=list)
    seconds: float = 0.0
    url: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed


class Runner:
    """Runs commands for several units at once: progress lines that name the unit, quota
    errors retried with exponential backoff (and jitter), output kept unless it fails."""

    def __init__(
        self, tool: str, cwd: Path, retries: int, delay: float, quiet: bool = False
    ) -> None:
        self.tool, self.cwd, self.retries, self.delay = tool, cwd, retries, delay
        self.lock = threading.Lock()
        self.quiet = quiet

    def say(self, unit: str, message: str) -> None:
        if self.quiet:
            return
        with self.lock:
            print(f"{self.tool}: [{unit}] {message}", file=sys.stderr, flush=True)

    def run(self, unit: str, command: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        for attempt in range(self.retries + 1):
            result = subprocess.run(
                command, cwd=self.cwd, capture_output=True, text=True, check=False
            )
            output = result.stdout + result.stderr
            if result.returncode == 0 or not QUOTA.search(output) or attempt == self.retries:
                return result
            wait = self.delay * 2**attempt * (1 + random.random() / 4)
            self.say(
                unit,
                f"quota exceeded; retrying in {wait:.0f}s "
                f"(attempt {attempt + 2} of {self.retries + 1}): {command[1]} {command[2]}",
            )
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def unit(self, name: str, steps: list[Step], url: Callable[[str], str]) -> Outcome:
        """Run one unit's steps in order; stop its own steps at the first failure."""
        outcome = Outcome(name)
        start = time.monotonic()
        for index, step in enumerate(steps):
            command = step.command
            found = probe(step, self.cwd) if step.exists and step.command else ""
            if step.exists and found is not None:
                if not step.update:
                    self.say(name, f"exists, left as it is: {shlex.join(step.exists)}")
                    continue
                command = step.updated(found)
            self.say(name, shlex.join(command))
            result = self.run(name, command)
            if result.returncode != 0:
                outcome.failed = shlex.join(command)
                lines = (result.stderr or result.stdout).strip().splitlines()
                outcome.reason = lines[-1] if lines else f"exit status {result.returncode}"
                outcome.not_run = [s.line() for s in steps[index + 1 :]]
                self.say(name, f"failed: {outcome.reason}")
                with self.lock:
                    print(
                        "\n".join(f"  {line}" for line in lines[-20:]),
                        file=sys.stderr,
                        flush=True,
                    )
                break
            outcome.done.append(shlex.join(command))
            match = URL.search(result.stdout + result.stderr)
            outcome.url = outcome.url or (match[1] if match else "")
        outcome.seconds = time.monotonic() - start
        outcome.url = outcome.url or url(name)
        if outcome.ok:
            self.say(name, f"done in {outcome.seconds:.1f}s")
        return outcome


def table(outcomes: list[Outcome], verb: str = "deployed") -> str:
    """One row per unit: its name, result, duration and URL."""
    rows = [("function", "result", "duration", "URL")]
    rows += [
        (o.name, verb if o.ok else "FAILED", f"{o.seconds:.1f}s", o.url or "-") for o in outcomes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    )


def execute_units(
    plan: Plan,
    tool: str,
    cwd: Path,
    jobs: int,
    url: Callable[[str], str] = lambda name: "",
    retries: int = 5,
    delay: float = 5.0,
) -> list[Outcome]:
    """The checks, then the shared steps in order, then the units' steps, `jobs` units at
    once; print a table of the units; raise naming every unit that failed, with what was and
    was not done."""
    if jobs < 1:
        raise CommandError(f"jobs: must be 1 or more (got {jobs})")
    in_units = {step for steps in plan.units.values() for step in steps}
    shared = [s for s in plan.steps if s not in in_units]
    verify(plan.steps, tool, cwd)  # every check, the units' too, before anything changes
    execute(shared, tool, cwd, verified=True)
    runner = Runner(tool, cwd, retries, delay)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(
            pool.map(lambda item: runner.unit(item[0], item[1], url), plan.units.items())
        )
    print(table(outcomes), file=sys.stderr, flush=True)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        report = [f"{len(failed)} of {len(outcomes)} failed: {', '.join(o.name for o in failed)}"]
        for o in failed:
            report.append(f"{o.name}: failed: {o.failed}\n  {o.reason}")
            report.append(f"  done before it: {len(o.done)} step(s)")
            report += [f"    {line}" for line in o.done]
            report.append("  not run:")
            report += [f"    {line}" for line in o.not_run or ["(nothing)"]]
        done = [o.name for o in outcomes if o.ok]
        report.append(f"deployed: {', '.join(done) if done else '(none)'}")
        raise CommandError("\n".join(report))
    return outcomes


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
