#!/usr/bin/env bash
# Run pytest with the Windows Python under wine, from this checkout: `tools/windows/pytest.sh [pytest args]`.
# Tests needing the database servers or the Linux Secret Service are deselected by marker (they run
# on Linux); Windows' own Credential Manager is tested by tests/core/test_secrets_windows.py.
set -uo pipefail
. "$(dirname "$0")/env.sh"
bash "$ROOT/tools/windows/prefix.sh" >/dev/null || { echo "could not prepare the wine prefix" >&2; exit 1; }
cd "$ROOT"
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
wrun "$WPY" -m pytest -p no:cacheprovider -m "not postgres and not mariadb and not keyring" "$@"
