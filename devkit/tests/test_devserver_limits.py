"""`gcf dev` serves each function at most its own concurrency of requests at once.

`gcf_devkit.local.devserver.Limited` wraps a function's WSGI app: with concurrency N, N
requests run and request N + 1 waits until one of them is done, as it would wait for a free
instance in Cloud Functions. The app here is a stand-in that blocks each request until the
test lets it go, and counts how many are inside at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from gcf_devkit.local.devserver import Limited

WAIT = 5.0  # seconds a request that should get in may take to get there


class Blocking:
    """A WSGI app whose requests wait for `release`; it records how many are inside at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.entered = threading.Semaphore(0)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        self.entered.release()
        try:
            assert self.release.wait(WAIT * 4), "the test never let the request go"
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [environ["PATH_INFO"].encode()]
        finally:
            with self.lock:
                self.inside -= 1


def serve(app: Limited, count: int) -> tuple[list[threading.Thread], list[list[bytes]]]:
    """Send `count` requests at once, each from a thread of its own (as gunicorn's threads do)."""
    bodies: list[list[bytes]] = []

    def request(number: int) -> None:
        environ = {"PATH_INFO": f"/{number}", "REQUEST_METHOD": "GET"}
        bodies.append(list(app(environ, lambda status, headers: None)))

    threads = [threading.Thread(target=request, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    return threads, bodies


@pytest.mark.parametrize("concurrency", [1, 2, 5])
def test_one_request_more_than_the_concurrency_waits(concurrency: int) -> None:
    blocking = Blocking()
    threads, bodies = serve(Limited(blocking, concurrency), concurrency + 1)
    try:
        for _ in range(concurrency):
            assert blocking.entered.acquire(timeout=WAIT), "a request within the limit waited"
        # The one request over the limit must stay out while the others are inside.
        assert not blocking.entered.acquire(timeout=0.3), (
            f"{blocking.inside} requests inside at once, with concurrency {concurrency}"
        )
        assert blocking.inside == blocking.most == concurrency
    finally:
        blocking.release.set()
    for thread in threads:
        thread.join(WAIT)
    # Once the others are done, the waiting request is served too.
    assert sorted(bodies) == sorted([[f"/{n}".encode()] for n in range(concurrency + 1)])
    assert blocking.most == concurrency


def test_a_slot_is_given_back_when_the_function_fails() -> None:
    """A request that raises frees its slot: the next one is served, not blocked for good."""
    calls = []

    def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        if environ["PATH_INFO"] == "/fail":
            raise RuntimeError("the function failed")
        start_response("200 OK", [])
        return [b"ok"]

    app = Limited(failing, 1)
    with pytest.raises(RuntimeError, match="the function failed"):
        app({"PATH_INFO": "/fail"}, lambda status, headers: None)
    done = threading.Event()
    result: list[list[bytes]] = []

    def second() -> None:
        result.append(list(app({"PATH_INFO": "/ok"}, lambda status, headers: None)))
        done.set()

    threading.Thread(target=second, daemon=True).start()
    assert done.wait(WAIT), "the slot of the failed request was not given back"
    assert result == [[b"ok"]]
    assert calls == ["/fail", "/ok"]


def test_the_response_is_read_within_the_slot() -> None:
    """The body is read while the request holds its slot: a streamed body that is still being
    produced counts against the concurrency."""
    inside = threading.Event()
    go_on = threading.Event()

    def streaming(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [])
        yield b"first "
        if environ.get("PATH_INFO") == "/quick":
            return
        inside.set()
        assert go_on.wait(WAIT * 4)
        yield b"last"

    app = Limited(streaming, 1)
    first: list[list[bytes]] = []
    thread = threading.Thread(
        target=lambda: first.append(list(app({}, lambda status, headers: None))), daemon=True
    )
    thread.start()
    assert inside.wait(WAIT)
    other_done = threading.Event()
    threading.Thread(
        target=lambda: (
            list(app({"PATH_INFO": "/quick"}, lambda status, headers: None)),
            other_done.set(),
        ),
        daemon=True,
    ).start()
    time.sleep(0.3)
    assert not other_done.is_set(), "a second request ran while the first body was being read"
    go_on.set()
    thread.join(WAIT)
    assert first == [[b"first ", b"last"]]
    assert other_done.wait(WAIT * 2)
