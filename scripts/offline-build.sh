#!/usr/bin/env bash
# Proves that `make vendor` is all an air-gapped build needs: copies the tracked files of
# this checkout into a temp folder, runs `make vendor` there (the one step that may use the
# network or the local registry cache), then runs `cargo build --locked --offline --workspace`
# with an empty CARGO_HOME, so neither the network nor this machine's cache can supply a
# crate. Exits non-zero when any step fails. Used by CI (`make test-offline`).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/offline-build.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
mkdir "$work/src" "$work/cargo-home"

git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$work/src"
[ ! -e "$work/src/vendor" ] || { echo "$0: vendor/ must not be committed" >&2; exit 1; }

echo "offline-build: make vendor" >&2
make -s -C "$work/src" vendor >/dev/null 2>"$work/vendor.log" || { cat "$work/vendor.log" >&2; exit 1; }

echo "offline-build: cargo build --locked --offline --workspace (empty CARGO_HOME)" >&2
start=$SECONDS
(
  cd "$work/src"
  CARGO_HOME=$work/cargo-home CARGO_TARGET_DIR=$work/target CARGO_NET_OFFLINE=true \
    "${CARGO:-cargo}" build --locked --offline --workspace
)
for bin in my my-server; do
  [ -x "$work/target/debug/$bin" ] || { echo "$0: $bin was not built" >&2; exit 1; }
done
echo "offline-build: ok, built offline from vendor/ in $((SECONDS - start)) s" >&2
