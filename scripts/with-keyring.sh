#!/usr/bin/env bash
# Runs a command inside a throwaway, unlocked Secret Service (gnome-keyring on a private
# D-Bus session bus), with MY_TEST_KEYRING=1 set so the keyring tests run instead of
# skipping, and returns the command's exit code:
#
#   scripts/with-keyring.sh cargo test
#
# The recipe, and why each step is there, is in DEPENDENCIES.md ("A real Secret Service in
# tests"). Needs the Debian packages gnome-keyring, libsecret-tools and dbus-x11.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

# First pass: prepare a throwaway folder, then re-run this script under a private session
# bus that lives as long as it does. The folder's path is also the marker that says "we are
# inside"; it is unset below, so CMD never inherits it and a nested run starts afresh.
if [[ -z "${MY_WITH_KEYRING_DIR:-}" ]]; then
    for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$0: $tool not found; install the Debian packages gnome-keyring libsecret-tools dbus-x11" >&2
            exit 1
        fi
    done
    MY_WITH_KEYRING_DIR=$(mktemp -d "${TMPDIR:-/tmp}/with-keyring.XXXXXX")
    export MY_WITH_KEYRING_DIR
    # Keyrings go to $XDG_DATA_HOME/keyrings; HOME stays. The runtime folder is private too:
    # --replace below quits any daemon it finds through GNOME_KEYRING_CONTROL or
    # $XDG_RUNTIME_DIR/keyring, which on a desktop would be the user's own keyring daemon.
    # Set before the bus starts, so a daemon the bus activates sees the same folders.
    export XDG_DATA_HOME="$MY_WITH_KEYRING_DIR/data"
    export XDG_RUNTIME_DIR="$MY_WITH_KEYRING_DIR/run"
    mkdir -m 700 "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
    unset GNOME_KEYRING_CONTROL
    exec dbus-run-session -- bash "${BASH_SOURCE[0]}" "$@"
fi

work_dir=$MY_WITH_KEYRING_DIR
unset MY_WITH_KEYRING_DIR
daemon_pid=""
# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck 0.9 does not follow
cleanup() {
    # Stop the daemon before removing its folders so it cannot write into a deleted tree;
    # dbus-run-session only ends the bus.
    if [[ -n "$daemon_pid" ]]; then
        kill "$daemon_pid" 2>/dev/null || true
    fi
    rm -rf -- "$work_dir"
}
trap cleanup EXIT

# --unlock creates and unlocks the login collection without a prompt; --replace takes over
# a locked daemon that D-Bus activation may already have started on this bus.
password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
eval "$(printf %s "$password" | gnome-keyring-daemon --unlock --replace --components=secrets)"
unset password

# The daemon claims its bus name a few ms later; a client that connected earlier would
# activate a second, locked daemon. Poll every 20 ms for up to 5 s.
owned() {
    local reply
    reply=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null) || return 1
    [[ "$reply" == *"boolean true"* ]]
}
tries=0
until owned; do
    tries=$((tries + 1))
    if ((tries >= 250)); then
        echo "$0: gnome-keyring-daemon did not claim org.freedesktop.secrets within 5 s" >&2
        exit 1
    fi
    sleep 0.02
done
daemon_pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets |
    awk '/uint32/ { print $2 }')

export MY_TEST_KEYRING=1
status=0
"$@" || status=$?
exit "$status"
