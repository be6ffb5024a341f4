"""Serve every function of functions.yaml at once, as Cloud Functions would serve each one.

Each function is served at /<entry point> by functions-framework's own app for it,
with its signature type, under the server it has in Cloud Functions: gunicorn's threads
for a repo of sync functions; for a repo with async functions (functions_framework.aio)
gunicorn's uvicorn worker, whose event loop serves the async ones while the sync ones run
on a pool of threads (gcf_devkit.local.asgi). Each takes at most its own concurrency of
requests at once, and the others wait, as they would for a free instance. A plain
`def name(request)` that functions.yaml declares as HTTP is served too, and so is a
function main.py registers that functions.yaml lacks (with a warning: `gcf check`
reports it). GET / lists the functions. The
variables of env.<ENV>.yaml (ENV=dev by default) are set as they are when
deployed, and secrets come from the git-ignored .secrets.yaml under their
production names. The emulators the functions need (Pub/Sub, Cloud Storage:
gcf_devkit.local.emulators) start beside them, wired from functions.yaml, and stop
with the server. A change to a .py file, the env file or .secrets.yaml reloads the
functions in place; while main.py is broken, requests get its error.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import flask
import functions_framework
from functions_framework import _function_registry
from functions_framework._http import create_server
from gunicorn.arbiter import Arbiter
from werkzeug.wrappers import Response

from gcf_devkit.local.asgi import AsyncLimited, AsyncRouter, ThreadedWSGI
from gcf_devkit.project import Layout, Project, ProjectError, read_env_file, read_secrets_file

WATCH_INTERVAL = 0.3
# Folders whose changes do not reload the functions (and hidden ones, such as .venv).
NOT_WATCHED = {"__pycache__", "node_modules", "tests", "venv"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def say(message: str) -> None:
    """One line on stderr, in one write: lines of the functions' own logs, which share the
    terminal, never land inside it."""
    sys.stderr.write(f"devserver: {message}\n")
    sys.stderr.flush()


def load_environment(layout: Layout, environment: str) -> dict[str, str]:
    """Set the variables and secrets the functions have when deployed to `environment`."""
    env_file = layout.env_file(environment)
    if not env_file.exists():
        known = ", ".join(layout.environments_on_disk())
        raise ProjectError([f"no {env_file.name}: known environments are {known}"])
    variables = read_env_file(env_file)
    for name, value in read_secrets_file(layout.secrets).items():
        if name.startswith("/"):
            mounted = layout.mounted_secrets / name.lstrip("/")
            mounted.parent.mkdir(parents=True, exist_ok=True)
            mounted.write_text(value)
            variables["SECRETS_ROOT"] = str(layout.mounted_secrets)
        else:
            variables[name] = value
    os.environ.update(variables)
    return variables


class Functions:
    """The functions of functions.yaml and main.py, each with its app, rebuilt on change.

    With `asgi` (the server is a uvicorn worker), an async function's app is an AsyncLimited
    and a sync one's a ThreadedWSGI on `pool`; else each is a WSGI app for gunicorn's threads.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.source = layout.main_py
        self.apps: dict[str, Any] = {}
        self.signatures: dict[str, str] = {}
        self.styles: dict[str, str] = {}  # sync or async, as main.py's decorators say
        self.concurrency: dict[str, int] = {}
        self.declared: dict[str, int] = {}  # functions.yaml's concurrency, by entry point
        self.declared_styles: dict[str, str] = {}  # functions.yaml's function_style
        self.aliases: dict[str, str] = {}  # deployed names to entry points
        self.error = ""
        self.warnings: list[str] = []
        self.lock = threading.Lock()
        self.asgi = False
        self.pool: ThreadPoolExecutor | None = None
        self.loaded: dict[str, Any] = {}  # functions-framework's app of each function

    def load(self) -> bool:
        """(Re)load functions.yaml and main.py; on failure keep the error to show, and return False."""
        with self.lock:
            try:
                project = Project.load(self.layout.root)
            except ProjectError as error:
                self.error = "\n".join(error.errors)
                return False
            declared = project.by_entry_point()
            self.declared = {n: f.concurrency for n, f in declared.items()}
            self.declared_styles = {n: f.function_style for n, f in declared.items()}
            self.aliases = {f.name: n for n, f in declared.items() if f.name != n}
            environment = os.environ.get("ENVIRONMENT", "dev")
            for function in declared.values():  # the topics each function publishes to
                for variable, topic in function.publishes.items():
                    os.environ[variable] = project.topic(topic, environment)
            self._forget_local_modules()
            _function_registry.REGISTRY_MAP.clear()
            _function_registry.ASGI_FUNCTIONS.clear()
            try:
                module, spec = _function_registry.load_function_module(str(self.source))
                spec.loader.exec_module(module)
                registered = {
                    n: t for n, t in _function_registry.REGISTRY_MAP.items() if hasattr(module, n)
                }
                signatures = {
                    n: f.signature_type for n, f in declared.items() if hasattr(module, n)
                }
                signatures |= {n: registered[n] for n in declared if n in registered}
                signatures |= {n: t for n, t in registered.items() if n not in declared}
                apps = {
                    n: functions_framework.create_app(n, str(self.source), signature)
                    for n, signature in signatures.items()
                }
            except Exception:  # any error in main.py is shown, not fatal
                self.error = self._user_traceback()
                return False
            default = int(os.environ.get("THREADS", "0") or 0) or 1
            self.concurrency = {
                n: declared[n].concurrency if n in declared else default for n in apps
            }
            self.styles = {
                n: "sync" if isinstance(app, flask.Flask) else "async" for n, app in apps.items()
            }
            self.loaded, self.signatures, self.error = apps, signatures, ""
            self.apps = {n: self._served(n, app, signatures[n]) for n, app in apps.items()}
            self.warnings = [
                f"main.py registers {n!r}, which functions.yaml lacks: served, but not deployed"
                for n in registered
                if n not in declared
            ] + [
                f"functions.yaml declares entry point {n!r}, which main.py does not define"
                for n in declared
                if n not in signatures
            ]
            return True

    def serve_on_event_loop(self) -> None:
        """Wrap each app for a uvicorn worker, the server of async functions."""
        with self.lock:
            self.asgi = True
            self.apps = {n: self._served(n, a, self.signatures[n]) for n, a in self.loaded.items()}

    def _served(self, name: str, app: Any, signature: str) -> Any:
        """A function's app as the server serves it, at most its concurrency at once."""
        concurrency = self.concurrency[name]
        if not isinstance(app, flask.Flask):
            if self.asgi:
                return AsyncLimited(app, concurrency, signature == "cloudevent")
            return Response(
                f"{name} is async (functions_framework.aio), and this server was started for "
                "sync functions only: restart make dev to serve it\n",
                500,
                mimetype="text/plain",
            )
        if self.asgi:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(self.threads(), "sync-function")
            return ThreadedWSGI(Limited(app, concurrency), self.pool)
        return Limited(app, concurrency)

    def describe(self) -> str:
        return (
            ", ".join(
                f"/{n} ({s}{', async' if self.styles.get(n) == 'async' else ''})"
                for n, s in self.signatures.items()
            )
            or "none"
        )

    def _total(self, style: str) -> int:
        """The concurrency of the functions of one style, as loaded (or as functions.yaml
        declares them, even while main.py is broken)."""
        styles = {**self.declared_styles, **self.styles}
        counts = {**self.declared, **self.concurrency}
        return sum(c for n, c in counts.items() if styles.get(n, "sync") == style)

    def threads(self) -> int:
        """Request threads for the server: enough for every sync function's own concurrency."""
        return max(1, min(1000, self._total("sync")))

    def loop_concurrency(self) -> int:
        """What the event loop serves at once: every async function's own concurrency."""
        return max(1, self._total("async"))

    def wants_threads(self) -> bool:
        """Whether a function is sync."""
        return "sync" in {**self.declared_styles, **self.styles}.values()

    def wants_asgi(self) -> bool:
        """Whether a function is async: then the server is a uvicorn worker, as for it deployed."""
        return "async" in {**self.declared_styles, **self.styles}.values()

    def app(self, name: str) -> WSGIApp | None:
        """The app at /<name>: an entry point, or a function's deployed name."""
        return self.apps.get(name) or self.apps.get(self.aliases.get(name, ""))

    def is_local(self, file: str) -> bool:
        """Whether a file is the repo's own code (not its .venv)."""
        root = str(self.layout.root)
        return file.startswith(root + os.sep) and not file.startswith(
            os.path.join(root, ".venv") + os.sep
        )

    def _forget_local_modules(self) -> None:
        """Drop the repo's own modules from sys.modules, so that a reload imports them anew."""
        for name, module in list(sys.modules.items()):
            if self.is_local(getattr(module, "__file__", None) or ""):
                del sys.modules[name]

    def _user_traceback(self) -> str:
        """The traceback of the current exception, in the repo's own files only."""
        kind, error, tb = sys.exc_info()
        frames = [f for f in traceback.extract_tb(tb) if self.is_local(f.filename)]
        lines = traceback.format_list(frames) + traceback.format_exception_only(kind, error)
        return "".join(lines).rstrip()


