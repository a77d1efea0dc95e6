#!/usr/bin/env bash
# Install the app's requirements into .venv and start it (pass --headless for a server).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
exec .venv/bin/python main.py "$@"
