"""Copier migrations: rewrite a generated repo when a version changes its answers or layout.

copier.yml runs this from `_migrations`, gated by version: at the "before" stage of
`copier update` (Copier then reads the rewritten answers file, so the new version of the
template sees the old values under the new names), or at the "after" stage.

    python hooks/migrations.py rename-answer OLD NEW [--answers-file FILE]
    python hooks/migrations.py replace-value KEY OLD_VALUE NEW_VALUE [--answers-file FILE]
    python hooks/migrations.py add-answer KEY VALUE [--answers-file FILE]
        (a question new to the repo, whose default would change what it does: record the
        value that keeps it, unless the answers have the key)
    python hooks/migrations.py keep-edited-tooling    (2.0.0, before: tools/ becomes gcf-devkit)
    python hooks/migrations.py use-devkit-imports     (2.0.0, after: tests import gcf_devkit)
    python hooks/migrations.py carry-requirements     (2.0.0, after: requirements*.txt are locks
        of requirements*.in: the packages you added are carried to the .in files)

Standard library only (carry-requirements reads extensions/gcf.py's lock_key, which Copier
loads anyway): the answers file is the flat YAML map that Copier writes,
and each command edits just the lines of one top-level key. Running a command
twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

# Every content that the template's tools/ and scripts/deploy.sh had before 2.0.0, by path.
TOOLING = Path(__file__).with_name("tooling-before-2.0.0.json")
# The sections of a generated repo's imports that come after third-party ones.
FIRST_PARTY = {"main", "logs", "payloads", "clients", "settings", "database", "conftest", "tests"}


def key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(key)}:(?=\s|$)", re.M)


def rename_answer(text: str, old: str, new: str) -> str:
    """Rename the top-level key `old` to `new`, keeping its value and position."""
    if not key_pattern(old).search(text):
        return text
    if key_pattern(new).search(text):
        raise SystemExit(
            f"migrations: cannot rename {old} to {new}: the answers already have {new}"
        )
    return key_pattern(old).sub(f"{new}:", text, count=1)


# The escapes of a YAML double-quoted scalar (YAML 1.1, as PyYAML and so Copier read them).
ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}


def yaml_string(value: str) -> str:
    """`value` as a YAML double-quoted scalar that reads back as that very string, whatever it
    looks like (`yes`, `1.0`, `null`, `#`, quotes). JSON's escapes, but a character beyond
    U+FFFF as \\UXXXXXXXX: YAML reads JSON's surrogate pair as two characters."""
    escaped = (f"\\U{ord(c):08x}" if ord(c) > 0xFFFF else json.dumps(c)[1:-1] for c in value)
    return '"' + "".join(escaped) + '"'


def read_scalar(text: str) -> str:
    """A one-line YAML scalar as the string it reads as: plain, 'single-' or "double-quoted"."""
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(
            r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)",
            lambda m: chr(int(m[1][1:], 16)) if len(m[1]) > 1 else ESCAPES.get(m[1], m[1]),
            text[1:-1],
        )
    return text


def replace_value(text: str, key: str, old: str, new: str) -> str:
    """Give `key` the value `new` when its value is `old` (a one-line scalar, plain or quoted);
    `new` is written quoted, so that it stays a string."""
    line = re.compile(rf"^({re.escape(key)}:[ \t]*)(.*?)[ \t]*$", re.M)
    match = line.search(text)
    if not match or read_scalar(match[2]) != old:
        return text
    return text[: match.start(2)] + yaml_string(new) + text[match.end(2) :]


def add_answer(text: str, key: str, value: str) -> str:
    """Record `key: value` (quoted, a string) unless the answers have the key: a question new
    to the repo whose default is not what the repo did before."""
    if key_pattern(key).search(text):
        return text
    return (
        text + ("" if not text or text.endswith("\n") else "\n") + f"{key}: {yaml_string(value)}\n"
    )


