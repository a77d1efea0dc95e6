#!/usr/bin/env bash
# Install what the tests need (system packages, database servers, .venv) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/test-services.sh
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
# coreutils timeout: a hung Qt/asyncio teardown can escape pytest-timeout
exec timeout --kill-after=30 1500 .venv/bin/python -m pytest -q -rs "$@"
