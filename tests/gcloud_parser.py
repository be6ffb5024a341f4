"""The real gcloud argument parser, for the commands generated repos print.

gcloud parses a command's flags before it needs an account: with an empty
configuration, a command that parses stops at "You do not currently have an active
account", and one that does not stops with the parser's own error. The commands run in
the generated repo (so that files such as --env-vars-file are read as gcloud reads them),
with a throw-away CLOUDSDK_CONFIG and no network, all in one gcloud process for each test
process (tests/tools/gcloud_driver.py: gcloud's own CLI, with its own Python, loaded once).
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

NO_ACCOUNT = "You do not currently have an active account selected"
# Flags of `gcloud functions deploy` newer than the gcloud on this machine image (528):
# direct VPC egress. A line with them must parse once they are taken out.
NEWER_FLAGS = ("--network=", "--subnet=", "--direct-vpc-egress=")
DRIVER = Path(__file__).parent / "tools" / "gcloud_driver.py"
GCLOUD = shutil.which("gcloud")


def require_gcloud() -> Path:
    """The root of gcloud's installation, or skip (CI has gcloud: .ci/run fails without it)."""
    if GCLOUD is None:
        if os.environ.get("CI"):
            pytest.fail("gcloud is not on PATH: CI must have it (see .ci/run)")
        pytest.skip(
            "gcloud is not installed, so its argument parser cannot read the printed commands: "
            "install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)"
        )
    return Path(GCLOUD).resolve().parents[1]


def gcloud_python(sdk: Path) -> str:
    """The Python gcloud itself runs on: CLOUDSDK_PYTHON, its bundled one, or python3."""
    bundled = sdk / "platform" / "bundledpythonunix" / "bin" / "python3"
    return os.environ.get("CLOUDSDK_PYTHON") or (str(bundled) if bundled.exists() else "python3")


class Driver:
    """gcloud's CLI in a process of its own, started once and fed commands line by line."""

    def __init__(self, sdk: Path) -> None:
        self.config = tempfile.mkdtemp(prefix="gcloud-config-")
        env = {
            **os.environ,
            "CLOUDSDK_CONFIG": self.config,
            "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
            "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
            "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
        }
        self.process = subprocess.Popen(
            [gcloud_python(sdk), str(DRIVER), str(sdk)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        atexit.register(self.close)

    def run(self, args: list[str], cwd: Path) -> str:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cwd": str(cwd), "args": args}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, (
            f"the gcloud driver stopped: {self.process.stderr.read()[-2000:] if self.process.stderr else ''}"
        )
        return str(json.loads(line)["output"])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.config, ignore_errors=True)


_drivers: dict[Path, Driver] = {}


def run_commands(commands: list[list[str]], cwd: Path) -> list[str]:
    """What gcloud prints for each command (arguments after `gcloud`), run in `cwd`."""
    sdk = require_gcloud()
    driver = _drivers.get(sdk)
    if driver is None or driver.process.poll() is not None:
        driver = _drivers[sdk] = Driver(sdk)
    return [driver.run(command, cwd) for command in commands]


TOOLS = ("gcloud", "bq")


def commands_in(line: str) -> list[list[str]]:
    """The gcloud and bq commands of one line of shell that a dry run prints, in order.

    A dry run prints each step as shell (`probe >/dev/null 2>&1 || create`, `if probe; then
    update; else create; fi`, `found=$(probe) || { echo ...; exit 1; }`): each command is
    shlex-quoted, so it is every word from `gcloud` (or `bq`) to the next operator or
    redirection.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.wordchars += "@%+:,"  # what shlex.join leaves unquoted
    tokens = list(lexer)
    found, current = [], None
    for token in [*tokens, ";"]:
        operator = token and all(c in "();<>|&$" for c in token)
        if current is not None and not operator:
            current.append(token)
            continue
        if current is not None:
            if token.startswith(">") and current[-1] == "2":  # 2>/dev/null
                current.pop()
            found.append(current)
            current = None
        if token in TOOLS:
            current = [token]
    return found


def commands_of(lines: list[str]) -> list[list[str]]:
    """Every gcloud and bq command of a dry run's lines; each line holds at least one."""
    commands = [commands_in(line) for line in lines]
    assert all(commands), [line for line, found in zip(lines, commands, strict=True) if not found]
    return [command for found in commands for command in found]


def bq_errors(commands: list[list[str]]) -> list[str]:
    """The bq commands bq's own flag parser refuses (bq.py parses before it needs an account)."""
    sdk = require_gcloud()
    env = {**os.environ, "CLOUDSDK_CONFIG": tempfile.mkdtemp(prefix="bq-config-")}
    errors = []
    for words in commands:
        result = subprocess.run(
            [gcloud_python(sdk), str(sdk / "platform" / "bq" / "bq.py"), *words[1:]],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        output = " ".join((result.stdout + result.stderr).split())
        if "active account" not in output:
            errors.append(f"{shlex.join(words)}\n  -> {output.strip()[:600]}")
    shutil.rmtree(env["CLOUDSDK_CONFIG"], ignore_errors=True)
    return errors


def parse_errors(lines: list[str], cwd: Path) -> list[str]:
    """The commands of a dry run's lines (commands_of) that gcloud, or bq, refuses to parse,
    with its message; [] when it parses all of them."""
    every = commands_of(lines)
    errors = bq_errors([words for words in every if words[0] == "bq"])
    commands = [words for words in every if words[0] == "gcloud"]
    lines = [shlex.join(words) for words in commands]
    outputs = run_commands([words[1:] for words in commands], cwd)
    retry = {}
    for index, (words, output) in enumerate(zip(commands, outputs, strict=True)):
        newer = [w for w in words if w.startswith(NEWER_FLAGS)]
        if NO_ACCOUNT not in output and newer and words[1:3] == ["functions", "deploy"]:
            retry[index] = [w for w in words[1:] if w not in newer]
    for index, output in zip(retry, run_commands(list(retry.values()), cwd), strict=True):
        outputs[index] = output
    return errors + [
        f"{line}\n  -> {output.strip()[:600]}"
        for line, output in zip(lines, outputs, strict=True)
        if NO_ACCOUNT not in output
    ]
