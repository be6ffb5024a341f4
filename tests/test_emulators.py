"""`make dev` with Google's Pub/Sub emulator and the Cloud Storage emulator, as real processes.

A pipeline repo, run as its operator would: a CSV uploaded with `make upload` flows through
every function, each valid record stored once and one email per file (a 1,200-row spreadsheet
export in 3 batches, uploaded twice: two files, two emails, no row id shared); a file over
MAX_UPLOAD_BYTES is refused in one log line; any file is uploaded as bytes; a malformed message
is logged once with the rule it breaks and acknowledged, nothing stored; messages that always
fail all reach their dead-letter topic after the configured attempts (`make dead-letters`),
even several at once with 1 s retry delays, where the emulator's own push dropped them, and
`make replay` stores each once and sends their summaries; a message delivered twice is stored
once. A single Pub/Sub function and a scheduler function get what `make publish` publishes.
Stopping `make dev` (SIGTERM, Ctrl-C, a closed terminal's SIGHUP) leaves no emulator process
and no port behind. The retry backoff is shortened to 1s (PUBSUB_MIN_RETRY_DELAY,
PUBSUB_MAX_RETRY_DELAY), so that the dead-letter test takes seconds, not minutes.

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
    REASON = (
        "needs Java 11+ and Google's Pub/Sub emulator: `gcloud components install "
        "pubsub-emulator` (Debian's google-cloud-cli: `apt-get install "
        "google-cloud-cli-pubsub-emulator default-jre-headless`)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(REASON, pytrace=False)
    pytest.skip(REASON, allow_module_level=True)


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


# MAX_UPLOAD_BYTES in the copy's env.dev.yaml: a file over it is refused.
MOST_UPLOAD_BYTES = 300_000


@pytest.fixture(scope="module")
def pipeline(render, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    path = tmp_path_factory.mktemp("emulated-pipeline") / "fn"
    shutil.copytree(render(preset="pipeline"), path)
    env_file = path / "env.dev.yaml"
    text = env_file.read_text()
    assert 'MAX_UPLOAD_BYTES: "' in text
    env_file.write_text(
        "\n".join(
            f'MAX_UPLOAD_BYTES: "{MOST_UPLOAD_BYTES}"'
            if line.startswith("MAX_UPLOAD_BYTES:")
            else line
            for line in text.splitlines()
        )
        + "\n"
    )
    dev = Dev(path)
    dev.line("Pub/Sub emulator (pid")
    dev.line("Cloud Storage emulator (pid")
    yield dev
    dev.stop()


def sinks_of(dev: Dev) -> Path:
    return dev.path / ".local" / "sinks"


def sink_rows(dev: Dev) -> list[dict[str, Any]]:
    from gcf_devkit.local import sinks

    return sinks.stored_rows(sinks_of(dev), "pipeline.records")


def emails(dev: Dev) -> list[Path]:
    return sorted((sinks_of(dev) / "emails").glob("*.eml"))


def emails_about(dev: Dev, name: str) -> list[str]:
    texts = [path.read_text() for path in emails(dev)]
    return [text for text in texts if f"/{name}\n" in text]


def record(record_id: str, **values: str) -> dict[str, str]:
    fields = {"order_id": record_id, "customer_email": "ada@example.com"}
    return {"record_id": record_id, **fields, "amount": "1.50", "currency": "EUR", **values}


def batch(name: str, *records: dict[str, Any], **fields: Any) -> str:
    """A batch as validate_and_parse publishes it: the only (so last) batch of gs://test/<name>."""
    message: dict[str, Any] = {"file_id": file_id(name), "source": f"gs://test/{name}"}
    message |= {"index": 0, "records": list(records)}
    message["last"] = {"batches": 1, "rows": len(records), "invalid": 0, "invalid_lines": []}
    message["last"]["stopped"] = ""
    return json.dumps(message | fields)


def file_id(name: str) -> str:
    return name.encode().hex().ljust(32, "0")[:32]


def test_says_what_is_wired(pipeline: Dev) -> None:
    wired = pipeline.line("validated-records-dev -> enrich-records-dev -> /enrich_records")
    assert "after 5 attempts -> validated-records-dead-letter-dev" in wired
    pipeline.line("enrichment-complete-dev -> notify-stakeholders-dev -> /notify_stakeholders")
    pipeline.line("gs://")
    assert str(sinks_of(pipeline)) in pipeline.line("local stand-ins")


