"""Serve every function of main.py at once, as Cloud Functions would serve each one.

    python -m tools.devserver        (or `make dev`)

Each function registered with a functions-framework decorator is served at
/<function name> by functions-framework's own app for it, under the same gunicorn
server and THREADS as in Cloud Functions. GET / lists the functions. The
variables of env.<ENV>.yaml (ENV=dev by default) are set as they are when
deployed, and secrets come from the git-ignored .secrets.yaml under their
production names. A change to a .py file, the env file or .secrets.yaml reloads
the functions in place; while main.py is broken, requests get its error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import flask
import functions_framework
from functions_framework import _function_registry
from functions_framework._http import create_server
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "main.py"
SECRETS_FILE = ROOT / ".secrets.yaml"
MOUNTED_SECRETS = ROOT / ".secrets" / "mounted"
WATCH_INTERVAL = 0.3
# Folders whose changes do not reload the functions (and hidden ones, such as .venv).
NOT_WATCHED = {"__pycache__", "node_modules", "tests", "tools", "venv"}

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def say(message: str) -> None:
    print(f"devserver: {message}", file=sys.stderr, flush=True)


# One line of a flat YAML map with a quoted value, as env.<ENV>.yaml and .secrets.yaml are written.
QUOTED_ENTRY = re.compile(
    r"""^(?P<key>[A-Za-z_/][^\s:"'#]*):[ \t]+(?:"(?P<double>[^"\\]*)"|'(?P<single>[^']*)')[ \t]*(?:#.*)?$"""
)


def load_yaml_map(path: Path) -> dict[str, str]:
    """Read a YAML map of strings; an absent file is an empty map.

    Flat maps of quoted values are read directly, which keeps PyYAML out of the
    server's start-up; any other YAML is read by PyYAML.
    """
    if not path.exists():
        return {}
    text = path.read_text()
    entries = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    matches = [QUOTED_ENTRY.match(line) for line in entries]
    if all(matches):
        return {m["key"]: m["double"] if m["double"] is not None else m["single"] for m in matches}
    import yaml

    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path.name} is not valid YAML: {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path.name} must be a map of names to values")
    return {str(key): str(value) for key, value in values.items()}


def load_environment(environment: str) -> dict[str, str]:
    """Set the variables and secrets the function has when deployed to `environment`."""
    env_file = ROOT / f"env.{environment}.yaml"
    if not env_file.exists():
        known = sorted(p.name[4:-5] for p in ROOT.glob("env.*.yaml"))
        raise SystemExit(
            f"devserver: no {env_file.name}: known environments are {', '.join(known)}"
        )
    variables = load_yaml_map(env_file)
    for name, value in load_yaml_map(SECRETS_FILE).items():
        if name.startswith("/"):
            mounted = MOUNTED_SECRETS / name.lstrip("/")
            mounted.parent.mkdir(parents=True, exist_ok=True)
            mounted.write_text(value)
            variables["SECRETS_ROOT"] = str(MOUNTED_SECRETS)
        else:
            variables[name] = value
    os.environ.update(variables)
    return variables


class Functions:
    """The functions of main.py, each with its functions-framework app, rebuilt on change."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.apps: dict[str, flask.Flask] = {}
        self.signatures: dict[str, str] = {}
        self.error = ""
        self.lock = threading.Lock()

    def load(self) -> bool:
        """(Re)load main.py; on failure keep the error to show, and return False."""
        with self.lock:
            _forget_local_modules()
            _function_registry.REGISTRY_MAP.clear()
            try:
                module, spec = _function_registry.load_function_module(str(self.source))
                spec.loader.exec_module(module)
                names = [n for n in _function_registry.REGISTRY_MAP if hasattr(module, n)]
                signatures = {n: _function_registry.REGISTRY_MAP[n] for n in names}
                apps = {n: functions_framework.create_app(n, str(self.source)) for n in names}
            except Exception:  # any error in main.py is shown, not fatal
                self.error = _user_traceback()
                return False
            self.apps, self.signatures, self.error = apps, signatures, ""
            return True

    def describe(self) -> str:
        return ", ".join(f"/{n} ({s})" for n, s in self.signatures.items()) or "none"


def _forget_local_modules() -> None:
    """Drop the repo's own modules from sys.modules, so that a reload imports them anew."""
    for name, module in list(sys.modules.items()):
        if _is_local(getattr(module, "__file__", None) or ""):
            del sys.modules[name]


