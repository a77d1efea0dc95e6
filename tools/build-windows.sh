#!/usr/bin/env bash
# Build the Windows app on Linux, under wine, and check it:
#   dist/windows/FuLLetLabsImageBot/FuLLetLabsImageBot.exe   the one-folder bundle (same build.spec as Linux),
#   dist/windows/FuLLetLabsImageBot/FuLLetLabsImageBot.com   with its console twin for the command line
#   dist/FuLLetLabsImageBot-Setup.exe                        the installer (Debian's NSIS)
# then, under wine: the bundle's --help and --self-test through the .com, the .exe's --self-test; the
# installer run silently, the same checks of the installed app, the uninstaller run silently (the
# user's data must stay). Any failure fails.
# Needs Debian 12 (root once, for apt) and PyPI; the wine prefix with the Windows Python and the
# wheels is cached (tools/windows/prefix.sh), so a second run only rebuilds the app.
set -euo pipefail
. "$(dirname "$0")/windows/env.sh"
cd "$ROOT"
started=$(date +%s)
APP=FuLLetLabsImageBot
bundle=dist/windows/$APP
setup=dist/$APP-Setup.exe
scratch=build/windows/check   # fresh homes for the checks
fail() { echo "build-windows: $*" >&2; exit 1; }

step "wine prefix (Windows CPython 3.11 + requirements)" bash tools/windows/prefix.sh
for old in "$CACHE"/prefix-*; do  # prefixes for requirements no longer in use
  [ "$old" = "$WINEPREFIX" ] || rm -rf "$old"
done

build_bundle() {
  mkdir -p build/windows
  # The installer's icon; PyInstaller turns resources/icons/app.png into the exe's icon itself.
  wrun "$WPY" -c "from PIL import Image; Image.open(r'$(winpath resources/icons/app.png)').save(r'$(winpath build/windows/app.ico)', sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])"
  # No --clean: PyInstaller's analysis cache in build/windows makes a rebuild of changed code quick.
  wrun "$WPY" -m PyInstaller --noconfirm --log-level WARN --distpath "$(winpath dist/windows)" \
    --workpath "$(winpath build/windows/pyinstaller)" build.spec
  [ -f "$bundle/$APP.exe" ] || fail "PyInstaller made no $bundle/$APP.exe"
  [ -f "$bundle/$APP.com" ] || fail "PyInstaller made no $bundle/$APP.com"
}
step "PyInstaller under wine" build_bundle

# The subsystem in a Windows executable's PE header: 2 = windowed, 3 = console.
pe_subsystem() {
  python3 -c 'import struct, sys
head = open(sys.argv[1], "rb").read(4096)
pe = struct.unpack_from("<I", head, 0x3C)[0]      # the PE signature, then a 20-byte file header
print(struct.unpack_from("<H", head, pe + 24 + 68)[0])' "$1"
}

# Run one of the app's programs under wine with the home of check_app; its output through a pipe
# (see env.sh), its exit code kept: "app_run SECONDS PROGRAM ARGS...".
app_run() {
  local seconds=$1; shift
  env QT_QPA_PLATFORM=offscreen IMAGEBOT_HOME="$app_home" timeout "$seconds" wine "$@" 2>&1 | cat
  return "${PIPESTATUS[0]}"
}