def test_an_upload_flows_through_the_pipeline_once(pipeline: Dev) -> None:
    output = pipeline.make("upload", "FILE=events/pipeline/orders.csv")
    assert "finalized -> /validate_and_parse: 200" in output
    eventually(lambda: emails_about(pipeline, "orders.csv"), what="the summary email")
    time.sleep(1)  # anything delivered twice would arrive by now
    rows = [r for r in sink_rows(pipeline) if r["row"]["order_id"].startswith("A-100")]
    assert sorted(r["row"]["order_id"] for r in rows) == ["A-1001", "A-1004", "A-1006"]
    assert len({r["insert_id"] for r in rows}) == 3
    [email] = emails_about(pipeline, "orders.csv")
    assert "Subject: 3 of 6 rows stored from gs://" in email
    assert "Invalid: 3, first at lines 3, 4, 6" in email
    assert "Totals: EUR 32.49; USD 7" in email
    invalid = [r for r in pipeline.records() if r.get("message", "").startswith("Invalid row")]
    assert sorted(r["line"] for r in invalid) == [3, 4, 6], pipeline.log()


def export(rows: int) -> bytes:
    """A spreadsheet export: byte order mark, CRLF, quoted commas and line breaks, unicode,
    a note column, mixed currencies, and every 100th row invalid."""
    lines = ["\ufefforder_id,customer_email,amount,currency,note"]
    for n in range(rows):
        currency = ("EUR", "JPY", "USD")[n % 3]
        email = "not an email" if n % 100 == 99 else f"zoë{n}@example.com"
        note = '"two\r\nlines, with a comma"' if n % 10 == 0 else "ü"
        lines.append(f"E-{n},{email},{n % 7}.25,{currency},{note}")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_one_summary_per_file_whatever_its_batches_and_uploads(pipeline: Dev) -> None:
    """1,200 rows make 3 batches; the same file uploaded twice is two files (two generations),
    whose rows do not collide; each gets one email with its totals per currency."""
    (pipeline.path / "export.csv").write_bytes(export(1200))
    for _ in range(2):
        pipeline.make("upload", "FILE=export.csv")
    eventually(lambda: len(emails_about(pipeline, "export.csv")) == 2, 60, "two summaries")
    time.sleep(2)  # a third would arrive by now
    first, second = emails_about(pipeline, "export.csv")
    assert first == second
    assert "Subject: 1188 of 1200 rows stored from gs://" in first
    # The invalid rows are reported at the line they start on (every 10th row spans 2 lines).
    assert "Invalid: 12, first at lines 111, 221," in first
    assert "Totals: EUR " in first and "; JPY " in first and "; USD " in first
    rows = [r for r in sink_rows(pipeline) if r["row"]["order_id"].startswith("E-")]
    assert len(rows) == len({r["insert_id"] for r in rows}) == 2 * 1188


def test_a_file_over_max_upload_bytes_is_refused_with_one_line(pipeline: Dev) -> None:
    (pipeline.path / "huge.csv").write_bytes(export(12_000))
    assert (pipeline.path / "huge.csv").stat().st_size > MOST_UPLOAD_BYTES
    assert "finalized -> /validate_and_parse: 200" in pipeline.make("upload", "FILE=huge.csv")
    said = pipeline.line("huge.csv has ")
    assert f"more than MAX_UPLOAD_BYTES ({MOST_UPLOAD_BYTES})" in said
    time.sleep(1)
    assert len([line for line in pipeline.output if "huge.csv has " in line]) == 1
    assert not [r for r in sink_rows(pipeline) if r["row"]["order_id"] == "E-11999"]


def test_any_file_is_uploaded_as_bytes(pipeline: Dev) -> None:
    for name, data in (("config.json", b'{"not": "orders"}'), ("notes.txt", b"{oops")):
        (pipeline.path / name).write_bytes(data)
        output = pipeline.make("upload", f"FILE={name}")
        assert "stored gs://" in output and "finalized -> /validate_and_parse: 200" in output
        pipeline.line(f"{name}: not a .csv file")


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
    twice = file_id("twice.csv")
    message = batch("twice.csv", record("twice"))
    for _ in range(2):
        pipeline.make("publish", "TOPIC=validated-records", f"DATA={message}", "ATTR=origin=test")
    eventually(
        lambda: len([r for r in pipeline.records() if r.get("file_id") == twice]) >= 2,
        what="two deliveries of the batch",
    )
    assert [r["insert_id"] for r in sink_rows(pipeline)].count("twice") == 1
    eventually(lambda: emails_about(pipeline, "twice.csv"), what="the summary")
    time.sleep(1)
    assert len(emails_about(pipeline, "twice.csv")) == 1


