"""`gcf`: check, serve, deploy and set up the functions of a repo made by gcf-template.

Run it anywhere in a function repo (the folder with functions.yaml, or below it); the
repo's Makefile runs it for each target (`make check` is `gcf check`, and so on).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gcf_devkit import __version__
from gcf_devkit._errors import GcfError
from gcf_devkit.project import Project, ProjectError

if TYPE_CHECKING:
    from gcf_devkit.local.commands import Local


def _environ_flag(name: str) -> bool:
    return os.environ.get(name, "0") not in ("", "0")


# Functions deployed at once: few enough to stay under Cloud Build's and the APIs' quotas.
DEFAULT_JOBS = 4


def _positive(value: str) -> int:
    """A count of 1 or more (JOBS=, --jobs)."""
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"jobs: must be a whole number, 1 or more (got {value!r})")
    return int(value)


def _doc(module: str) -> tuple[str, str]:
    """A module's first paragraph and the rest, for a command's description and epilog."""
    import ast
    import importlib.util

    # Read from the source, not imported: `gcf deploy` runs where only gcf-devkit and PyYAML
    # are installed (requirements-deploy.txt), without the local tools' dependencies.
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec else None
    if origin is None:
        return "", ""
    source = Path(origin).read_text(encoding="utf-8")
    text = (ast.get_docstring(ast.parse(source)) or "").strip()
    first, _, rest = text.partition("\n\n")
    return " ".join(first.split()), rest


def command_check(args: argparse.Namespace) -> int:
    from gcf_devkit.cloud.costs import cost_warnings
    from gcf_devkit.project._mainpy import main_py_errors

    project = Project.load()
    try:
        errors = main_py_errors(project)
    except Exception as error:  # main.py's own error, shown as such
        print(f"main.py cannot be imported: {error!r}", file=sys.stderr)
        return 1
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    for f in project.functions.values():
        print(
            f"{f.name}: {f.entry_point} ({f.trigger_type}, {f.function_style}), {f.memory}, "
            f"{f.cpu} vCPU, concurrency {f.concurrency}"
        )
    print(f"functions.yaml: {len(project.functions)} function(s) checked against main.py")
    for warning in project.shared_identity_warnings() + cost_warnings(project):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def command_dev(args: argparse.Namespace) -> int:
    from gcf_devkit.local.devserver import serve
    from gcf_devkit.project import Layout

    serve(Layout.find(), args.env, args.host, args.port)
    return 0


def command_deploy(args: argparse.Namespace) -> int:
    from gcf_devkit.cloud import deploy
    from gcf_devkit.cloud._steps import execute_units, perform, require_gcloud

    project = Project.load()
    if not args.environment:
        known = ", ".join(project.environments)
        raise ProjectError([f"name an environment: make deploy ENV=<environment>, one of {known}"])
    if not args.dry_run:
        require_gcloud()
    plan = deploy.plan(project, args.environment, args.function, args.dry_run)
    if args.dry_run:
        perform(plan.steps, "deploy", args.dry_run, project.root)
        return 0
    execute_units(plan, "deploy", project.root, args.jobs, url=plan.url)
    return 0


def command_setup(args: argparse.Namespace) -> int:
    from gcf_devkit.cloud import setup
    from gcf_devkit.cloud._steps import perform, require_gcloud
    from gcf_devkit.cloud.costs import cost_warnings

    project = Project.load()
    if not args.environment:
        raise ProjectError(["name an environment: make setup ENV=<environment>"])
    if not args.dry_run:
        require_gcloud()
    plan = setup.plan(project, args.environment, args.dry_run)
    for warning in project.shared_identity_warnings() + cost_warnings(project):
        print(f"setup: {warning}", file=sys.stderr)
    perform(plan.steps, "setup", args.dry_run, project.root)
    if args.dry_run:
        return 0
    for note in plan.notes:
        print(f"setup: {note}", file=sys.stderr)
    values = plan.ci_values()
    if values:
        print(
            f'setup: done. CI needs these values (README.md, "{plan.ci_section()}"):',
            file=sys.stderr,
        )
        print("\n".join(values))
    else:
        print("setup: done.", file=sys.stderr)
    return 0


def command_event(args: argparse.Namespace) -> int:
    from gcf_devkit.local import send

    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return send.main(rest)


def _local(args: argparse.Namespace) -> Local:
    from gcf_devkit.local.commands import Local

    return Local(Project.load(), args.env, args.port)


def command_publish(args: argparse.Namespace) -> int:
    from gcf_devkit.local.commands import publish_message

    attributes = {}
    for pair in args.attr:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"publish: ATTR: {pair!r} is not k=v")
        attributes[key] = value
    data = Path(args.data[1:]).read_bytes() if args.data.startswith("@") else args.data.encode()
    message_id = publish_message(_local(args), args.topic, data, attributes)
    print(f"published message {message_id} to {args.topic}")
    return 0


def command_upload(args: argparse.Namespace) -> int:
    from gcf_devkit.local.commands import upload

    print("\n".join(upload(_local(args), Path(args.file), args.bucket, args.name)))
    return 0


def command_dead_letters(args: argparse.Namespace) -> int:
    from gcf_devkit.local.commands import dead_letters

    print("\n".join(dead_letters(_local(args))))
    return 0


def command_replay(args: argparse.Namespace) -> int:
    from gcf_devkit.local.commands import replay

    print(replay(_local(args), args.topic, args.id))
    return 0


def command_lock(args: argparse.Namespace) -> int:
    from gcf_devkit.lock import lock, stale
    from gcf_devkit.project import Layout

    root = Layout.find().root
    if args.check:
        problems = stale(root)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `make lock` to lock requirements*.in again", file=sys.stderr)
        return 1 if problems else 0
    for written in lock(root, upgrade=args.upgrade):
        print(f"{written}: locked")
    return 0


def command_postgres(args: argparse.Namespace) -> int:
    from gcf_devkit.local import postgres
    from gcf_devkit.project import Layout

    return postgres.serve(Layout.find().schema)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="gcf", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    main.add_argument("--version", action="version", version=f"gcf-devkit {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, run: Callable[[argparse.Namespace], int], module: str, summary: str
    ) -> argparse.ArgumentParser:
        description, epilog = _doc(module)
        command = commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.set_defaults(run=run)
        return command

    def local_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--env",
            default=os.environ.get("ENV") or "dev",
            help="the environment (ENV, default dev)",
        )
        command.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8080),
            help="the port of `gcf dev` (PORT, default 8080); the emulators' ports follow it",
        )

    add(
        "check",
        command_check,
        "gcf_devkit.project._manifest",
        "check functions.yaml against the platform's rules and main.py, and warn of costs",
    )
    dev = add(
        "dev", command_dev, "gcf_devkit.local.devserver", "serve every function, with its emulators"
    )
    local_options(dev)
    dev.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1: this machine only)",
    )
    for name, run, module, summary in (
        (
            "deploy",
            command_deploy,
            "gcf_devkit.cloud.deploy",
            "deploy every function to an environment",
        ),
        ("setup", command_setup, "gcf_devkit.cloud.setup", "prepare an environment's project once"),
    ):
        command = add(name, run, module, summary)
        command.add_argument("environment", nargs="?", default=os.environ.get("ENV", ""))
        command.add_argument(
            "--dry-run",
            action="store_true",
            default=_environ_flag("DRY_RUN"),
            help="print the commands, one shell-quoted line each, and run nothing (DRY_RUN=1)",
        )
        if name == "deploy":
            command.add_argument(
                "--function",
                default=os.environ.get("FUNCTION") or None,
                help="deploy this function only (FUNCTION=)",
            )
            command.add_argument(
                "--jobs",
                type=_positive,
                default=os.environ.get("JOBS") or str(DEFAULT_JOBS),  # argparse applies `type`
                help=f"deploy at most this many functions at once (JOBS=; default {DEFAULT_JOBS})",
            )
    event = add(
        "event", command_event, "gcf_devkit.local.send", "send a sample or an event to `gcf dev`"
    )
    event.add_argument(
        "rest", nargs=argparse.REMAINDER, help="a file in events/, or a kind and its options"
    )
    publish = add(
        "publish", command_publish, "gcf_devkit.local.commands", "publish to a topic of `gcf dev`"
    )
    local_options(publish)
    publish.add_argument("topic", help="a topic of functions.yaml (its name or local id)")
    publish.add_argument("data", help="the message data, or @FILE")
    publish.add_argument("--attr", action="append", default=[], help="an attribute k=v")
    upload = add(
        "upload",
        command_upload,
        "gcf_devkit.local.commands",
        "store a file in the Cloud Storage emulator and deliver its finalized event",
    )
    local_options(upload)
    upload.add_argument("file")
    upload.add_argument(
        "--bucket", default="", help="a bucket of functions.yaml (default: the first)"
    )
    upload.add_argument("--name", default="", help="the object name (default: the file's)")
    dead = add(
        "dead-letters",
        command_dead_letters,
        "gcf_devkit.local.commands",
        "show what reached each dead-letter topic of `gcf dev`",
    )
    local_options(dead)
    again = add(
        "replay",
        command_replay,
        "gcf_devkit.local.commands",
        "publish what reached a dead-letter topic of `gcf dev` again, to the topic it failed on",
    )
    local_options(again)
    again.add_argument("topic", help="a dead-letter topic (its name or local id)")
    again.add_argument("--id", default="", help="only this message id (default: every message)")
    locking = add(
        "lock",
        command_lock,
        "gcf_devkit.lock",
        "lock requirements*.in into requirements*.txt, every package with its hashes",
    )
    locking.add_argument(
        "--upgrade",
        action="store_true",
        default=_environ_flag("UPGRADE"),
        help="take the newest versions the sources allow (UPGRADE=1)",
    )
    locking.add_argument(
        "--check",
        action="store_true",
        help="change nothing; fail when a lock misses or differs from what its source pins",
    )
    add(
        "postgres",
        command_postgres,
        "gcf_devkit.local.postgres",
        "start a throw-away PostgreSQL with schema.sql",
    )
    return main


# What a failing command prints before its own message, and what it says was not done.
NOTHING_DONE = {"deploy": "nothing was deployed", "setup": "nothing was set up"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["event"]:  # its own parser: a file, or a kind of event and its options
        argv = ["event", "--", *argv[1:]]
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ProjectError as error:
        print("\n".join(error.errors), file=sys.stderr)
        if args.command in NOTHING_DONE:
            print(f"{args.command}: {NOTHING_DONE[args.command]}", file=sys.stderr)
    except GcfError as error:
        print(f"{args.command}: {error}", file=sys.stderr)
    return 2 if args.command in NOTHING_DONE else 1


if __name__ == "__main__":
    sys.exit(main())
