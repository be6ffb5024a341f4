"""Mutation testing of gcf-devkit: `python3 tasks.py mutate [--fresh] [--min-score N]`.

mutmut (configured in pyproject.toml, [tool.mutmut]) makes small changes to the rules, the
project model and the deploy and setup plans, one at a time, and runs the tests that cover
each: a change no test notices (a survivor) is a bug the tests would let through. This prints
the score of each module (killed / (all - equivalent)), every survivor, and exits 1 when the
score of all of them is below --min-score (85 by default).

A survivor that cannot be told apart from the original by any input is recorded, with the
reason, in mutation-equivalents.toml; every other survivor gets a test. mutmut keeps its
results in mutants/ and re-tests only what changed; --fresh starts over.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
MUTANTS = HERE / "mutants"
EQUIVALENTS = HERE / "mutation-equivalents.toml"
# mutmut's exit codes of a mutant's test run (mutmut.__main__.status_by_exit_code).
KILLED = {1, 3, 37}  # tests failed, or the type check did
TIMEOUT = {24, -24, 36, 152, 255}  # the mutant made the tests hang: caught
SURVIVED = {0}


def results() -> dict[str, dict[str, int | None]]:
    """Each mutated module's mutants, by name, with the exit code of their tests."""
    by_module: dict[str, dict[str, int | None]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            module = meta.relative_to(MUTANTS / "src").as_posix().removesuffix(".py.meta")
            by_module[module.replace("/", ".")] = codes
    return by_module


def report(min_score: float) -> int:
    equivalent = tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", {})
    by_module = results()
    if not by_module:
        print("mutate: mutmut tested no mutant (see its output above)", file=sys.stderr)
        return 1
    totals: Counter[str] = Counter()
    survivors: dict[str, list[str]] = defaultdict(list)
    print(f"{'module':42} {'mutants':>8} {'killed':>7} {'equiv':>6} {'left':>5} {'score':>7}")
    for module, codes in by_module.items():
        counts: Counter[str] = Counter()
        for name, code in codes.items():
            if code in KILLED or code in TIMEOUT:
                counts["killed"] += 1
            elif name in equivalent:
                counts["equivalent"] += 1
            else:
                counts["left"] += 1
                status = "survived" if code in SURVIVED else f"exit code {code}"
                survivors[module].append(f"{name} ({status})")
        counts["all"] = len(codes)
        totals.update(counts)
        print(
            f"{module:42} {counts['all']:>8} {counts['killed']:>7} {counts['equivalent']:>6} "
            f"{counts['left']:>5} {score(counts):>6.1f}%"
        )
    print(
        f"{'all':42} {totals['all']:>8} {totals['killed']:>7} {totals['equivalent']:>6} "
        f"{totals['left']:>5} {score(totals):>6.1f}%"
    )
    for module, names in survivors.items():
        print(f"\nsurvivors in {module} (`mutmut show NAME` in devkit/ shows one):")
        print("\n".join(f"  {name}" for name in names))
    stale = sorted(set(equivalent) - {n for codes in by_module.values() for n in codes})
    if stale:
        print(f"\nmutate: {EQUIVALENTS.name} names mutants that no longer exist: {stale}")
    if score(totals) < min_score:
        print(f"\nmutate: the score {score(totals):.1f}% is below {min_score}%", file=sys.stderr)
        return 1
    return 0


def score(counts: Counter[str]) -> float:
    tested = counts["all"] - counts["equivalent"]
    return 100.0 * counts["killed"] / tested if tested else 100.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--min-score", type=float, default=85.0)
    parser.add_argument("--report-only", action="store_true", help="report the last run")
    args = parser.parse_args(argv)
    if args.fresh:
        shutil.rmtree(MUTANTS, ignore_errors=True)
    if not args.report_only:
        mutmut = Path(sys.executable).with_name("mutmut")
        children = str(os.cpu_count() or 1)
        result = subprocess.run([str(mutmut), "run", "--max-children", children], cwd=HERE)
        if result.returncode != 0:
            print(f"mutate: mutmut run failed ({result.returncode})", file=sys.stderr)
            return result.returncode
    return report(args.min_score)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
