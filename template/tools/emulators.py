"""Local Pub/Sub and Cloud Storage for `make dev`, wired from functions.yaml as in production.

    make dev                                       starts them beside the functions
    make publish TOPIC=records DATA='{"a": 1}' [ATTR="k=v k2=v2"]
    make upload FILE=events/pipeline/orders.csv [BUCKET=name]
    make dead-letters                              what reached each dead-letter topic

Pub/Sub is Google's emulator (`gcloud components install pubsub-emulator`, Java 11+).
Every topic a function reads or writes is created under its local id (suffixed
-<ENV> as when deployed), and each Pub/Sub or scheduler function gets a push
subscription to its path on the local server: the repo's own push subscription
(dead-letter topic, delivery attempts and retry backoff as `make deploy` sets them)
or, for a function behind an Eventarc trigger, the subscription Eventarc would own.
Each dead-letter topic has a pull subscription, read by `make dead-letters`. A
scheduler function's job publishes its message on its schedule, as Cloud Scheduler
does. Cloud Storage is gcp-storage-emulator, with a bucket per storage function;
`make upload` stores a file in it and delivers the `finalized` event to the
functions of that bucket, as Eventarc does. Functions reach both through
PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST. The emulators keep nothing between
runs unless PERSIST=1, and stop with `make dev`.

Ports: PUBSUB_PORT (default PORT+5, 8085) and STORAGE_PORT (default PORT+6, 8086).
PUBSUB_MIN_RETRY_DELAY / PUBSUB_MAX_RETRY_DELAY (such as 1s) shorten the local retry
backoff, to watch a failing message reach its dead-letter topic quickly.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import json
import mimetypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tools.deploy import MAX_RETRY_DELAY, MIN_RETRY_DELAY
from tools.manifest import ROOT, Function, Manifest

LOCAL = ROOT / ".local"
SINKS = LOCAL / "sinks"
LOGS = LOCAL / "emulators"
INSTALL_PUBSUB = "gcloud components install pubsub-emulator  # and Java 11 or newer"
READY_TIMEOUT = 60
# The fewest delivery attempts the emulator takes before it dead-letters a message.
LEAST_ATTEMPTS = 5


def say(message: str) -> None:
    print(f"devserver: {message}", file=sys.stderr, flush=True)


def ports(port: int) -> tuple[int, int]:
    """The Pub/Sub and Cloud Storage emulators' ports for a server on `port`."""
    pubsub = int(os.environ.get("PUBSUB_PORT") or port + 5)
    storage = int(os.environ.get("STORAGE_PORT") or port + 6)
    return pubsub, storage


def project(manifest: Manifest) -> str:
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or manifest.project or "local-project"


# ---------------------------------------------------------------- what is wired


@dataclass(frozen=True)
class Subscription:
    """A subscription of the emulator: push to a function, or pull (for a dead-letter topic)."""

    name: str
    topic: str
    function: str = ""  # entry point; "" for a pull subscription
    endpoint: str = ""
    dead_letter_topic: str = ""
    max_delivery_attempts: int = 0
    retry: bool = False
    ack_deadline: int = 10
    note: str = ""

    def body(self, project: str) -> dict[str, Any]:
        """The emulator's REST body for this subscription."""
        body: dict[str, Any] = {
            "topic": f"projects/{project}/topics/{self.topic}",
            "ackDeadlineSeconds": self.ack_deadline,
        }
        if self.endpoint:
            body["pushConfig"] = {"pushEndpoint": self.endpoint}
        if self.dead_letter_topic:
            body["deadLetterPolicy"] = {
                "deadLetterTopic": f"projects/{project}/topics/{self.dead_letter_topic}",
                "maxDeliveryAttempts": self.max_delivery_attempts,
            }
        if self.retry:
            body["retryPolicy"] = {
                "minimumBackoff": os.environ.get("PUBSUB_MIN_RETRY_DELAY") or MIN_RETRY_DELAY,
                "maximumBackoff": os.environ.get("PUBSUB_MAX_RETRY_DELAY") or MAX_RETRY_DELAY,
            }
        return body


