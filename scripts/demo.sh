#!/usr/bin/env bash
# The whole sign-in life cycle against a throwaway my-server (SQLite file + mail folder in a
# temp dir): login by magic link, the link opened the way a browser does, whoami, status,
# logout, then installed commands run from the cache with the server stopped.
# Usage: scripts/demo.sh [BIN_DIR]   (make demo builds and runs it)
set -euo pipefail

bin=${1:-target/debug}
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "Start my-server on a temporary SQLite file and mail folder"
"$bin/my-server" --listen 127.0.0.1:0 --db "$work/demo.db" --mail-dir "$work/mail" \
  >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 200); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/^my-server listening on //p' "$work/server.out")
[ -n "$url" ] || { echo "my-server did not start:"; cat "$work/server.log"; exit 1; }
echo "my-server is listening on $url"

step "Set the server up in one step: an organization, a project, two environments"
cat >"$work/seed.json" <<'JSON'
{"organizations": [{"name": "Acme", "slug": "acme", "members": ["demo@example.com"],
  "projects": [{"name": "My Store", "slug": "my-store", "environments": ["production", "staging"]}]}]}
JSON
show "$bin/my-server" admin seed --db "$work/demo.db" --file "$work/seed.json" >/dev/null
"$bin/my-server" admin log append --db "$work/demo.db" --org acme --project my-store --env production \
  --message "release v1 deployed" >/dev/null

export MY_API_URL=$url MY_CONFIG_DIR=$work/my MY_CREDENTIAL_STORE=${MY_CREDENTIAL_STORE:-file}
unset MY_API_TOKEN
echo "MY_API_URL=$MY_API_URL  MY_CONFIG_DIR=$MY_CONFIG_DIR  MY_CREDENTIAL_STORE=$MY_CREDENTIAL_STORE"

step "my cli login --email demo@example.com   (waits for the magic link)"
"$bin/my" cli login --email demo@example.com >"$work/login.out" 2>"$work/login.err" &
login_pid=$!
for _ in $(seq 200); do ls "$work"/mail/*.eml >/dev/null 2>&1 && break; sleep 0.05; done
sleep 0.2
cat "$work/login.err"

step "The mail my-server wrote (development mode: one .eml per mail)"
mail=$(ls "$work"/mail/*.eml | head -n1)
tr -d '\r' <"$mail" | sed -n '/^Subject:/p;/^$/,$p'
link=$(tr -d '\r' <"$mail" | grep -o 'http://[^ ]*/magic/[^ ]*' | head -n1)

step "Open the link the way a browser does: GET shows the page, nothing is approved yet"
page=$(curl -fsS "$link")
printf 'page shows code: %s\n' "$(printf %s "$page" | sed -n 's/.*id="code"[^>]*>\([^<]*\)<.*/\1/p')"
printf 'requested from:  %s\n' "$(printf %s "$page" | sed -n 's/.*<dt>Requested from<\/dt><dd>\([^<]*\)<.*/\1/p')"
csrf=$(printf %s "$page" | grep -o 'name="csrf" value="[^"]*"' | head -n1 | sed 's/.*value="//; s/"$//')

step "Press Confirm (a POST, with the page's CSRF token); the page redirects to the CLI's loopback, which finishes at once"
curl -fsSL --data "action=confirm&csrf=$csrf" "$link" | sed -n 's/.*<h1>\([^<]*\)<\/h1>.*/browser shows: \1/p'; echo
wait "$login_pid"
cat "$work/login.err"

step "The registry: publish the example libraries (kubernetes, ops) as system libraries"
show "$bin/my-server" admin library import --db "$work/demo.db" examples/libraries

step "Install a library into the active profile (default); the catalog syncs into the cache"
show "$bin/my" library search kube
show "$bin/my" library install kubernetes
show "$bin/my" library install ops
show "$bin/my" library list

step "Who am I?"
show "$bin/my" cli whoami
show "$bin/my" cli whoami --json

step "Status (local only: API URL, login state, where the credentials are, the cached catalog)"
show "$bin/my" cli status

step "The context inferred at login serves the organization-scoped commands"
show "$bin/my" use
show "$bin/my" environments list
show "$bin/my" logs
show "$bin/my" use --environment staging

step "An API token for CI: created once, used through MY_API_TOKEN, listed, revoked"
show "$bin/my" cli token create ci-deploy --expires-in 90d | tee "$work/token.out"
token=$(sed -n 's/^Token: //p' "$work/token.out")
printf '$ MY_API_TOKEN=%s... my cli whoami --json\n' "${token:0:10}"
MY_API_TOKEN=$token "$bin/my" cli whoami --json
show "$bin/my" cli token list
show "$bin/my" cli token revoke ci-deploy --force
set +e
MY_API_TOKEN=$token "$bin/my" cli whoami
code=$?
set -e
echo "the revoked token now gets exit code $code (credential rejected)"
[ "$code" -eq 3 ] || { echo "expected exit code 3"; exit 1; }

step "Log out: the session is revoked on the server and the credentials are removed"
show "$bin/my" cli logout

step "Afterwards whoami fails with exit code 3 (not signed in)"
set +e
"$bin/my" cli whoami
code=$?
set -e
echo "exit code: $code"
[ "$code" -eq 3 ] || { echo "expected exit code 3"; exit 1; }

step "Run installed commands from the cache: no session, no server needed"
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=
show "$bin/my" cli run deploy --env staging
show "$bin/my" k --help
mkdir "$work/no-kubectl"
printf '$ PATH=<a folder without kubectl> my k pods\n'
set +e
PATH=$work/no-kubectl "$bin/my" k pods
code=$?
set -e
echo "exit code: $code (a dependency is missing; no step ran)"
[ "$code" -eq 127 ] || { echo "expected exit code 127"; exit 1; }

step "Done: the whole life cycle ran against a real server"
