#!/usr/bin/env bash
# Build the Windows app on Linux, under wine, and check it:
#   dist/windows/FuLLetLabsImageBot/FuLLetLabsImageBot.exe   the one-folder bundle (same build.spec as Linux)
#   dist/FuLLetLabsImageBot-Setup.exe                        the installer (Debian's NSIS)
# then, under wine: the bundle's --help and --self-test; the installer run silently, the installed
# app's --self-test, the uninstaller run silently (the user's data must stay). Any failure fails.
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
}
step "PyInstaller under wine" build_bundle

# $1 = the exe, $2 = a fresh home for it ("" = the user's own folders, as an installed app runs):
# the exe must print its usage and pass its self-test.
check_exe() {
  local exe=$1 home=${2:-} out
  [ -z "$home" ] || { rm -rf "$home"; mkdir -p "$home"; home=$(winpath "$home"); }
  out=$(env QT_QPA_PLATFORM=offscreen IMAGEBOT_HOME="$home" timeout 120 wine "$exe" --help 2>&1 | cat) \
    || fail "$exe --help failed: $out"
  grep -q "usage:" <<<"$out" || fail "$exe --help printed no usage: $out"
  out=$(env QT_QPA_PLATFORM=offscreen IMAGEBOT_HOME="$home" timeout 180 wine "$exe" --self-test 2>&1 | cat
        exit "${PIPESTATUS[0]}") || fail "$exe --self-test failed: $out"
  echo "$out"
  grep -q "self-test passed" <<<"$out" || fail "$exe --self-test did not pass: $out"
}
step "bundle --help and --self-test" check_exe "$bundle/$APP.exe" "$scratch/bundle home, año"  # non-ASCII: the code page is cp1252

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
  [ -f "$installed_dir/$APP.exe" ] || fail "the installer put no $APP.exe in $installed_dir"
  [ -f "$start_menu" ] || fail "no Start menu shortcut: $start_menu"
  run_value=$(wine reg query 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' /v $APP 2>/dev/null | tr -d '\r' | cat)
  grep -q "$APP.exe" <<<"$run_value" || fail "/AUTOSTART set no Run value: $run_value"
  # The installed app as a user starts it: no IMAGEBOT_HOME, its data under %LOCALAPPDATA%.
  check_exe "$installed_dir/$APP.exe" ""
  [ -d "$data_dir" ] || fail "the installed app kept no data in $data_dir"
  timeout 300 wine "$installed_dir/Uninstall.exe" /S 2>&1 | cat; wineserver -w
  [ ! -e "$installed_dir/$APP.exe" ] || fail "the uninstaller left $installed_dir/$APP.exe"
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
step "installer: silent install, installed --self-test, silent uninstall" check_installer

echo "bundle: $bundle ($(du -sh "$bundle" | cut -f1), $(find "$bundle" -type f | wc -l) files)"
echo "installer: $setup ($(du -h "$setup" | cut -f1))"
echo "build-windows: $(( $(date +%s) - started )) s"
