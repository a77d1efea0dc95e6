#!/usr/bin/env bash
# Install what the tests need (system packages, database servers, .venv) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/test-services.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
# coreutils timeout: a hung Qt/asyncio teardown can escape pytest-timeout
run_pytest() { timeout --kill-after=30 1500 .venv/bin/python -m pytest -q -rs "$@"; }
if [ $# -gt 0 ]; then
  run_pytest "$@"
else
  # The Qt tests run in a process of their own: after them, pytest-qt processes Qt events after
  # every test, and socket notifiers left by their closed qasync loops could fire on file
  # descriptors the plain asyncio tests reuse (a crash in Qt, seen late in one combined run).
  run_pytest --ignore=tests/gui
  run_pytest tests/gui
fi