class Limited:
    """A function's app that serves at most `concurrency` requests at once, as one instance would."""

    def __init__(self, app: flask.Flask, concurrency: int) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(concurrency)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with self.slots:
            return list(self.app(environ, start_response))


class Router:
    """WSGI app: / lists the functions, /<name>/... goes to that function's own app."""

    def __init__(self, functions: Functions, environment: str) -> None:
        self.functions = functions
        self.environment = environment

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        name, _, rest = environ.get("PATH_INFO", "/").lstrip("/").partition("/")
        app = None if self.functions.error else self.functions.app(name)
        if app is None:
            status, body, kind = self.page(name)
            return Response(body, status, mimetype=kind)(environ, start_response)
        environ = {
            **environ,
            "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + "/" + name,
            "PATH_INFO": "/" + rest,
        }
        return app(environ, start_response)

    def page(self, name: str) -> tuple[int, str, str]:
        """What / (or an unknown /<name>) answers: the functions served, or main.py's error."""
        functions = self.functions
        if functions.error:
            body = (
                "main.py or functions.yaml is broken; fix it and the server reloads:"
                f"\n\n{functions.error}\n"
            )
            return 500, body, "text/plain"
        listing: dict[str, Any] = {
            "environment": self.environment,
            "threads": int(os.environ.get("THREADS", "0") or 0),
            "functions": [
                {
                    "name": n,
                    "signature_type": s,
                    "style": functions.styles.get(n, "sync"),
                    "path": f"/{n}",
                    "concurrency": functions.concurrency.get(n),
                }
                for n, s in functions.signatures.items()
            ],
        }
        if name:
            listing["error"] = f"no function {name!r}: main.py registers {functions.describe()}"
        return 404 if name else 200, json.dumps(listing, indent=2) + "\n", "application/json"