@dataclass(frozen=True)
class Wiring:
    """Every topic and subscription the emulator needs for a manifest in one environment."""

    topics: list[str]
    subscriptions: list[Subscription]
    buckets: dict[str, list[Function]]

    @property
    def dead_letters(self) -> list[Subscription]:
        return [s for s in self.subscriptions if not s.function]


def wiring(manifest: Manifest, environment: str, project: str, port: int) -> Wiring:
    """What `make deploy` would create, under the same ids, pushing to the local server."""
    topics = {manifest.topic(t, environment) for t in manifest.owned_topics()}
    subscriptions: list[Subscription] = []
    buckets: dict[str, list[Function]] = {}
    for f in manifest.functions.values():
        if f.trigger_type == "storage":
            buckets.setdefault(f["storage_bucket"], []).append(f)
        if f.trigger_type not in ("pubsub", "scheduler"):
            continue
        topic = manifest.topic(f["pubsub_topic"], environment)
        topics.add(topic)
        name = manifest.function_name(f, environment)
        push = Subscription(
            name,
            topic,
            f.entry_point,
            f"http://127.0.0.1:{port}/{f.entry_point}/projects/{project}/topics/{topic}",
            ack_deadline=min(600, max(10, int(f["timeout"] or 60))),
            retry=True,
        )
        if f.push_subscription:  # the repo's own push subscription, as tools/deploy.py makes it
            dead_letter = manifest.topic(f["dead_letter_topic"], environment)
            attempts = int(f["max_delivery_attempts"])
            subscriptions.append(
                replace(push, dead_letter_topic=dead_letter, max_delivery_attempts=attempts)
            )
            subscriptions.append(Subscription(dead_letter, dead_letter))
        elif f["retry_on_failure"]:  # Eventarc retries with backoff (for up to a day)
            subscriptions.append(replace(push, name=f"eventarc-{name}"))
        else:
            # Eventarc drops a failed event; the emulator cannot, so after its fewest
            # attempts the message is parked on a local topic that `make dead-letters` shows.
            dropped = f"{name}-dropped"
            topics.add(dropped)
            subscriptions.append(
                replace(
                    push,
                    name=f"eventarc-{name}",
                    dead_letter_topic=dropped,
                    max_delivery_attempts=LEAST_ATTEMPTS,
                    note="dropped in production (no retry_on_failure)",
                )
            )
            subscriptions.append(Subscription(dropped, dropped))
    unique = list({s.name: s for s in subscriptions}.values())
    return Wiring(sorted(topics), unique, buckets)


def uses_pubsub(manifest: Manifest) -> bool:
    return any(
        f.trigger_type in ("pubsub", "scheduler") or f.publishes
        for f in manifest.functions.values()
    )


# ---------------------------------------------------------------- REST


