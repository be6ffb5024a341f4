"""A real functions-framework server for tests, with the log lines it prints."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The project the servers and the functions under test see (GOOGLE_CLOUD_PROJECT).
TEST_PROJECT = "test-project"


def free_port() -> int:
    """Return a TCP port that is free on localhost right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FunctionServer:
    """A server process on a free port, with the JSON log lines it prints."""

    def __init__(
        self, args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.records: list[dict[str, Any]] = []
        self.output: list[str] = []
        self._changed = threading.Condition()
        self._process = subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {}), "PORT": str(self.port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    @classmethod
    def functions_framework(
        cls, target: str, cwd: Path | None = None, **env: str
    ) -> FunctionServer:
        """Serve `target` from main.py (in `cwd`, the current folder by default) with
        functions-framework, as production does."""
        args = [sys.executable, "-m", "functions_framework", "--target", target]
        return cls(args, cwd, env={"GOOGLE_CLOUD_PROJECT": TEST_PROJECT, **env})

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            with self._changed:
                self.output.append(line.rstrip("\n"))
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    record = None
                if isinstance(record, dict):
                    self.records.append(record)
                self._changed.notify_all()

    def wait_until_listening(self, timeout: float = 30) -> FunctionServer:
        """Wait until the server accepts connections; fail with its output if it exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self._process.returncode}:\n{self.log_text()}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"server not listening after {timeout}s:\n{self.log_text()}")

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 10) -> str:
        """Return the first output line for which `predicate` holds, waiting for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.output:
                    if predicate(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no such line in the server output:\n{self.log_text()}")
                self._changed.wait(remaining)

    def wait_for_log(self, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Return the first JSON log record that has all `fields`, waiting for it."""

        def matches(line: str) -> bool:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                return False
            return isinstance(record, dict) and all(record.get(k) == v for k, v in fields.items())

        record: dict[str, Any] = json.loads(self.wait_for(matches, timeout))
        return record

    def log_text(self) -> str:
        with self._changed:
            return "\n".join(self.output[-50:])

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
