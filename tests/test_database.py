"""database=cloudsql_postgres: a pool per instance, sized to the function, against a real PostgreSQL.

- The password and the IAM variants render, lint clean and pass their own tests against a
  real PostgreSQL (one server for this module, started as gcf-devkit starts it).
- The HTTP function, served by the real functions-framework server with THREADS at its
  concurrency, answers 200 concurrent requests with at most pool_size + max_overflow
  server connections (pg_stat_activity, sampled during the run).
- Bad answers are refused with the field named; the deploy and setup dry-runs carry the
  connection's settings and pass the real gcloud parser and the platform rules.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from gcf_devkit.local import postgres
from gcloud_parser import commands_of, parse_errors
from gcloud_rules import check_run_deploy_command, one

from conftest import GCF, GENERATED_PYTEST, MAKE, check, eventually, free_port, load_module, run

pytestmark = pytest.mark.xdist_group("database")

COMMON = {"database": "cloudsql_postgres", "max_instances": 1, "max_connections": 100}
VARIANTS: dict[str, dict[str, Any]] = {
    # An HTTP function that signs in with a password from Secret Manager.
    "password": {**COMMON, "database_auth": "password", "database_user": "app"},
    # A Pub/Sub function that signs in as its service account, over a private IP.
    "iam": {
        **COMMON,
        "trigger_type": "pubsub",
        "vpc": "connector",
        "database_ip": "private",
        "cloudsql_instance": "shared-db-project:europe-west1:orders",
    },
}
REQUESTS = 200
CLIENTS = 80  # the function's concurrency, as the default io_bound workload sets it


@pytest.fixture(scope="module")
def repos(render) -> dict[str, Path]:
    return {name: render(**answers) for name, answers in VARIANTS.items()}


@pytest.fixture(scope="module")
def database_url(repos: dict[str, Path]) -> Iterator[str]:
    """One PostgreSQL for the module, started (or found) as the generated repos do it."""
    try:
        with postgres.database(repos["password"] / "schema.sql") as url:
            yield url
    except postgres.PostgresError as error:
        pytest.fail(f"no PostgreSQL for the database tests (.ci/run installs it): {error}")


def query(url: str, sql: str, **params: Any) -> Any:
    """The first value of one query, on a connection of its own."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text(sql), params).scalar()
    finally:
        engine.dispose()


def wait_until_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# Connections to the database other than the one asking.
CONNECTIONS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_generated_tests_and_lint_pass_against_a_real_postgresql(
    repos: dict[str, Path], database_url: str, variant: str, mypy_cache: dict[str, str]
) -> None:
    path = repos[variant]
    output = check(
        [*MAKE, "test"], path, DATABASE_URL=database_url, PYTEST_ADDOPTS=f"{GENERATED_PYTEST} -v"
    )
    assert " passed" in output
    assert "tests/unit/test_database.py::test_an_event_is_handled_once PASSED" in output
    check([*MAKE, "lint"], path, **mypy_cache)
    requirements = (path / "requirements.txt").read_text()
    for pin in ("sqlalchemy==", "cloud-sql-python-connector==", "pg8000=="):
        assert pin in requirements


def test_the_default_render_has_no_database(render) -> None:
    path = render()
    assert not (path / "database.py").exists()
    assert not (path / "schema.sql").exists()
    assert "sqlalchemy" not in (path / "requirements.txt").read_text()
    assert "database" not in (path / "main.py").read_text()


def test_concurrent_requests_stay_within_the_pool(
    repos: dict[str, Path], database_url: str
) -> None:
    """200 requests, 80 at once, to a function of concurrency 80 (THREADS=80): all succeed,
    and the server never sees more than pool_size + max_overflow connections."""
    path = repos["password"]
    most = CLIENTS + load_module(path / "database.py", "generated_database").MAX_OVERFLOW
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "functions_framework", "--target", "my_function"],
        cwd=path,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "THREADS": str(CLIENTS),
            "PORT": str(port),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(port)
    name = f"Load {time.monotonic_ns()}"
    url = f"http://127.0.0.1:{port}/?name={urllib.parse.quote(name)}"
    seen: list[int] = []
    done = threading.Event()

    def sample() -> None:
        import sqlalchemy

        # Autocommit: within a transaction PostgreSQL shows one snapshot of pg_stat_activity.
        engine = sqlalchemy.create_engine(
            database_url, poolclass=sqlalchemy.NullPool, isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as connection:
            while not done.is_set():
                seen.append(connection.execute(sqlalchemy.text(CONNECTIONS)).scalar_one())
                time.sleep(0.005)
        engine.dispose()

    def call(i: int) -> int:
        post = i % 2 == 1  # half write a row, half read it
        req = urllib.request.Request(
            url,
            data=json.dumps({"name": name}).encode() if post else None,
            headers={"Content-Type": "application/json"} if post else {},
        )
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status

    sessions = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    before = query(database_url, sessions)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(call, range(REQUESTS)))
    finally:
        done.set()
        sampler.join()
        server.terminate()
        server.wait(timeout=30)
    assert statuses == [200] * REQUESTS
    assert seen, "pg_stat_activity was never read"
    assert 1 <= max(seen) <= most, f"server connections seen: {max(seen)}, the pool allows {most}"
    # Connections were reused, not opened per request: the server counts the sessions it
    # started (the sampler's and the first query's are 2 of them).
    time.sleep(1)  # the server counts a session's start when the session reports its stats
    opened = query(database_url, sessions) - before - 2
    assert 1 <= opened <= most, f"{opened} connections opened for {REQUESTS} requests"
    print(f"connections: at most {max(seen)} at once, {opened} opened")
    # Every POST was counted once: concurrent writes of one row did not lose any.
    counted = query(database_url, "SELECT count FROM greetings WHERE name = :name", name=name)
    assert counted == REQUESTS // 2


