#!/usr/bin/env bash
# Measures the size and speed targets of MISSION.md in one run and prints the results as
# markdown on stdout (progress goes to stderr):
#   1. sizes: target/release-cli/my (dynamic), the static build of it (make static), target/release/my-server
#   2. start-up of `my --version` and `my cli status` (dynamic and static) beside
#      `gh auth token` and /usr/bin/true in one hyperfine run (no shell); peak memory of
#      `my cli status` and `gh auth token` (gh: installed by `make bench`, or reported absent)
#   3. `my cli whoami --json` against the same request made with curl
#   4. magic link confirmed -> `my cli login` exited, over several sign-ins
#   5. the catalog: a full sync of a 1,000-command library, a 304 sync against curl on the
#      same request, `my cli status` with those 1,000 commands cached
#   6. running a one-step command (`my cli run`, `my <library> <command>`) against the shell
#      it starts, with 1,000 commands in the catalog and 1,000 in a local source, then with
#      10,000 in each (a second profile holds ten libraries of 1,000)
#   7. throughput (wrk): the metadata document as the floor, GET /v1/me with a session JWT
#      and with an API token, and the write path POST /oauth/device_authorization
#   8. GET /v1/me with an API token on PostgreSQL: one my-server, then two on one database
#      (a wrk per process, at once, figures summed), beside the SQLite figure of step 7
# Steps 3 to 5 and 7 run against a throwaway release my-server on 127.0.0.1 (temp SQLite file);
# step 8 against release my-servers on a throwaway PostgreSQL cluster (scripts/pg.sh).
#
# Usage: scripts/bench.sh [--write FILE] [--note TEXT] [--runs N] [--logins N] [--syncs N]
#                         [--no-static] [--wrk-secs N]
#   --write FILE  also write the markdown to FILE (e.g. docs/BENCHMARKS.md); nothing else is
#                 ever written outside the temp dir and target/static
#   --note TEXT   a line printed under the heading (e.g. the conditions of the run)
#   --runs N      hyperfine runs per command (default 200, after 20 warm-up runs)
#   --logins N    timed sign-ins (default 10)
#   --syncs N     timed full syncs of the 1,000-command catalog (default 5)
#   --no-static   skip the static build
#   --wrk-secs N  seconds of each GET throughput run (default 10; the write path runs 2N)
# `make bench` builds the release binaries first (make release), then runs this script.
# Exits non-zero only when a step cannot run at all (missing binary, hyperfine, wrk, server);
# without PostgreSQL, step 8's rows say why it was not measured.
# hyperfine, wrk and PostgreSQL come from the distribution through `scripts/deps.sh bench`
# when missing.
set -euo pipefail

cd "$(dirname "$0")/.."

write_to=
note=
runs=200
warmup=20
logins=10
syncs=5
static=1
wrk_secs=10
while [ $# -gt 0 ]; do
  case "$1" in
    --write) write_to=${2:?--write needs a file}; shift 2 ;;
    --note) note=${2:?--note needs a text}; shift 2 ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --logins) logins=${2:?--logins needs a number}; shift 2 ;;
    --syncs) syncs=${2:?--syncs needs a number}; shift 2 ;;
    --no-static) static=0; shift ;;
    --wrk-secs) wrk_secs=${2:?--wrk-secs needs a number}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see $0 --help)" >&2; exit 2 ;;
  esac
done
case "$runs$logins$syncs$wrk_secs" in
  *[!0-9]*) echo "--runs, --logins, --syncs and --wrk-secs take a number" >&2; exit 2 ;;
esac
if [ "$runs" -lt 1 ] || [ "$logins" -lt 1 ] || [ "$syncs" -lt 1 ] || [ "$wrk_secs" -lt 1 ]; then
  echo "--runs, --logins, --syncs and --wrk-secs must be at least 1" >&2
  exit 2
fi

MY=target/release-cli/my
SERVER=target/release/my-server
STATIC_DIR=target/static
STATIC_TARGET=x86_64-unknown-linux-gnu
STATIC_MY=$STATIC_DIR/$STATIC_TARGET/release-cli/my
# The size budgets issue 19 set for the features still to come (tiny_http, pattern,
# minisign…): every byte is accounted for, but features matter more.
TARGET_DYNAMIC_MB=3.0
TARGET_STATIC_MB=3.8
TARGET_START_MS=1
TARGET_GH_RATIO=50
TARGET_RATIO=1.2
TARGET_LOGIN_MS=100
TARGET_RUN_OVERHEAD_MS=3
# `my cli run` with 10,000 commands, against its figure with 1,000.
TARGET_RUN_SCALE=1.5
# `my cli status` with 1,000 cached commands, against `my --version`.
TARGET_STATUS_RATIO=1.3
TARGET_GET_RPS=20000
TARGET_GET_P99_MS=5
TARGET_WRITE_P99_MS=50

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

for f in "$MY" "$SERVER"; do
  [ -x "$f" ] || die "$f is missing: run \`make release\` first"
done
command -v curl >/dev/null 2>&1 || die "curl is missing: run \`scripts/deps.sh build\`"

# hyperfine and wrk, from the distribution, when missing.
if ! command -v hyperfine >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then
  scripts/deps.sh bench || die "hyperfine and wrk are needed (scripts/deps.sh bench)"
fi

work=$(mktemp -d)
server_pid=
pg_pids=()
login_pid=
cleanup() {
  [ -z "$login_pid" ] || kill "$login_pid" 2>/dev/null || true
  local pid
  for pid in $server_pid "${pg_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  scripts/pg.sh stop "$work/pg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- small helpers ----------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1000000 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
min_of() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }
# verdict_min VALUE TARGET: "ok" when VALUE >= TARGET, else how far under.
verdict_min() {
  awk -v v="$1" -v t="$2" 'BEGIN { if (v >= t) print "ok"; else printf "under (%.0f%% of the target)\n", 100 * v / t }'
}
# verdict VALUE TARGET: "ok" when VALUE <= TARGET, else how far over.
verdict() {
  awk -v v="$1" -v t="$2" 'BEGIN { if (v <= t) print "ok"; else printf "over (%.1f× the target)\n", v / t }'
}
# ldd's report, with the load addresses dropped so it reads the same on every run.
ldd_of() { ldd "$1" 2>&1 | sed 's/ (0x[0-9a-f]*)$//; s/^[[:space:]]*//' || true; }
# hyperfine_csv FILE NAME...: runs hyperfine on the commands that follow the names.
run_hyperfine() {
  local csv=$1
  shift
  hyperfine -N --warmup "$warmup" --runs "$runs" --style basic --export-csv "$csv" "$@" >&2
}
# row CSV N: "median mean stddev min max" of the Nth command, in ms.
row() {
  awk -F, -v n="$2" 'NR == n + 1 { printf "%.3f %.3f %.3f %.3f %.3f\n", $4 * 1000, $2 * 1000, $3 * 1000, $7 * 1000, $8 * 1000 }' "$1"
}
now_us() { echo "${EPOCHREALTIME/./}"; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

# --- 1. sizes ---------------------------------------------------------------------------
say "Sizes"
dyn_bytes=$(stat -c %s "$MY")
server_bytes=$(stat -c %s "$SERVER")
dyn_ldd=$(ldd_of "$MY")
server_ldd=$(ldd_of "$SERVER")

static_bytes=
static_ldd=
static_why=
if [ "$static" -eq 1 ]; then
  say "Static build of my ($STATIC_DIR, may take a few minutes the first time)"
  if make -s static >"$work/static.log" 2>&1; then
    static_bytes=$(stat -c %s "$STATIC_MY")
    static_ldd=$(ldd_of "$STATIC_MY")
  else
    static_why="\`make static\` failed: $(grep -m1 -e '^error' -e 'needs shared' "$work/static.log" || tail -n1 "$work/static.log")"
  fi
  [ -z "$static_why" ] || echo "static: not built ($static_why)" >&2
else
  static_why="skipped with --no-static"
fi

# --- a server, and one real sign-in -----------------------------------------------------
say "Start my-server (release) on a temporary SQLite file"
"$SERVER" --listen 127.0.0.1:0 --db "$work/bench.db" --mail-dir "$work/mail" \
  --access-ttl 1h --rate-limit 4000000000 --device-interval 30s \
  >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 200); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/^my-server listening on //p' "$work/server.out")
