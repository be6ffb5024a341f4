"""A real PostgreSQL for `gcf dev` and the tests: DATABASE_URL when set, else a throw-away server.

`gcf postgres` starts one, applies schema.sql, prints its URL, and stops it on Ctrl-C.
When DATABASE_URL is set, that database is used as it is. Otherwise, when PostgreSQL's
programs are installed (on PATH, or Debian's /usr/lib/postgresql/<version>/bin:
`apt-get install postgresql`; macOS: `brew install postgresql`), a server is started
the way pytest-postgresql does: `initdb` into a temporary data directory, listening on
a unix socket in a temporary directory only (no TCP port), stopped and deleted on exit.
PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
Either way schema.sql is applied, and the URL the functions read (database.py) is
postgresql+pg8000://postgres@/postgres?unix_sock=<dir>/.s.PGSQL.5432.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

# The account that runs the server when this runs as root.
SERVER_USER = "postgres"


class PostgresError(Exception):
    """No PostgreSQL could be started or reached; the message says what to do."""


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else the newest Debian/Ubuntu install."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def statements(sql: str) -> list[str]:
    """The statements of a schema file: `--` comments dropped, each ending with `;` at a line end."""
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";[ \t]*$", text, flags=re.M) if s.strip()]


def apply_schema(url: str, schema: Path) -> None:
    """Run schema.sql against the database at `url`."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements(schema.read_text()):
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


class Server:
    """A PostgreSQL server in a temporary directory, reached through a unix socket."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.socket_dir.mkdir()
        self.owner = os.getpid()
        self.watchdog: subprocess.Popen[bytes] | None = None
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresError(
                    f"PostgreSQL will not run as root, and there is no {SERVER_USER!r} user "
                    "to run it as: create one, or run as another user"
                ) from None
            for path in (self.root, self.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", SERVER_USER, "--"]

    @property
    def url(self) -> str:
        return f"postgresql+pg8000://postgres@/postgres?unix_sock={self.socket_dir}/.s.PGSQL.5432"

    def run(self, program: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresError(f"{program} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> Server:
        self.run(
            "initdb",
            f"--pgdata={self.data}",
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c max_connections=300"
        self.run(
            "pg_ctl",
            "start",
            f"--pgdata={self.data}",
            f"--log={self.root / 'server.log'}",
            f"--options={options}",
            "--wait",
        )
        self.watch()
        return self

    def stop(self) -> None:
        """Stop the server and delete its files (only from the process that started it)."""
        if os.getpid() != self.owner:
            return
        if self.watchdog is not None:
            self.watchdog.terminate()  # it stops the server and deletes its files, as here
            self.watchdog.wait()
        with contextlib.suppress(PostgresError):
            self.run("pg_ctl", "stop", f"--pgdata={self.data}", "--mode=fast", "--wait")
        shutil.rmtree(self.root, ignore_errors=True)

    def watch(self) -> None:
        """Start a process that stops the server and deletes its files when this process ends,
        however it ends: killed, it cannot do it itself (pg_ctl's server outlives it)."""
        stop = [*self.as_user, str(self.bin_dir / "pg_ctl"), "stop", f"--pgdata={self.data}"]
        self.watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, json.dumps([*stop, "--mode=fast"]), str(self.root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )


# Waits for SIGTERM (sent by the kernel when its parent dies, or by Server.stop), then stops
# the server and deletes its folder.
WATCHDOG = """
import json, shutil, signal, subprocess, sys
signal.signal(signal.SIGTERM, lambda *_: None)
signal.pause()
subprocess.run(json.loads(sys.argv[1]), capture_output=True, check=False)
shutil.rmtree(sys.argv[2], ignore_errors=True)
"""


def _die_with_parent() -> None:
    """In the child: get SIGTERM when its parent dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def redacted(url: str) -> str:
    """A database URL for a log line: its password, if any, hidden."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def database(schema: Path, fresh: bool = False) -> Iterator[str]:
    """The URL of a PostgreSQL with the schema applied; a server started here is stopped after.

    With `fresh`, the URL is that of a new, empty database on that server, dropped after:
    the tests start from nothing each run, also on a DATABASE_URL that outlives them
    (whose user then needs the right to create databases).
    """
    url = os.environ.get("DATABASE_URL")
    server = None
    if not url:
        bin_dir = binaries()
        if bin_dir is None:
            raise PostgresError(
                "PostgreSQL is not installed: install it (apt-get install postgresql, "
                "brew install postgresql), or set DATABASE_URL to a database such as "
                "postgresql+pg8000://user:password@localhost:5432/db"
            )
        server = Server(bin_dir).start()
        url = server.url
    try:
        with _fresh(url) if fresh else contextlib.nullcontext(url) as target:
            apply_schema(target, schema)
            yield target
    finally:
        if server is not None:
            server.stop()


@contextlib.contextmanager
def _fresh(url: str) -> Iterator[str]:
    """A new database on the server of `url`, dropped (with its connections) after."""
    import sqlalchemy

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(
        url, poolclass=sqlalchemy.NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        yield sqlalchemy.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def serve(schema: Path) -> int:
    """Start a PostgreSQL with the schema, print its URL, and keep it until Ctrl-C."""
    try:
        with database(schema) as url:
            print(f"DATABASE_URL={redacted(url)}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except PostgresError as error:
        print(f"postgres: {error}", file=sys.stderr)
        return 1
    return 0
