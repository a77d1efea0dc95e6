# Sourced by the Windows build scripts: where the cached wine prefix lives and how to run
# Windows programs in it. Everything here comes from Debian (wine, mingw, nsis) and PyPI.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${IMAGEBOT_WINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagebot-windows}
export WINEARCH=win64
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko install prompts
# The prefix is rebuilt when what goes into it changes (requirements, these scripts, the stub DLL).
PREFIX_KEY=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT/tools/windows/prefix.sh" \
             "$ROOT/tools/windows/icuuc_stub.c" | sha256sum | cut -c1-12)
export WINEPREFIX=${WINEPREFIX:-$CACHE/prefix-$PREFIX_KEY}
WPY='C:\py311\python.exe'

# A Unix path as wine's Z: drive path.
winpath() { local p; p=$(realpath -m "$1"); echo "Z:${p//\//\\}"; }

# Run a Windows program. Its output goes through a pipe: under wine 8.0 the Windows python.exe
# dies at start ("init_sys_streams ... Invalid handle") when stdout is a regular file.
# Unix PIP_* variables reach Windows programs too, so pip always runs --isolated.
wrun() { wine "$@" 2>&1 | cat; return "${PIPESTATUS[0]}"; }

# Time a step: "step NAME CMD...".
step() { local name=$1 start; shift; start=$(date +%s); echo "== $name"; "$@"; echo "== $name: $(( $(date +%s) - start )) s"; }
