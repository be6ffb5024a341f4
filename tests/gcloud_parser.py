"""The real gcloud argument parser, for the commands generated repos print.

gcloud parses a command's flags before it needs an account: with an empty
configuration, a command that parses stops at "You do not currently have an active
account", and one that does not stops with the parser's own error. The commands run in
the generated repo (so that files such as --env-vars-file are read as gcloud reads them),
with a throw-away CLOUDSDK_CONFIG and no network, all in one gcloud process
(tests/tools/gcloud_driver.py: gcloud's own CLI, with its own Python, loaded once).
"""

from __future__ import annotations

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
        pytest.skip("gcloud is not installed: the real argument parser is not available")
    return Path(GCLOUD).resolve().parents[1]


def gcloud_python(sdk: Path) -> str:
    """The Python gcloud itself runs on: CLOUDSDK_PYTHON, its bundled one, or python3."""
    bundled = sdk / "platform" / "bundledpythonunix" / "bin" / "python3"
    return os.environ.get("CLOUDSDK_PYTHON") or (str(bundled) if bundled.exists() else "python3")


def run_commands(commands: list[list[str]], cwd: Path) -> list[str]:
    """What gcloud prints for each command (arguments after `gcloud`)."""
    sdk = require_gcloud()
    config = tempfile.mkdtemp(prefix="gcloud-config-")
    env = {
        **os.environ,
        "CLOUDSDK_CONFIG": config,
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
    }
    try:
        result = subprocess.run(
            [gcloud_python(sdk), str(DRIVER), str(sdk)],
            input="".join(json.dumps(c) + "\n" for c in commands),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        shutil.rmtree(config, ignore_errors=True)
    outputs = [json.loads(line)["output"] for line in result.stdout.splitlines()]
    assert len(outputs) == len(commands), f"the gcloud driver failed:\n{result.stderr[-2000:]}"
    return outputs


def parse_errors(lines: list[str], cwd: Path) -> list[str]:
    """The lines gcloud refuses to parse, with its message; [] when it parses all of them."""
    commands = [shlex.split(line) for line in lines]
    assert all(words[0] == "gcloud" for words in commands), lines
    outputs = run_commands([words[1:] for words in commands], cwd)
    retry = {}
    for index, (words, output) in enumerate(zip(commands, outputs, strict=True)):
        newer = [w for w in words if w.startswith(NEWER_FLAGS)]
        if NO_ACCOUNT not in output and newer and words[1:3] == ["functions", "deploy"]:
            retry[index] = [w for w in words[1:] if w not in newer]
    for index, output in zip(retry, run_commands(list(retry.values()), cwd), strict=True):
        outputs[index] = output
    return [
        f"{line}\n  -> {output.strip()[:600]}"
        for line, output in zip(lines, outputs, strict=True)
        if NO_ACCOUNT not in output
    ]
