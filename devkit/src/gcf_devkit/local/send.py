"""Send an event or a request to a function served by `gcf dev`, and print the response.

    gcf event events/pubsub/text_message.json
    gcf event pubsub --data "hello" --attribute origin=cli
    gcf event storage --bucket my-bucket --object reports/q1.csv
    gcf event firestore --document users/ada --field name=Ada --old-field name=ada
    gcf event audit-log --service storage.googleapis.com --method storage.objects.create

Options (--url, --mode, --function) follow the file or the kind. `make event FILE=...`
and `make event ARGS="pubsub --data hello"` run it against `make dev`. Events are
built by gcf_devkit.events as Eventarc builds them: Pub/Sub data in base64, Firestore
documents as protobuf. --mode structured sends the whole event as the JSON body;
binary mode, the default, sends attributes as ce- headers. --function picks the
function when main.py has several.
"""

from __future__ import annotations

import argparse
import http.client
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gcf_devkit import events, rules

# Seconds `gcf event` waits for the function's answer.
TIMEOUT = 30.0


def key_values(items: list[str], option: str) -> dict[str, str]:
    """Turn ["k=v", ...] into a dict; refuse an item without "="."""
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"event: {option} takes NAME=VALUE, not {item!r}")
        pairs[key] = value
    return pairs


