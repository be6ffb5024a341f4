"""Build CloudEvents the way Eventarc delivers them, and send them over HTTP.

This is the one place that makes events: a repo's unit tests pass them to the
function directly, its integration tests and `gcf event` send them to a running
server. Each builder sets the `type`, `source` and `subject` that
Eventarc sets, and encodes `data` as Eventarc does: Pub/Sub message data in
base64, Firestore documents as protobuf `DocumentEventData`.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from gcf_devkit.rules import (
    AUDIT_LOG_WRITTEN,
    FIRESTORE_EVENTS,
    FIRESTORE_PREFIX,
    PUBSUB_PUBLISHED,
    STORAGE_EVENTS,
    STORAGE_PREFIX,
)

PROTOBUF = "application/protobuf"
JSON = "application/json"

Mode = Literal["binary", "structured"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(attributes: dict[str, Any], data: Any) -> CloudEvent:
    attributes.setdefault("id", uuid.uuid4().hex)
    attributes.setdefault("time", _now())
    attributes.setdefault("specversion", "1.0")
    return CloudEvent(attributes, data)


# ---------------------------------------------------------------- Pub/Sub


def pubsub_event(
    data: Mapping[str, Any],
    *,
    project: str = "my-project",
    topic: str = "my-topic",
    event_id: str | None = None,
) -> CloudEvent:
    """Wrap a `MessagePublishedData` payload (`{"message": ..., "subscription": ...}`)."""
    message = data.get("message", {})
    return _event(
        {
            "type": PUBSUB_PUBLISHED,
            "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
            "datacontenttype": JSON,
            "id": event_id or message.get("messageId") or uuid.uuid4().hex,
        },
        dict(data),
    )


def pubsub_message(
    data: bytes | str | Mapping[str, Any] = b"",
    attributes: Mapping[str, str] | None = None,
    *,
    project: str = "my-project",
    topic: str = "my-topic",
    message_id: str | None = None,
    publish_time: str | None = None,
) -> CloudEvent:
    """Return the event for a message published to a topic.

    `data` may be bytes, text, or a mapping that is sent as JSON.
    """
    if isinstance(data, Mapping):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()
    message_id = message_id or str(uuid.uuid4().int % 10**16)
    message: dict[str, Any] = {
        "data": base64.b64encode(data).decode(),
        "messageId": message_id,
        "publishTime": publish_time or _now(),
    }
    if attributes:
        message["attributes"] = dict(attributes)
    payload = {
        "message": message,
        "subscription": f"projects/{project}/subscriptions/eventarc-{topic}-sub",
    }
    return pubsub_event(payload, project=project, topic=topic, event_id=message_id)


# ---------------------------------------------------------------- Cloud Storage


def storage_event(data: Mapping[str, Any], event: str = "finalized") -> CloudEvent:
    """Wrap a `StorageObjectData` payload in the event for `event`."""
    if event not in STORAGE_EVENTS:
        raise ValueError(f"storage event must be one of {', '.join(STORAGE_EVENTS)}, not {event!r}")
    return _event(
        {
            "type": STORAGE_PREFIX + event,
            "source": f"//storage.googleapis.com/projects/_/buckets/{data['bucket']}",
            "subject": f"objects/{data['name']}",
            "datacontenttype": JSON,
        },
        dict(data),
    )


def storage_object(
    bucket: str,
    name: str,
    *,
    event: str = "finalized",
    content_type: str = "text/plain",
    size: int = 0,
    generation: str = "1",
    metadata: Mapping[str, str] | None = None,
) -> CloudEvent:
    """Return the event for an object change in a bucket."""
    now = _now()
    data: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "bucket": bucket,
        "name": name,
        "generation": generation,
        "metageneration": "1",
        "contentType": content_type,
        "size": str(size),
        "storageClass": "STANDARD",
        "timeCreated": now,
        "updated": now,
    }
    if metadata:
        data["metadata"] = dict(metadata)
    return storage_event(data, event)


# ---------------------------------------------------------------- Firestore


def firestore_value(value: Any) -> dict[str, Any]:
    """Return the Firestore `Value` (JSON form) of a plain Python value."""
    match value:
        case None:
            return {"nullValue": None}
        case bool():
            return {"booleanValue": value}
        case int():
            return {"integerValue": str(value)}
        case float():
            return {"doubleValue": value}
        case str():
            return {"stringValue": value}
        case bytes():
            return {"bytesValue": base64.b64encode(value).decode()}
        case datetime():
            return {"timestampValue": value.isoformat().replace("+00:00", "Z")}
        case Mapping():
            return {"mapValue": {"fields": firestore_fields(value)}}
        case list() | tuple():
            return {"arrayValue": {"values": [firestore_value(item) for item in value]}}
    raise TypeError(f"cannot store a {type(value).__name__} in a Firestore document")


def firestore_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the `fields` of a Firestore document holding `values`."""
    return {key: firestore_value(item) for key, item in values.items()}


