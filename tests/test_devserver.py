"""The generated local server (`make dev`), run as a real process, for every trigger type.

It serves every function of main.py at /<name> with functions-framework's own app,
lists them at /, takes the env file's variables and the local secrets, reloads when
main.py changes and recovers when a broken main.py is fixed. `make event` (`gcf event`)
sends the samples of events/ to it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gcf_devkit.testing import FunctionServer

from conftest import GCF, MAKE, TRIGGERS, eventually, run

SECOND_FUNCTION = '''

@functions_framework.http
def probe(request):
    """A second function: reports what the environment gives it."""
    import os

    import settings

    return {
        "environment": os.environ.get("ENVIRONMENT"),
        "threads": os.environ.get("THREADS"),
        "api_key": settings.secret("API_KEY"),
        "password": settings.secret("/etc/secrets/db/password"),
    }
'''
SECRETS = ["API_KEY=api-key:latest", "/etc/secrets/db/password=db-password:2"]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# The triggers whose repo `make dev` starts an emulator for (Pub/Sub or Cloud Storage), and
# the lines that say it is ready, or will not be.
WITH_EMULATOR = {"pubsub", "scheduler", "storage"}
SETTLED = ("ready in", "did not start", "could not wire", "no Pub/Sub emulator")


class Dev:
    """A generated repo (a private copy, since tests edit it) with its dev server running, and
    its emulator started: the tests send events to a server in its steady state."""

    def __init__(self, path: Path, emulator: bool = False) -> None:
        self.path = path
        self.server = FunctionServer([GCF, "dev"], cwd=path, env={"ENV": "dev"})
        self.server.wait_until_listening()
        if emulator:
            self.server.wait_for(lambda line: any(s in line for s in SETTLED), timeout=120)

    def index(self) -> dict[str, Any]:
        status, body = get(self.server.url + "/")
        assert status == 200, body
        return json.loads(body)

    def send_event(self, *args: str) -> Any:
        return run([GCF, "event", *args, "--url", self.server.url], self.path)


@pytest.fixture(params=TRIGGERS, scope="module")
def trigger(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def dev(trigger: str, render, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    path = tmp_path_factory.mktemp(f"dev-{trigger}") / "fn"
    shutil.copytree(render(trigger_type=trigger, secrets=SECRETS), path)
    (path / ".secrets.yaml").write_text(
        'API_KEY: "local-key"\n/etc/secrets/db/password: "local-password"\n'
    )
    running = Dev(path, trigger in WITH_EMULATOR)
    yield running
    running.server.stop()


def test_lists_its_functions_and_settings(dev: Dev, trigger: str) -> None:
    index = dev.index()
    signature = "http" if trigger == "http" else "cloudevent"
    assert index["functions"] == [
        {
            "name": "my_function",
            "signature_type": signature,
            "style": "sync",
            "path": "/my_function",
            "concurrency": 80,
        }
    ]
    assert index["environment"] == "dev"
    assert index["threads"] == 80


def test_an_unknown_function_gets_a_404_that_lists_the_served_ones(dev: Dev) -> None:
    status, body = get(dev.server.url + "/nope")
    assert status == 404
    assert "no function 'nope': main.py registers /my_function" in json.loads(body)["error"]


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_make_event_sends_every_sample(dev: Dev, trigger: str, mode: str) -> None:
    samples = sorted((dev.path / "events" / trigger).glob("*.json"))
    assert samples
    for sample in samples:
        result = dev.send_event(str(sample.relative_to(dev.path)), "--mode", mode)
        server = f"\n--- the dev server's last output:\n{dev.server.log_text()}"
        assert result.returncode == 0, result.stdout + result.stderr + server
        assert ": 200" in result.stdout or "-> 200" in result.stdout, result.stdout
        if trigger != "http":
            event_id = result.stdout.split("id ", 1)[1].split(")", 1)[0]
            assert dev.server.wait_for_log(event_id=event_id)["severity"] == "INFO"


SHORT_OPTIONS = {
    "pubsub": (
        ["pubsub", "--data", "from the cli", "--attribute", "k=v"],
        {"data": "from the cli", "attributes": {"k": "v"}},
    ),
    "scheduler": (["pubsub", "--data", '{"task": "cli"}'], {"job": {"task": "cli"}}),
    "storage": (
        ["storage", "--bucket", "my-project-id-uploads", "--object", "in/a.txt", "--size", "7"],
        {"size": 7},
    ),
    "firestore": (
        ["firestore", "--document", "users/ada", "--field", "visits=2", "--old-field", "visits=1"],
        {"value": {"visits": 2}},
    ),
    "audit_log": (
        [
            "audit-log",
            "--service",
            "bigquery.googleapis.com",
            "--method",
            "google.cloud.bigquery.v2.JobService.InsertJob",
        ],
        {"principal": "user@example.com"},
    ),
}


@pytest.mark.parametrize("trigger", list(SHORT_OPTIONS), indirect=True)
def test_make_event_builds_events_from_short_options(dev: Dev, trigger: str) -> None:
    args, expected = SHORT_OPTIONS[trigger]
    result = dev.send_event(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    event_id = result.stdout.split("id ", 1)[1].split(")", 1)[0]
    record = dev.server.wait_for_log(event_id=event_id)
    for key, value in expected.items():
        assert record[key] == value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events/none.json"], "no sample file at events/none.json"),
        (["pubsub", "--bogus"], "unrecognized arguments: --bogus"),
        (["pubsub", "--attribute", "novalue"], "--attribute takes NAME=VALUE"),
        (["storage", "--bucket", "b"], "the following arguments are required: --object"),
        (["--mode", "binary"], "give an event file or a kind of event first"),
    ],
)
@pytest.mark.parametrize("trigger", ["pubsub"], indirect=True)
def test_make_event_refuses_bad_input_clearly(dev: Dev, args: list[str], message: str) -> None:
    result = dev.send_event(*args)
    assert result.returncode != 0
    assert message in result.stderr


def test_serves_the_env_files_variables_and_local_secrets_and_a_second_function(dev: Dev) -> None:
    main_py = dev.path / "main.py"
    main_py.write_text(main_py.read_text() + SECOND_FUNCTION)
    eventually(lambda: len(dev.index()["functions"]) == 2)
    assert dev.index()["functions"][1] == {
        "name": "probe",
        "signature_type": "http",
        "style": "sync",
        "path": "/probe",
        "concurrency": 80,
    }
    # Served, though functions.yaml lacks it: `make check` fails on it, and the server says so.
    dev.server.wait_for(lambda line: "registers 'probe', which functions.yaml lacks" in line)
    status, body = get(dev.server.url + "/probe")
    assert status == 200, body
    assert json.loads(body) == {
        "environment": "dev",
        "threads": "80",
        "api_key": "local-key",
        "password": "local-password",
    }
    # The first function still works, beside the second.
    assert dev.index()["functions"][0]["name"] == "my_function"


VERSION_FUNCTION = """

