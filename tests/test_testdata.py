"""Feed each generated event function every matching payload Google publishes for tests.

The payloads (tests/testdata/google-cloudevents, from googleapis/google-cloudevents)
are wrapped into CloudEvents by gcf_devkit.events (what generated repos build events with), sent
through the real functions-framework server in binary and structured mode, and
the function's log entry is checked against the payload.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gcf_devkit import events
from gcf_devkit.testing import FunctionServer

from conftest import GCF, TESTDATA

PAYLOADS = {
    "pubsub": "pubsub/v1/MessagePublishedData-*.json",
    "storage": "storage/v1/StorageObjectData-*.json",
    "firestore": "firestore/v1/DocumentEventData-*.json",
    "audit_log": "audit/v1/LogEntryData-*.json",
    "scheduler": "scheduler/v1/SchedulerJobData-*.json",
}
MODES = ("binary", "structured")


def payloads(trigger: str) -> list[Path]:
    found = sorted((TESTDATA / "google" / "events" / "cloud").glob(PAYLOADS[trigger]))
    assert found, f"no test payloads for {trigger}"
    return found


class Check:
    """How to turn a payload into an event, and what the function must log for it."""

    def __init__(self, events: Any) -> None:
        self.events = events

    def pubsub(self, payload: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        message = payload["message"]
        data = base64.b64decode(message.get("data", "")).decode("utf-8", "backslashreplace")
        expected = {"data": data, "attributes": message.get("attributes", {})}
        return self.events.pubsub_event(payload), expected

    def storage(self, payload: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        expected = {
            "message": f"Object gs://{payload['bucket']}/{payload['name']} finalized",
            "size": int(payload["size"]),
            "generation": int(payload["generation"]),
        }
        return self.events.storage_event(payload), expected

    def firestore(self, payload: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        value = payload.get("value") or {}
        document = (value.get("name") or payload["oldValue"]["name"]).partition("/documents/")[2]
        expected = {
            "message": f"Document {document} written",
            "changed_fields": payload.get("updateMask", {}).get("fieldPaths", []),
        }
        return self.events.firestore_event(payload), expected

    def audit_log(self, payload: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        proto = payload["protoPayload"]
        expected = {
            "method_name": proto["methodName"],
            "resource_name": proto.get("resourceName"),
            "principal": proto["authenticationInfo"]["principalEmail"],
        }
        return self.events.audit_log_event(payload), expected

    def scheduler(self, payload: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        # A Cloud Scheduler job publishes its body to the topic: Pub/Sub delivers it.
        body = base64.b64decode(payload["customData"])
        return self.events.pubsub_message(body), {"job": body.decode()}


@pytest.fixture(params=list(PAYLOADS), scope="module")
def trigger(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=["functions-framework", "devserver"], scope="module")
def served(
    request: pytest.FixtureRequest, trigger: str, render: Callable[..., Path]
) -> Iterator[tuple[Any, str, Check]]:
    """The function served by functions-framework as in production, or by `make dev`."""
    path = render(trigger_type=trigger)
    if request.param == "devserver":
        server = FunctionServer([GCF, "dev"], cwd=path)
        url = server.url + "/my_function"
    else:
        server = FunctionServer.functions_framework("my_function", path)
        url = server.url
    server.wait_until_listening()
    yield server, url, Check(events)
    server.stop()


@pytest.mark.parametrize("mode", MODES)
def test_function_handles_every_published_payload(trigger: str, served, mode: str) -> None:
    server, url, check = served
    for path in payloads(trigger):
        payload = json.loads(path.read_text())
        event, expected = getattr(check, trigger)(payload)
        event["id"] = f"{path.stem}-{mode}"
        status, body = check.events.send(url, event, mode)
        assert status == 200, f"{path.name}: {body}"
        record = server.wait_for_log(event_id=event["id"])
        assert record["severity"] == "INFO", f"{path.name}: {record}"
        for key, value in expected.items():
            assert record[key] == value, f"{path.name}: {key}"