def snapshot(layout: Layout, environment: str) -> dict[Path, int]:
    """Modification times of main.py and the repo's other modules, env file and secrets."""
    paths = [layout.env_file(environment), layout.secrets, layout.manifest]
    for folder, dirs, files in os.walk(layout.root):
        dirs[:] = [d for d in dirs if d not in NOT_WATCHED and not d.startswith(".")]
        paths += [Path(folder, f) for f in files if f.endswith(".py")]
    return {p: p.stat().st_mtime_ns for p in paths if p.exists()}


class Watcher(threading.Thread):
    """Reload the functions when a watched file changes after `seen`, the files as they were
    before the functions were loaded (so that an edit made while the server starts counts)."""

    def __init__(self, functions: Functions, environment: str, seen: dict[Path, int]) -> None:
        super().__init__(name="devserver-watcher", daemon=True)
        self.functions = functions
        self.environment = environment
        self.seen = seen

    def run(self) -> None:
        layout = self.functions.layout
        while True:
            time.sleep(WATCH_INTERVAL)
            current = snapshot(layout, self.environment)
            if current == self.seen:
                continue
            changed = sorted(
                {
                    p.name
                    for p in current.keys() | self.seen.keys()
                    if current.get(p) != self.seen.get(p)
                }
            )
            self.seen = current
            try:
                load_environment(layout, self.environment)
            except ProjectError as error:
                say(f"cannot read the environment: {error}")
            if self.functions.load():
                say(f"reloaded after a change to {', '.join(changed)}: {self.functions.describe()}")
                for warning in self.functions.warnings:
                    say(warning)
                threads = int(os.environ.get("THREADS", "0") or 0)
                if self.functions.wants_asgi() and not self.functions.asgi:
                    say(
                        "main.py now has an async function: this server was started for sync "
                        "ones only (gunicorn's threads), restart make dev to serve it"
                    )
                elif self.functions.threads() > threads:
                    say(
                        f"the functions' concurrency now adds up to {self.functions.threads()}, "
                        f"above the server's {threads} request threads: restart make dev"
                    )
            else:
                say(
                    f"main.py is broken, serving its error until it is fixed:\n{self.functions.error}"
                )


