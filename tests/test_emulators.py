"""`make dev` with Google's Pub/Sub emulator and the Cloud Storage emulator, as real processes.

A pipeline repo: a CSV uploaded with `make upload` flows through every function by
the emulators' subscriptions, each valid record stored once and one email written;
a message that always fails reaches its dead-letter topic after the configured
attempts (`make dead-letters`); a message delivered twice is stored once. A single
Pub/Sub function and a scheduler function get what `make publish` publishes. Stopping
`make dev` (SIGTERM, Ctrl-C, a closed terminal's SIGHUP) leaves no emulator process and no port behind. The
retry backoff is shortened to 1s (PUBSUB_MIN_RETRY_DELAY, PUBSUB_MAX_RETRY_DELAY),
so that the dead-letter test takes seconds, not minutes.

They need Java and the gcloud component `pubsub-emulator` (`.ci/run` fails without
them); elsewhere they skip, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import MAKE, eventually, free_port

pytestmark = pytest.mark.xdist_group("emulators")


def emulator_jar() -> Path | None:
    gcloud, java = shutil.which("gcloud"), shutil.which("java")
    if not gcloud or not java:
        return None
    lib = Path(gcloud).resolve().parents[1] / "platform" / "pubsub-emulator" / "lib"
    return next(iter(sorted(lib.glob("cloud-pubsub-emulator-*.jar"))), None)


if emulator_jar() is None:
    pytest.skip(
        "needs Java and Google's Pub/Sub emulator: gcloud components install pubsub-emulator",
        allow_module_level=True,
    )


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has stopped


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Dev:
    """`make dev` in a copy of a generated repo, in a session of its own (as a terminal runs it)."""

    def __init__(self, path: Path, **env: str) -> None:
        self.path = path
        self.port, pubsub, storage = free_port(), free_port(), free_port()
        self.ports = {"pubsub": pubsub, "storage": storage}
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port),
            "PUBSUB_PORT": str(pubsub),
            "STORAGE_PORT": str(storage),
            "PUBSUB_MIN_RETRY_DELAY": "1s",
            "PUBSUB_MAX_RETRY_DELAY": "1s",
            **env,
        }
        self.env.pop("PUBSUB_EMULATOR_HOST", None)
        self.env.pop("STORAGE_EMULATOR_HOST", None)
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [*MAKE, "dev"],
            cwd=path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def line(self, text: str, timeout: float = 60) -> str:
        """The first output line that contains `text`, waiting for it."""
        found = eventually(
            lambda: (
                next((line for line in self.output if text in line), None)
                or (self.process.poll() is not None and f"exited: {self.log()}")
            ),
            timeout,
            f"{text!r} in the output of make dev",
        )
        assert not found.startswith("exited:"), found
        return str(found)

    def records(self) -> list[dict[str, Any]]:
        records = []
        for line in list(self.output):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def log(self) -> str:
        return "\n".join(self.output[-60:])

    def pids(self) -> dict[str, int]:
        """The emulators' process ids, as `make dev` reports them once they are ready."""
        found = {}
        for name, marker in (
            ("pubsub", "Pub/Sub emulator (pid "),
            ("storage", "Storage emulator (pid "),
        ):
            line = next((x for x in self.output if marker in x), None)
            if line:
                found[name] = int(line.split(marker)[1].split(")")[0])
        return found

    def make(self, *args: str) -> str:
        result = subprocess.run(
            [*MAKE, *args], cwd=self.path, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"make {' '.join(args)}:\n{result.stdout}{result.stderr}"
        return result.stdout

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Stop make dev as a terminal does: the signal goes to its whole process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signum)
        try:  # a bound for a loaded machine; unloaded, it stops in about a second
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


def start(render: Callable[..., Path], tmp: Path, **answers: Any) -> Dev:
    path = tmp / "fn"
    shutil.copytree(render(**answers), path)
    dev = Dev(path)
    dev.line("Pub/Sub emulator (pid")
    return dev


def assert_stops_cleanly(dev: Dev, signum: int) -> None:
    pids = dev.pids()
    assert pids and all(alive(pid) for pid in pids.values()), dev.log()
    dev.stop(signum)
    eventually(lambda: not any(alive(pid) for pid in pids.values()), 10, "emulators stopped")
    for name, port in dev.ports.items():
        assert not listening(port), f"the {name} emulator's port {port} is still open"
    assert not listening(dev.port)


# ---------------------------------------------------------------- the pipeline preset


