#!/usr/bin/env bash
# What the build, the tests and the benchmarks need from the system.
#
#   scripts/deps.sh check [MODULE...]  # build targets (make release, make install): only CHECKS that
#                                      # cargo and a C compiler (ring, the bundled SQLite and libdbus
#                                      # are C) are there, and the pkg-config MODULEs a system-library
#                                      # build links (dbus-1, sqlite3>=3.45.3). Never installs anything: one
#                                      # message names what is missing, exit 1.
#   scripts/deps.sh build              # installs (Debian, when missing) what the demo and CI build
#                                      # need: a C compiler, pkg-config, the libdbus and SQLite
#                                      # headers (CI also builds against the system libraries), curl
#   scripts/deps.sh test               # installs what the tests need: a real Secret Service
#                                      # (gnome-keyring), secret-tool, headless Chromium +
#                                      # ChromeDriver, sqlite3 (a test tampers with stored spec bytes),
#                                      # zsh and fish (the completion scripts are checked in them),
#                                      # systemd (systemd-analyze checks dist/my-server.service), and a
#                                      # Python venv with aiosmtpd in target/smtp-venv (the real SMTP
#                                      # relay of the mail tests), PostgreSQL (scripts/pg.sh starts a
#                                      # throwaway cluster of it; psql creates the tests' databases)
#                                      # and openssl (its TLS certificate)
#   scripts/deps.sh bench              # installs what `make bench` needs: hyperfine (start-up), wrk
#                                      # (throughput), gh (compared with), curl, PostgreSQL
#
# Installing is for CI and test machines (make test, make bench, .ci/run); it uses apt-get,
# with sudo when not root.
set -euo pipefail

# join A B C -> "A, B, C"
join() {
  local out=$1
  shift
  local x
  for x in "$@"; do out+=", $x"; done
  printf %s "$out"
}

check() {
  local missing=() hints=()
  command -v "${CARGO:-cargo}" >/dev/null 2>&1 || { missing+=("${CARGO:-cargo}"); hints+=("a Rust toolchain (https://rustup.rs or your distribution's cargo)"); }
  if ! command -v "${CC:-cc}" >/dev/null 2>&1; then
    missing+=("${CC:-cc} (a C compiler)")
    hints+=("gcc or clang")
  fi
  if [ $# -gt 0 ]; then
    if ! command -v pkg-config >/dev/null 2>&1; then
      missing+=(pkg-config)
      hints+=("pkg-config and the development files of: $*")
    else
      local m
      for m in "$@"; do
        # MODULE>=VERSION, one word for make; pkg-config wants the spaces.
        pkg-config --exists "${m/>=/ >= }" 2>/dev/null || { missing+=("$m (pkg-config module)"); hints+=("the development files of $m"); }
      done
    fi
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "missing build tools: $(join "${missing[@]}"); install $(join "${hints[@]}")" >&2
  echo "(on Debian: apt-get install gcc pkg-config libdbus-1-dev libsqlite3-dev; scripts/deps.sh build does it)" >&2
  return 1
}

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    echo "missing packages: ${missing[*]} (these are Debian names; install the equivalents with your package manager)" >&2
    return 1
  fi
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    "${sudo[@]}" apt-get update -q >&2
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
}

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

case "${1:-}" in
  check) shift; check "$@" ;;
  build) install_missing gcc libc6-dev pkg-config libdbus-1-dev libsqlite3-dev curl ca-certificates ;;
  test)
    install_missing dbus gnome-keyring libsecret-tools dbus-x11 chromium chromium-driver sqlite3 zsh fish \
      systemd python3-venv postgresql openssl
    smtp_venv
    ;;
  bench) install_missing hyperfine wrk gh curl postgresql openssl ;;
  *) echo "usage: $0 check [PKG-CONFIG-MODULE...] | build | test | bench" >&2; exit 2 ;;
esac
