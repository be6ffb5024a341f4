"""Copier migrations: rewrite a generated repo's answers when a question changes.

copier.yml runs this from `_migrations`, gated by version and run at the "before"
stage of `copier update`: Copier then reads the rewritten answers file, so the
new version of the template sees the old values under the new names.

    python hooks/migrations.py rename-answer OLD NEW [--answers-file FILE]
    python hooks/migrations.py replace-value KEY OLD_VALUE NEW_VALUE [--answers-file FILE]

Standard library only: the answers file is the flat YAML map that Copier writes,
and each command edits just the lines of one top-level key. Running a command
twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


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


def replace_value(text: str, key: str, old: str, new: str) -> str:
    """Give `key` the value `new` when its value is `old` (a scalar, as YAML or JSON)."""
    line = re.compile(rf"^({re.escape(key)}:[ \t]*)(.*?)[ \t]*$", re.M)
    match = line.search(text)
    if not match or match[2].strip("'\"") != old:
        return text
    return text[: match.start(2)] + json.dumps(new) + text[match.end(2) :]


def main(argv: list[str]) -> int:
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
    args = parser.parse_args(argv)

    if not args.answers_file.is_file():
        print(f"migrations: no answers file at {args.answers_file}", file=sys.stderr)
        return 1
    text = args.answers_file.read_text()
    if args.command == "rename-answer":
        changed = rename_answer(text, args.old, args.new)
        what = f"renamed answer {args.old} to {args.new}"
    else:
        changed = replace_value(text, args.key, args.old, args.new)
        what = f"changed answer {args.key} from {args.old} to {args.new}"
    if changed != text:
        args.answers_file.write_text(changed)
        print(f"migrations: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