@functions_framework.http
def version(request):
    return "{version}"
"""


def test_serves_an_edit_without_restarting_and_recovers_from_a_broken_main_py(dev: Dev) -> None:
    main_py = dev.path / "main.py"
    original = main_py.read_text()
    pid = dev.server._process.pid

    main_py.write_text(original + VERSION_FUNCTION.format(version="one"))
    eventually(lambda: get(dev.server.url + "/version") == (200, "one"))
    main_py.write_text(original + VERSION_FUNCTION.format(version="two"))
    eventually(lambda: get(dev.server.url + "/version") == (200, "two"))

    main_py.write_text(original + VERSION_FUNCTION.format(version="two") + "\n\ndef broken(:\n")

    def broken_response() -> str | None:
        status, body = get(dev.server.url + "/version")
        return body if status == 500 else None

    body = eventually(broken_response)
    assert "SyntaxError" in body
    assert "main.py" in body
    dev.server.wait_for(lambda line: "main.py is broken" in line)

    main_py.write_text(original + VERSION_FUNCTION.format(version="three"))
    eventually(lambda: get(dev.server.url + "/version") == (200, "three"))
    assert get(dev.server.url + "/my_function")[0] != 500, "the first function is back too"
    assert dev.server._process.pid == pid, "the server must not restart"
    main_py.write_text(original)


# main.py as the server starts to load it: it says so, then takes a while.
SLOW_START = """
import pathlib, time