# ---------------------------------------------------------------- refused answers

BAD = [
    ({"cloudsql_instance": "orders-db"}, "cloudsql_instance"),
    ({"cloudsql_instance": "my-project-id:us-central1:Orders_DB"}, "cloudsql_instance"),
    ({"max_instances": 10}, "max_instances: max_instances (10)"),
    ({"min_instances": 2}, "max_connections: must be at least 164"),
    ({"max_connections": 13}, "max_connections: must be 14 to 262143"),
    ({"database_ip": "private"}, "database_ip: a private IP is reached through a VPC network"),
    ({"database_auth": "iam", "database_user": "app"}, "database_user"),
]


@pytest.mark.parametrize(("answers", "field"), BAD, ids=[b[1].split(":")[0] for b in BAD])
def test_bad_answers_are_refused_with_the_field_named(
    template_copy: Path, tmp_path: Path, answers: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(field)) as error:
        copier.run_copy(
            str(template_copy),
            tmp_path / "fn",
            data={**COMMON, **answers},
            defaults=True,
            unsafe=True,
            quiet=True,
        )
    if field.startswith("max_instances"):
        assert "max_instances (10) x (pool_size 80 + max_overflow 2) = 820" in str(error.value)
        assert "Cloud SQL for PostgreSQL" in str(error.value)


def test_the_defaults_with_a_database_are_accepted(template_copy: Path, tmp_path: Path) -> None:
    """max_instances is asked after max_connections, and defaults to as many as fit."""
    for connections, instances in ((100, 1), (1000, 12), (100_000, 100)):
        destination = tmp_path / str(connections)
        copier.run_copy(
            str(template_copy),
            destination,
            data={"database": "cloudsql_postgres", "max_connections": connections},
            defaults=True,
            unsafe=True,
            quiet=True,
            skip_tasks=True,
        )
        answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
        assert answers["max_instances"] == instances, connections


