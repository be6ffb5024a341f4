"""Types of the fixtures, for a repo's typed tests."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cloudevents.http import CloudEvent

from gcf_devkit.testing._server import FunctionServer

if TYPE_CHECKING:

    class LogRecord(logging.LogRecord):
        """A log record whose fields passed with `extra` are attributes of any type."""

        def __getattr__(self, name: str) -> Any: ...

else:
    LogRecord = logging.LogRecord

# An event function: sync (functions_framework.cloud_event) or async (aio.cloud_event).
EventFunction = Callable[[CloudEvent], Awaitable[None] | None]
# Call an event function directly; return the log record it wrote for the event.
Handle = Callable[[EventFunction, CloudEvent], LogRecord]
# Start a functions-framework server for a target, with extra environment variables.
Serve = Callable[..., FunctionServer]