def keep_edited_tooling(root: Path) -> list[str]:
    """Before 2.0.0 removes tools/ and scripts/deploy.sh: rename each one whose owner edited it
    to <file>.edited, which the update then leaves alone (Copier would delete it). Returns what
    was kept, one line each."""
    known: dict[str, list[str]] = json.loads(TOOLING.read_text())
    kept = []
    for name, contents in known.items():
        path = root / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() in contents:
            continue
        target = path.with_name(path.name + ".edited")
        path.rename(target)
        kept.append(
            f"migrations: {name} has your edits, and gcf-template 2.0.0 replaces tools/ and "
            f"scripts/ with gcf-devkit (the `gcf` command): your version is kept as "
            f"{target.relative_to(root)}, unused; carry your change over (README.md, "
            '"The tooling: gcf-devkit"), then delete it.'
        )
    return kept


# What requirements.txt and requirements-dev.txt of gcf-template named before 2.0.0 (every
# version's): any other package in them was the repo owner's, and is carried to requirements.in.
TEMPLATE_PACKAGES = frozenset(
    [
        "asyncpg",
        "cloud-sql-python-connector",
        "cloudevents",
        "flask",
        "functions-framework",
        "gcf-devkit",
        "gcp-storage-emulator",
        "google-cloud-bigquery",
        "google-cloud-firestore",
        "google-cloud-pubsub",
        "google-cloud-storage",
        "google-events",
        "googleapis-common-protos",
        "greenlet",
        "httptools",
        "mypy",
        "pg8000",
        "pre-commit",
        "protobuf",
        "pytest",
        "pyyaml",
        "ruff",
        "sendgrid",
        "sqlalchemy",
        "starlette",
        "types-pyyaml",
        "uvicorn",
        "uvicorn-worker",
        "uvloop",
    ]
)
# (what 1.x wrote, what 2.0.0 locks it into, what lists the packages since)
REQUIREMENTS = (
    ("requirements.txt", "requirements.in"),
    ("requirements-dev.txt", "requirements-dev.in"),
)
LOCKS = ("requirements.txt", "requirements-dev.txt", "requirements-deploy.txt")


def _name(line: str) -> str:
    match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return re.sub(r"[-_.]+", "-", match[1]).lower() if match else ""


