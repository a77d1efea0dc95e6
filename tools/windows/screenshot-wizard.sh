#!/usr/bin/env bash
# Screenshot of the installed Windows app's first-run setup wizard, under wine on a virtual display:
# installs dist/FuLLetLabsImageBot-Setup.exe (from tools/build-windows.sh) silently into the cached
# prefix, starts the installed exe with a fresh profile, waits for the wizard's window, and saves
# the screen to docs/screenshots/windows-wizard.png. Then everything is uninstalled again.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
APP=FuLLetLabsImageBot
out=${1:-docs/screenshots/windows-wizard.png}
[ -f dist/$APP-Setup.exe ] || { echo "build it first: bash tools/build-windows.sh" >&2; exit 1; }
command -v import >/dev/null || apt-get install -y -qq --no-install-recommends imagemagick x11-utils >/dev/null
profile=$WINEPREFIX/drive_c/users/$(id -un)
export DISPLAY=:${SCREEN_NUMBER:-77}
Xvfb "$DISPLAY" -screen 0 1100x760x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
trap 'wineserver -k || true; kill $xvfb 2>/dev/null || true' EXIT
sleep 1
rm -rf "$profile/AppData/Local/$APP"
wine dist/$APP-Setup.exe /S 2>&1 | cat; wineserver -w
( wine "$profile/AppData/Local/Programs/$APP/$APP.exe" 2>&1 | cat >/dev/null ) &
for _ in $(seq 1 120); do
  xwininfo -root -tree 2>/dev/null | grep -q "Setup\"" && break
  sleep 1
done
sleep 3  # let it finish painting
mkdir -p "$(dirname "$out")"
import -window root "$out"
echo "screenshot: $out"
wineserver -k || true
wine "$profile/AppData/Local/Programs/$APP/Uninstall.exe" /S /REMOVEDATA 2>&1 | cat; wineserver -w
