"""`gcf dev`'s server for a repo with async functions: production's server for each of them.

Cloud Run serves an async function (functions_framework.aio) with its Starlette app on the
event loop of a uvicorn worker under gunicorn; so does `gcf dev`, every function of the repo
on one port: /<name>/... goes to that function's own app, at most its own concurrency of
requests at once (the others wait, as for a free instance). A raw Pub/Sub push body for an
async CloudEvent function is turned into the CloudEvent the sync path would make of it
(gcf_devkit.local.pushed). A sync function of the same repo runs its Flask app in a thread
of a pool as large as the sync functions' concurrency, as gunicorn's threads would run it.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gcf_devkit.local import pushed

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AsyncLimited:
    """An async function's app that serves at most `concurrency` requests at once.

    `cloud_event`: its app takes CloudEvents, and so raw Pub/Sub push bodies converted."""

    def __init__(self, app: ASGIApp, concurrency: int, cloud_event: bool) -> None:
        self.app = app
        self.concurrency = concurrency
        self.cloud_event = cloud_event
        self.slots: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.slots is None:
            self.slots = asyncio.Semaphore(self.concurrency)
        async with self.slots:
            if self.cloud_event and not pushed.is_cloud_event(scope["headers"]):
                scope, receive = await converted(scope, receive)
            await self.app(scope, receive, send)


async def read_body(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return bytes(body)


async def converted(scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
    """The request as a binary-mode CloudEvent when it is a raw Pub/Sub push body (or another
    body functions-framework's sync path converts); else the request as it came."""
    body = await read_body(receive)
    event = pushed.as_cloud_event(body, scope["path"])
    headers = scope["headers"]
    if event is not None:
        others = [
            (k, v) for k, v in headers if k.lower() not in (b"content-type", b"content-length")
        ]
        headers, body = (
            [*others, *event[0], (b"content-length", str(len(event[1])).encode())],
            event[1],
        )

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return {**scope, "headers": headers}, replay


class ThreadedWSGI:
    """A sync function's WSGI app (gcf_devkit.local.devserver.Limited) on a thread of `pool`."""

    def __init__(self, app: Callable[..., Any], pool: ThreadPoolExecutor) -> None:
        self.app = app
        self.pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        environ = wsgi_environ(scope, await read_body(receive))
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(self.pool, self.run, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def run(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], _: Any = None) -> Any:
            started[:] = [int(status.split()[0]), headers]
            return chunks.append

        chunks += self.app(environ, start_response)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in started[1]]
        return started[0], headers, b"".join(chunks)


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP request (PEP 3333: strings of bytes as latin-1)."""
    root = scope.get("root_path", "")
    path = scope["path"][len(root) :] if scope["path"].startswith(root) else scope["path"]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name, value = (
            raw_name.decode("latin-1").upper().replace("-", "_"),
            raw_value.decode("latin-1"),
        )
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[name] = value if name == "CONTENT_TYPE" else environ[name]
            continue
        key = f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


async def respond(send: Send, status: int, body: str, content_type: str) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body.encode())).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


class AsyncRouter:
    """ASGI app: / lists the functions, /<name>/... goes to that function's own app.

    `functions` is devserver's Functions, whose apps (AsyncLimited or ThreadedWSGI) it
    reloads on change; `page(name)` gives the status, body and content type of the listing,
    or of main.py's error."""

    def __init__(self, functions: Any, page: Callable[[str], tuple[int, str, str]]) -> None:
        self.functions = functions
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        name, _, _ = scope["path"].lstrip("/").partition("/")
        app = None if self.functions.error else self.functions.app(name)
        if app is None:
            await read_body(receive)
            await respond(send, *self.page(name))
            return
        prefix = scope.get("root_path", "") + "/" + name
        path = scope["path"] if scope["path"] != "/" + name else "/" + name + "/"
        await app({**scope, "root_path": prefix, "path": path}, receive, send)


async def lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: functions-framework's apps have no lifespan hooks."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
