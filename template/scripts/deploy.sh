#!/usr/bin/env bash
# Deploy every function of functions.yaml (or FUNCTION=<name>) to one environment:
# developers and CI run this same script, through `make deploy ENV=<environment>`.
#
#   scripts/deploy.sh <environment>            deploy
#   DRY_RUN=1 scripts/deploy.sh <environment>  print the commands, shell-quoted, and run nothing
#
# The commands come from functions.yaml and the answers given to gcf-template
# (tools/deploy.py builds them); change settings there rather than here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The repo's .venv (make install), or VENV_PYTHON (make deploy passes it), or python3.
python="${VENV_PYTHON:-.venv/bin/python}"
[[ -x "$python" ]] || python=python3
exec "$python" -m tools.deploy "$@"