# $1 = the app's folder, $2 = a fresh home for it ("" = the user's own folders, as an installed app
# runs). The command line, `FuLLetLabsImageBot --help` typed in cmd, runs the console twin $APP.com:
# it must print its usage, and print its self-test and return its exit code (0 when it passes, 1
# when storage cannot be opened). The windowed $APP.exe must start and pass its self-test.
check_app() {
  local dir=$1 home=${2:-} out status
  app_home=$home
  [ -z "$home" ] || { rm -rf "$home"; mkdir -p "$home"; app_home=$(winpath "$home"); }
  [ "$(pe_subsystem "$dir/$APP.com")" = 3 ] || fail "$dir/$APP.com is not a console program"
  [ "$(pe_subsystem "$dir/$APP.exe")" = 2 ] || fail "$dir/$APP.exe is not a windowed program"
  # As a user types it: cmd in the app's folder, no extension (cmd tries .COM before .EXE).
  out=$(cd "$dir" && app_run 120 cmd /c "$APP --help") || fail "cmd: $APP --help failed: $out"
  grep -q "^usage: imagebot" <<<"$out" || fail "cmd: $APP --help printed no usage: $out"
  echo "cmd: $APP --help: $(head -n 1 <<<"$out")"
  out=$(cd "$dir" && app_run 180 cmd /c "$APP --self-test") || fail "cmd: $APP --self-test failed: $out"
  echo "$out"
  grep -q "^self-test passed" <<<"$out" || fail "cmd: $APP --self-test did not pass: $out"
  status=0
  out=$(DATABASE_URL=postgresql://imagebot@127.0.0.1:9/none app_run 180 "$dir/$APP.com" --self-test) || status=$?
  [ "$status" = 1 ] && grep -q "^self-test failed: 1 problem" <<<"$out" \
    || fail "$APP.com --self-test with no database: exit $status, not 1 with its report: $out"
  echo "$APP.com --self-test with no database: exit $status, $(grep -m 1 '^\[FAIL\]' <<<"$out" | cut -c1-60)..."
  app_run 180 "$dir/$APP.exe" --self-test >/dev/null || fail "the windowed $APP.exe --self-test failed (exit $?)"
  echo "$APP.exe (windowed) --self-test: exit 0"
}
step "bundle: $APP.com --help and --self-test, $APP.exe --self-test" check_app "$bundle" "$scratch/bundle home, año"  # non-ASCII: the code page is cp1252

build_installer() {
  local version
  version=$(git log -1 --format=%cd-%h --date=format:%Y.%m.%d 2>/dev/null || echo dev)
  makensis -V2 -DBUNDLE="$ROOT/$bundle" -DOUTFILE="$ROOT/$setup" -DVERSION="$version" \
    -DICON="$ROOT/build/windows/app.ico" installer/imagebot.nsi
}
step "installer (makensis)" build_installer

check_installer() {
  local profile installed_dir data_dir start_menu run_value
  profile=$WINEPREFIX/drive_c/users/$(id -un)
  installed_dir=$profile/AppData/Local/Programs/$APP
  data_dir=$profile/AppData/Local/$APP
  start_menu="$profile/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/FuLLetLabs Image Bot.lnk"
  rm -rf "$installed_dir" "$data_dir"
  timeout 300 wine "$setup" /S /AUTOSTART 2>&1 | cat; wineserver -w
  [ -f "$installed_dir/$APP.exe" ] && [ -f "$installed_dir/$APP.com" ] || fail "the installer put no $APP.exe and $APP.com in $installed_dir"
  [ -f "$start_menu" ] || fail "no Start menu shortcut: $start_menu"
  run_value=$(wine reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' /v $APP 2>/dev/null | tr -d '\r' | cat)
  grep -q "$APP.exe" <<<"$run_value" || fail "/AUTOSTART set no Run value: $run_value"
  # The installed app as a user starts it: no IMAGEBOT_HOME, its data under %LOCALAPPDATA%.
  check_app "$installed_dir" ""
  [ -d "$data_dir" ] || fail "the installed app kept no data in $data_dir"
  timeout 300 wine "$installed_dir/Uninstall.exe" /S 2>&1 | cat; wineserver -w
  [ ! -e "$installed_dir/$APP.exe" ] && [ ! -e "$installed_dir/$APP.com" ] || fail "the uninstaller left $APP.exe or $APP.com in $installed_dir"
  [ ! -e "$start_menu" ] || fail "the uninstaller left the Start menu shortcut"
  if wine reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' /v $APP >/dev/null 2>&1; then
    fail "the uninstaller left the Run value"
  fi
  [ -d "$data_dir" ] || fail "the uninstaller deleted the user's data without being asked"
  # Asked to (the checkbox, or /REMOVEDATA), it deletes the data too.
  timeout 300 wine "$setup" /S 2>&1 | cat; wineserver -w
  timeout 300 wine "$installed_dir/Uninstall.exe" /S /REMOVEDATA 2>&1 | cat; wineserver -w
  [ ! -e "$installed_dir/$APP.exe" ] && [ ! -e "$data_dir" ] || fail "/REMOVEDATA left the app or the data"
  echo "installed, self-tested, uninstalled keeping the user's data, and with /REMOVEDATA without it, under wine"
}
step "installer: silent install, installed --help and --self-test, silent uninstall" check_installer

echo "bundle: $bundle ($(du -sh "$bundle" | cut -f1), $(find "$bundle" -type f | wc -l) files)"
echo "installer: $setup ($(du -h "$setup" | cut -f1))"
echo "build-windows: $(( $(date +%s) - started )) s"
