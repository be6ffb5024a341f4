"""A raw Pub/Sub push body turned into a CloudEvent, for async functions under `gcf dev`.

The emulator pushes the message wrapped as Pub/Sub pushes it (`{"message": ...,
"subscription": ...}`), not as a CloudEvent. functions-framework's sync path converts such a
body (and a legacy background event) into a CloudEvent; its async path answers 400. So for an
async function `gcf dev` converts it first, with the sync path's own conversion: the same
event, its source the topic that the push URL's path ends with. Deployed, an async function's
push subscription asks Cloud Run for CloudEvents instead (gcf_devkit.rules.push_endpoint_query).
"""

from __future__ import annotations

import json
from typing import Any

from cloudevents.conversion import to_binary
from functions_framework import event_conversion
from functions_framework.exceptions import EventConversionException

Headers = list[tuple[bytes, bytes]]


class _Pushed:
    """What functions-framework's conversion reads of a request: its JSON body and its path."""

    def __init__(self, body: Any, path: str) -> None:
        self.body = body
        self.path = path

    def get_json(self) -> Any:
        return self.body


def is_cloud_event(headers: Headers) -> bool:
    """A CloudEvent in binary mode (ce-specversion) or structured mode (its content type)."""
    for name, value in headers:
        if name.lower() == b"ce-specversion":
            return True
        if name.lower() == b"content-type" and value.startswith(b"application/cloudevents"):
            return True
    return False


def as_cloud_event(body: bytes, path: str) -> tuple[Headers, bytes] | None:
    """The binary-mode CloudEvent that the sync path makes of a request that is not a
    CloudEvent; None when it makes none (the function's app then answers 400, as deployed)."""
    try:
        event = event_conversion.background_event_to_cloud_event(_Pushed(json.loads(body), path))
    except (ValueError, TypeError, KeyError, AttributeError, EventConversionException):
        return None  # not JSON, or not an event it knows
    headers, data = to_binary(event)
    return [(k.lower().encode(), str(v).encode()) for k, v in headers.items()], data or b""