@pytest.fixture(scope="module")
def pipeline(render, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    dev = start(render, tmp_path_factory.mktemp("emulated-pipeline"), preset="pipeline")
    dev.line("Cloud Storage emulator (pid")
    yield dev
    dev.stop()


def sink_rows(dev: Dev) -> list[dict[str, Any]]:
    path = dev.path / ".local" / "sinks" / "bigquery" / "pipeline.records.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def emails(dev: Dev) -> list[Path]:
    return sorted((dev.path / ".local" / "sinks" / "emails").glob("*.eml"))


def batch(batch_id: str, *record_ids: str) -> str:
    records = [
        {
            "record_id": record_id,
            "order_id": record_id,
            "customer_email": "ada@example.com",
            "amount": "1.50",
            "currency": "EUR",
        }
        for record_id in record_ids
    ]
    return json.dumps({"batch_id": batch_id, "source": "gs://test/batch.csv", "records": records})


def test_says_what_is_wired(pipeline: Dev) -> None:
    wired = pipeline.line("validated-records-dev -> enrich-records-dev -> /enrich_records")
    assert "after 5 attempts -> validated-records-dead-letter-dev" in wired
    pipeline.line("enrichment-complete-dev -> notify-stakeholders-dev -> /notify_stakeholders")
    pipeline.line("gs://")
    assert str(pipeline.path / ".local" / "sinks") in pipeline.line("local stand-ins")


def test_an_upload_flows_through_the_pipeline_once(pipeline: Dev) -> None:
    output = pipeline.make("upload", "FILE=events/pipeline/orders.csv")
    assert "finalized -> /validate_and_parse: 200" in output
    eventually(lambda: emails(pipeline), what="the summary email")
    time.sleep(1)  # anything delivered twice would arrive by now
    rows = [r for r in sink_rows(pipeline) if r["row"]["order_id"].startswith("A-")]
    assert sorted(r["row"]["order_id"] for r in rows) == ["A-1001", "A-1004", "A-1006"]
    assert len({r["insert_id"] for r in rows}) == 3
    assert len(emails(pipeline)) == 1
    assert "3 records stored from gs://" in emails(pipeline)[0].read_text()
    invalid = [r for r in pipeline.records() if r.get("message", "").startswith("Invalid row")]
    assert sorted(r["line"] for r in invalid) == [3, 4, 6], pipeline.log()


def test_uploads_the_emulator_cannot_take_are_refused_with_the_reason(pipeline: Dev) -> None:
    (pipeline.path / "empty.csv").write_bytes(b"")
    for args, reason in (
        (["FILE=empty.csv"], "FILE: empty.csv is empty"),
        (["FILE=events/pipeline/orders.csv", "BUCKET=elsewhere"], "BUCKET: no bucket 'elsewhere'"),
    ):
        result = subprocess.run(
            [*MAKE, "upload", *args],
            cwd=pipeline.path,
            env=pipeline.env,
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0
        assert reason in result.stderr, result.stderr


def test_a_message_delivered_twice_is_stored_once(pipeline: Dev) -> None:
    message = batch("twice+1", "twice")
    for _ in range(2):
        pipeline.make("publish", "TOPIC=validated-records", f"DATA={message}", "ATTR=origin=test")
    eventually(
        lambda: len([r for r in pipeline.records() if r.get("batch_id") == "twice+1"]) == 2,
        what="two deliveries of the batch",
    )
    assert [r["insert_id"] for r in sink_rows(pipeline)].count("twice") == 1


def test_a_message_that_always_fails_ends_on_its_dead_letter_topic(pipeline: Dev) -> None:
    # BigQuery "unavailable": the local table file is a folder, so every insert fails.
    table = pipeline.path / ".local" / "sinks" / "bigquery" / "pipeline.records.jsonl"
    table.parent.mkdir(parents=True, exist_ok=True)
    kept = table.read_bytes() if table.is_file() else b""
    table.unlink(missing_ok=True)
    table.mkdir()
    failures = lambda: [line for line in pipeline.output if "IsADirectoryError" in line]  # noqa: E731
    try:
        pipeline.make("publish", "TOPIC=validated-records", f"DATA={batch('doomed+1', 'doomed')}")

        def dead_lettered() -> str:
            shown = pipeline.make("dead-letters")
            return shown if "validated-records-dead-letter-dev: 1 message(s)" in shown else ""

        shown = eventually(dead_lettered, 60, "the message on the dead-letter topic")
    finally:
        table.rmdir()
        table.write_bytes(kept)
    assert len(failures()) == 5  # max_delivery_attempts in functions.yaml
    message = json.loads(shown.splitlines()[1])
    assert json.loads(message["data"])["batch_id"] == "doomed+1"
    source = message["attributes"]["CloudPubSubDeadLetterSourceSubscription"]
    assert source == "enrich-records-dev"
    # `make dead-letters` leaves it there, to be shown again.
    assert "validated-records-dead-letter-dev: 1 message(s)" in pipeline.make("dead-letters")


def test_sigterm_stops_the_emulators(pipeline: Dev) -> None:
    assert_stops_cleanly(pipeline, signal.SIGTERM)


# ---------------------------------------------------------------- single functions


@pytest.mark.parametrize(
    ("trigger", "style", "topic", "logged", "stop"),
    [
        ("pubsub", "sync", "my-function-topic", "Received message", signal.SIGINT),  # Ctrl-C
        ("scheduler", "sync", "my-function-ticks", "Scheduled run", signal.SIGHUP),  # closed
        # The emulator pushes a raw Pub/Sub body, to which functions-framework's async path
        # answers 400: make dev turns it into a CloudEvent first (gcf_devkit.local.pushed).
        ("pubsub", "async", "my-function-topic", "Received message", signal.SIGTERM),
        ("scheduler", "async", "my-function-ticks", "Scheduled run", signal.SIGINT),
    ],
)
def test_a_published_message_reaches_the_function(
    trigger: str,
    style: str,
    topic: str,
    logged: str,
    stop: int,
    render,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    dev = start(
        render,
        tmp_path_factory.mktemp(f"emulated-{trigger}-{style}"),
        trigger_type=trigger,
        function_style=style,
    )
    try:
        dev.make("publish", f"TOPIC={topic}", 'DATA={"job": "now"}')
        dev.line(logged)
        assert_stops_cleanly(dev, stop)
    finally:
        dev.stop(signal.SIGKILL)


def test_without_the_emulator_every_function_is_served_and_the_install_is_named(
    render, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("no-emulator") / "fn"
    shutil.copytree(render(trigger_type="pubsub"), path)
    dev = Dev(path, CLOUDSDK_ROOT_DIR=str(path / "no-sdk"))
    try:
        said = dev.line("no Pub/Sub emulator")
        assert "gcloud components install pubsub-emulator" in said
        dev.line("serving /my_function (cloudevent)")
        eventually(lambda: listening(dev.port), what="the server")
    finally:
        dev.stop()
    assert "Traceback" not in dev.log()