def _requirement_lines(text: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-")) and _name(line)]


def _template_locks(template: Path) -> ModuleType:
    """The template's extensions/gcf.py, whose `locked` renders the locks of a requirements.in."""
    spec = importlib.util.spec_from_file_location(
        "gcf_template_locks", template / "extensions" / "gcf.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def carry_requirements(root: Path, template: Path) -> list[str]:
    """After 2.0.0 makes requirements.txt a lock of requirements.in (and requirements-dev.txt
    of requirements-dev.in): add to each .in the packages the repo's own file named before the
    update (git HEAD) that the template never did, and put the template's locks in place of
    what the update merged into them. Returns what was done, one line each."""
    carried: list[str] = []
    template_direct = ""
    for before, source in REQUIREMENTS:
        shown = subprocess.run(
            ["git", "show", f"HEAD:{before}"], cwd=root, capture_output=True, text=True, check=False
        )
        if shown.returncode != 0 or "--hash=" in shown.stdout or not (root / source).is_file():
            continue  # not a repo of 1.x, or migrated already
        text = (root / source).read_text()
        if source == "requirements.in":
            template_direct = text
        listed = {_name(line) for line in _requirement_lines(text)}
        mine = [
            line
            for line in _requirement_lines(shown.stdout)
            if _name(line) not in listed and _name(line) not in TEMPLATE_PACKAGES
        ]
        if mine:
            note = f"# Yours, from {before} before the update to gcf-template 2.0.0:\n"
            (root / source).write_text(text + note + "\n".join(mine) + "\n")
            carried += [f"{_name(line)} ({source})" for line in mine]
    if not template_direct:
        return []
    # The template's locks of its own requirements.in: the update merged the old
    # requirements.txt's edits into the new lock, which is no lock any more.
    locks = _template_locks(template)
    for name in LOCKS:
        if (root / name).is_file():
            (root / name).write_text(locks.locked(template_direct, name))
    if not carried:
        return []
    return [
        "migrations: requirements.txt and requirements-dev.txt are locks now, which `make lock`"
        " writes from requirements.in and requirements-dev.in; your "
        + ", ".join(carried)
        + " are carried over to them: run `make lock` (until then `make check` says what is"
        " not locked)."
    ]


def _section(line: str) -> str:
    module = re.match(r"(?:from|import)\s+([\w.]+)", line)
    top = module[1].split(".")[0] if module else ""
    if top == "__future__":
        return "future"
    if top in sys.stdlib_module_names:
        return "stdlib"
    return "first" if top in FIRST_PARTY else "third"


def use_devkit_import(text: str) -> str:
    """`from tools import events` -> `from gcf_devkit import events`, placed where isort puts a
    third-party import: in the third-party group, sorted, or in a group of its own."""
    old = re.compile(r"^from tools(\.events)? import (.+)$", re.M)
    match = old.search(text)
    if not match:
        return text
    new = f"from gcf_devkit{match[1] or ''} import {match[2]}"
    lines = text[: match.start()].split("\n")[:-1] + text[match.end() + 1 :].split("\n")
    imports = [i for i, line in enumerate(lines) if re.match(r"(from \S+ import |import )", line)]
    third = [i for i in imports if _section(lines[i]) == "third"]
    if third:
        froms = [i for i in third if lines[i].startswith("from ")]
        after = [i for i in froms if lines[i].lower() > new.lower()]
        at = after[0] if after else max(third) + 1
        lines.insert(at, new)
    else:
        first = [i for i in imports if _section(lines[i]) == "first"]
        at = first[0] if first else max(imports, default=0) + 1
        lines[at:at] = [new, ""]
    return "\n".join(lines)


def use_devkit_imports(root: Path) -> list[str]:
    """After 2.0.0: the tests import events from gcf_devkit, as tools/ is gone."""
    changed = []
    for path in sorted((root / "tests").rglob("*.py")):
        text = path.read_text()
        new = use_devkit_import(text)
        if new != text:
            path.write_text(new)
            changed.append(
                f"migrations: {path.relative_to(root)} imports events from gcf_devkit now"
            )
    return changed


def main(argv: list[str]) -> int:
    if argv[:1] == ["carry-requirements"]:
        # This file is the new template's: its locks are beside it.
        for line in carry_requirements(Path.cwd(), Path(__file__).resolve().parents[1]):
            print(line)
        return 0
    if argv[:1] in (["keep-edited-tooling"], ["use-devkit-imports"]):
        run = keep_edited_tooling if argv[0] == "keep-edited-tooling" else use_devkit_imports
        for line in run(Path.cwd()):
            print(line)
        return 0
    parser = argparse.ArgumentParser(prog="migrations", description="Rewrite Copier answers.")
    parser.add_argument("--answers-file", type=Path, default=Path(".copier-answers.yml"))
    commands = parser.add_subparsers(dest="command", required=True)
    rename = commands.add_parser("rename-answer")
    rename.add_argument("old")
    rename.add_argument("new")
    replace = commands.add_parser("replace-value")
    replace.add_argument("key")
    replace.add_argument("old")
    replace.add_argument("new")
    add = commands.add_parser("add-answer")
    add.add_argument("key")
    add.add_argument("value")
    args = parser.parse_args(argv)

    if not args.answers_file.is_file():
        print(f"migrations: no answers file at {args.answers_file}", file=sys.stderr)
        return 1
    text = args.answers_file.read_text(encoding="utf-8")
    if args.command == "rename-answer":
        changed = rename_answer(text, args.old, args.new)
        what = f"renamed answer {args.old} to {args.new}"
    elif args.command == "add-answer":
        changed = add_answer(text, args.key, args.value)
        what = f"recorded answer {args.key}: {args.value} (what the repo did before)"
    else:
        changed = replace_value(text, args.key, args.old, args.new)
        what = f"changed answer {args.key} from {args.old} to {args.new}"
    if changed != text:
        args.answers_file.write_text(changed, encoding="utf-8")
        print(f"migrations: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
