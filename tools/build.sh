#!/usr/bin/env bash
# Build the double-click app into dist/FuLLetLabsImageBot/ with PyInstaller (see build.spec).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
start=$(date +%s)
.venv/bin/python -m PyInstaller --noconfirm --clean --log-level WARN build.spec
seconds=$(( $(date +%s) - start ))
bundle=dist/FuLLetLabsImageBot
case "$(uname -s)" in
  Darwin) app="$bundle.app" ;;
  MINGW*|MSYS*|CYGWIN*) app="$bundle/FuLLetLabsImageBot.exe" ;;
  *) app="$bundle/FuLLetLabsImageBot" ;;
esac
echo "built: $app"
echo "size: $(du -sh "$bundle" | cut -f1)"
echo "build time: ${seconds}s"