pathlib.Path("loading").touch()
time.sleep(3)
"""


@contextlib.contextmanager
def starting(render: Any, tmp_path: Path, appended: str) -> Iterator[tuple[Path, str, Any]]:
    """A private copy of the default repo whose main.py has `appended`, its dev server just
    started (not yet listening): (path, the original main.py, the server)."""
    path = tmp_path / "fn"
    shutil.copytree(render(), path)
    original = (path / "main.py").read_text()
    (path / "main.py").write_text(original + appended)
    server = FunctionServer([GCF, "dev"], cwd=path)
    try:
        yield path, original, server
    finally:
        server.stop()


def test_an_edit_made_while_the_server_starts_is_served(render, tmp_path: Path) -> None:
    """main.py changes while the server imports it: the change is picked up, not lost."""
    with starting(render, tmp_path, SLOW_START) as (path, original, server):
        eventually(lambda: (path / "loading").exists(), 30, "main.py being loaded")
        (path / "main.py").write_text(original + VERSION_FUNCTION.format(version="edited"))
        server.wait_until_listening()
        eventually(lambda: get(server.url + "/version") == (200, "edited"), 30, "the edit served")


def test_a_server_started_on_a_broken_main_py_has_its_threads_and_says_why(
    render, tmp_path: Path
) -> None:
    """Threads come from functions.yaml, so fixing main.py later serves full concurrency;
    `make event` meanwhile shows the server's error, not "no dev server"."""
    broken = "\nimport not_a_module_anywhere\n"
    with starting(render, tmp_path, broken) as (path, original, server):
        server.wait_until_listening()
        sample = next((path / "events" / "http").iterdir())
        sent = run([GCF, "event", str(sample), "--url", server.url], path)
        assert sent.returncode != 0
        assert "the dev server answered 500" in sent.stderr, sent.stderr
        assert "not_a_module_anywhere" in sent.stderr
        (path / "main.py").write_text(original)
        eventually(lambda: get(server.url + "/")[0] == 200, 30, "main.py fixed")
        assert json.loads(get(server.url + "/")[1])["threads"] == 80


