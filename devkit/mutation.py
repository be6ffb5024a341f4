"""Mutation testing: `python3 tasks.py mutate [--fresh] [--min-score N]`.

mutmut makes small changes to the code, one at a time, and runs the tests that cover each: a
change no test notices (a survivor) is a bug the tests would let through. Two targets: gcf-devkit's
rules, project model and deploy and setup plans (devkit/pyproject.toml, [tool.mutmut]), and the
pipeline preset's main.py, rendered with the defaults into .mutation/pipeline with its own unit
tests. This prints the score of each module (killed / (all - equivalent)), every survivor, and
exits 1 when the score of all of them is below --min-score (85 by default).

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
ROOT = HERE.parent
PIPELINE = ROOT / ".mutation" / "pipeline"  # git-ignored
# Where mutmut runs, and the prefix of its modules in the report.
TARGETS = {HERE: "", PIPELINE: "pipeline preset: "}
EQUIVALENTS = HERE / "mutation-equivalents.toml"
PIPELINE_CONFIG = """
[tool.mutmut]
source_paths = ["main.py"]
also_copy = ["clients.py", "settings.py", "logs.py", "payloads.py", "tests/", "events/",
             "functions.yaml", "env.dev.yaml", "env.production.yaml", ".copier-answers.yml"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]
pytest_add_cli_args_test_selection = ["tests/unit"]
"""
# mutmut's exit codes of a mutant's test run (mutmut.__main__.status_by_exit_code).
KILLED = {1, 3, 37}  # tests failed, or the type check did
TIMEOUT = {24, -24, 36, 152, 255}  # the mutant made the tests hang: caught
SURVIVED = {0}


def results() -> dict[str, dict[str, int | None]]:
    """Each mutated module's mutants, by name, with the exit code of their tests."""
    by_module: dict[str, dict[str, int | None]] = {}
    for target, prefix in TARGETS.items():
        mutants = target / "mutants"
        for meta in sorted(mutants.rglob("*.py.meta")):
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            if codes:
                module = meta.relative_to(mutants).as_posix().removesuffix(".py.meta")
                module = module.removeprefix("src/").replace("/", ".")
                by_module[prefix + module] = codes
    return by_module


def render_pipeline() -> None:
    """The pipeline preset with the defaults, as `copier copy` writes it, ready for mutmut."""
    shutil.rmtree(PIPELINE, ignore_errors=True)
    copier = Path(sys.executable).with_name("copier")
    command = [str(copier), "copy", "--trust", "--defaults", "--quiet", "--data", "preset=pipeline"]
    subprocess.run([*command, str(ROOT), str(PIPELINE)], check=True)
    with (PIPELINE / "pyproject.toml").open("a") as pyproject:
        pyproject.write(PIPELINE_CONFIG)


def report(min_score: float) -> int:
    equivalent = tomllib.loads(EQUIVALENTS.read_text()).get("equivalent", {})
    by_module = results()
    if not by_module:
        print("mutate: mutmut tested no mutant (see its output above)", file=sys.stderr)
        return 1
    totals: Counter[str] = Counter()
    survivors: dict[str, list[str]] = defaultdict(list)
    columns = ("all", "tested", "killed", "equivalent", "survived")
    print(f"{'module':36}" + "".join(f"{c:>11}" for c in columns) + f"{'score':>8}")
    for module, codes in by_module.items():
        counts: Counter[str] = Counter(all=len(codes))
        for name, code in codes.items():
            if code is None:  # not run yet (an interrupted run)
                continue
            counts["tested"] += 1
            if code in KILLED or code in TIMEOUT:
                counts["killed"] += 1
            elif name in equivalent:
                counts["equivalent"] += 1
            else:
                counts["survived"] += 1
                status = "no test covers it" if code in (5, 33) else "survived"
                if code not in SURVIVED | {5, 33}:
                    status = f"exit code {code}"
                survivors[module].append(f"{name} ({status})")
        totals.update(counts)
        print(
            f"{module:36}"
            + "".join(f"{counts[c]:>11}" for c in columns)
            + f"{score(counts):>7.1f}%"
        )
    print(f"{'all':36}" + "".join(f"{totals[c]:>11}" for c in columns) + f"{score(totals):>7.1f}%")
    for module, names in survivors.items():
        print(f"\nsurvivors in {module} (`mutmut show NAME` where it ran shows one):")
        print("\n".join(f"  {name}" for name in names))
    stale = sorted(set(equivalent) - {n for codes in by_module.values() for n in codes})
    if stale:
        print(f"\nmutate: {EQUIVALENTS.name} names mutants that no longer exist: {stale}")
    if totals["tested"] < totals["all"]:
        print(f"\nmutate: {totals['all'] - totals['tested']} mutants not run yet", file=sys.stderr)
        return 1
    if score(totals) < min_score:
        print(f"\nmutate: the score {score(totals):.1f}% is below {min_score}%", file=sys.stderr)
        return 1
    return 0


def score(counts: Counter[str]) -> float:
    """Killed among the mutants tested, not counting equivalent ones."""
    tested = counts["tested"] - counts["equivalent"]
    return 100.0 * counts["killed"] / tested if tested else 100.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--min-score", type=float, default=85.0)
    parser.add_argument("--report-only", action="store_true", help="report the last run")
    args = parser.parse_args(argv)
    if args.fresh:
        shutil.rmtree(HERE / "mutants", ignore_errors=True)
    if not args.report_only:
        render_pipeline()
        mutmut = Path(sys.executable).with_name("mutmut")
        children = str(os.cpu_count() or 1)
        for target in TARGETS:
            result = subprocess.run([str(mutmut), "run", "--max-children", children], cwd=target)
            if result.returncode != 0:
                print(f"mutate: mutmut run in {target} failed", file=sys.stderr)
                return result.returncode
    return report(args.min_score)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
