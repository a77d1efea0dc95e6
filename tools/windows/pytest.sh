#!/usr/bin/env bash
# Run pytest with the Windows Python under wine, from this checkout: `tools/windows/pytest.sh [pytest args]`;
# without arguments, the whole suite, the Qt tests in a process of their own (as tools/test.sh does).
# Tests needing the database servers or the Linux Secret Service are deselected by marker (they run
# on Linux); Windows' own Credential Manager is tested in tests/core/test_secrets.py.
set -uo pipefail
. "$(dirname "$0")/env.sh"
bash "$ROOT/tools/windows/prefix.sh" >/dev/null || { echo "could not prepare the wine prefix" >&2; exit 1; }
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
run_pytest() { wrun "$WPY" -m pytest -p no:cacheprovider -m "not postgres and not mariadb and not keyring" "$@"; }
if [ $# -gt 0 ]; then
  run_pytest "$@"
else
  run_pytest -q -rs --timeout 180 --ignore=tests/gui; status=$?
  run_pytest -q -rs --timeout 180 tests/gui || status=$?
  exit "$status"
fi
