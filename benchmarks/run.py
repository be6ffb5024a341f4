"""Benchmarks of gcf-template; each prints figures measured in one run.

    python3 tasks.py bench copy      copier copy time, this template vs a one-file template
    python3 tasks.py bench suite     wall time of the template's whole test suite
    python3 tasks.py bench           both

Timings on a shared machine are noisy: every comparison alternates its two
sides run by run and reports medians and their ratio, never an absolute target.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@gcf-template.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@gcf-template.invalid",
}


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def one_file_template(where: Path) -> Path:
    """A template with one question and one file, committed in git like ours."""
    where.mkdir()
    (where / "copier.yml").write_text("name:\n  type: str\n  default: hello\n")
    (where / "README.md.jinja").write_text("# {{ name }}\n")
    git("init", "--quiet", cwd=where)
    git("add", "--all", cwd=where)
    git("commit", "--quiet", "--message", "one file", cwd=where)
    return where


def this_template(where: Path) -> Path:
    """A clone of this repository at HEAD, as users get it from git."""
    git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(where), cwd=ROOT)
    return where


def time_command(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env={**os.environ, **GIT_ENV})
    return time.perf_counter() - start


def alternate(sides: dict[str, Callable[[int], float]], rounds: int) -> dict[str, list[float]]:
    """Run each side once per round, in alternating order, and collect the times."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(rounds):
        for name in names if i % 2 == 0 else reversed(names):
            times[name].append(sides[name](i))
    return times


def bench_copy(rounds: int = 15) -> None:
    work = Path(tempfile.mkdtemp(prefix="gcf-bench-"))
    try:
        templates = {
            "gcf-template": this_template(work / "gcf-template"),
            "one-file template": one_file_template(work / "one-file"),
        }

        def copy(template: Path, *options: str) -> Callable[[int], float]:
            def run(i: int) -> float:
                destination = work / f"out-{template.name}-{len(options)}-{i}"
                args = [str(BIN / "copier"), "copy", "--trust", "--defaults", "--quiet", *options]
                return time_command([*args, str(template), str(destination)])

            return run

        copy(templates["gcf-template"])(-1)  # warm the file cache once
        sides = {name: copy(path) for name, path in templates.items()}
        sides["gcf-template --skip-tasks"] = copy(templates["gcf-template"], "--skip-tasks")
        times = alternate(sides, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"copier copy --trust --defaults, {rounds} runs each, alternating (median, min-max):")
    for name, values in times.items():
        print(f"  {name:26} {medians[name]:.3f} s  ({min(values):.3f}-{max(values):.3f})")
    base = medians["one-file template"]
    print(f"  ratio gcf-template / one-file: {medians['gcf-template'] / base:.2f} (target <= 1.3)")
    print(f"  ratio without the git-init task: {medians['gcf-template --skip-tasks'] / base:.2f}")


def bench_suite() -> None:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "auto", "--dist", "loadgroup", "-q"],
        cwd=ROOT,
        check=False,
    )
    elapsed = time.perf_counter() - start
    print(
        f"template test suite: {elapsed:.1f} s wall on {os.cpu_count()} cores, exit code {result.returncode} (target <= 240 s on 2 cores)"
    )


BENCHMARKS = {"copy": bench_copy, "suite": bench_suite}


def main(names: list[str]) -> int:
    for name in names or list(BENCHMARKS):
        if name not in BENCHMARKS:
            print(
                f"unknown benchmark {name!r}: choose from {', '.join(BENCHMARKS)}", file=sys.stderr
            )
            return 2
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