[ -n "$url" ] || { cat "$work/server.log" >&2; die "my-server did not start"; }

# One organization with a project and an environment, so each sign-in also infers a context,
# as a real first login does.
{
  printf '{"organizations": [{"name": "Bench", "slug": "bench", "members": ["bench-0@example.com"'
  for i in $(seq "$logins"); do printf ', "bench-%d@example.com"' "$i"; done
  printf '], "projects": [{"name": "App", "slug": "app", "environments": ["production"]}]}]}\n'
} >"$work/seed.json"
"$SERVER" admin seed --db "$work/bench.db" --file "$work/seed.json" >/dev/null

unset MY_API_TOKEN
export MY_API_URL=$url MY_CREDENTIAL_STORE=file

# sign_in N: `my cli login` as bench-N@example.com with MY_CONFIG_DIR=$work/cfg-N, the link
# confirmed with curl as a browser would. Appends "POST-sent POST-returned login-exited" (µs)
# to $work/logins.
sign_in() {
  local n=$1 email="bench-$1@example.com" mail='' link page csrf t0 t1 t2 code=0
  MY_CONFIG_DIR=$work/cfg-$n timeout 20 "$MY" cli login --email "$email" --no-browser \
    >"$work/login-$n.out" 2>"$work/login-$n.err" &
  login_pid=$!
  for _ in $(seq 400); do
    mail=$(grep -l "^To: .*$email" "${mail_dir:-$work/mail}"/*.eml 2>/dev/null | head -n1 || true)
    [ -n "$mail" ] && break
    sleep 0.025
  done
  link=
  [ -z "$mail" ] || link=$(tr -d '\r' <"$mail" | grep -o 'http://[^ ]*/magic/[^ ]*' | head -n1)
  page=
  [ -z "$link" ] || page=$(curl -fsS "$link") || page=
  csrf=$(printf %s "$page" | grep -o 'name="csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')
  if [ -z "$csrf" ]; then
    echo "sign-in $n: no mail or no confirm page with a CSRF token" >&2
    cat "$work/login-$n.err" >&2
    kill "$login_pid" 2>/dev/null || true
    wait "$login_pid" 2>/dev/null || true
    login_pid=
    return 1
  fi
  t0=$(now_us)
  curl -fsSL --data "action=confirm&csrf=$csrf" "$link" >/dev/null || code=$?
  t1=$(now_us)
  [ "$code" -eq 0 ] || echo "sign-in $n: the Confirm POST failed (curl exit $code)" >&2
  wait "$login_pid" || code=$?
  t2=$(now_us)
  login_pid=
  if [ "$code" -ne 0 ]; then
    echo "sign-in $n failed (exit $code):" >&2
    cat "$work/login-$n.err" >&2
    return 1
  fi
  echo "$t0 $t1 $t2" >>"$work/logins"
}

say "Sign in once (the credential the status and whoami runs use)"
sign_in 0 || die "the first sign-in failed"
: >"$work/logins"
cfg=$work/cfg-0
[ -f "$cfg/credentials.json" ] || die "the sign-in stored no credentials.json"
export MY_CONFIG_DIR=$cfg
# The access token goes into a header file for curl (-H @file), never into argv or output.
auth_header() {
  (
    umask 077
    tr -d '\n' <"$cfg/credentials.json" |
      sed -n 's/.*"access_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/Authorization: Bearer \1/p' >"$1"
  )
}
auth_header "$work/auth.header"
[ -s "$work/auth.header" ] || die "no access token in credentials.json"
curl -fsS -H @"$work/auth.header" "$url/v1/me" >/dev/null || die "curl with the stored access token failed"
"$MY" cli whoami --json >/dev/null || die "my cli whoami failed"
"$MY" cli status >/dev/null || die "my cli status failed"

# --- 2. start-up ------------------------------------------------------------------------
# /usr/bin/true is the floor: what starting any process costs on this machine.
say "Start-up: my --version, my cli status (and /usr/bin/true as the floor)"
true_bin=/usr/bin/true
[ -x "$true_bin" ] || true_bin=/bin/true
# gh reads its token from a hosts.yml of its own, as `my cli status` reads credentials.json.
gh_bin=$(command -v gh || true)
gh_why=
if [ -n "$gh_bin" ]; then
  mkdir -p "$work/gh"
  printf 'github.com:\n    oauth_token: gho_bench0000000000000000000000000000000\n    user: bench\n    git_protocol: https\n' >"$work/gh/hosts.yml"
  export GH_CONFIG_DIR=$work/gh GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1
  unset GH_TOKEN GITHUB_TOKEN GH_ENTERPRISE_TOKEN GITHUB_ENTERPRISE_TOKEN
  "$gh_bin" auth token >/dev/null 2>&1 || { gh_why="\`gh auth token\` failed"; gh_bin=; }
else
  gh_why="gh is not installed (\`make bench\` installs Debian's gh)"
fi
start_cmds=("$MY --version" "$MY cli status" "$true_bin")
[ -z "$static_bytes" ] || start_cmds+=("$STATIC_MY --version" "$STATIC_MY cli status")
[ -z "$gh_bin" ] || start_cmds+=("$gh_bin auth token")
run_hyperfine "$work/start.csv" "${start_cmds[@]}"
read -r ver_med ver_mean ver_sd ver_min ver_max < <(row "$work/start.csv" 1)
read -r st_med st_mean st_sd st_min st_max < <(row "$work/start.csv" 2)
read -r true_med true_mean true_sd true_min true_max < <(row "$work/start.csv" 3)
n=4
if [ -n "$static_bytes" ]; then
  read -r sver_med sver_mean sver_sd sver_min sver_max < <(row "$work/start.csv" 4)
  read -r sst_med sst_mean sst_sd sst_min sst_max < <(row "$work/start.csv" 5)
  n=6
fi
if [ -n "$gh_bin" ]; then
  read -r gh_med gh_mean gh_sd gh_min gh_max < <(row "$work/start.csv" "$n")
  gh_ratio_ver=$(awk -v a="$gh_med" -v b="$ver_med" 'BEGIN { printf "%.0f", a / b }')
  gh_ratio_st=$(awk -v a="$gh_med" -v b="$st_med" 'BEGIN { printf "%.0f", a / b }')
fi
# Peak memory (max RSS, KiB), median of 11 runs each.
peak_kib() {
  local i
  for i in $(seq 11); do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n1; done | median
}
mem_my=
mem_gh=
if [ -x /usr/bin/time ]; then
  mem_my=$(peak_kib "$MY" cli status)
  [ -z "$gh_bin" ] || mem_gh=$(peak_kib "$gh_bin" auth token)
fi

# --- 3. authenticated command vs curl ---------------------------------------------------
say "my cli whoami --json vs curl"
run_hyperfine "$work/auth.csv" "$MY cli whoami --json" "curl -fsS -H @$work/auth.header $url/v1/me"
read -r who_med who_mean who_sd who_min who_max < <(row "$work/auth.csv" 1)
read -r curl_med curl_mean curl_sd curl_min curl_max < <(row "$work/auth.csv" 2)
# Both sides must have used the same token: a refresh during the runs would show here.
auth_header "$work/auth.header.after"
refreshed=0
cmp -s "$work/auth.header" "$work/auth.header.after" || refreshed=1
ratio=$(awk -v a="$who_med" -v b="$curl_med" 'BEGIN { printf "%.2f", a / b }')

# --- 4. magic link -> signed in ---------------------------------------------------------
say "Magic link confirmed -> my cli login exited ($logins sign-ins)"
failed=0
for i in $(seq "$logins"); do
  if sign_in "$i"; then
    read -r t0 t1 t2 < <(tail -n1 "$work/logins")
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v i="$i" \
      'BEGIN { printf "  sign-in %d: %.1f ms from Confirm, %.1f ms after the page returned\n", i, (c - a) / 1000, (c - b) / 1000 }' >&2
  else
    failed=$((failed + 1))
  fi
done
ok_logins=$(wc -l <"$work/logins")
[ "$ok_logins" -gt 0 ] || die "no sign-in finished"
login_med=$(awk '{ print ($3 - $1) / 1000 }' "$work/logins" | median)
login_after=$(awk '{ print ($3 - $2) / 1000 }' "$work/logins" | median)
login_min=$(awk '{ print ($3 - $1) / 1000 }' "$work/logins" | sort -n | head -n1)
login_max=$(awk '{ print ($3 - $1) / 1000 }' "$work/logins" | sort -n | tail -n1)

# --- 5. the catalog -----------------------------------------------------------------------
# A library (and a source's library folder) holds at most 1,000 spec files (manifest.rs):
# larger sets are split into libraries of 1,000.
PER_LIBRARY=1000
# library_of SLUG K: sets `lib` to the library of the Kth item (from 0): SLUG for the first
# 1,000, then SLUG-2, SLUG-3, … (no subshell: it runs once per generated file).
library_of() { lib=$1; [ $(($2 / PER_LIBRARY)) -eq 0 ] || lib=$1-$(($2 / PER_LIBRARY + 1)); }
# manifest DIR LIBRARY…: the manifest of a folder holding those libraries.
manifest() {
  local dir=$1 l
  shift
  printf 'schemaVersion: 1\nname: bench\nlibraries:\n' >"$dir/mycli.yaml"
  for l in "$@"; do printf '  %s: {name: %s, path: %s}\n' "$l" "$l" "$l" >>"$dir/mycli.yaml"; done
}
# make_library DIR SLUG N: a manifest folder with N JSON specs, c1 to cN with the numbers
# zero-padded to the width of N (c0001 … c1000), each running `echo NUMBER`, in library SLUG
# (and SLUG-2 … past 1,000); prints the libraries.
make_library() {
  local dir=$1 slug=$2 n=$3 i lib libs=()
  for i in $(seq -w 1 "$n"); do
    library_of "$slug" $((10#$i - 1))
    [ -d "$dir/$lib" ] || { mkdir -p "$dir/$lib"; libs+=("$lib"); }
    printf '{"schemaVersion":1,"kind":"command","metadata":{"name":"Command %s","slug":"c%s","description":"Bench command number %s"},"steps":[{"name":"Run","run":["echo %s"]}]}\n' \
      "$i" "$i" "$i" "$i" >"$dir/$lib/c$i.json"
  done
  manifest "$dir" "${libs[@]}"
  echo "${libs[@]}"
}
say "Catalog: a 1,000-command library, full sync, 304 sync vs curl, status with it cached"
lib=$work/catalog-lib
make_library "$lib" big 1000 >/dev/null
"$SERVER" admin library import "$lib" --db "$work/bench.db" >/dev/null
"$MY" library install big >/dev/null 2>"$work/install.err" || { cat "$work/install.err" >&2; die "my library install big failed"; }
catalog=$cfg/cache/profiles/default/catalog.json
cached_items=$(grep -o '"command_id"' "$catalog" | wc -l)
[ "$cached_items" -eq 1000 ] || die "the synced catalog holds $cached_items commands, not 1000"
# Full sync: no cached catalog and no cached spec bodies, so 1 catalog GET and 1,000 body GETs.
hyperfine -N --warmup 0 --runs "$syncs" --style basic --export-csv "$work/fullsync.csv" \
  --prepare "rm -rf $cfg/cache" "$MY library sync" >&2
read -r full_med full_mean full_sd full_min full_max < <(row "$work/fullsync.csv" 1)
# 304: the cached ETag, sent by both.
etag=$(grep -o '"etag":"[^,]*"' "$catalog" | head -n1 | sed 's/^"etag":"//; s/"$//; s/\\"/"/g')
[ -n "$etag" ] || die "no etag in the cached catalog"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H @"$work/auth.header" -H "If-None-Match: $etag" "$url/v1/catalog?profile=default")
[ "$code" = 304 ] || die "the catalog with its own ETag answered $code, not 304"
run_hyperfine "$work/sync304.csv" "$MY library sync" \
  "curl -fsS -o /dev/null -H @$work/auth.header -H 'If-None-Match: $etag' $url/v1/catalog?profile=default"
read -r s304_med s304_mean s304_sd s304_min s304_max < <(row "$work/sync304.csv" 1)
read -r c304_med c304_mean c304_sd c304_min c304_max < <(row "$work/sync304.csv" 2)
ratio304=$(awk -v a="$s304_med" -v b="$c304_med" 'BEGIN { printf "%.2f", a / b }')
run_hyperfine "$work/status1000.csv" "$MY --version" "$MY cli status"
read -r v2_med v2_mean v2_sd v2_min v2_max < <(row "$work/status1000.csv" 1)
read -r st2_med st2_mean st2_sd st2_min st2_max < <(row "$work/status1000.csv" 2)
status_ratio=$(awk -v a="$st2_med" -v b="$v2_med" 'BEGIN { printf "%.2f", a / b }')
catalog_bytes=$(stat -c %s "$catalog")
summary_bytes=$(stat -c %s "$cfg/cache/profiles/default/summary.json")

# --- 6. running a command --------------------------------------------------------------
# make_source DIR N: a source folder of N commands: `noop` (one step, `true`) and N-1
# generated YAML specs (cmd-1 to cmd-(N-1), zero-padded), in library `bench` (and bench-2 …
# past 1,000).
make_source() {
  local dir=$1 n=$2 i lib libs=(bench)
  mkdir -p "$dir/bench"
  for i in $(seq -w 1 $((n - 1))); do
    library_of bench $((10#$i))
    [ -d "$dir/$lib" ] || { mkdir -p "$dir/$lib"; libs+=("$lib"); }
    printf 'schemaVersion: 1\nkind: command\nmetadata: {name: Command %s, slug: cmd-%s}\nsteps: [{name: s, run: ["echo %s"]}]\n' "$i" "$i" "$i" >"$dir/$lib/cmd-$i.yaml"
  done
  printf 'schemaVersion: 1\nkind: command\nmetadata: {name: No-op, slug: noop}\nargs: {flags: [{name: env, default: staging}]}\nsteps: [{name: Nothing, run: ["true {{quote .args.env}}"]}]\n' >"$dir/bench/noop.yaml"
  manifest "$dir" "${libs[@]}"
}
# A config dir for each size, copied from the signed-in one: the catalog of the active profile
# and a local source, both of that size. 1,000: the catalog of step 5 and a 1,000-command
# source. 10,000: a second profile, `tenk`, holding ten libraries of 1,000 commands
# (MY_PROFILE selects it), and a 10,000-command source. `my` resolves, parses and renders, then runs the
# same `sh -c …` it is compared with.
say "my cli run / my <library> <command> of a one-step command vs the shell, 1,000 and 10,000 commands"
src=$work/run-source
make_source "$src" 1000
cp -a "$cfg" "$work/cfg-run"
MY_CONFIG_DIR=$work/cfg-run "$MY" source add "$src" >/dev/null || die "my source add failed"
MY_CONFIG_DIR=$work/cfg-run "$MY" bench noop || die "my bench noop failed"
say "The 10,000-command library and source (import, sync and validation take a while)"
huge=$(make_library "$work/catalog-huge" huge 10000)
"$SERVER" admin library import "$work/catalog-huge" --db "$work/bench.db" >/dev/null
"$MY" cli profile create tenk >/dev/null || die "my cli profile create tenk failed"
for l in $huge; do
  "$MY" library install "$l" --profile tenk >/dev/null 2>"$work/install.err" || { cat "$work/install.err" >&2; die "my library install $l failed"; }
done
cached_items=$(grep -o '"command_id"' "$cfg/cache/profiles/tenk/catalog.json" | wc -l)
[ "$cached_items" -eq 10000 ] || die "the synced catalog of tenk holds $cached_items commands, not 10000"
make_source "$work/run-source-10k" 10000
cp -a "$cfg" "$work/cfg-run10k"
MY_CONFIG_DIR=$work/cfg-run10k "$MY" source add "$work/run-source-10k" >/dev/null || die "my source add (10,000) failed"
run10k="env MY_CONFIG_DIR=$work/cfg-run10k MY_PROFILE=tenk $MY"
$run10k bench noop || die "my bench noop (10,000) failed"
run_hyperfine "$work/run.csv" \
  "env MY_CONFIG_DIR=$work/cfg-run $MY bench noop" \
  "env MY_CONFIG_DIR=$work/cfg-run $MY cli run noop" \
  "env MY_CONFIG_DIR=$work/cfg-run $MY cli run -f $src/bench/noop.yaml" \
  "env /bin/sh -c true" \
  "env MY_CONFIG_DIR=$work/cfg-run $MY cli run c0001" \
  "env /bin/sh -c 'echo 0001'" \
  "$run10k bench noop" \
  "$run10k cli run noop" \
  "$run10k cli run c00001" \
  "env /bin/sh -c 'echo 00001'"
read -r lib_med lib_mean lib_sd lib_min lib_max < <(row "$work/run.csv" 1)
read -r run_med run_mean run_sd run_min run_max < <(row "$work/run.csv" 2)
read -r file_med file_mean file_sd file_min file_max < <(row "$work/run.csv" 3)
read -r sh_med sh_mean sh_sd sh_min sh_max < <(row "$work/run.csv" 4)
read -r cat_med cat_mean cat_sd cat_min cat_max < <(row "$work/run.csv" 5)
read -r echo_med echo_mean echo_sd echo_min echo_max < <(row "$work/run.csv" 6)
read -r lib10k_med lib10k_mean lib10k_sd lib10k_min lib10k_max < <(row "$work/run.csv" 7)
read -r run10k_med run10k_mean run10k_sd run10k_min run10k_max < <(row "$work/run.csv" 8)
read -r cat10k_med cat10k_mean cat10k_sd cat10k_min cat10k_max < <(row "$work/run.csv" 9)
read -r echo10k_med echo10k_mean echo10k_sd echo10k_min echo10k_max < <(row "$work/run.csv" 10)
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
run_overhead=$(minus "$run_med" "$sh_med")
catalog_overhead=$(minus "$cat_med" "$echo_med")
run10k_overhead=$(minus "$run10k_med" "$sh_med")
catalog10k_overhead=$(minus "$cat10k_med" "$echo10k_med")
# 10,000 against 1,000: the overheads' ratio.
scale() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
run_scale=$(scale "$run10k_overhead" "$run_overhead")
catalog_scale=$(scale "$catalog10k_overhead" "$catalog_overhead")

# --- 7. throughput ---------------------------------------------------------------------
say "Throughput: wrk, 2 threads (metadata, /v1/me with a JWT and an API token, the write path)"
# An API token of the signed-in user, created by the CLI; like the JWT it only ever sits in a
# header file that the wrk script reads.
(
  umask 077
  "$MY" cli token create bench-wrk --json |
    sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/Authorization: Bearer \1/p' >"$work/token.header"
)
[ -s "$work/token.header" ] || die "my cli token create printed no token"
curl -fsS -H @"$work/token.header" "$url/v1/me" >/dev/null || die "curl with the API token failed"
# wrk_exec NAME THREADS CONNECTIONS SECONDS URL: one wrk run (the request from BENCH_*
# variables) into $work/wrk-NAME.txt; several may run at once.
wrk_exec() {
  local out=$work/wrk-$1.txt
  wrk -t"$2" -c"$3" -d"$4"s --timeout 10s --latency -s scripts/bench-wrk.lua "$5" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed on $5"; }
}
# wrk_parse NAME LABEL: sets NAME_n (requests) NAME_secs NAME_rps NAME_p50 NAME_p99 NAME_max
# (ms) NAME_over (requests over 1 s), NAME_bad (answers other than 2xx/3xx) and NAME_err
# (socket errors and timeouts) from a wrk_exec run.
wrk_parse() {
  local name=$1 out=$work/wrk-$1.txt n secs bad err p50 p99 max over
  read -r n secs bad err p50 p99 max over < <(sed -n 's/^result //p' "$out")
  [ -n "$over" ] || { cat "$out" >&2; die "no result line from wrk on $2"; }
  printf -v "${name}_n" '%s' "$n"
  printf -v "${name}_secs" '%s' "$secs"
  printf -v "${name}_rps" '%s' "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
  printf -v "${name}_p50" '%s' "$(awk -v v="$p50" 'BEGIN { printf "%.2f", v / 1000 }')"
  printf -v "${name}_p99" '%s' "$(awk -v v="$p99" 'BEGIN { printf "%.2f", v / 1000 }')"
  printf -v "${name}_max" '%s' "$(awk -v v="$max" 'BEGIN { printf "%.2f", v / 1000 }')"
  printf -v "${name}_over" '%s' "$over"
  printf -v "${name}_bad" '%s' "$bad"
  printf -v "${name}_err" '%s' "$err"
  echo "  $2: $n requests in ${secs}s, p50 $((p50 / 1000)) ms, p99 $((p99 / 1000)) ms, non-2xx $bad, errors $err" >&2
}
# wrk_run NAME CONNECTIONS SECONDS PATH: one run of 2 threads against the SQLite server.
wrk_run() {
  wrk_exec "$1" 2 "$2" "$3" "$url$4"
  wrk_parse "$1" "$4"
}
write_secs=$((wrk_secs * 2))
BENCH_METHOD=GET wrk_run meta 32 "$wrk_secs" /.well-known/oauth-authorization-server
BENCH_METHOD=GET BENCH_AUTH_FILE=$work/auth.header wrk_run jwt 32 "$wrk_secs" /v1/me
BENCH_METHOD=GET BENCH_AUTH_FILE=$work/token.header wrk_run token 32 "$wrk_secs" /v1/me
BENCH_METHOD=POST BENCH_BODY="client_id=my-cli&scope=openid" wrk_run write 16 "$write_secs" /oauth/device_authorization

# --- 8. PostgreSQL ------------------------------------------------------------------------
# The same GET /v1/me with an API token as step 7, on a throwaway cluster: one my-server,
# then two on the same database with a wrk each at once (16 connections and one thread
# each, so 32 connections and 2 threads in all, as in step 7).
say "PostgreSQL: GET /v1/me with an API token, one my-server, then two on one database"
pg_why=
# pg_server N DB_URL: a release my-server on DB_URL; sets pg_urlN to its URL (empty if it did
# not start). Started from the temp dir, so a build without the PostgreSQL backend, which would
# take the URL for a file name, leaves nothing behind.
pg_server() {
  local bin=$SERVER
  [ "${bin#/}" != "$bin" ] || bin=$PWD/$bin
  (cd "$work" && exec "$bin" --listen 127.0.0.1:0 --db "$2" --mail-dir "$work/pg-mail" \
    --access-ttl 1h --rate-limit 4000000000 --device-interval 30s \
    >"$work/pg-$1.out" 2>"$work/pg-$1.log") &
  pg_pids+=($!)
  for _ in $(seq 200); do grep -q listening "$work/pg-$1.out" 2>/dev/null && break; sleep 0.05; done
  printf -v "pg_url$1" '%s' "$(sed -n 's/^my-server listening on //p' "$work/pg-$1.out")"
}
pg_start() {
  local admin tables
  if ! admin=$(scripts/pg.sh start "$work/pg" 2>"$work/pg-start.err"); then
    pg_why=$(tail -n1 "$work/pg-start.err")
    return 1
  fi
  psql -X -q -d "$admin" -c 'CREATE DATABASE bench' || { pg_why="psql could not create the database"; return 1; }
  pg_db=${admin%/*}/bench
  pg_server 1 "$pg_db"
  [ -n "$pg_url1" ] || { cat "$work/pg-1.log" >&2; pg_why="my-server did not start on PostgreSQL"; return 1; }
  tables=$(psql -X -A -t -d "$pg_db" -c "SELECT count(*) FROM information_schema.tables
    WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
  [ "$tables" != 0 ] || { pg_why="this my-server build does not use PostgreSQL (it made no tables)"; return 1; }
  # A user and an API token of its own, made the way the SQLite server's were.
  (
    export MY_API_URL=$pg_url1 MY_CONFIG_DIR=$work/cfg-pg
    url=$pg_url1 mail_dir=$work/pg-mail
    sign_in pg >/dev/null
    umask 077
    "$MY" cli token create bench-wrk --json |
      sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/Authorization: Bearer \1/p' >"$work/pg-token.header"
  ) || { pg_why="the sign-in or token creation on PostgreSQL failed"; return 1; }
  [ -s "$work/pg-token.header" ] || { pg_why="my cli token create printed no token"; return 1; }
  pg_server 2 "$pg_db"
  [ -n "$pg_url2" ] || { cat "$work/pg-2.log" >&2; pg_why="a second my-server did not start on PostgreSQL"; return 1; }
  curl -fsS -H @"$work/pg-token.header" "$pg_url2/v1/me" >/dev/null ||
    { pg_why="the API token made at one process fails at the other"; return 1; }
}
if pg_start; then
  export BENCH_METHOD=GET BENCH_AUTH_FILE=$work/pg-token.header
  wrk_exec pg1 2 32 "$wrk_secs" "$pg_url1/v1/me"
  wrk_parse pg1 "/v1/me, PostgreSQL, one process"
  wrk_exec pg2a 1 16 "$wrk_secs" "$pg_url1/v1/me" &
  wrk_a=$!
  wrk_exec pg2b 1 16 "$wrk_secs" "$pg_url2/v1/me" || die "wrk failed on the second process"
  wait "$wrk_a" || die "wrk failed on the first process"
  unset BENCH_METHOD BENCH_AUTH_FILE
  wrk_parse pg2a "/v1/me, PostgreSQL, process 1 of 2"
  wrk_parse pg2b "/v1/me, PostgreSQL, process 2 of 2"
  # The pair: requests summed over the longer of the two runs; latencies of the slower one.
  pg2_rps=$(awk -v a="$pg2a_n" -v b="$pg2b_n" -v s="$pg2a_secs" -v t="$pg2b_secs" 'BEGIN { printf "%.0f", (a + b) / (s > t ? s : t) }')
  max2() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
  pg2_p50=$(max2 "$pg2a_p50" "$pg2b_p50")
  pg2_p99=$(max2 "$pg2a_p99" "$pg2b_p99")
  pg2_max=$(max2 "$pg2a_max" "$pg2b_max")
  pg2_bad=$((pg2a_bad + pg2b_bad))
  pg2_err=$((pg2a_err + pg2b_err))
else
  echo "PostgreSQL: not measured ($pg_why)" >&2
fi
# at_least VALUE TARGET: "ok" when VALUE >= TARGET, else how far under.
at_least() {
  awk -v v="$1" -v t="$2" 'BEGIN { if (v >= t) print "ok"; else printf "under (%.2f× the target)\n", v / t }'
}
# clean NAME: "" when every answer of that run was 2xx/3xx without socket errors, else a warning.
clean() {
  local bad err
  bad=${1}_bad err=${1}_err
  [ "${!bad}" -eq 0 ] && [ "${!err}" -eq 0 ] && return 0
  echo " (**${!bad} non-2xx answers, ${!err} socket errors**)"
}

# --- report -----------------------------------------------------------------------------
fmt() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
report() {
  echo "# Benchmarks"
  echo
  echo "What \`make bench\` (\`scripts/bench.sh\`) measures against the targets of the mission: size"
  echo "of the release binaries, start-up, the cost of an authenticated command next to the same"
  echo "request made with curl, and how fast a confirmed magic link signs the CLI in."
  echo
  [ -z "$note" ] || { echo "> **Note:** $note"; echo; }
  echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load average"
  echo "$load_start at the start, $load_end at the end (1, 5, 15 min);"
  echo "$(rustc --version 2>/dev/null || echo 'rustc ?'), $(hyperfine --version), $(curl --version | head -n1 | cut -d' ' -f1-2), $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)."
  echo
  echo "## Results"
  echo
  echo "| measure | result | target | |"
  echo "|---|---|---|---|"
  echo "| \`my\` release binary (dynamic) | $dyn_bytes bytes = $(mb "$dyn_bytes") MB ($(mib "$dyn_bytes") MiB) | ≤ $TARGET_DYNAMIC_MB MB | $(verdict "$(mb "$dyn_bytes")" "$TARGET_DYNAMIC_MB") |"
  if [ -n "$static_bytes" ]; then
    echo "| \`my\` static (glibc, crt-static) | $static_bytes bytes = $(mb "$static_bytes") MB ($(mib "$static_bytes") MiB) | ≤ $TARGET_STATIC_MB MB | $(verdict "$(mb "$static_bytes")" "$TARGET_STATIC_MB") |"
  else
    echo "| \`my\` static (glibc, crt-static) | not built ($static_why) | ≤ $TARGET_STATIC_MB MB | — |"
  fi
  echo "| \`my-server\` (release profile) | $server_bytes bytes = $(mb "$server_bytes") MB ($(mib "$server_bytes") MiB) | — | |"
  echo "| \`my --version\` start-up, median | $(fmt "$ver_med") ms | ~$TARGET_START_MS ms | $(verdict "$ver_med" "$TARGET_START_MS") |"
  echo "| \`my cli status\` start-up, median | $(fmt "$st_med") ms | ~$TARGET_START_MS ms | $(verdict "$st_med" "$TARGET_START_MS") |"
  if [ -n "$static_bytes" ]; then
    echo "| static \`my --version\` start-up, median | $(fmt "$sver_med") ms | ≤ $TARGET_START_MS ms | $(verdict "$sver_med" "$TARGET_START_MS") |"
    echo "| static \`my cli status\` start-up, median | $(fmt "$sst_med") ms | ≤ $TARGET_START_MS ms | $(verdict "$sst_med" "$TARGET_START_MS") |"
  fi
  if [ -n "$gh_bin" ]; then
    echo "| \`gh auth token\`, median (same run) | $(fmt "$gh_med") ms | | |"
    echo "| gh ÷ \`my --version\` / gh ÷ \`my cli status\` | ${gh_ratio_ver}× / ${gh_ratio_st}× | ≥ ${TARGET_GH_RATIO}× | $(verdict_min "$(min_of "$gh_ratio_ver" "$gh_ratio_st")" "$TARGET_GH_RATIO") |"
  else
    echo "| \`gh auth token\` | not measured: $gh_why | | |"
  fi
  if [ -n "$mem_my" ]; then
    echo "| peak memory: \`my cli status\` / \`gh auth token\` | $mem_my KiB / ${mem_gh:-—} KiB | | |"
  fi
  echo "| \`my cli whoami --json\`, median | $(fmt "$who_med") ms | | |"
  echo "| \`curl … /v1/me\`, median | $(fmt "$curl_med") ms | | |"
  echo "| whoami ÷ curl | ${ratio}× | ≤ ${TARGET_RATIO}× | $(verdict "$ratio" "$TARGET_RATIO") |"
  echo "| magic link Confirm → \`my cli login\` exited, median of $ok_logins | $(fmt "$login_med") ms | ~$TARGET_LOGIN_MS ms | $(verdict "$login_med" "$TARGET_LOGIN_MS") |"
  echo "| full sync of a 1,000-command catalog, median of $syncs | $(fmt "$full_med") ms | measured | |"
  echo "| \`my library sync\` answered 304 (1,000 commands cached), median | $(fmt "$s304_med") ms | | |"
  echo "| \`curl\` with the same If-None-Match, median | $(fmt "$c304_med") ms | | |"
  echo "| 304 sync ÷ curl | ${ratio304}× | ≤ ${TARGET_RATIO}× | $(verdict "$ratio304" "$TARGET_RATIO") |"
  echo "| \`my cli status\` with 1,000 cached commands, median | $(fmt "$st2_med") ms (${status_ratio}× \`my --version\`, $(fmt "$v2_med") ms) | ≤ ${TARGET_STATUS_RATIO}× | $(verdict "$status_ratio" "$TARGET_STATUS_RATIO") |"
  echo "| \`my cli run noop\` (source) over \`sh -c true\`, 1,000 commands in the catalog and in the source, median | $run_overhead ms | ≤ $TARGET_RUN_OVERHEAD_MS ms | $(verdict "$run_overhead" "$TARGET_RUN_OVERHEAD_MS") |"
  echo "| \`my cli run c0001\` (catalog) over \`sh -c 'echo 0001'\`, 1,000 commands in each, median | $catalog_overhead ms | ≤ $TARGET_RUN_OVERHEAD_MS ms | $(verdict "$catalog_overhead" "$TARGET_RUN_OVERHEAD_MS") |"
  echo "| \`my cli run noop\` over \`sh -c true\`, 10,000 commands in each, median | $run10k_overhead ms (${run_scale}× the 1,000 figure) | ≤ ${TARGET_RUN_SCALE}× | $(verdict "$run_scale" "$TARGET_RUN_SCALE") |"
  echo "| \`my cli run c00001\` over \`sh -c 'echo 00001'\`, 10,000 commands in each, median | $catalog10k_overhead ms (${catalog_scale}× the 1,000 figure) | ≤ ${TARGET_RUN_SCALE}× | $(verdict "$catalog_scale" "$TARGET_RUN_SCALE") |"
  echo
  echo
  echo "### Throughput (wrk, 2 threads)"
  echo
  echo "| run | req/s | p50 | p99 | max | target | |"
  echo "|---|---|---|---|---|---|---|"
  echo "| metadata document (floor), 32 connections | $meta_rps | $meta_p50 ms | $meta_p99 ms | $meta_max ms | — | $(clean meta) |"
  echo "| \`GET /v1/me\`, session JWT, 32 connections | $jwt_rps | $jwt_p50 ms | $jwt_p99 ms | $jwt_max ms | ≥ $TARGET_GET_RPS req/s, p99 ≤ $TARGET_GET_P99_MS ms | $(at_least "$jwt_rps" "$TARGET_GET_RPS"), p99 $(verdict "$jwt_p99" "$TARGET_GET_P99_MS")$(clean jwt) |"
  echo "| \`GET /v1/me\`, API token, 32 connections | $token_rps | $token_p50 ms | $token_p99 ms | $token_max ms | ≥ $TARGET_GET_RPS req/s, p99 ≤ $TARGET_GET_P99_MS ms | $(at_least "$token_rps" "$TARGET_GET_RPS"), p99 $(verdict "$token_p99" "$TARGET_GET_P99_MS")$(clean token) |"
  echo "| \`POST /oauth/device_authorization\`, 16 connections | $write_rps | $write_p50 ms | $write_p99 ms | $write_max ms | p99 ≤ $TARGET_WRITE_P99_MS ms, none over 1 s | p99 $(verdict "$write_p99" "$TARGET_WRITE_P99_MS"), $write_over over 1 s$(clean write) |"
  echo
  echo "### Throughput by backend (wrk, \`GET /v1/me\` with an API token, 32 connections in all)"
  echo
  echo "| database | my-server processes | req/s | p50 | p99 | max | |"
  echo "|---|---|---|---|---|---|---|"
  echo "| SQLite (the API-token row above) | 1 | $token_rps | $token_p50 ms | $token_p99 ms | $token_max ms |$(clean token) |"
  if [ -z "$pg_why" ]; then
    echo "| PostgreSQL | 1 | $pg1_rps | $pg1_p50 ms | $pg1_p99 ms | $pg1_max ms |$(clean pg1) |"
    echo "| PostgreSQL, one database | 2 (a wrk each, at once: req/s summed, latencies of the slower) | $pg2_rps | $pg2_p50 ms | $pg2_p99 ms | $pg2_max ms |$(clean pg2) |"
  else
    echo "| PostgreSQL | 1 and 2 | not measured: $pg_why | | | | |"
  fi
  echo
  echo "MB = 1,000,000 bytes. Megabyte figures are rounded before they are compared with the targets."
  echo
  echo "### Timings in detail (ms)"
  echo
  echo "| command | median | mean ± σ | min | max | runs |"
  echo "|---|---|---|---|---|---|"
  echo "| \`my --version\` | $(fmt "$ver_med") | $(fmt "$ver_mean") ± $(fmt "$ver_sd") | $(fmt "$ver_min") | $(fmt "$ver_max") | $runs |"
  echo "| \`my cli status\` | $(fmt "$st_med") | $(fmt "$st_mean") ± $(fmt "$st_sd") | $(fmt "$st_min") | $(fmt "$st_max") | $runs |"
  echo "| \`$true_bin\` (floor: starting any process) | $(fmt "$true_med") | $(fmt "$true_mean") ± $(fmt "$true_sd") | $(fmt "$true_min") | $(fmt "$true_max") | $runs |"
  if [ -n "$static_bytes" ]; then
    echo "| static \`my --version\` | $(fmt "$sver_med") | $(fmt "$sver_mean") ± $(fmt "$sver_sd") | $(fmt "$sver_min") | $(fmt "$sver_max") | $runs |"
    echo "| static \`my cli status\` | $(fmt "$sst_med") | $(fmt "$sst_mean") ± $(fmt "$sst_sd") | $(fmt "$sst_min") | $(fmt "$sst_max") | $runs |"
  fi
  [ -z "$gh_bin" ] || echo "| \`gh auth token\` ($("$gh_bin" --version | head -n1 | cut -d' ' -f1-3)) | $(fmt "$gh_med") | $(fmt "$gh_mean") ± $(fmt "$gh_sd") | $(fmt "$gh_min") | $(fmt "$gh_max") | $runs |"
  echo "| \`my cli whoami --json\` | $(fmt "$who_med") | $(fmt "$who_mean") ± $(fmt "$who_sd") | $(fmt "$who_min") | $(fmt "$who_max") | $runs |"
  echo "| \`curl -fsS -H @header URL/v1/me\` | $(fmt "$curl_med") | $(fmt "$curl_mean") ± $(fmt "$curl_sd") | $(fmt "$curl_min") | $(fmt "$curl_max") | $runs |"
  echo "| Confirm POST sent → \`my cli login\` exited | $(fmt "$login_med") | | $(fmt "$login_min") | $(fmt "$login_max") | $ok_logins |"
  echo "| Confirm page returned → \`my cli login\` exited | $(fmt "$login_after") | | | | $ok_logins |"
  echo "| \`my library sync\`, full (catalog + 1,000 spec bodies) | $(fmt "$full_med") | $(fmt "$full_mean") ± $(fmt "$full_sd") | $(fmt "$full_min") | $(fmt "$full_max") | $syncs |"
  echo "| \`my library sync\`, 304 | $(fmt "$s304_med") | $(fmt "$s304_mean") ± $(fmt "$s304_sd") | $(fmt "$s304_min") | $(fmt "$s304_max") | $runs |"
  echo "| \`curl -H 'If-None-Match: …' URL/v1/catalog?profile=default\` (304) | $(fmt "$c304_med") | $(fmt "$c304_mean") ± $(fmt "$c304_sd") | $(fmt "$c304_min") | $(fmt "$c304_max") | $runs |"
  echo "| \`my --version\` (again, beside the next row) | $(fmt "$v2_med") | $(fmt "$v2_mean") ± $(fmt "$v2_sd") | $(fmt "$v2_min") | $(fmt "$v2_max") | $runs |"
  echo "| \`my cli status\`, 1,000 commands cached | $(fmt "$st2_med") | $(fmt "$st2_mean") ± $(fmt "$st2_sd") | $(fmt "$st2_min") | $(fmt "$st2_max") | $runs |"
  echo "| \`my bench noop\` (library command) | $(fmt "$lib_med") | $(fmt "$lib_mean") ± $(fmt "$lib_sd") | $(fmt "$lib_min") | $(fmt "$lib_max") | $runs |"
  echo "| \`my cli run noop\` | $(fmt "$run_med") | $(fmt "$run_mean") ± $(fmt "$run_sd") | $(fmt "$run_min") | $(fmt "$run_max") | $runs |"
  echo "| \`my cli run -f noop.yaml\` | $(fmt "$file_med") | $(fmt "$file_mean") ± $(fmt "$file_sd") | $(fmt "$file_min") | $(fmt "$file_max") | $runs |"
  echo "| \`sh -c true\` | $(fmt "$sh_med") | $(fmt "$sh_mean") ± $(fmt "$sh_sd") | $(fmt "$sh_min") | $(fmt "$sh_max") | $runs |"
  echo "| \`my cli run c0001\` (catalog) | $(fmt "$cat_med") | $(fmt "$cat_mean") ± $(fmt "$cat_sd") | $(fmt "$cat_min") | $(fmt "$cat_max") | $runs |"
  echo "| \`sh -c 'echo 0001'\` | $(fmt "$echo_med") | $(fmt "$echo_mean") ± $(fmt "$echo_sd") | $(fmt "$echo_min") | $(fmt "$echo_max") | $runs |"
  echo "| \`my bench noop\`, 10,000 commands | $(fmt "$lib10k_med") | $(fmt "$lib10k_mean") ± $(fmt "$lib10k_sd") | $(fmt "$lib10k_min") | $(fmt "$lib10k_max") | $runs |"
  echo "| \`my cli run noop\`, 10,000 commands | $(fmt "$run10k_med") | $(fmt "$run10k_mean") ± $(fmt "$run10k_sd") | $(fmt "$run10k_min") | $(fmt "$run10k_max") | $runs |"
  echo "| \`my cli run c00001\` (catalog), 10,000 commands | $(fmt "$cat10k_med") | $(fmt "$cat10k_mean") ± $(fmt "$cat10k_sd") | $(fmt "$cat10k_min") | $(fmt "$cat10k_max") | $runs |"
  echo "| \`sh -c 'echo 00001'\` | $(fmt "$echo10k_med") | $(fmt "$echo10k_mean") ± $(fmt "$echo10k_sd") | $(fmt "$echo10k_min") | $(fmt "$echo10k_max") | $runs |"
  [ "$refreshed" -eq 0 ] || { echo; echo "**The access token changed during the whoami runs (a refresh happened): the comparison is not like for like.**"; }
  [ "$failed" -eq 0 ] || { echo; echo "$failed of $logins sign-ins did not finish through the loopback wake-up and are left out."; }
  echo
  echo "### Linked libraries (\`ldd\`)"
  echo
  echo "\`$MY\`:"
  echo
  echo '```'
  echo "$dyn_ldd"
  echo '```'
  echo
  if [ -n "$static_bytes" ]; then
    echo "\`$STATIC_MY\`:"
    echo
    echo '```'
    echo "$static_ldd"
    echo '```'
    echo
  fi
  echo "\`$SERVER\`:"
  echo
  echo '```'
  echo "$server_ldd"
  echo '```'
  echo
  echo "## How it is measured"
  echo
  echo "- **Sizes**: \`$MY\` as \`make release\` builds it (\`cargo rustc --locked --profile release-cli -p mycli\`:"
  echo "  opt-level \"z\", LTO, one codegen unit, panic = abort, stripped; libdbus compiled in; and,"
  echo "  for the final crate, \`--cfg my_no_unwind\` with \`scripts/no-eh-frame.ld\` (no unwind tables, no"
  echo "  libgcc_s, no backtrace symbolizer), rust-lld's \`--icf=all -O2 -z pack-relative-relocs\` and LLVM's"
  echo "  machine outliner; position-independent; it loads only libc); the static one by \`make static\`: the same, with"
  echo "  \`RUSTFLAGS=\"-C target-feature=+crt-static -C relocation-model=static\"\` and"
  echo "  \`--target $STATIC_TARGET\` into \`$STATIC_DIR\` (so the normal target dir stays valid);"
  echo "  \`$SERVER\` from \`cargo build --locked --release -p my-server\` (the release profile unwinds)."
  echo "- **Start-up**: hyperfine without a shell (\`-N\`), $warmup warm-up runs and $runs timed runs per"
  echo "  command. \`my cli status\` reads a file-store credential (\`MY_CREDENTIAL_STORE=file\`,"
  echo "  \`MY_CONFIG_DIR\` in a temp dir) from a real sign-in; it makes no request."
  echo "  The static \`my\`, \`gh auth token\` (reading a token from a \`hosts.yml\` in a temp"
  echo "  \`GH_CONFIG_DIR\`) and \`/usr/bin/true\` run in the same hyperfine call. Peak memory is"
  echo "  GNU time's maximum resident set size, the median of 11 runs."
  echo "- **Authenticated command vs curl**: a release \`my-server\` on 127.0.0.1 with a temp SQLite"
  echo "  database and \`--access-ttl 1h\` (no refresh during the runs); one sign-in by magic link; then"
  echo "  hyperfine compares \`my cli whoami --json\` with \`curl -fsS -H @header URL/v1/me\`, the header"
  echo "  file holding the same access token (read from \`credentials.json\`, so it is never in argv)."
  echo "- **Magic link → signed in**: $logins sign-ins with distinct emails (server started with"
  echo "  \`--rate-limit 4000000000 --device-interval 30s\`, so only the CLI's loopback wake-up can finish"
  echo "  them in time). For each, \`my cli login --email … --no-browser\` runs in the background, the"
  echo "  mailed link's page is fetched for its CSRF token, and the clock runs from sending the Confirm"
  echo "  POST (\`curl -L\`, which follows the redirect to the CLI's loopback port as a browser does) to"
  echo "  the \`my cli login\` process exiting — it has then exchanged the device code, stored the"
  echo "  credential and inferred the default context (one seeded organization, project and"
  echo "  environment). The second figure starts when that curl returns."
  echo "- **Catalog**: a generated manifest folder with one library of 1,000 JSON specs, published"
  echo "  with \`my-server admin library import\` and installed into the signed-in user's \`default\`"
  echo "  profile. The full sync is \`my library sync\` after removing the whole cache (one catalog"
  echo "  GET, 1,000 spec GETs, each body hashed and written atomically), $syncs runs. The 304 sync is"
  echo "  \`my library sync\` with that cache in place (the catalog file, $catalog_bytes bytes, is read for"
  echo "  its ETag, and the cached bodies are checked against their hashes while the request is in"
  echo "  flight; only \`summary.json\` is rewritten),"
  echo "  next to curl sending the same request with the same token and \`If-None-Match\`."
  echo "  \`my cli status\` then reads the summary the sync wrote ($summary_bytes bytes: the counts and"
  echo "  the head of the name index), never the catalog or a spec body."
  echo "- **Running a command**: a copy of that config dir, so the active profile's catalog holds"
  echo "  the 1,000 commands, with a local source (\`my source add\`) of 999 generated specs and"
  echo "  \`noop\`, whose one step runs \`true '<flag value>'\` with \`/bin/sh\`. \`my cli run noop\` looks the"
  echo "  name up in both name indexes (written by the sync and by \`my source add\`: a head and one"
  echo "  bucket of about 16 names each), reads and parses the YAML (and checks its slug), binds a"
  echo "  defaulted flag, renders the template, runs the step and appends to the history. The"
  echo "  overhead is its median minus that of \`sh -c true\` (both started through \`env\`, so they"
  echo "  pay the same extra exec). \`my cli run c0001\` does the same for a catalog command: it reads"
  echo "  the item from the catalog's index, hashes its cached spec body against its \`spec_hash\`,"
  echo "  and runs it, next to the \`sh -c 'echo 0001'\` its step runs. \`my bench noop\` is the"
  echo "  library-command form of \`noop\`. The 10,000 rows do the same in another copy whose"
  echo "  \`tenk\` profile (\`MY_PROFILE=tenk\`) holds 10,000 commands (c00001 …, in ten libraries of"
  echo "  1,000, the most a library may hold) and whose source has 10,000 (also in ten libraries);"
  echo "  all rows come from one hyperfine call."
  echo "- **What YAML costs**: measured when the spec model was added, with a call to"
  echo "  \`Spec::parse\` from \`main\`: 2,688,328 bytes before, 2,780,936 with the spec model and JSON only"
  echo "  (+92,608), 2,940,176 with YAML too (+251,848 in all; serde_norway and its libyaml translation"
  echo "  +159,240). serde-saphyr, the pure-Rust alternative, cost ~500 KB against ~100 KB for"
  echo "  serde_norway in a minimal release binary."
  echo "- **Throughput**: \`wrk -t2 --timeout 10s\` with \`scripts/bench-wrk.lua\` (which reads the"
  echo "  Authorization header from a file and reports the latency percentiles, the maximum, the"
  echo "  requests over 1 s and the answers other than 2xx/3xx), against the same server: the"
  echo "  metadata document (no database) as the floor, then \`GET /v1/me\` with the sign-in's JWT and"
  echo "  with an API token (\`my cli token create\`), $wrk_secs s each from 32 connections; then"
  echo "  \`POST /oauth/device_authorization\` (a write transaction per request) for $write_secs s from 16"
  echo "  connections. The server runs with \`--rate-limit 4000000000\`, so the write path is"
  echo "  measured, not 429s; a run with other answers says so in its row. wrk shares the machine's"
  echo "  cores with the server."
  echo "- **Throughput by backend**: a throwaway PostgreSQL cluster (\`scripts/pg.sh\`: Debian's"
  echo "  PostgreSQL$( [ -n "$pg_why" ] || printf ' %s' "$(psql --version | awk '{ print $3 }')"), 127.0.0.1, fsync off, as for the tests) and a database on it; a release"
  echo "  \`my-server --db postgres://…\` with the same flags as the SQLite one, a sign-in and an API token"
  echo "  made there by the CLI, then \`GET /v1/me\` for $wrk_secs s from 32 connections (2 wrk threads). Then a"
  echo "  second \`my-server\` on the same database, and two wrk runs at once, one per process, each"
  echo "  with one thread and 16 connections: requests are summed (over the longer run), latencies"
  echo "  are those of the slower process. Server processes, PostgreSQL and wrk share the same cores."
  echo "- \`$true_bin\` is timed with the start-up commands as the floor: what starting any"
  echo "  process costs on the machine at that moment."
  echo "- The figures compared with the targets are medians. Run on an idle machine for figures"
  echo "  to compare; the targets are the mission's (gh, for comparison: a 40 MB binary, ~66 ms to start)."
  echo
  echo "## Reproduce"
  echo
  echo '```sh'
  echo "make bench                                   # make release, then scripts/bench.sh"
  echo "scripts/bench.sh --write docs/BENCHMARKS.md  # also rewrite this page"
  echo '```'
  echo
  echo "This page is written by \`scripts/bench.sh --write docs/BENCHMARKS.md\`; edit the script, not the page."
  echo "\`scripts/bench.sh --help\` lists the options (\`--runs\`, \`--logins\`, \`--syncs\`, \`--no-static\`, \`--wrk-secs\`, \`--note\`)."
}
report >"$work/report.md"
cat "$work/report.md"
if [ -n "$write_to" ]; then
  cp "$work/report.md" "$write_to"
  echo "wrote $write_to" >&2
fi