def call(host: str, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
    """Call an emulator's REST API; return the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://{host}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read().decode()
    return json.loads(text) if text.strip() else {}


def wire_pubsub(host: str, project: str, wired: Wiring) -> None:
    for topic in wired.topics:
        call(host, "PUT", f"/v1/projects/{project}/topics/{topic}", {})
    for subscription in wired.subscriptions:
        path = f"/v1/projects/{project}/subscriptions/{subscription.name}"
        with contextlib.suppress(urllib.error.HTTPError):  # kept from a persisted run
            call(host, "DELETE", path)
        call(host, "PUT", path, subscription.body(project))


def publish(host: str, project: str, topic: str, data: bytes, attributes: dict[str, str]) -> str:
    message: dict[str, Any] = {"data": base64.b64encode(data).decode()}
    if attributes:
        message["attributes"] = attributes
    answer = call(
        host, "POST", f"/v1/projects/{project}/topics/{topic}:publish", {"messages": [message]}
    )
    return str(answer["messageIds"][0])


# ---------------------------------------------------------------- processes


def _die_with_parent() -> None:
    """In the child: get SIGTERM if `make dev` itself is killed (Linux), so nothing is orphaned."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def pubsub_command(port: int) -> list[str] | None:
    """The emulator's own java command (faster than through gcloud), or None if not installed."""
    gcloud, java = shutil.which("gcloud"), shutil.which("java")
    if not gcloud or not java:
        return None
    sdk = Path(os.environ.get("CLOUDSDK_ROOT_DIR") or Path(gcloud).resolve().parents[1])
    jars = sorted(
        (sdk / "platform" / "pubsub-emulator" / "lib").glob("cloud-pubsub-emulator-*.jar")
    )
    if not jars:
        return None
    fast_start = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    return [java, *fast_start, "-jar", str(jars[-1]), "--host=127.0.0.1", f"--port={port}"]


def storage_command(port: int, persist: bool) -> list[str]:
    command = [sys.executable, "-m", "gcp_storage_emulator", "start"]
    command += ["--host=127.0.0.1", f"--port={port}"]
    if not persist:
        return [*command, "--in-memory"]
    return command


def _leave_at_once(_worker: object) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class Process:
    """An emulator in a process group of its own, stopped with everything it started."""

    def __init__(self, name: str, command: list[str], port: int) -> None:
        self.name, self.port = name, port
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = LOGS / ("pubsub.log" if name.startswith("Pub/Sub") else "storage.log")
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                command,
                cwd=LOCAL,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_until_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# ---------------------------------------------------------------- the scheduler


CRON_NAMES = {
    name: number
    for names, first in (
        ("jan feb mar apr may jun jul aug sep oct nov dec", 1),
        ("sun mon tue wed thu fri sat", 0),
    )
    for number, name in enumerate(names.split(), first)
}


def cron_value(token: str) -> int:
    return CRON_NAMES[token] if token in CRON_NAMES else int(token)


def cron_field(field: str, low: int, high: int) -> set[int]:
    """The values a unix-cron field allows (`*`, `a-b`, `*/n`, `a-b/n`, lists, month and day names)."""
    values: set[int] = set()
    for part in field.lower().split(","):
        span, _, step = part.partition("/")
        if span == "*":
            first, last = low, high
        else:
            start, _, end = span.partition("-")
            first = cron_value(start)
            last = cron_value(end) if end else high if step else first
        values.update(range(first, last + 1, int(step or 1)))
    return values


def cron_matches(schedule: str, moment: datetime) -> bool:
    """Whether a 5-field unix-cron schedule fires in `moment`'s minute (day fields: either one)."""
    minute, hour, day, month, weekday = schedule.split()
    days = cron_field(day, 1, 31)
    weekdays = {d % 7 for d in cron_field(weekday, 0, 7)}
    day_ok = moment.day in days
    weekday_ok = moment.isoweekday() % 7 in weekdays
    either = day != "*" and weekday != "*"  # both restricted: either one may match
    on_day = (day_ok or weekday_ok) if either else (day_ok and weekday_ok)
    return (
        moment.minute in cron_field(minute, 0, 59)
        and moment.hour in cron_field(hour, 0, 23)
        and moment.month in cron_field(month, 1, 12)
        and on_day
    )


def run_jobs(
    host: str, project: str, jobs: list[tuple[Function, str]], stopped: threading.Event
) -> None:
    """Publish each scheduler function's message `{"job": name}` on its schedule."""
    while not stopped.wait(60 - time.time() % 60 + 0.01):
        for f, topic in jobs:
            if cron_matches(f["schedule"], datetime.now(ZoneInfo(f["schedule_time_zone"]))):
                try:
                    publish(host, project, topic, json.dumps({"job": f.name}).encode(), {})
                except OSError as error:
                    say(f"the job of {f.name} could not publish to {topic}: {error}")


# ---------------------------------------------------------------- make dev


class Emulators:
    """The emulators of one `make dev`: started at once, wired when ready, stopped on exit."""

    def __init__(self, manifest: Manifest, environment: str, port: int) -> None:
        self.manifest = manifest
        self.environment = environment
        self.project = project(manifest)
        self.persist = os.environ.get("PERSIST", "") not in ("", "0")
        self.wired = wiring(manifest, environment, self.project, port)
        self.processes: list[Process] = []
        self.owner = os.getpid()
        self.stopped = threading.Event()
        self.started = time.monotonic()

    def start(self) -> None:
        """Start what the functions need, set the variables they read, and wire in the background."""
        pubsub_port, storage_port = ports(int(os.environ.get("PORT", "8080")))
        if "LOCAL_SINK_DIR" not in os.environ:
            if not self.persist:
                shutil.rmtree(SINKS, ignore_errors=True)
            os.environ["LOCAL_SINK_DIR"] = str(SINKS)
        if uses_pubsub(self.manifest):
            command = pubsub_command(pubsub_port)
            if command is None:
                say(f"no Pub/Sub emulator, so topics deliver nothing; install it: {INSTALL_PUBSUB}")
            else:
                self.processes.append(Process("Pub/Sub emulator", command, pubsub_port))
                os.environ["PUBSUB_EMULATOR_HOST"] = f"127.0.0.1:{pubsub_port}"
        if self.wired.buckets:
            command = storage_command(storage_port, self.persist)
            self.processes.append(Process("Cloud Storage emulator", command, storage_port))
            os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{storage_port}"
        for process in self.processes:
            threading.Thread(target=self.prepare, args=(process,), daemon=True).start()
        clients = ROOT / "clients.py"
        if clients.exists() and "LOCAL_SINK_DIR" in clients.read_text():
            stand_ins = "BigQuery rows as JSON lines, emails as files"
            say(f"local stand-ins ({stand_ins}) in {os.environ['LOCAL_SINK_DIR']}")

    def prepare(self, process: Process) -> None:
        if not process.wait_until_ready():
            say(f"the {process.name} did not start; its output is in {process.log}")
            return
        seconds = time.monotonic() - self.started
        try:
            if process.name.startswith("Pub/Sub"):
                wire_pubsub(process.host, self.project, self.wired)
            else:
                for bucket in self.wired.buckets:
                    with contextlib.suppress(urllib.error.HTTPError):  # kept with PERSIST=1
                        body = {"name": bucket}
                        call(process.host, "POST", f"/storage/v1/b?project={self.project}", body)
        except OSError as error:
            say(f"could not wire the {process.name}: {error}; its output is in {process.log}")
            return
        say(
            f"{process.name} (pid {process.process.pid}) on {process.host}, ready in {seconds:.1f}s; log: {process.log}"
        )
        for line in self.describe(process):
            say(f"  {line}")
        jobs = [
            (f, self.manifest.topic(f["pubsub_topic"], self.environment))
            for f in self.manifest.functions.values()
            if f.trigger_type == "scheduler"
        ]
        if process.name.startswith("Pub/Sub") and jobs:
            threading.Thread(
                target=run_jobs, args=(process.host, self.project, jobs, self.stopped), daemon=True
            ).start()

    def describe(self, process: Process) -> list[str]:
        """What is wired, one line each."""
        if not process.name.startswith("Pub/Sub"):
            return [
                f"gs://{bucket} --finalized--> {', '.join('/' + f.entry_point for f in functions)}"
                " (make upload FILE=... BUCKET=" + bucket + ")"
                for bucket, functions in self.wired.buckets.items()
            ]
        lines = []
        for s in self.wired.subscriptions:
            if not s.function:
                continue
            line = f"{s.topic} -> {s.name} -> /{s.function}"
            if s.dead_letter_topic:
                line += f", after {s.max_delivery_attempts} attempts -> {s.dead_letter_topic}"
            if s.note:
                line += f" ({s.note})"
            lines.append(line)
        for f in self.manifest.functions.values():
            if f.trigger_type == "scheduler":
                topic = self.manifest.topic(f["pubsub_topic"], self.environment)
                lines.append(
                    f"job {f.name} ({f['schedule']}, {f['schedule_time_zone']}) -> {topic}"
                )
        publishes = sorted(
            {
                self.manifest.topic(t, self.environment)
                for f in self.manifest.functions.values()
                for t in f.publishes.values()
            }
        )
        if publishes:
            lines.append(f"functions publish to {', '.join(publishes)}")
        lines.append("make publish TOPIC=... DATA=...; make dead-letters")
        return lines

    def server_options(self) -> dict[str, Any]:
        """Options for the functions' server: on Ctrl-C a worker leaves at once, since the
        Pub/Sub emulator's open push connections would hold it until its graceful timeout."""
        if "PUBSUB_EMULATOR_HOST" in os.environ and self.processes:
            return {"worker_int": _leave_at_once}
        return {}

    def stop(self) -> None:
        """Stop every emulator (in the process that started them only, not in server workers)."""
        if os.getpid() != self.owner:
            return
        self.stopped.set()
        for process in self.processes:
            process.stop()
        self.processes.clear()


def start(environment: str, port: int) -> Emulators | None:
    """Start the emulators functions.yaml needs (none while it is broken: `make check` says why)."""
    from tools import manifest

    try:
        loaded = manifest.load()
    except manifest.ManifestError:
        say("functions.yaml is broken: no emulators until `make dev` is restarted")
        return None
    emulators = Emulators(loaded, environment, port)
    emulators.start()
    return emulators


# ---------------------------------------------------------------- commands


def _context() -> tuple[Manifest, str, int, str]:
    from tools import devserver, manifest

    environment = os.environ.get("ENV", "dev")
    with contextlib.suppress(ValueError, SystemExit):
        devserver.load_environment(environment)
    loaded = manifest.load()
    return loaded, environment, int(os.environ.get("PORT", "8080")), project(loaded)


def _unreachable(what: str, host: str) -> SystemExit:
    return SystemExit(f"no {what} on {host}: is `make dev` running (with the same PORT)?")


def command_publish(args: argparse.Namespace) -> None:
    manifest, environment, port, project_id = _context()
    host = f"127.0.0.1:{ports(port)[0]}"
    known = wiring(manifest, environment, project_id, port).topics
    topic = args.topic if args.topic in known else manifest.topic(args.topic, environment)
    if topic not in known:
        raise SystemExit(
            f"TOPIC: no topic {args.topic!r} in functions.yaml; topics: {', '.join(known)}"
        )
    data = Path(args.data[1:]).read_bytes() if args.data.startswith("@") else args.data.encode()
    attributes = dict(pair.split("=", 1) for pair in args.attr)
    try:
        message_id = publish(host, project_id, topic, data, attributes)
    except OSError:
        raise _unreachable("Pub/Sub emulator", host) from None
    print(f"published message {message_id} to {topic}")


def command_upload(args: argparse.Namespace) -> None:
    from tools import events

    manifest, environment, port, project_id = _context()
    host = f"127.0.0.1:{ports(port)[1]}"
    buckets = wiring(manifest, environment, project_id, port).buckets
    if not buckets:
        raise SystemExit("no storage function in functions.yaml: nothing to upload to")
    bucket = args.bucket or next(iter(buckets))
    if bucket not in buckets:
        known = ", ".join(buckets)
        raise SystemExit(f"BUCKET: no bucket {bucket!r} in functions.yaml; buckets: {known}")
    path = Path(args.file)
    if not path.is_file():
        raise SystemExit(f"FILE: no file at {path}")
    if path.stat().st_size == 0:
        raise SystemExit(
            f"FILE: {path} is empty, which the local Cloud Storage emulator cannot store "
            "(Cloud Storage can): upload a file with some content"
        )
    name = args.name or path.name
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    request = urllib.request.Request(
        f"http://{host}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={urllib.parse.quote(name, safe='')}",
        data=path.read_bytes(),
        method="POST",
        headers={"Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            stored = json.loads(response.read())
    except urllib.error.HTTPError as error:
        reason = error.read().decode(errors="replace").strip() or f"HTTP {error.code}"
        raise SystemExit(f"the Cloud Storage emulator refused {name}: {reason}") from None
    except ConnectionRefusedError:
        raise _unreachable("Cloud Storage emulator", host) from None
    except OSError as error:  # it answered nothing: its log says why
        raise SystemExit(
            f"the Cloud Storage emulator failed on {name} ({error!r}); "
            f"its log: {LOGS / 'storage.log'}"
        ) from None
    print(f"stored gs://{bucket}/{name} (generation {stored.get('generation')})")
    for f in buckets.get(bucket, []):
        if f["storage_event"] != "finalized":
            continue
        event = events.storage_event({**stored, "bucket": bucket, "name": name}, "finalized")
        status, text = events.send(f"http://127.0.0.1:{port}/{f.entry_point}", event)
        print(f"finalized -> /{f.entry_point}: {status} {text.strip()[:200]}")
        if status >= 400:
            sys.exit(1)


def command_dead_letters(_args: argparse.Namespace) -> None:
    manifest, environment, port, project_id = _context()
    host = f"127.0.0.1:{ports(port)[0]}"
    dead_letters = wiring(manifest, environment, project_id, port).dead_letters
    if not dead_letters:
        print("no dead-letter topic in functions.yaml")
    for s in dead_letters:
        path = f"/v1/projects/{project_id}/subscriptions/{s.name}"
        try:
            received = call(
                host, "POST", f"{path}:pull", {"maxMessages": 1000, "returnImmediately": True}
            )
        except OSError:
            raise _unreachable("Pub/Sub emulator", host) from None
        messages = received.get("receivedMessages", [])
        print(f"{s.topic}: {len(messages)} message(s)")
        for item in messages:
            message = item["message"]
            data = base64.b64decode(message.get("data", "")).decode(errors="replace")
            print(
                json.dumps(
                    {
                        "messageId": message.get("messageId"),
                        "data": data,
                        "attributes": message.get("attributes", {}),
                    }
                )
            )
        if messages:  # left on the topic: shown again next time
            ack_ids = [item["ackId"] for item in messages]
            call(
                host,
                "POST",
                f"{path}:modifyAckDeadline",
                {"ackIds": ack_ids, "ackDeadlineSeconds": 0},
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tools.emulators", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(required=True)
    publish_parser = commands.add_parser("publish", help="publish a message to a local topic")
    publish_parser.add_argument("topic", help="a topic of functions.yaml (its name or local id)")
    publish_parser.add_argument("data", help="the message data, or @FILE")
    publish_parser.add_argument("--attr", action="append", default=[], help="an attribute k=v")
    publish_parser.set_defaults(run=command_publish)
    upload_parser = commands.add_parser(
        "upload", help="store a file and deliver its finalized event"
    )
    upload_parser.add_argument("file")
    upload_parser.add_argument("--bucket", default="")
    upload_parser.add_argument("--name", default="", help="the object name (default: the file's)")
    upload_parser.set_defaults(run=command_upload)
    dead_parser = commands.add_parser(
        "dead-letters", help="show what reached each dead-letter topic"
    )
    dead_parser.set_defaults(run=command_dead_letters)
    args = parser.parse_args(argv)
    for pair in getattr(args, "attr", []):
        if "=" not in pair:
            parser.error(f"ATTR: {pair!r} is not k=v")
    args.run(args)


if __name__ == "__main__":
    main()