def encode_document_event(data: Mapping[str, Any]) -> bytes:
    """Encode a `DocumentEventData` from its JSON form to protobuf bytes."""
    try:
        from google.events.cloud.firestore import DocumentEventData
    except ImportError as error:  # pragma: no cover - depends on the trigger
        raise RuntimeError(
            "Firestore events need google-events: pip install google-events"
        ) from error
    message = DocumentEventData.from_json(json.dumps(data), ignore_unknown_fields=True)
    encoded: bytes = DocumentEventData.serialize(message)
    return encoded


def firestore_event(
    data: Mapping[str, Any],
    *,
    event: str = "written",
    project: str | None = None,
    database: str = "(default)",
    encoding: Literal["protobuf", "json"] = "protobuf",
) -> CloudEvent:
    """Wrap a `DocumentEventData` payload (JSON form) in the event for `event`.

    The document path comes from `value.name`, or `oldValue.name` for deletions.
    By default `data` is sent as protobuf, as Eventarc sends Firestore events.
    """
    if event not in FIRESTORE_EVENTS:
        raise ValueError(
            f"firestore event must be one of {', '.join(FIRESTORE_EVENTS)}, not {event!r}"
        )
    name = (data.get("value") or {}).get("name") or (data.get("oldValue") or {}).get("name", "")
    prefix, _, document = name.partition("/documents/")
    if not project:
        project = prefix.split("/")[1] if prefix.startswith("projects/") else "my-project"
    payload: Any = encode_document_event(data) if encoding == "protobuf" else dict(data)
    return _event(
        {
            "type": FIRESTORE_PREFIX + event,
            "source": f"//firestore.googleapis.com/projects/{project}/databases/{database}",
            "subject": f"documents/{document}",
            "datacontenttype": PROTOBUF if encoding == "protobuf" else JSON,
            "dataschema": "https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/firestore/v1/data.proto",
            "database": database,
            "document": document,
            "project": project,
        },
        payload,
    )


def firestore_document(
    document: str,
    value: Mapping[str, Any] | None = None,
    old_value: Mapping[str, Any] | None = None,
    *,
    event: str = "written",
    project: str = "my-project",
    database: str = "(default)",
) -> CloudEvent:
    """Return the event for a change to `document` (a path such as users/alice).

    `value` and `old_value` are plain dicts: the document after and before the
    change (None when it did not exist).
    """
    name = f"projects/{project}/databases/{database}/documents/{document}"
    now = _now()
    data: dict[str, Any] = {}
    for key, fields in (("oldValue", old_value), ("value", value)):
        if fields is not None:
            data[key] = {
                "name": name,
                "fields": firestore_fields(fields),
                "createTime": now,
                "updateTime": now,
            }
    if value is not None and old_value is not None:
        changed = sorted(k for k in {*value, *old_value} if value.get(k) != old_value.get(k))
        data["updateMask"] = {"fieldPaths": changed}
    return firestore_event(data, event=event, project=project, database=database)


# ---------------------------------------------------------------- Cloud Audit Logs