def _is_local(file: str) -> bool:
    return file.startswith(str(ROOT)) and "/.venv/" not in file and "/tools/" not in file


def _user_traceback() -> str:
    """The traceback of the current exception, in the repo's own files only."""
    kind, error, tb = sys.exc_info()
    frames = [f for f in traceback.extract_tb(tb) if _is_local(f.filename)]
    lines = traceback.format_list(frames) + traceback.format_exception_only(kind, error)
    return "".join(lines).rstrip()


class Router:
    """WSGI app: / lists the functions, /<name>/... goes to that function's own app."""

    def __init__(self, functions: Functions, environment: str) -> None:
        self.functions = functions
        self.environment = environment

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        name, _, rest = environ.get("PATH_INFO", "/").lstrip("/").partition("/")
        functions = self.functions
        if functions.error:
            body = f"main.py is broken; fix it and the server reloads:\n\n{functions.error}\n"
            return Response(body, 500, mimetype="text/plain")(environ, start_response)
        app = functions.apps.get(name)
        if app is None:
            return self.index(name)(environ, start_response)
        environ = {
            **environ,
            "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + "/" + name,
            "PATH_INFO": "/" + rest,
        }
        return app(environ, start_response)

    def index(self, name: str) -> Response:
        listing = {
            "environment": self.environment,
            "threads": int(os.environ.get("THREADS", "0") or 0),
            "functions": [
                {"name": n, "signature_type": s, "path": f"/{n}"}
                for n, s in self.functions.signatures.items()
            ],
        }
        if name:
            listing["error"] = (
                f"no function {name!r}: main.py registers {self.functions.describe()}"
            )
        return Response(
            json.dumps(listing, indent=2) + "\n", 404 if name else 200, mimetype="application/json"
        )


class Watcher(threading.Thread):
    """Reload the functions when a watched file changes."""

    def __init__(self, functions: Functions, environment: str) -> None:
        super().__init__(name="devserver-watcher", daemon=True)
        self.functions = functions
        self.environment = environment
        self.seen = self.snapshot()

    def snapshot(self) -> dict[Path, int]:
        """Modification times of main.py and the repo's other modules, env file and secrets."""
        paths = [ROOT / f"env.{self.environment}.yaml", SECRETS_FILE]
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in NOT_WATCHED and not d.startswith(".")]
            paths += [Path(folder, f) for f in files if f.endswith(".py")]
        return {p: p.stat().st_mtime_ns for p in paths if p.exists()}

    def run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            current = self.snapshot()
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
                load_environment(self.environment)
            except ValueError as error:
                say(f"cannot read the environment: {error}")
            if self.functions.load():
                say(f"reloaded after a change to {', '.join(changed)}: {self.functions.describe()}")
            else:
                say(
                    f"main.py is broken, serving its error until it is fixed:\n{self.functions.error}"
                )


def main() -> None:
    environment = os.environ.get("ENV", "dev")
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    try:
        load_environment(environment)
    except ValueError as error:
        raise SystemExit(f"devserver: {error}") from None
    functions = Functions(SOURCE)
    if not functions.load():
        say(f"main.py is broken, serving its error until it is fixed:\n{functions.error}")
    root = flask.Flask("devserver")
    root.wsgi_app = Router(functions, environment)  # type: ignore[method-assign]
    say(
        f"serving {functions.describe()} on http://{host}:{port} "
        f"(ENV={environment}, THREADS={os.environ.get('THREADS', 'default')})"
    )

    # functions-framework's own server: gunicorn with THREADS threads, as in Cloud Functions.
    # The watcher thread starts in the worker process that gunicorn forks.
    def watch(_worker: object) -> None:
        Watcher(functions, environment).start()

    create_server(root, False, post_worker_init=watch).run(host, port)


if __name__ == "__main__":
    main()
