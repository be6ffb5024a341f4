"""`gcf event` against servers that misbehave: one line that says what happened, not a traceback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gcf_devkit.local import send


def serving(hang_up: bool) -> Iterator[str]:
    """A server that takes each connection and reads the request, then never answers, or
    closes the connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed
                return
            received = b""
            while b"\r\n\r\n" not in received:  # the whole request head (a GET has no body)
                chunk = connection.recv(65536)
                if not chunk:
                    break
                received += chunk
            if hang_up:
                connection.close()
            else:
                taken.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in taken:
        connection.close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    yield from serving(hang_up=False)


@pytest.fixture
def hanging_up_server() -> Iterator[str]:
    yield from serving(hang_up=True)


def sample(tmp_path: Path) -> str:
    path = tmp_path / "request.json"
    path.write_text('{"method": "GET", "path": "/"}')
    return str(path)


@pytest.mark.parametrize("kind", ["request", "event"])
def test_a_function_that_never_answers_is_named_with_the_wait(
    silent_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr(send, "TIMEOUT", 0.3)
    what = [sample(tmp_path)] if kind == "request" else ["pubsub", "--data", "x"]
    with pytest.raises(SystemExit) as stopped:
        send.main([*what, "--url", silent_server, "--function", "fn"])
    assert str(stopped.value) == (
        f"event: {silent_server}/fn took the request but did not answer within 0.3 s; the dev "
        "server's output (make dev) shows what the function is doing"
    )


def test_a_server_that_is_gone_is_named(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with pytest.raises(SystemExit) as stopped:
        send.main([sample(tmp_path), "--url", url, "--function", "fn"])
    message = str(stopped.value)
    assert message.startswith(f"event: could not send to {url}/fn (")
    assert message.endswith("); is make dev running?")
    assert "Connection refused" in message


def test_a_server_that_closes_without_an_answer_is_named(
    hanging_up_server: str, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as stopped:
        send.main([sample(tmp_path), "--url", hanging_up_server, "--function", "fn"])
    assert str(stopped.value) == (
        f"event: {hanging_up_server}/fn took the request but closed the connection without an "
        "answer (Remote end closed connection without response); the dev server's output "
        "(make dev) says why"
    )