@pytest.mark.parametrize(
    ("name", "change", "rule"),
    [
        ("no-record-id", {"records": [{"order_id": "x"}]}, "records[0]: must be an object"),
        ("infinity", {"records": [record("inf", amount="Infinity")]}, "amount must be 0 or more"),
        ("numeric-id", {"file_id": 42}, "file_id: must be 32 hexadecimal digits"),
        ("traversal", {"file_id": "../../notified/" + "0" * 18}, "file_id: must be 32"),
        ("negative-index", {"index": -1}, "index: must be a whole number"),
    ],
)
def test_a_malformed_message_is_logged_once_and_acknowledged(
    pipeline: Dev, name: str, change: dict[str, Any], rule: str
) -> None:
    before = len(sink_rows(pipeline))
    data = batch(f"{name}.csv", record(f"malformed-{name}"), **change)
    start = len(pipeline.output)
    pipeline.make("publish", "TOPIC=validated-records", f"DATA={data}")
    pipeline.line(rule)
    time.sleep(2.5)  # a retry (1 s backoff here) would be logged by now
    assert len([line for line in pipeline.output[start:] if rule in line]) == 1
    assert len(sink_rows(pipeline)) == before
    assert "validated-records-dead-letter-dev: 0 message(s)" in pipeline.make("dead-letters")


def test_failing_messages_all_reach_the_dead_letter_topic_and_one_command_replays_them(
    pipeline: Dev,
) -> None:
    """With 1 s retry delays, several messages failing together all reach the dead-letter
    topic (Google's emulator, pushing, dropped them after 3 deliveries); `make replay`
    then stores each once, and the files' summaries are sent."""
    # BigQuery "unavailable": the local table's folder is a file, so every insert fails.
    table = sinks_of(pipeline) / "bigquery" / "pipeline.records"
    kept = pipeline.path / "kept-table"
    table.parent.mkdir(parents=True, exist_ok=True)
    if table.exists():
        table.rename(kept)
    table.write_text("unavailable")
    failures = lambda: [line for line in pipeline.output if "FileExistsError" in line]  # noqa: E731
    doomed = [f"doomed-{n}.csv" for n in range(3)]
    try:
        for n, name in enumerate(doomed):
            data = batch(name, record(f"doomed-{n}"))
            pipeline.make("publish", "TOPIC=validated-records", f"DATA={data}")

        def dead_lettered() -> str:
            shown = pipeline.make("dead-letters")
            return shown if "validated-records-dead-letter-dev: 3 message(s)" in shown else ""

        shown = eventually(dead_lettered, 90, "3 messages on the dead-letter topic")
    finally:
        table.unlink()
        if kept.exists():
            kept.rename(table)
    assert len(failures()) == 3 * 5, pipeline.log()  # max_delivery_attempts in functions.yaml
    messages = [json.loads(line) for line in shown.splitlines() if line.startswith("{")]
    assert sorted(json.loads(m["data"])["source"] for m in messages) == [
        f"gs://test/{name}" for name in doomed
    ]
    source = messages[0]["attributes"]["CloudPubSubDeadLetterSourceSubscription"]
    assert source == "enrich-records-dev"
    # `make dead-letters` leaves them there, to be shown again.
    assert "validated-records-dead-letter-dev: 3 message(s)" in pipeline.make("dead-letters")

    # One by its id (as `make dead-letters` shows it), then the others.
    one = f"ID={messages[0]['messageId']}"
    replayed = pipeline.make("replay", "TOPIC=validated-records-dead-letter-dev", one)
    assert (
        "replayed 1 message(s) of validated-records-dead-letter-dev to validated-records-dev"
        in (replayed)
    )
    assert "validated-records-dead-letter-dev: 2 message(s)" in pipeline.make("dead-letters")
    replayed = pipeline.make("replay", "TOPIC=validated-records-dead-letter-dev")
    assert "replayed 2 message(s)" in replayed
    eventually(lambda: all(emails_about(pipeline, name) for name in doomed), 60, "the summaries")
    stored = [r["insert_id"] for r in sink_rows(pipeline)]
    assert all(stored.count(f"doomed-{n}") == 1 for n in range(3))
    assert "validated-records-dead-letter-dev: 0 message(s)" in pipeline.make("dead-letters")


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
