#!/usr/bin/env bash
# The PostgreSQL half of `make test`: starts a throwaway cluster (scripts/pg.sh), then runs
# the whole server suite again on it (MY_SERVER_TEST_PG: each server test creates its own
# database) and the end-to-end tests of several my-server processes on one database
# (tests/e2e/postgres.rs); the cluster is stopped and deleted whatever happens.
#
#   scripts/test-pg.sh   # CARGO and CARGOFLAGS from the environment, as the Makefile sets them
#
# A missing PostgreSQL is a failure here, never a skip: `scripts/deps.sh test` installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo=${CARGO:-cargo}
read -r -a flags <<<"${CARGOFLAGS---locked}"

# Readable by the postgres user (when run as root), so the cluster lives right in it.
dir=$(mktemp -d "${TMPDIR:-/tmp}/my-test-pg.XXXXXX")
chmod 755 "$dir"
cleanup() {
  scripts/pg.sh stop "$dir" || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MY_SERVER_TEST_PG=$(scripts/pg.sh start "$dir")
export MY_SERVER_TEST_PG
# The CA of the cluster's TLS certificate, for the test that reaches it over verified TLS.
export MY_SERVER_TEST_PG_CA=$dir/ca.pem
echo "test-pg: PostgreSQL at $MY_SERVER_TEST_PG" >&2

# `--workspace` with a choice of test targets, rather than `-p my-server`: cargo unifies
# dependency features over the packages it selects, so `-p` alone would compile most of the
# dependency tree a second time with other features (minutes of the whole `make test`).
"$cargo" test "${flags[@]}" --workspace --bin my-server --test hostile
"$cargo" test "${flags[@]}" --workspace --test e2e -- postgres::
