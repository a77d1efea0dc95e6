#!/usr/bin/env bash
# What the tests need from the machine: the Secret Service, Qt's and Xvfb's system libraries (apt),
# and the PostgreSQL and MariaDB servers on 127.0.0.1. Best effort: without root or apt, the tests
# that need a missing piece skip locally (and fail in CI).
set -uo pipefail
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "tools/test-services.sh: not root or no apt-get: skipping system packages and database servers"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive

# Secret Service (keyring tests), Xvfb and the X libraries Qt needs (screenshots), Qt's runtime libs.
APT_PACKAGES=(gnome-keyring dbus xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0
              libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxkbcommon0 libegl1 libgl1
              libfontconfig1 libglib2.0-0 libdbus-1-3 fonts-dejavu-core binutils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The database servers the tests use on 127.0.0.1 (where this machine has them).
if command -v pg_isready >/dev/null && command -v mariadb-admin >/dev/null; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  fi
  if ! mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && mariadb-admin -h 127.0.0.1 -uroot ping >/dev/null 2>&1 && break
    sleep 1
  done
fi