def audit_log_event(data: Mapping[str, Any]) -> CloudEvent:
    """Wrap a `LogEntryData` payload (an audit log entry) in its event."""
    proto = data.get("protoPayload", {})
    project = data.get("resource", {}).get("labels", {}).get("project_id", "my-project")
    log = "data_access" if "data_access" in data.get("logName", "") else "activity"
    service = proto.get("serviceName", "")
    resource = proto.get("resourceName", "")
    return _event(
        {
            "type": AUDIT_LOG_WRITTEN,
            "source": f"//cloudaudit.googleapis.com/projects/{project}/logs/{log}",
            "subject": f"{service}/{resource}",
            "datacontenttype": JSON,
            "methodname": proto.get("methodName", ""),
            "servicename": service,
            "resourcename": resource,
        },
        dict(data),
    )


def audit_log_entry(
    service_name: str,
    method_name: str,
    resource_name: str,
    *,
    principal: str = "user@example.com",
    project: str = "my-project",
) -> CloudEvent:
    """Return the event for an audit log entry of `method_name` on `resource_name`."""
    now = _now()
    data = {
        "insertId": uuid.uuid4().hex[:12],
        "logName": f"projects/{project}/logs/cloudaudit.googleapis.com%2Factivity",
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "authenticationInfo": {"principalEmail": principal},
            "methodName": method_name,
            "resourceName": resource_name,
            "serviceName": service_name,
        },
        "receiveTimestamp": now,
        "resource": {"labels": {"project_id": project}, "type": "audited_resource"},
        "severity": "NOTICE",
        "timestamp": now,
    }
    return audit_log_event(data)


# ---------------------------------------------------------------- files and HTTP


def _read_sample(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        sample = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no sample file at {path}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(sample, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return sample


def load_sample(path: str | Path) -> CloudEvent | dict[str, Any]:
    """Read a sample from events/: a CloudEvent, or an HTTP request for an HTTP function."""
    sample = _read_sample(path)
    if "specversion" not in sample and isinstance(sample.get("method"), str):
        return sample
    return from_file(path, sample)


def from_file(path: str | Path, sample: dict[str, Any] | None = None) -> CloudEvent:
    """Read an event from a JSON file in CloudEvents structured form.

    The `data` of a Firestore event file is its JSON form; it is sent as
    protobuf when `datacontenttype` says application/protobuf.
    """
    document = dict(sample if sample is not None else _read_sample(path))
    if "type" not in document or "source" not in document:
        raise ValueError(f"{path} must hold a CloudEvent: a JSON object with type, source and data")
    data = document.pop("data", None)
    if "data_base64" in document:
        data = base64.b64decode(document.pop("data_base64"))
    if document.get("datacontenttype") == PROTOBUF and isinstance(data, dict):
        data = encode_document_event(data)
    return _event(document, data)


def request_from_file(path: str | Path) -> dict[str, Any]:
    """Read a sample HTTP request: `method`, `path`, and optional `headers` and `body`."""
    sample = load_sample(path)
    if not isinstance(sample, dict):
        raise ValueError(
            f"{path} must hold a request: a JSON object with method, path, headers, body"
        )
    return sample


def send_request(url: str, sample: Mapping[str, Any], timeout: float = 30) -> tuple[int, str]:
    """Send a sample HTTP request to the server at `url`; return status and response text."""
    body = sample.get("body")
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(
        url.rstrip("/") + sample.get("path", "/"),
        data=data,
        headers=dict(sample.get("headers", {})),
        method=sample["method"],
    )
    return _open(request, timeout)


def _open(request: urllib.request.Request, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def to_http(event: CloudEvent, mode: Mode = "binary") -> tuple[dict[str, str], bytes]:
    """Return the HTTP headers and body that carry `event` in `mode`."""
    if mode == "binary":
        headers, body = to_binary(event)
    elif mode == "structured":
        headers, body = to_structured(event)
    else:
        raise ValueError(f"mode must be binary or structured, not {mode!r}")
    return dict(headers), body if isinstance(body, bytes) else str(body).encode()


def send(
    url: str, event: CloudEvent, mode: Mode = "binary", timeout: float = 30
) -> tuple[int, str]:
    """POST `event` to `url`; return the status code and the response text."""
    headers, body = to_http(event, mode)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    return _open(request, timeout)
