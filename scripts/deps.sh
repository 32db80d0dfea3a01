#!/usr/bin/env bash
# Installs the Debian packages a step needs, only when they are missing.
#   scripts/deps.sh build   # to compile: pkg-config and the libdbus headers (Secret Service); curl for the demo
#   scripts/deps.sh test    # to test: a real Secret Service (gnome-keyring), secret-tool, headless Chromium + ChromeDriver,
#                           # sqlite3 (a test tampers with the server's stored spec bytes)
#                           # systemd (systemd-analyze checks dist/my-server.service), and a Python venv
#                           # with aiosmtpd in target/smtp-venv (the real SMTP relay of the mail tests)
#   scripts/deps.sh bench   # for `make bench`: hyperfine (start-up) and wrk (throughput)
set -euo pipefail

case "${1:-}" in
  build) pkgs=(pkg-config libdbus-1-dev curl ca-certificates) ;;
  test) pkgs=(dbus gnome-keyring libsecret-tools dbus-x11 chromium chromium-driver sqlite3 systemd python3-venv) ;;
  bench) pkgs=(hyperfine wrk) ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

# The mail tests' SMTP relay: aiosmtpd from PyPI in a venv under target/ (after the
# Debian packages, which bring python3-venv).
smtp_venv() {
  local root venv
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$root/target/smtp-venv"
  [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null && return 0
  echo "installing aiosmtpd into target/smtp-venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'aiosmtpd==1.4.6' >&2
}

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing packages: ${missing[*]} (install them with your package manager)" >&2
    exit 1
  fi
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    "${sudo[@]}" apt-get update -q >&2
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
fi
if [ "$1" = test ]; then
  smtp_venv
fi
