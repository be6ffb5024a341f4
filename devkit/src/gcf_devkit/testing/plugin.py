"""The pytest plugin of gcf-devkit: fixtures for a function repo's tests.

Registered through the `pytest11` entry point, so a repo's tests have these fixtures
without a conftest.py:

- `serve`: start the real functions-framework server for a target of main.py;
- `handle`: call an event function directly (an async one to its end, on an event loop of its
  own) and return the log record it wrote;
- `database_url`: in a repo with schema.sql, a new database for the session, schema
  applied, on the server of DATABASE_URL or on a throw-away PostgreSQL (set as
  DATABASE_URL for the functions and the servers the tests start).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Awaitable, Iterator
from typing import cast

import pytest
from cloudevents.http import CloudEvent

from gcf_devkit.testing._server import FunctionServer
from gcf_devkit.testing._types import EventFunction, Handle, LogRecord, Serve


@pytest.fixture(scope="session")
def serve(pytestconfig: pytest.Config) -> Iterator[Serve]:
    """Start functions-framework servers for targets of main.py; stop them after the tests."""
    servers: list[FunctionServer] = []

    def start(target: str, **env: str) -> FunctionServer:
        server = FunctionServer.functions_framework(target, pytestconfig.rootpath, **env)
        servers.append(server)
        return server.wait_until_listening()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def database_url(pytestconfig: pytest.Config) -> Iterator[str | None]:
    """A new database for the tests of a repo with schema.sql (None in other repos)."""
    schema = pytestconfig.rootpath / "schema.sql"
    if not schema.exists():
        yield None
        return
    from gcf_devkit.local import postgres

    with postgres.database(schema, fresh=True) as url:
        os.environ["DATABASE_URL"] = url
        yield url


@pytest.fixture
def handle(caplog: pytest.LogCaptureFixture) -> Handle:
    """Call an event function directly, sync or async; return the log record it wrote for
    the event."""

    def call(function: EventFunction, event: CloudEvent) -> LogRecord:
        with caplog.at_level(logging.DEBUG):
            result = function(event)
            if inspect.isawaitable(result):
                asyncio.run(_finish(result))
        records = [r for r in caplog.records if getattr(r, "event_id", None) == event["id"]]
        assert records, f"the function logged nothing for event {event['id']}"
        return cast("LogRecord", records[-1])

    return call


async def _finish(awaitable: Awaitable[None]) -> None:
    await awaitable
