"""The real gcloud argument parser, for the commands generated repos print.

gcloud parses a command's flags before it needs an account: with an empty
configuration, a command that parses stops at "You do not currently have an active
account", and one that does not stops with the parser's own error. Each line runs
in the generated repo (so that files such as --env-vars-file are read as gcloud reads
them), with a throw-away CLOUDSDK_CONFIG and no network.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

NO_ACCOUNT = "You do not currently have an active account selected"
# Flags of `gcloud functions deploy` newer than the gcloud on this machine image (528):
# direct VPC egress. A line with them must parse once they are taken out.
NEWER_FLAGS = ("--network=", "--subnet=", "--direct-vpc-egress=")
GCLOUD = shutil.which("gcloud")


def require_gcloud() -> str:
    """The gcloud command, or skip (CI installs it: .ci/run fails without it)."""
    if GCLOUD is None:
        if os.environ.get("CI"):
            pytest.fail("gcloud is not on PATH: CI must have it (see .ci/run)")
        pytest.skip("gcloud is not installed: the real argument parser is not available")
    return GCLOUD


def parse_error(line: str, cwd: Path) -> str:
    """ "" when gcloud parses the line, else what gcloud said."""
    config = tempfile.mkdtemp(prefix="gcloud-config-")
    try:
        return _parse_error(line, cwd, config)
    finally:
        shutil.rmtree(config, ignore_errors=True)


def _parse_error(line: str, cwd: Path, config: str) -> str:
    words = shlex.split(line)
    assert words[0] == "gcloud", line
    env = {
        **os.environ,
        "CLOUDSDK_CONFIG": config,
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
    }
    result = subprocess.run(
        [require_gcloud(), *words[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    if NO_ACCOUNT in output:
        return ""
    newer = [w for w in words if w.startswith(NEWER_FLAGS)]
    if "unrecognized arguments" in output and newer and words[1:3] == ["functions", "deploy"]:
        return _parse_error(shlex.join(w for w in words if w not in newer), cwd, config)
    return f"{line}\n  -> {output.strip()[:600]}"


def parse_errors(lines: list[str], cwd: Path) -> list[str]:
    """The lines gcloud refuses to parse, with its message; [] when it parses all of them."""
    require_gcloud()
    with ThreadPoolExecutor(max_workers=4) as pool:
        errors = list(pool.map(lambda line: parse_error(line, cwd), lines))
    return [e for e in errors if e]
