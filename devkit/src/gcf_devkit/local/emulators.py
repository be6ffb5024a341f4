"""Local Pub/Sub and Cloud Storage for `make dev`, wired from functions.yaml as in production.

`gcf dev` starts them beside the functions; `gcf publish`, `gcf upload` and
`gcf dead-letters` (gcf_devkit.local.commands) talk to them.

Pub/Sub is Google's emulator (`gcloud components install pubsub-emulator`, Java 11+).
Every topic a function reads or writes is created under its local id (suffixed
-<ENV> as when deployed), and each Pub/Sub or scheduler function gets a subscription
delivered to its path on the local server: the repo's own push subscription
(dead-letter topic, delivery attempts and retry backoff as `gcf deploy` sets them)
or, for a function behind an Eventarc trigger, the subscription Eventarc would own.
The emulator holds them as pull subscriptions, and gcf_devkit.local.delivery pushes
their messages, since the emulator's own push loses some (that module says when).
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

import base64
import contextlib
import ctypes
import json
import os
import re
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

from gcf_devkit import rules
from gcf_devkit.local.delivery import LEASE_SECONDS, Pusher, Route
from gcf_devkit.project import Function, Layout, Project, ProjectError

INSTALL_PUBSUB = "gcloud components install pubsub-emulator  # and Java 11 or newer"
READY_TIMEOUT = 60
# The fewest delivery attempts the emulator takes before it dead-letters a message.
LEAST_ATTEMPTS = 5


def say(message: str) -> None:
    """One line on stderr, in one write (the functions' logs share the terminal)."""
    sys.stderr.write(f"devserver: {message}\n")
    sys.stderr.flush()


def seconds(name: str, duration: str) -> float:
    """Seconds of a Pub/Sub duration such as "10s" or "1.5s"; `name` is where it was set."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)s", duration.strip())
    if not match:
        raise ValueError(f"{name}: must be seconds such as 10s (got {duration!r})")
    return float(match[1])


def ports(port: int) -> tuple[int, int]:
    """The Pub/Sub and Cloud Storage emulators' ports for a server on `port`."""
    pubsub = int(os.environ.get("PUBSUB_PORT") or port + 5)
    storage = int(os.environ.get("STORAGE_PORT") or port + 6)
    return pubsub, storage


def project_id(project: Project) -> str:
    """The project the emulators serve: the environment's, else the answers', else a local one."""
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or project.project_id or "local-project"


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
    ack_deadline: int = 10
    note: str = ""

    def body(self, project: str) -> dict[str, Any]:
        """The emulator's REST body for this subscription: a pull subscription, whose
        messages a function's `delivery.Pusher` delivers (the emulator's own push loses
        some: gcf_devkit.local.delivery says how)."""
        ack_deadline = LEASE_SECONDS if self.function else self.ack_deadline
        return {
            "topic": f"projects/{project}/topics/{self.topic}",
            "ackDeadlineSeconds": ack_deadline,
        }

    def retry_delays(self) -> tuple[float, float]:
        """The least and most delay between two deliveries, in seconds: as deployed, or
        PUBSUB_MIN_RETRY_DELAY / PUBSUB_MAX_RETRY_DELAY (such as 1s)."""
        least = seconds(
            "PUBSUB_MIN_RETRY_DELAY",
            os.environ.get("PUBSUB_MIN_RETRY_DELAY") or rules.MIN_RETRY_DELAY,
        )
        most = seconds(
            "PUBSUB_MAX_RETRY_DELAY",
            os.environ.get("PUBSUB_MAX_RETRY_DELAY") or rules.MAX_RETRY_DELAY,
        )
        return least, max(least, most)


@dataclass(frozen=True)
class Wiring:
    """Every topic and subscription the emulator needs for a repo in one environment."""

    topics: list[str]
    subscriptions: list[Subscription]
    buckets: dict[str, list[Function]]

    @property
    def dead_letters(self) -> list[Subscription]:
        return [s for s in self.subscriptions if not s.function]


def wiring(repo: Project, environment: str, project: str, port: int) -> Wiring:
    """What `make deploy` would create, under the same ids, pushing to the local server."""
    topics = {repo.topic(t, environment) for t in repo.owned_topics()}
    subscriptions: list[Subscription] = []
    buckets: dict[str, list[Function]] = {}
    for f in repo.functions.values():
        if f.trigger_type == "storage":
            buckets.setdefault(f.storage_bucket, []).append(f)
        if f.trigger_type not in ("pubsub", "scheduler"):
            continue
        topic = repo.topic(f.pubsub_topic, environment)
        topics.add(topic)
        name = repo.deployed_name(f, environment)
        push = Subscription(
            name,
            topic,
            f.entry_point,
            f"http://127.0.0.1:{port}/{f.entry_point}/projects/{project}/topics/{topic}",
            ack_deadline=rules.ack_deadline(f.timeout),
        )
        if f.push_subscription and not f.dead_letter_topic:
            subscriptions.append(push)  # the repo's own: retried with backoff, never moved
        elif f.push_subscription:  # the repo's own push subscription, as `gcf deploy` makes it
            dead_letter = repo.topic(f.dead_letter_topic, environment)
            attempts = int(f.max_delivery_attempts)
            subscriptions.append(
                replace(push, dead_letter_topic=dead_letter, max_delivery_attempts=attempts)
            )
            subscriptions.append(Subscription(dead_letter, dead_letter))
        elif f.retry_on_failure:  # Eventarc retries with backoff (for up to a day)
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


def uses_pubsub(repo: Project) -> bool:
    return any(
        f.trigger_type in ("pubsub", "scheduler") or f.publishes for f in repo.functions.values()
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

    def __init__(self, name: str, command: list[str], port: int, local: Path) -> None:
        self.name, self.port = name, port
        logs = local / "emulators"
        logs.mkdir(parents=True, exist_ok=True)
        self.log = logs / ("pubsub.log" if name.startswith("Pub/Sub") else "storage.log")
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                command,
                cwd=local,
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


def run_jobs(
    host: str, project: str, jobs: list[tuple[Function, str]], stopped: threading.Event
) -> None:
    """Publish each scheduler function's message `{"job": name}` on its schedule."""
    while not stopped.wait(60 - time.time() % 60 + 0.01):
        for f, topic in jobs:
            if rules.cron_matches(f.schedule, datetime.now(ZoneInfo(f.schedule_time_zone))):
                try:
                    publish(host, project, topic, json.dumps({"job": f.name}).encode(), {})
                except OSError as error:
                    say(f"the job of {f.name} could not publish to {topic}: {error}")


# ---------------------------------------------------------------- make dev


class Emulators:
    """The emulators of one `make dev`: started at once, wired when ready, stopped on exit."""

    def __init__(self, repo: Project, environment: str, port: int) -> None:
        self.repo = repo
        self.environment = environment
        self.project = project_id(repo)
        self.persist = os.environ.get("PERSIST", "") not in ("", "0")
        self.wired = wiring(repo, environment, self.project, port)
        self.processes: list[Process] = []
        self.pushers: list[Pusher] = []
        self.owner = os.getpid()
        self.stopped = threading.Event()
        self.started = time.monotonic()

    def start(self) -> None:
        """Start what the functions need, set the variables they read, and wire in the background."""
        pubsub_port, storage_port = ports(int(os.environ.get("PORT", "8080")))
        local = self.repo.layout.local
        sinks = local / "sinks"
        if "LOCAL_SINK_DIR" not in os.environ:
            if not self.persist:
                shutil.rmtree(sinks, ignore_errors=True)
            os.environ["LOCAL_SINK_DIR"] = str(sinks)
        if uses_pubsub(self.repo):
            command = pubsub_command(pubsub_port)
            if command is None:
                say(f"no Pub/Sub emulator, so topics deliver nothing; install it: {INSTALL_PUBSUB}")
            else:
                self.processes.append(Process("Pub/Sub emulator", command, pubsub_port, local))
                os.environ["PUBSUB_EMULATOR_HOST"] = f"127.0.0.1:{pubsub_port}"
        if self.wired.buckets:
            command = storage_command(storage_port, self.persist)
            self.processes.append(Process("Cloud Storage emulator", command, storage_port, local))
            os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{storage_port}"
        for process in self.processes:
            threading.Thread(target=self.prepare, args=(process,), daemon=True).start()
        clients = self.repo.root / "clients.py"
        if clients.exists() and "LOCAL_SINK_DIR" in clients.read_text():
            stand_ins = "BigQuery rows, emails and state objects as files: gcf_devkit.local.sinks"
            say(f"local stand-ins ({stand_ins}) in {os.environ['LOCAL_SINK_DIR']}")

    def prepare(self, process: Process) -> None:
        if not process.wait_until_ready():
            say(f"the {process.name} did not start; its output is in {process.log}")
            return
        seconds = time.monotonic() - self.started
        try:
            if process.name.startswith("Pub/Sub"):
                wire_pubsub(process.host, self.project, self.wired)
                self.push(process.host)
            else:
                for bucket in self.wired.buckets:
                    with contextlib.suppress(urllib.error.HTTPError):  # kept with PERSIST=1
                        body = {"name": bucket}
                        call(process.host, "POST", f"/storage/v1/b?project={self.project}", body)
        except (OSError, ValueError) as error:
            say(f"could not wire the {process.name}: {error}; its output is in {process.log}")
            return
        say(
            f"{process.name} (pid {process.process.pid}) on {process.host}, ready in {seconds:.1f}s; log: {process.log}"
        )
        for line in self.describe(process):
            say(f"  {line}")
        threading.Thread(target=self.watch, args=(process,), daemon=True).start()
        jobs = [
            (f, self.repo.topic(f.pubsub_topic, self.environment))
            for f in self.repo.functions.values()
            if f.trigger_type == "scheduler"
        ]
        if process.name.startswith("Pub/Sub") and jobs:
            threading.Thread(
                target=run_jobs, args=(process.host, self.project, jobs, self.stopped), daemon=True
            ).start()

    def watch(self, process: Process) -> None:
        """Say so when an emulator stops while `make dev` runs (killed, or out of memory): what
        it delivered stops arriving, and nothing else would tell."""
        code = process.process.wait()
        if not self.stopped.is_set() and os.getpid() == self.owner:
            say(
                f"the {process.name} (pid {process.process.pid}) stopped with exit code {code}: "
                f"what it delivers no longer arrives; its output is in {process.log}. "
                "Restart make dev."
            )

    def push(self, host: str) -> None:
        """Deliver each function's subscription, as Pub/Sub push does (gcf_devkit.local.delivery)."""
        for s in self.wired.subscriptions:
            if s.function:
                least, most = s.retry_delays()
                route = Route(
                    s.name, s.endpoint, s.ack_deadline, s.dead_letter_topic, s.max_delivery_attempts
                )
                pusher = Pusher(host, self.project, route, self.stopped, least, most)
                self.pushers.append(pusher)
                pusher.start()

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
        for f in self.repo.functions.values():
            if f.trigger_type == "scheduler":
                topic = self.repo.topic(f.pubsub_topic, self.environment)
                lines.append(f"job {f.name} ({f.schedule}, {f.schedule_time_zone}) -> {topic}")
        publishes = sorted(
            {
                self.repo.topic(t, self.environment)
                for f in self.repo.functions.values()
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
        for pusher in self.pushers:
            pusher.stop()
        for process in self.processes:
            process.stop()
        self.processes.clear()


def start(layout: Layout, environment: str, port: int) -> Emulators | None:
    """Start the emulators functions.yaml needs (none while it is broken: `gcf check` says why)."""
    try:
        repo = Project.load(layout.root)
    except ProjectError:
        say("functions.yaml is broken: no emulators until `make dev` is restarted")
        return None
    emulators = Emulators(repo, environment, port)
    emulators.start()
    return emulators
