"""Unit tests for the JSON log format that Cloud Logging reads."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
from types import SimpleNamespace

import flask
import pytest

import logs

PROJECT = "test-project"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def format_record(message: str = "hello", **extra: object) -> dict[str, object]:
    record = logging.makeLogRecord(
        {"msg": message, "levelname": "WARNING", "name": "main", **extra}
    )
    entry: dict[str, object] = json.loads(logs.JsonFormatter().format(record))
    return entry


def test_a_record_is_one_json_object_with_severity_and_message() -> None:
    assert format_record("hello %s", args=("Ada",)) == {
        "severity": "WARNING",
        "message": "hello Ada",
        "logger": "main",
    }


def test_extra_fields_become_fields_of_the_entry() -> None:
    entry = format_record(event_id="1", attributes={"a": "b"})
    assert entry["event_id"] == "1"
    assert entry["attributes"] == {"a": "b"}


def test_exceptions_go_into_the_message() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logger = logging.getLogger("test")
        record = logger.makeRecord("test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["message"].startswith("failed\nTraceback")
    assert "ValueError: boom" in entry["message"]


@pytest.mark.parametrize(
    ("headers", "span", "sampled"),
    [
        ({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}, "00f067aa0ba902b7", True),
        ({"X-Cloud-Trace-Context": f"{TRACE_ID}/123;o=0"}, "123", False),
        ({"X-Cloud-Trace-Context": f"{TRACE_ID}/123;o=1"}, "123", True),
    ],
)
def test_entries_of_a_request_carry_its_trace(
    monkeypatch: pytest.MonkeyPatch, headers: dict[str, str], span: str, sampled: bool
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    with flask.Flask(__name__).test_request_context(headers=headers):
        entry = format_record()
    assert entry[logs.TRACE] == f"projects/{PROJECT}/traces/{TRACE_ID}"
    assert entry[logs.SPAN_ID] == span
    assert entry[logs.TRACE_SAMPLED] is sampled


def test_entries_of_an_async_request_carry_its_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    request = SimpleNamespace(headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})

    @logs.traced
    async def function(_: object) -> dict[str, object]:
        await asyncio.sleep(0)
        return format_record()

    entry = asyncio.run(function(request))
    assert entry[logs.TRACE] == f"projects/{PROJECT}/traces/{TRACE_ID}"
    assert entry[logs.SPAN_ID] == "00f067aa0ba902b7"
    assert logs.TRACE not in format_record(), "the trace ends with the request"


def test_no_trace_without_trace_headers_or_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with flask.Flask(__name__).test_request_context(
        headers={"traceparent": f"00-{TRACE_ID}-01-01"}
    ):
        assert logs.TRACE not in format_record()
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    with flask.Flask(__name__).test_request_context():
        assert logs.TRACE not in format_record()


def test_setup_installs_one_handler_at_the_level_of_log_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once, even after a reimport (`make dev` imports logs.py anew on each change)."""
    monkeypatch.setenv("LOG_LEVEL", "warning")
    logs.setup()
    importlib.reload(logs)
    logs.setup()
    root = logging.getLogger()
    assert [h.get_name() for h in root.handlers].count(logs.HANDLER_NAME) == 1
    assert root.level == logging.WARNING
    logs.setup("INFO")


def test_debug_is_for_this_repos_code_not_the_libraries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("DEBUG")
    try:
        logging.getLogger("main").debug("from main")
        logging.getLogger("tests.unit").debug("from the tests")
        logging.getLogger("urllib3.connectionpool").debug("from a library")
        logging.getLogger("urllib3.connectionpool").info("a library's info")
    finally:
        logs.setup("INFO")
    logging.getLogger("main").debug("after INFO again")
    messages = [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines()]
    assert messages == ["from main", "from the tests", "a library's info"]


def test_an_unknown_log_level_is_named() -> None:
    with pytest.raises(ValueError, match="LOG_LEVEL: must be DEBUG, INFO"):
        logs.setup("LOUD")
