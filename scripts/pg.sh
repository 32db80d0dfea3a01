#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and the benchmarks: initdb, a free port on
# 127.0.0.1, the unix socket inside the cluster's folder, trust authentication for the admin
# user (SCRAM passwords for any other), fsync off.
#
#   scripts/pg.sh start DIR   # creates and starts a cluster under DIR, waits until it accepts
#                             # connections and prints its admin URL on stdout:
#                             # postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/pg.sh url DIR     # prints that URL again (the cluster must be running)
#                             # DIR/ca.pem: the CA of the cluster's TLS certificate (ssl = on;
#                             # members of the role tls_only may connect only over TLS)
#   scripts/pg.sh stop DIR    # stops the cluster and deletes its data; nothing there is fine
#
# Callers stop it from a trap. The binaries come from Debian's postgresql package
# (/usr/lib/postgresql/<version>/bin, the newest version), else from PATH. PostgreSQL
# refuses to run as root: when the caller is root, the cluster belongs to the `postgres`
# user (which the package creates), in DIR/data if that user can reach it, else in a
# folder under /tmp that DIR/data points to.
#
# Only for tests: every local user may connect as the superuser without a password, and
# the data does not survive a crash of the machine.
set -euo pipefail

# Two test processes of 32 workers each, plus the server tests running in parallel.
MAX_CONNECTIONS=500
ADMIN_USER=postgres
OWNER=postgres

die() { echo "pg.sh: $*" >&2; exit 1; }

usage() { echo "usage: $0 start DIR | url DIR | stop DIR" >&2; exit 2; }

# The directory of initdb, pg_ctl and pg_isready.
bindir() {
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
    echo "$newest"
  elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    die "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on PATH): install Debian's postgresql package (scripts/deps.sh test does)"
  fi
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the cluster's owner: the caller, or `postgres` when the caller is root.
as_owner() {
  if is_root; then
    (cd / && runuser -u "$OWNER" -- "$@")
  else
    "$@"
  fi
}

# A port nobody listens on now (the start is retried if someone takes it meanwhile).
free_port() {
  local port i
  for i in $(seq 100); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! command -v ss >/dev/null 2>&1 || [ -z "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
      echo "$port"
      return 0
    fi
  done
  die "found no free port on 127.0.0.1"
}

url_of() { echo "postgres://$ADMIN_USER@127.0.0.1:$1/postgres"; }

start() {
  local dir=$1 bin data port attempt
  bin=$(bindir)
  if is_root; then
    id -u "$OWNER" >/dev/null 2>&1 ||
      die "running as root needs the '$OWNER' user to own the cluster (Debian's postgresql package creates it)"
    command -v runuser >/dev/null 2>&1 || die "running as root needs runuser (util-linux) to start PostgreSQL as '$OWNER'"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -e "$dir/data" ]; then
    if [ -f "$dir/url" ] && as_owner "$bin/pg_ctl" -D "$(readlink -f "$dir/data")" status >/dev/null 2>&1; then
      cat "$dir/url"
      return 0
    fi
    die "$dir/data already exists and no cluster runs there: run \`$0 stop $dir\` first"
  fi
  data=$dir/data
  mkdir -m 700 "$data"
  is_root && chown "$OWNER:" "$data"
  # The socket path must fit in 107 bytes, and the owner must reach the folder.
  if [ ${#data} -gt 80 ] || ! as_owner test -w "$data" 2>/dev/null; then
    rmdir "$data"
    data=$(mktemp -d "${TMPDIR:-/tmp}/my-pg.XXXXXX")
    chmod 700 "$data"
    is_root && chown "$OWNER:" "$data"
    as_owner test -w "$data" || die "$OWNER cannot write to $data"
    ln -s "$data" "$dir/data"
  fi

  as_owner "$bin/initdb" -D "$data" -U "$ADMIN_USER" -A trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# scripts/pg.sh: a throwaway cluster for tests
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
max_connections = $MAX_CONNECTIONS
fsync = off
synchronous_commit = off
full_page_writes = off
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
EOF
  # TLS: a CA of this cluster's own (DIR/ca.pem, what a client is told to trust) signs the
  # server's certificate for 127.0.0.1. Keys never leave the data folder.
  (
    as_owner openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -keyout "$data/ca.key" -out "$data/ca.pem" -subj /CN=my-test-pg-ca \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    as_owner openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$data/server.key" -out "$data/server.csr" -subj /CN=127.0.0.1
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' |
      as_owner tee "$data/server.ext" >/dev/null
    as_owner openssl x509 -req -in "$data/server.csr" -CA "$data/ca.pem" -CAkey "$data/ca.key" \
      -CAcreateserial -days 2 -extfile "$data/server.ext" -out "$data/server.crt"
  ) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; die "openssl could not make the test certificates"; }
  cp "$data/ca.pem" "$dir/ca.pem"
  # The admin user needs no password (tests create databases with it); every other user
  # signs in with a SCRAM password over TCP, so the password sources of my-server are tested;
  # members of tls_only only over TLS.
  as_owner tee "$data/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all $ADMIN_USER 127.0.0.1/32 trust
hostnossl all +tls_only 127.0.0.1/32 reject
host all all 127.0.0.1/32 scram-sha-256
EOF

  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $port" -w -t 60 start >/dev/null 2>&1; then
      break
    fi
    if [ "$attempt" -lt 5 ] && grep -q 'could not bind\|Address already in use' "$data/server.log" 2>/dev/null; then
      continue
    fi
    tail -n 20 "$data/server.log" >&2 2>/dev/null || true
    die "PostgreSQL did not start (its log is above)"
  done
  for _ in $(seq 100); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$ADMIN_USER" -d postgres && break
    sleep 0.1
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$ADMIN_USER" -d postgres ||
    die "PostgreSQL started but does not accept connections on 127.0.0.1:$port"
  "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U "$ADMIN_USER" -d postgres \
    -c 'CREATE ROLE tls_only NOLOGIN' >/dev/null ||
    die "cannot create the tls_only role"
  url_of "$port" >"$dir/url"
  cat "$dir/url"
}

# Whether the postmaster of a cluster is gone, or a zombie nobody reaped yet (killed
# without a stop, in a container whose first process does not reap).
dead() {
  local pid state
  pid=$(head -n1 "$1/postmaster.pid" 2>/dev/null) || return 0
  state=$(ps -o stat= -p "$pid" 2>/dev/null) || return 0
  case "$state" in Z*) return 0 ;; *) return 1 ;; esac
}

stop() {
  local dir=$1 bin data
  [ -e "$dir/data" ] || [ -L "$dir/data" ] || { rm -f "$dir/url" "$dir/initdb.log"; return 0; }
  data=$(readlink -f "$dir/data" || true)
  bin=$(bindir)
  # A cluster that died already (status 3: not running) only needs its files removed.
  if [ -n "$data" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      as_owner "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      dead "$data" || die "could not stop the cluster in $data"
  fi
  [ -z "$data" ] || rm -rf "$data"
  rm -rf "$dir/data" "$dir/url" "$dir/initdb.log" "$dir/openssl.log" "$dir/ca.pem"
}

[ $# -eq 2 ] || usage
case "$1" in
  start) start "$2" ;;
  url) [ -f "$2/url" ] || die "no cluster in $2 (run \`$0 start $2\`)"; cat "$2/url" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