def test_make_check_refuses_a_function_whose_pool_exceeds_max_connections(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "repo"
    check(["cp", "-r", str(repos["password"]), str(path)], tmp_path)
    manifest = path / "functions.yaml"
    manifest.write_text(manifest.read_text() + "    max_instances: 3\n")
    result = run([*MAKE, "check"], path)
    assert result.returncode != 0
    assert "max_instances: max_instances (3) x (pool_size 80 + max_overflow 2) = 246" in (
        result.stderr
    )


# ---------------------------------------------------------------- deploy and setup


@pytest.mark.parametrize("variant", VARIANTS)
def test_deploy_and_setup_carry_the_connection(repos: dict[str, Path], variant: str) -> None:
    path = repos[variant]
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    deploy = check([*MAKE, "deploy", "ENV=dev", "DRY_RUN=1"], path).splitlines()
    line = next(x for x in deploy if x.startswith("gcloud run deploy "))
    flags = check_run_deploy_command(line, path)
    env = yaml.safe_load((path / one(flags, "--env-vars-file")).read_text())
    assert env["INSTANCE_CONNECTION_NAME"] == answers["cloudsql_instance"]
    assert env["DB_NAME"] == answers["database_name"]
    assert env["DB_USER"] == answers["database_user"]
    assert env["DB_IP_TYPE"] == answers["database_ip"]
    assert env["THREADS"] == "80"
    shell = check([*MAKE, "setup", "ENV=dev", "DRY_RUN=1"], path).splitlines()
    setup = [shlex.join(words) for words in commands_of(shell)]
    roles = {w.partition("=")[2] for x in setup for w in shlex.split(x) if w.startswith("--role=")}
    assert "roles/cloudsql.client" in roles
    project = answers["cloudsql_instance"].partition(":")[0]
    assert any(
        f"projects add-iam-policy-binding {project} " in x and "cloudsql.client" in x for x in setup
    )
    if variant == "password":
        assert env["DB_IAM_AUTH"] == "false"
        assert one(flags, "--set-secrets") == "DB_PASSWORD=my-function-db-password:latest"
        assert "roles/cloudsql.instanceUser" not in roles
    else:
        assert env["DB_IAM_AUTH"] == "true"
        assert "--set-secrets" not in flags
        assert "roles/cloudsql.instanceUser" in roles
        assert any(x.startswith("gcloud sql users create ") for x in setup)
    assert parse_errors([line, *shell], path) == []


def test_environments_sharing_an_instance_are_warned_and_may_have_their_own(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    """dev and production on one instance: 2 x (80 + 2) connections > 100, said by make check.
    An instance named in env.dev.yaml is dev's own: dev deploys with it, and the warning goes."""
    path = tmp_path / "repo"
    check(["cp", "-r", str(repos["password"]), str(path)], tmp_path)
    result = run([*MAKE, "check"], path)
    assert result.returncode == 0, result.stderr
    assert "database: dev, production share the Cloud SQL instance" in result.stderr
    assert "may hold 164 connections at once, above its max_connections (100)" in result.stderr
    own = "my-project-id:us-central1:dev-db"
    env_file = path / "env.dev.yaml"
    env_file.write_text(env_file.read_text() + f'INSTANCE_CONNECTION_NAME: "{own}"\n')
    result = run([*MAKE, "check"], path)
    assert result.returncode == 0 and "share the Cloud SQL instance" not in result.stderr
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    for environment, instance in (("dev", own), ("production", answers["cloudsql_instance"])):
        check([*MAKE, "deploy", f"ENV={environment}", "DRY_RUN=1"], path)
        env = yaml.safe_load((path / ".deploy" / environment / "my-function.yaml").read_text())
        assert env["INSTANCE_CONNECTION_NAME"] == instance


def start_dev(repo: Path) -> tuple[int, subprocess.Popen[str]]:
    """`gcf dev` in a repo, on a free port, with a PostgreSQL of its own (no DATABASE_URL)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    server = subprocess.Popen(
        [GCF, "dev"],
        cwd=repo,
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return port, server


def test_make_dev_serves_with_a_postgresql_it_stops_on_exit(repos: dict[str, Path]) -> None:
    port, server = start_dev(repos["password"])
    try:
        wait_until_listening(port)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/my_function",
            data=json.dumps({"name": "Dev"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            assert json.loads(response.read()) == {"message": "Hello, Dev!", "greetings": 1}
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=30)
    socket_path = re.search(r"unix_sock=(\S+)", errors)
    assert socket_path, errors
    assert not Path(socket_path[1]).parents[1].exists(), "the server's directory is left behind"


@pytest.mark.parametrize("provider", ["gitlab_ci", "cloud_build"])
def test_ci_of_other_providers_installs_postgresql(render, provider: str) -> None:
    path = render(**COMMON, ci_provider=provider)
    name = ".gitlab-ci.yml" if provider == "gitlab_ci" else "cloudbuild.yaml"
    text = (path / name).read_text()
    yaml.safe_load(text)
    assert "apt-get install -qq -y --no-install-recommends postgresql" in text
    assert text.index("postgresql") < text.index("make install check lint test")


def test_a_killed_dev_server_leaves_no_postgresql_behind(repos: dict[str, Path]) -> None:
    """Killed outright (kill -9: it cannot clean up), the dev server's PostgreSQL still stops
    and its folder goes; a DATABASE_URL's password never reaches the log."""
    port, server = start_dev(repos["password"])
    try:
        wait_until_listening(port)
    finally:
        server.kill()
        _, errors = server.communicate(timeout=30)
    socket_path = re.search(r"unix_sock=(\S+)", errors)
    assert socket_path, errors
    folder = Path(socket_path[1]).parents[1]
    eventually(lambda: not folder.exists(), 30, "the PostgreSQL folder removed")
    assert not Path(socket_path[1]).exists()


def test_a_database_url_is_logged_without_its_password() -> None:
    url = "postgresql+pg8000://app:s3cr3t-pw@db.example:5432/orders"
    assert postgres.redacted(url) == "postgresql+pg8000://app:***@db.example:5432/orders"
    no_password = "postgresql+pg8000://postgres@/postgres?unix_sock=/tmp/s/.s.PGSQL.5432"
    assert postgres.redacted(no_password) == no_password
