"""`gcf publish`, `gcf upload`, `gcf dead-letters` and `gcf replay`: talk to the emulators of `gcf dev`.

Each finds the emulators from the server's port (PORT, default 8080) as `gcf dev` started
them, and names topics and buckets as functions.yaml does (a topic by its name or its
local id, suffixed -<ENV>).
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gcf_devkit import events
from gcf_devkit._errors import GcfError
from gcf_devkit.local.emulators import Wiring, call, ports, publish, wiring
from gcf_devkit.project import Project, ProjectError

# How many empty answers in a row mean a subscription holds no message.
EMPTY_PULLS = 3


class LocalError(GcfError):
    """An emulator cannot be reached, or refused what was asked; the message says what to do."""


@dataclass(frozen=True)
class Local:
    """A repo as `gcf dev` serves it: its environment, port and the project its emulators use."""

    project: Project
    environment: str
    port: int

    @property
    def project_id(self) -> str:
        try:
            variables = self.project.variables(self.environment)
        except ProjectError:
            variables = {}
        return variables.get("GOOGLE_CLOUD_PROJECT") or self.project.project_id or "local-project"

    @property
    def pubsub_host(self) -> str:
        return f"127.0.0.1:{ports(self.port)[0]}"

    @property
    def storage_host(self) -> str:
        return f"127.0.0.1:{ports(self.port)[1]}"

    def wired(self) -> Wiring:
        return wiring(self.project, self.environment, self.project_id, self.port)


def _unreachable(what: str, host: str) -> LocalError:
    return LocalError(f"no {what} on {host}: is `make dev` running (with the same PORT)?")


def publish_message(local: Local, topic: str, data: bytes, attributes: dict[str, str]) -> str:
    """Publish to a topic of functions.yaml (its name, or its local id); return the message id."""
    known = local.wired().topics
    local_id = topic if topic in known else local.project.topic(topic, local.environment)
    if local_id not in known:
        raise LocalError(f"TOPIC: no topic {topic!r} in functions.yaml; topics: {', '.join(known)}")
    try:
        return publish(local.pubsub_host, local.project_id, local_id, data, attributes)
    except OSError:
        raise _unreachable("Pub/Sub emulator", local.pubsub_host) from None


def upload(local: Local, path: Path, bucket: str = "", name: str = "") -> list[str]:
    """Store a file in a bucket of functions.yaml and deliver its finalized event to the
    functions of that bucket, as Eventarc does; return what happened, one line each."""
    buckets = local.wired().buckets
    if not buckets:
        raise LocalError("no storage function in functions.yaml: nothing to upload to")
    bucket = bucket or next(iter(buckets))
    if bucket not in buckets:
        raise LocalError(
            f"BUCKET: no bucket {bucket!r} in functions.yaml; buckets: {', '.join(buckets)}"
        )
    if not path.is_file():
        raise LocalError(f"FILE: no file at {path}")
    if path.stat().st_size == 0:
        raise LocalError(
            f"FILE: {path} is empty, which the local Cloud Storage emulator cannot store "
            "(Cloud Storage can): upload a file with some content"
        )
    name = name or path.name
    # Stored as bytes whatever the name: the emulator parses a body sent as application/json.
    content_type = "application/octet-stream"
    query = f"uploadType=media&name={urllib.parse.quote(name, safe='')}"
    request = urllib.request.Request(
        f"http://{local.storage_host}/upload/storage/v1/b/{bucket}/o?{query}",
        data=path.read_bytes(),
        method="POST",
        headers={"Content-Type": content_type},
    )
    log = local.project.layout.local / "emulators" / "storage.log"
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            stored = json.loads(response.read())
    except urllib.error.HTTPError as error:
        reason = error.read().decode(errors="replace").strip() or f"HTTP {error.code}"
        raise LocalError(f"the Cloud Storage emulator refused {name}: {reason}") from None
    except ConnectionRefusedError:
        raise _unreachable("Cloud Storage emulator", local.storage_host) from None
    except OSError as error:  # it answered nothing: its log says why
        raise LocalError(
            f"the Cloud Storage emulator failed on {name} ({error!r}); its log: {log}"
        ) from None
    lines = [f"stored gs://{bucket}/{name} (generation {stored.get('generation')})"]
    failed = False
    for f in buckets.get(bucket, []):
        if f.storage_event != "finalized":
            continue
        event = events.storage_event({**stored, "bucket": bucket, "name": name}, "finalized")
        url = f"http://127.0.0.1:{local.port}/{f.entry_point}"
        status, text = events.send(url, event, timeout=f.timeout + 10)
        lines.append(f"finalized -> /{f.entry_point}: {status} {text.strip()[:200]}")
        failed = failed or status >= 400
    if failed:
        raise LocalError("\n".join(lines))
    return lines


def _pull_all(local: Local, subscription: str) -> list[dict[str, Any]]:
    """Lease every message of a pull subscription. The emulator can answer a pull with
    nothing while it holds messages, so it is asked again until it has answered nothing
    three times in a row."""
    path = f"/v1/projects/{local.project_id}/subscriptions/{subscription}"
    found: dict[str, dict[str, Any]] = {}
    empty = 0
    while empty < EMPTY_PULLS:
        try:
            answer = call(
                local.pubsub_host,
                "POST",
                f"{path}:pull",
                {"maxMessages": 1000, "returnImmediately": True},
            )
        except OSError:
            raise _unreachable("Pub/Sub emulator", local.pubsub_host) from None
        received = answer.get("receivedMessages", [])
        for item in received:
            found.setdefault(item["message"].get("messageId", item["ackId"]), item)
        empty = 0 if received else empty + 1
        if not received:
            time.sleep(0.1)
    return list(found.values())


def _settle(local: Local, subscription: str, ack_ids: list[str], keep: bool) -> None:
    """Acknowledge leased messages, or (keep) hand them back at once, to be shown again."""
    if not ack_ids:
        return
    path = f"/v1/projects/{local.project_id}/subscriptions/{subscription}"
    if keep:
        body: dict[str, Any] = {"ackIds": ack_ids, "ackDeadlineSeconds": 0}
        call(local.pubsub_host, "POST", f"{path}:modifyAckDeadline", body)
    else:
        call(local.pubsub_host, "POST", f"{path}:acknowledge", {"ackIds": ack_ids})


def dead_letters(local: Local) -> list[str]:
    """What reached each dead-letter topic, left there to be shown again: a line per topic,
    and a JSON line per message (`make replay TOPIC=<that topic>` publishes them again)."""
    subscriptions = local.wired().dead_letters
    if not subscriptions:
        return ["no dead-letter topic in functions.yaml"]
    lines = []
    for s in subscriptions:
        messages = _pull_all(local, s.name)
        lines.append(f"{s.topic}: {len(messages)} message(s)")
        for item in messages:
            message = item["message"]
            data = base64.b64decode(message.get("data", "")).decode(errors="replace")
            lines.append(
                json.dumps(
                    {
                        "messageId": message.get("messageId"),
                        "data": data,
                        "attributes": message.get("attributes", {}),
                    }
                )
            )
        _settle(local, s.name, [item["ackId"] for item in messages], keep=True)
    return lines


def replay(local: Local, topic: str, message_id: str = "") -> str:
    """Publish the messages of a dead-letter topic (or only `message_id`) again to the topic
    they failed on, without the attributes Pub/Sub added, and remove them from it."""
    dead = {s.topic: s for s in local.wired().dead_letters}
    local_id = topic if topic in dead else local.project.topic(topic, local.environment)
    if local_id not in dead:
        known = ", ".join(dead) or "none"
        raise LocalError(
            f"TOPIC: {topic!r} is not a dead-letter topic; dead-letter topics: {known}"
        )
    sources = {s.name: s.topic for s in local.wired().subscriptions if s.function}
    fallback = next(
        (s.topic for s in local.wired().subscriptions if s.dead_letter_topic == local_id), ""
    )
    leased = _pull_all(local, dead[local_id].name)
    replayed, kept, targets = [], [], set()
    for item in leased:
        message = item["message"]
        if message_id and message.get("messageId") != message_id:
            kept.append(item["ackId"])
            continue
        attributes = message.get("attributes", {})
        target = sources.get(
            attributes.get("CloudPubSubDeadLetterSourceSubscription", ""), fallback
        )
        original = {
            k: v for k, v in attributes.items() if not k.startswith("CloudPubSubDeadLetter")
        }
        data = base64.b64decode(message.get("data", ""))
        try:
            publish(local.pubsub_host, local.project_id, target, data, original)
        except OSError:
            kept.append(item["ackId"])
            continue
        replayed.append(item["ackId"])
        targets.add(target)
    _settle(local, dead[local_id].name, kept, keep=True)
    _settle(local, dead[local_id].name, replayed, keep=False)
    if message_id and not replayed:
        raise LocalError(f"ID: no message {message_id} on {local_id} (make dead-letters)")
    return (
        f"replayed {len(replayed)} message(s) of {local_id} to {', '.join(sorted(targets)) or '-'}"
    )
