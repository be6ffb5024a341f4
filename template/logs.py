"""Structured logging for Cloud Logging: one JSON object per line on stdout.

Cloud Logging reads `severity` and `message` from each line, and links the entry
to its request trace through `logging.googleapis.com/trace`: a sync function's request
is Flask's, an async function's the one its `@logs.traced` decorator keeps. Extra fields
passed with `logger.info(..., extra={...})` become fields of the entry.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import flask

TRACE = "logging.googleapis.com/trace"
SPAN_ID = "logging.googleapis.com/spanId"
TRACE_SAMPLED = "logging.googleapis.com/trace_sampled"

# The name of the handler that setup() installs (and replaces when called again).
HANDLER_NAME = "logs.json"

# Attributes every LogRecord has; anything else came in through `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# The headers of the request an async function is serving (set by `traced`): Starlette has no
# request context of Flask's kind.
_request_headers: ContextVar[Any] = ContextVar("request_headers", default=None)


def trace_fields(headers: Any, project: str | None) -> dict[str, Any]:
    """Return the trace fields of a log entry for a request with these headers.

    Reads `traceparent` (W3C) or `X-Cloud-Trace-Context`; returns no fields when
    the request carries neither or the project is unknown.
    """
    if not project:
        return {}
    if parent := headers.get("traceparent") or headers.get("ce-traceparent"):
        parts = parent.split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            return {
                TRACE: f"projects/{project}/traces/{parts[1]}",
                SPAN_ID: parts[2],
                TRACE_SAMPLED: parts[3] == "01",
            }
    if context := headers.get("X-Cloud-Trace-Context"):
        trace_id, _, rest = context.partition("/")
        span_id, _, options = rest.partition(";")
        if trace_id:
            fields = {
                TRACE: f"projects/{project}/traces/{trace_id}",
                TRACE_SAMPLED: options == "o=1",
            }
            return fields | ({SPAN_ID: span_id} if span_id else {})
    return {}


class JsonFormatter(logging.Formatter):
    """Format records as JSON lines that Cloud Logging parses."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info:
            entry["message"] += "\n" + self.formatException(record.exc_info)
        entry.update(
            (key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES
        )
        headers = _request_headers.get()
        if headers is None and flask.has_request_context():
            headers = flask.request.headers
        if headers is not None:
            entry.update(trace_fields(headers, os.environ.get("GOOGLE_CLOUD_PROJECT")))
        return json.dumps(entry, default=str)


def traced(
    function: Callable[[Any], Coroutine[Any, Any, Any]],
) -> Callable[[Any], Coroutine[Any, Any, Any]]:
    """Decorate an async HTTP function: the entries it logs carry its request's trace.

    Put it below `@functions_framework.aio.http`.
    """

    @functools.wraps(function)
    async def handle(request: Any) -> Any:
        token = _request_headers.set(request.headers)
        try:
            return await function(request)
        finally:
            _request_headers.reset(token)

    return handle


def own_modules() -> set[str]:
    """The top-level names of this repo's code (main, the helpers, tests)."""
    root = Path(__file__).resolve().parent
    return {p.stem for p in root.glob("*.py")} | {"tests"}


def setup(level: str | None = None) -> None:
    """Send the root logger's records to stdout as JSON lines.

    The level comes from `level`, else the LOG_LEVEL variable, else INFO. A level
    below INFO (DEBUG) applies to this repo's modules only: the libraries' debug
    records (urllib3, asyncio, google-auth, ...) stay out unless their own logger's
    level is set, such as `logging.getLogger("urllib3").setLevel("DEBUG")`.
    Calling it again replaces the handler instead of adding a second one.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        # By name: `make dev` re-imports this module on a change, making a new JsonFormatter class.
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    name = (level or os.environ.get("LOG_LEVEL") or "INFO").upper()
    wanted = logging.getLevelNamesMapping().get(name)
    if wanted is None:
        raise ValueError(
            f"LOG_LEVEL: must be DEBUG, INFO, WARNING, ERROR or CRITICAL (got {name!r})"
        )
    root.setLevel(max(wanted, logging.INFO))
    for module in own_modules():
        logging.getLogger(module).setLevel(wanted if wanted < logging.INFO else logging.NOTSET)


def drop(cloud_event: Any, reason: str) -> None:
    """Log, as an error, that an event is dropped because it can never be handled.

    The caller then returns normally, which acknowledges the event: raising
    instead would make Eventarc retry it, with retries on, for up to a day.
    """
    logging.getLogger("main").error(
        "Dropped event %s: %s",
        cloud_event["id"],
        reason,
        extra={"event_id": cloud_event["id"], "event_type": cloud_event["type"]},
    )