def field_values(items: list[str], option: str) -> dict[str, Any]:
    """Document fields from NAME=VALUE, where VALUE is read as JSON when it is JSON."""
    fields: dict[str, Any] = {}
    for key, value in key_values(items, option).items():
        try:
            fields[key] = json.loads(value)
        except json.JSONDecodeError:
            fields[key] = value
    return fields


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default="http://localhost:8080", help="the dev server (default: %(default)s)"
    )
    common.add_argument("--function", help="the function to call (default: the only one served)")
    common.add_argument(
        "--mode", choices=["binary", "structured"], default="binary", help="CloudEvents HTTP mode"
    )
    common.add_argument("--project", default="my-project", help="project in the event's source")

    main = argparse.ArgumentParser(
        prog="gcf event",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = main.add_subparsers(dest="kind", metavar="FILE | KIND")
    file = kinds.add_parser("file", parents=[common], help="a sample from events/")
    file.add_argument("path", type=Path)

    pubsub = kinds.add_parser(
        "pubsub", parents=[common], help="a Pub/Sub message (and a scheduler tick)"
    )
    pubsub.add_argument("--data", default="", help="message text (use JSON for a JSON body)")
    pubsub.add_argument("--attribute", action="append", default=[], metavar="NAME=VALUE")
    pubsub.add_argument("--topic", default="my-topic")

    storage = kinds.add_parser("storage", parents=[common], help="a Cloud Storage object event")
    storage.add_argument("--bucket", required=True)
    storage.add_argument("--object", required=True, dest="name")
    storage.add_argument("--event", choices=rules.STORAGE_EVENTS, default="finalized")
    storage.add_argument("--content-type", default="text/plain")
    storage.add_argument("--size", type=int, default=0)

    firestore = kinds.add_parser("firestore", parents=[common], help="a Firestore document event")
    firestore.add_argument("--document", required=True, help="document path, such as users/ada")
    firestore.add_argument(
        "--field", action="append", default=[], metavar="NAME=VALUE", help="field after the change"
    )
    firestore.add_argument(
        "--old-field", action="append", default=[], metavar="NAME=VALUE", help="field before it"
    )
    firestore.add_argument("--event", choices=rules.FIRESTORE_EVENTS, default="written")
    firestore.add_argument("--database", default="(default)")

    audit = kinds.add_parser("audit-log", parents=[common], help="a Cloud Audit Logs entry")
    audit.add_argument("--service", required=True, help="such as storage.googleapis.com")
    audit.add_argument("--method", required=True, help="such as storage.objects.create")
    audit.add_argument("--resource", default="projects/_/resources/example")
    audit.add_argument("--principal", default="user@example.com")
    return main


def build(args: argparse.Namespace) -> Any:
    """The event (or, for a request file, the request) that the arguments describe."""
    if args.kind == "pubsub":
        attributes = key_values(args.attribute, "--attribute")
        return events.pubsub_message(args.data, attributes, project=args.project, topic=args.topic)
    if args.kind == "storage":
        return events.storage_object(
            args.bucket, args.name, event=args.event, content_type=args.content_type, size=args.size
        )
    if args.kind == "firestore":
        value = (
            field_values(args.field, "--field") if args.field or args.event != "deleted" else None
        )
        old = field_values(args.old_field, "--old-field") if args.old_field else None
        return events.firestore_document(
            args.document,
            value,
            old,
            event=args.event,
            project=args.project,
            database=args.database,
        )
    if args.kind == "audit-log":
        return events.audit_log_entry(
            args.service, args.method, args.resource, principal=args.principal, project=args.project
        )
    return events.load_sample(args.path)


def function_url(url: str, function: str | None) -> str:
    """The URL of the chosen function, or of the only one the dev server serves."""
    if function:
        return f"{url.rstrip('/')}/{function}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            served = [f["name"] for f in json.load(response)["functions"]]
    except urllib.error.HTTPError as error:  # such as main.py broken: the server says why
        body = error.read().decode(errors="replace").strip()
        raise SystemExit(f"event: the dev server answered {error.code}:\n{body}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(
            f"event: no dev server at {url} ({error}); start it with `make dev`"
        ) from None
    if len(served) != 1:
        raise SystemExit(
            f"event: {url} serves {', '.join(served) or 'no function'}: choose one with "
            "--function NAME (make event FUNCTION=NAME)"
        )
    return f"{url.rstrip('/')}/{served[0]}"


def deliver(url: str, event: Any, mode: events.Mode) -> tuple[int, str]:
    """Send a request or an event; on a failure, stop with what went wrong, not a traceback."""
    try:
        if isinstance(event, dict):
            return events.send_request(url, event, TIMEOUT)
        return events.send(url, event, mode, TIMEOUT)
    except urllib.error.URLError as error:  # urllib wraps what fails before the request is sent
        if isinstance(error.reason, TimeoutError):
            raise SystemExit(
                f"event: could not connect to {url} within {TIMEOUT:g} s; is make dev running?"
            ) from None
        raise SystemExit(
            f"event: could not send to {url} ({error.reason}); is make dev running?"
        ) from None
    except TimeoutError:
        raise SystemExit(
            f"event: {url} took the request but did not answer within {TIMEOUT:g} s; the "
            "dev server's output (make dev) shows what the function is doing"
        ) from None
    except (OSError, http.client.HTTPException) as error:  # such as RemoteDisconnected
        raise SystemExit(
            f"event: {url} took the request but closed the connection without an answer "
            f"({error}); the dev server's output (make dev) says why"
        ) from None


def main(argv: list[str]) -> int:
    if (
        argv
        and not argv[0].startswith("-")
        and argv[0] not in {"file", "pubsub", "storage", "firestore", "audit-log"}
    ):
        argv = ["file", *argv]  # a bare path is a file
    if argv[:1] in (["-h"], ["--help"]):
        parser().print_help()
        return 0
    if not argv or argv[0].startswith("-"):
        parser().error("give an event file or a kind of event first, then the options")
    args = parser().parse_args(argv)
    try:
        event = build(args)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"event: {error}") from None
    url = function_url(args.url, args.function)
    status, body = deliver(url, event, args.mode)
    if isinstance(event, dict):
        print(f"{event['method']} {url}{event.get('path', '/')} -> {status}")
    else:
        print(f"{event['type']} ({args.mode}, id {event['id']}) -> {url}: {status}")
    print(body)
    return 0 if status < 400 else 1