def test_dev_and_deploy_read_the_env_file_alike(render, tmp_path: Path) -> None:
    """One reader of env files: a value that `make deploy` refuses, `make dev` refuses too,
    naming the file and the key, before serving anything."""
    path = tmp_path / "fn"
    shutil.copytree(render(), path)
    env_file = path / "env.dev.yaml"
    env_file.write_text(env_file.read_text() + "RETRIES: 3\n")
    deploy = run([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1"], path)
    dev = run([GCF, "dev", "--port", "1"], path)
    for result in (deploy, dev):
        assert result.returncode != 0
        assert "env.dev.yaml: values must be strings" in result.stderr, result.stderr
        assert "RETRIES" in result.stderr


def test_make_passes_values_as_given_and_never_to_a_shell(render, tmp_path: Path) -> None:
    """A value with $, spaces or shell syntax reaches the command as it was typed."""
    path = render()
    show = 'show: ; @printf "%s|%s|%s\\n" "$$DATA" "$$FUNCTION" "$$FILE"'
    tricky = {"DATA": "a$b $$c", "FUNCTION": "x; touch pwned #", "FILE": "my file.json"}
    result = run([*MAKE, "--eval", show, "show", *(f"{k}={v}" for k, v in tricky.items())], path)
    assert result.stdout == "a$b $$c|x; touch pwned #|my file.json\n", result.stderr
    sent = run([*MAKE, "event", "FUNCTION=x; touch pwned #", "PORT=1"], path)
    assert sent.returncode != 0
    assert not (path / "pwned").exists()


# ---------------------------------------------------------------- async functions

SYNC_BESIDE_ASYNC = '''

@functions_framework.http
def sync_probe(request):
    """A sync function beside the async one: its Flask app, on a thread of the server."""
    import threading

    return {"thread": threading.current_thread().name}
'''
# functions.yaml's entry for it: sync, where the repo's answer (the default) is async.
SYNC_ENTRY = """
  "sync-probe":
    entry_point: "sync_probe"
    trigger_type: "http"
    function_style: "sync"
    concurrency: 8
"""


@pytest.fixture(scope="module")
def async_dev(render, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """An async HTTP function, and a sync one beside it."""
    path = tmp_path_factory.mktemp("dev-async") / "fn"
    shutil.copytree(render(function_style="async"), path)
    main_py = path / "main.py"
    main_py.write_text(main_py.read_text() + SYNC_BESIDE_ASYNC)
    with (path / "functions.yaml").open("a") as manifest:
        manifest.write(SYNC_ENTRY)
    running = Dev(path)
    yield running
    running.server.stop()


def test_serves_async_and_sync_functions_side_by_side(async_dev: Dev) -> None:
    functions = async_dev.index()["functions"]
    assert [(f["name"], f["style"], f["concurrency"]) for f in functions] == [
        ("my_function", "async", 80),
        ("sync_probe", "sync", 8),
    ]
    async_dev.server.wait_for(lambda line: "an event loop for async functions" in line)
    status, body = get(async_dev.server.url + "/my_function?name=Ada")
    assert (status, json.loads(body)) == (200, {"message": "Hello, Ada!"})
    # By its deployed name too; a sync function runs on a thread, as gunicorn's would.
    status, body = get(async_dev.server.url + "/sync-probe")
    assert status == 200, body
    assert json.loads(body)["thread"].startswith("sync-function")
    check = run([GCF, "check"], async_dev.path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "my-function: my_function (http, async)" in check.stdout
    assert "sync-probe: sync_probe (http, sync)" in check.stdout


def test_an_async_function_is_reloaded_on_an_edit(async_dev: Dev) -> None:
    main_py = async_dev.path / "main.py"
    original = main_py.read_text()
    pid = async_dev.server._process.pid
    main_py.write_text(original.replace('f"Hello, {name}!"', 'f"Hi, {name}!"'))
    try:
        eventually(
            lambda: (
                get(async_dev.server.url + "/my_function?name=Ada")
                == (200, '{"message":"Hi, Ada!"}')
            )
        )
    finally:
        main_py.write_text(original)
    assert async_dev.server._process.pid == pid, "the server must not restart"


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_make_event_sends_every_sample_to_an_async_function(
    render, tmp_path: Path, trigger: str
) -> None:
    path = tmp_path / "fn"
    shutil.copytree(render(trigger_type=trigger, function_style="async"), path)
    dev = Dev(path)
    try:
        assert dev.index()["functions"][0]["style"] == "async"
        for sample in sorted((path / "events" / trigger).glob("*.json")):
            for mode in ("binary", "structured"):
                result = dev.send_event(str(sample.relative_to(path)), "--mode", mode)
                assert "-> 200" in result.stdout or ": 200" in result.stdout, result.stdout
                if trigger != "http":
                    event_id = result.stdout.split("id ", 1)[1].split(")", 1)[0]
                    assert dev.server.wait_for_log(event_id=event_id)["severity"] == "INFO"
    finally:
        dev.server.stop()
