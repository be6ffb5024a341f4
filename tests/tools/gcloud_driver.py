"""Run many gcloud commands in one gcloud process: its own CLI, loaded once.

    <gcloud's python> gcloud_driver.py SDK_ROOT < commands.jsonl > results.jsonl

Each input line is {"cwd": folder, "args": [arguments without `gcloud`]}; each output line,
written as soon as the command ran, is {"code": exit code, "output": what gcloud printed}.
Started from gcloud's installation, with its own Python and libraries, it parses each command
exactly as `gcloud ...` does in that folder, without paying gcloud's start-up once per command:
the tests keep one running for all their commands.
"""

import contextlib
import io
import json
import os
import sys

SDK = sys.argv[1]
sys.path[:0] = [os.path.join(SDK, "lib", "third_party"), os.path.join(SDK, "lib")]

from googlecloudsdk import gcloud_main  # noqa: E402
from googlecloudsdk.core import log  # noqa: E402

cli = gcloud_main.CreateCLI([])
for line in sys.stdin:
    output = io.StringIO()
    code = 0
    command = json.loads(line)
    os.chdir(command["cwd"])
    with contextlib.redirect_stderr(output), contextlib.redirect_stdout(output):
        log.Reset()
        try:
            cli.Execute(command["args"])
        except SystemExit as error:
            code = error.code if isinstance(error.code, int) else 1
        except Exception as error:  # what gcloud would print as a crash
            output.write(f"{type(error).__name__}: {error}")
            code = 99
    sys.__stdout__.write(json.dumps({"code": code, "output": output.getvalue()}) + "\n")
    sys.__stdout__.flush()
