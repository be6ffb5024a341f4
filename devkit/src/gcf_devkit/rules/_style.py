"""How a function is written, and so served: sync (threads) or async (one event loop).

functions-framework serves a sync function with gunicorn threads, THREADS of them, and an
async one (`@functions_framework.aio.http`, `.aio.cloud_event`, from 3.9) on the event loop
of a uvicorn worker, WORKERS processes of them. The deploy sets both explicitly.
"""

from __future__ import annotations

from urllib.parse import quote

from ._common import choice_error, got

FUNCTION_STYLES = ("sync", "async")
# The most requests one event loop should take at once. An async function has one loop per
# instance (ASYNC_WORKERS), on one vCPU whatever `cpu` is, and the loop spends about 0.2 ms of
# it on each request (functions-framework's app under uvicorn answers about 5,000 requests a
# second on a full core). 400 requests that each wait 50 ms then keep it busy: issue 23
# measured 4,555 requests a second at a mean of 87 ms, for 50 ms of waiting. Beyond 500,
# requests wait for the loop's CPU rather than for their I/O unless each waits 100 ms or more,
# and latency grows while throughput does not: let Cloud Run add instances instead.
LOOP_CONCURRENCY = 500
# One event loop per instance: it holds the whole concurrency, and one database pool.
ASYNC_WORKERS = 1
# functions-framework's first release with functions_framework.aio.
AIO_SINCE = (3, 9)


def function_style_error(value: object) -> str:
    return choice_error(value, "function_style", FUNCTION_STYLES)


def style_concurrency_error(style: str, concurrency: int) -> str:
    """An async function's concurrency within what its one event loop should take."""
    if style == "async" and concurrency > LOOP_CONCURRENCY:
        return (
            f"concurrency: an async function serves its requests on one event loop, which "
            f"uses one vCPU (more cpu does not raise it) and keeps up with about "
            f"{LOOP_CONCURRENCY} requests at once; above that they wait for the loop, not for "
            f"I/O: use {LOOP_CONCURRENCY} or less, and let instances scale (max_instances)"
            f"{got(concurrency)}"
        )
    return ""


def aio_pin_error(pinned: str) -> str:
    """An async function deploys only with functions-framework 3.9 or newer pinned: without a
    pin the buildpack installs an older release, which has no functions_framework.aio."""
    parts = pinned.split(".")[:2]
    numbers = tuple(int(p) for p in parts if p.isdigit())
    if len(numbers) == 2 and numbers >= AIO_SINCE:
        return ""
    since = ".".join(map(str, AIO_SINCE))
    return (
        f"function_style: async functions need functions-framework {since} or newer in "
        f"requirements.txt, such as functions-framework==3.10.2{got(pinned or 'no version')}"
    )


def server_variables(style: str, concurrency: int) -> dict[str, str]:
    """The variables functions-framework's server reads, set explicitly for a function.

    Sync: THREADS request threads, one per request served at once. Async: one WORKERS
    process whose event loop serves every request (THREADS would size nothing), and
    CONCURRENCY, which sizes its database pool.
    """
    if style == "async":
        return {"WORKERS": str(ASYNC_WORKERS), "CONCURRENCY": str(concurrency)}
    return {"THREADS": str(concurrency)}


def push_endpoint(style: str, url: str, project: str, topic: str) -> str:
    """Where a repo-owned push subscription delivers to a function of this style at `url`.

    Sync: the raw push body at <url>/projects/<project>/topics/<topic>; functions-framework's
    Flask path turns it into a CloudEvent whose source is that path. Async: its Starlette path
    answers 400 to a raw push body, so the endpoint asks Cloud Run's front end to deliver the
    message as a binary-mode CloudEvent, with the query Eventarc's own Pub/Sub subscriptions
    carry (`gcloud pubsub subscriptions describe eventarc-...` shows it). Google documents
    that query nowhere: it is what Eventarc sets, not a public interface.
    """
    path = f"projects/{project}/topics/{topic}"
    if style != "async":
        return f"{url}/{path}"
    return f"{url}/?__GCP_CloudEventsMode=CUSTOM_PUBSUB_" + quote(path, safe="")