def serve(layout: Layout, environment: str, host: str, port: int) -> None:
    """Serve the repo's functions on host:port until interrupted."""
    seen = snapshot(layout, environment)
    try:
        load_environment(layout, environment)
    except ProjectError as error:
        raise SystemExit("devserver: " + "\n".join(error.errors)) from None
    os.environ["PORT"] = str(port)
    functions = Functions(layout)
    if not functions.load():
        say(f"main.py is broken, serving its error until it is fixed:\n{functions.error}")
    for warning in functions.warnings:
        say(warning)
    # One process serves every function: enough threads for each sync one's concurrency, and
    # for async ones one event loop (rules.server_variables sets the same when deployed).
    os.environ["THREADS"] = str(functions.threads())
    router = Router(functions, environment)
    root: Any = flask.Flask("devserver")
    root.wsgi_app = router
    server = f"THREADS={os.environ['THREADS']}"
    if functions.wants_asgi():
        functions.serve_on_event_loop()
        os.environ["WORKERS"] = "1"
        os.environ["CONCURRENCY"] = str(functions.loop_concurrency())
        root = AsyncRouter(functions, router.page)
        server = "an event loop for async functions" + (
            f", {server} for sync ones" if functions.wants_threads() else ""
        )
    say(f"serving {functions.describe()} on http://{host}:{port} (ENV={environment}, {server})")

    # functions-framework's own server: gunicorn with THREADS threads, or with a uvicorn
    # worker for a Starlette (ASGI) app, as in Cloud Functions. The watcher thread starts in
    # the worker process that gunicorn forks.
    def watch(_worker: object) -> None:
        Watcher(functions, environment, seen).start()

    # A PostgreSQL when the repo has a database, and the Pub/Sub and Cloud Storage
    # emulators wired from functions.yaml, start meanwhile; they stop with the server.
    from gcf_devkit.local import emulators

    with local_database(layout):
        local = emulators.start(layout, environment, port)
        # On Ctrl-C, in-flight requests get 2 s rather than gunicorn's 30 s to finish. Closing
        # the terminal (SIGHUP) stops it too: gunicorn would reload and keep every port open.
        options = {"graceful_timeout": 2, **(local.server_options() if local else {})}
        Arbiter.handle_hup = Arbiter.handle_term
        try:
            create_server(root, False, post_worker_init=watch, **options).run(host, port)
        finally:
            if local:
                local.stop()


@contextlib.contextmanager
def local_database(layout: Layout) -> Iterator[None]:
    """A repo with schema.sql gets a PostgreSQL for as long as it serves (gcf_devkit.local.postgres)."""
    from gcf_devkit.local import postgres

    if not layout.schema.exists():
        yield
        return
    try:
        with postgres.database(layout.schema) as url:
            os.environ["DATABASE_URL"] = url
            say(f"PostgreSQL at {postgres.redacted(url)}")
            yield
    except postgres.PostgresError as error:
        raise SystemExit(f"devserver: {error}") from None
