#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# End to end: systask-demo --once on an ephemeral loopback port; its stdout and its HTTP answers
# must match the contract's schema, and SIGTERM must stop it cleanly. Then the periodic mode,
# stopped by SIGTERM while it syncs, and rounds of SIGTERM while syncs are re-run over HTTP.
# In between, a restart: two --once runs on one SQLite file, the second must show the first's syncs.
# Under the tsan preset the demo is instrumented, so this is also its race test.
# Usage: demo_e2e.sh DEMO_BINARY SCHEMA_CHECK_BINARY SCHEMA_JSON
set -euo pipefail
demo=$(realpath "$1") check=$(realpath "$2") schema=$(realpath "$3")  # absolute: the test runs in $work
demo_source=$(realpath "$(dirname "$0")/../../examples/demo/main.cpp")
work=$(mktemp -d)
pid=
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"  # the demo's default store, systask-demo.db, is written in the working directory

# --help documents every flag the demo parses, and nothing else slipped into it.
"$demo" --help > "$work/help"
flags=$(grep -oE '"--[a-z-]+"' "$demo_source" | sort -u | tr -d '"')
[ "$(echo "$flags" | wc -l)" -ge 20 ] || { echo "could not read the demo's flags from $demo_source"; exit 1; }
for flag in $flags; do
  grep -qE "^  $flag( |\$)" "$work/help" || { echo "--help does not document $flag"; cat "$work/help"; exit 1; }
done
if grep -nE '^(<<<<<<<|=======|>>>>>>>)' "$work/help"; then echo "--help holds merge markers"; exit 1; fi
"$demo" --version | grep -qE '^systask-demo [0-9]+\.[0-9]+\.[0-9]+$' || { echo "--version"; exit 1; }

"$demo" --once --listen 127.0.0.1:0 --users 400 --groups 40 --latency 5 --hard-failure-rate 0.3 \
  --seed 42 --hold 60 --no-progress > "$work/out" 2> "$work/err" &
pid=$!

for _ in $(seq 1 300); do
  grep -q '^listening on ' "$work/err" && [ "$(wc -l < "$work/out")" -ge 3 ] && break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/err")
token=$(sed -n 's/^token: //p' "$work/err")
[ -n "$base" ] && [ -n "$token" ] || { echo "demo did not start"; cat "$work/err"; exit 1; }
[ "$(wc -l < "$work/out")" -eq 3 ] || { echo "expected 3 JSON lines on stdout"; cat "$work/out"; exit 1; }
"$check" "$schema" SyncStatus < "$work/out"

fetch() {  # fetch EXPECTED_STATUS DEFINITION PATH [curl args...]
  local expected=$1 definition=$2 path=$3; shift 3
  local status
  status=$(curl -s -o "$work/body" -w '%{http_code}' "$@" "$base$path")
  if [ "$status" != "$expected" ]; then
    echo "GET $path: status $status, expected $expected"; cat "$work/body"; exit 1
  fi
  if [ "$definition" != "-" ]; then
    { cat "$work/body"; echo; } | "$check" "$schema" "$definition"
  fi
}
auth=(-H "Authorization: Bearer $token")
fetch 200 SyncStatus /api/v3/providers/google_workspace/1/sync/status/ "${auth[@]}"
fetch 200 SyncStatus /api/v3/providers/microsoft_entra/2/sync/status/ "${auth[@]}"
fetch 200 SyncStatus '/api/v3/providers/scim/3/sync/status/?include_running=true' "${auth[@]}"
fetch 200 PaginatedSystemTaskList '/api/v3/events/system_tasks/?ordering=-start_timestamp&page_size=2' "${auth[@]}"
uuid=$(grep -o '"uuid":"[0-9a-f-]*"' "$work/out" | head -1 | cut -d'"' -f4)
fetch 200 SystemTask "/api/v3/events/system_tasks/$uuid/" "${auth[@]}"
fetch 403 GenericError /api/v3/providers/google_workspace/1/sync/status/
fetch 403 GenericError /api/v3/providers/google_workspace/1/sync/status/ -H "Authorization: Bearer wrong"
fetch 404 GenericError /api/v3/providers/google_workspace/99/sync/status/ "${auth[@]}"
fetch 400 ValidationError '/api/v3/events/system_tasks/?status=bogus' "${auth[@]}"
fetch 405 GenericError /api/v3/events/system_tasks/ -X DELETE "${auth[@]}"
fetch 200 SyncObjectResult /api/v3/providers/scim/3/sync/object/ -X POST "${auth[@]}" \
  -H 'Content-Type: application/json' -d '{"sync_object_model":"authentik.core.models.User","sync_object_id":"7"}'
fetch 204 - "/api/v3/events/system_tasks/$uuid/run/" -X POST "${auth[@]}"
# The library keeps /metrics behind a token; the demo opts out and must say so where it prints the
# curl line.
grep -q '/metrics .*no token: this demo makes /metrics public' "$work/err" ||
  { echo "the demo does not say that its /metrics is public"; cat "$work/err"; exit 1; }
fetch 200 - /metrics
grep -q '^systask_runs_finished_total{name="google_workspace_sync"' "$work/body"
fetch 200 - /-/health/live/

kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "demo did not stop on SIGTERM"; exit 1; fi
wait "$pid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || { echo "demo exited with $rc after SIGTERM"; cat "$work/err"; exit 1; }
# The default store is the file systask-demo.db in the working directory.
[ -s "$work/systask-demo.db" ] || { echo "the default store $work/systask-demo.db was not written"; ls -la "$work"; exit 1; }

# Restart: stop, start again, and the history is still there.
once_on() {  # once_on STORE OUT: one --once run, its JSON in OUT, its stderr in OUT.err
  "$demo" --once --store "$1" --listen 127.0.0.1:0 --users 100 --groups 10 --latency 1 --seed 3 --no-progress \
    > "$2" 2> "$2.err" || { echo "--once --store $1 failed"; cat "$2.err"; exit 1; }
}
once_on "sqlite:$work/restart.db" "$work/first"
once_on "sqlite:$work/restart.db" "$work/second"
"$check" "$schema" SyncStatus < "$work/second"
first_uuids=$(grep -o '"uuid":"[0-9a-f-]*"' "$work/first" | cut -d'"' -f4 | sort -u)
[ "$(echo "$first_uuids" | wc -l)" -ge 3 ] || { echo "restart: the first run synced fewer than 3 times"; cat "$work/first"; exit 1; }
for u in $first_uuids; do
  grep -q "\"uuid\":\"$u\"" "$work/second" ||
    { echo "restart: sync $u of the first run is not in the second run's status"; cat "$work/second" "$work/second.err"; exit 1; }
done
grep -q '^store: sqlite .* runs restored' "$work/second.err" || { echo "restart: no restore line"; cat "$work/second.err"; exit 1; }
# --store memory writes nothing.
mkdir "$work/memory" && (cd "$work/memory" && once_on memory "$work/mem")
[ -z "$(ls -A "$work/memory")" ] || { echo "--store memory wrote files"; ls -la "$work/memory"; exit 1; }
# A second process on the same file is refused with a clear error.
"$demo" --once --store "sqlite:$work/restart.db" --listen 127.0.0.1:0 --users 100 --groups 10 --latency 1 --seed 3 \
  --hold 30 --no-progress > "$work/holder" 2> "$work/holder.err" &
pid=$!
for _ in $(seq 1 300); do grep -qs '^listening on ' "$work/holder.err" && break; sleep 0.1; done
if "$demo" --once --store "sqlite:$work/restart.db" --listen 127.0.0.1:0 --no-progress > /dev/null 2> "$work/refused.err"; then
  echo "a second demo opened $work/restart.db"; exit 1
fi
grep -q "restart.db is in use by another process (pid $pid)" "$work/refused.err" ||
  { echo "the refusal does not name the file and the holder"; cat "$work/refused.err"; exit 1; }
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || { echo "the holding demo exited with $rc"; cat "$work/holder.err"; exit 1; }

# Periodic mode: each provider syncs every second (syncs, timers and the HTTP server all live
# when SIGTERM comes); it must stop cleanly with the syncs in progress cancelled.
"$demo" --listen 127.0.0.1:0 --users 400 --groups 40 --latency 100 --interval 1 --seed 7 \
  > "$work/out2" 2> "$work/err2" &
pid=$!
synced() { local n; n=$(grep -sc ': sync ' "$work/out2"); echo "${n:-0}"; }
for _ in $(seq 1 600); do
  [ "$(synced)" -ge 6 ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ "$(synced)" -ge 6 ] || { echo "periodic mode: fewer than 6 syncs"; cat "$work/out2" "$work/err2"; exit 1; }
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "periodic mode: demo did not stop on SIGTERM"; exit 1; fi
wait "$pid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || { echo "periodic mode: demo exited with $rc after SIGTERM"; cat "$work/out2" "$work/err2"; exit 1; }
grep -q '^systask-demo: stopped' "$work/out2" || { echo "periodic mode: no 'stopped' line"; cat "$work/out2"; exit 1; }

# Shutdown under fire, several times: periodic syncs plus syncs re-run over HTTP as fast as curl
# can ask, then SIGTERM at a random moment. Each run must exit 0; under the tsan preset this is
# where a race between the demo's timers, its cancellation signals and the syncs would show.
rounds=${SYSTASK_E2E_SHUTDOWN_ROUNDS:-15}
for round in $(seq 1 "$rounds"); do
  # Removed first: the redirection below truncates them only once the child runs, and the wait
  # for "listening on" must not read the previous round's.
  rm -f "$work/out3" "$work/err3" "$work/list3"
  "$demo" --listen 127.0.0.1:0 --users 100 --groups 0 --latency 1 --interval 1 --hard-failure-rate 0 \
    --token t --no-progress > "$work/out3" 2> "$work/err3" &
  pid=$!
  for _ in $(seq 1 600); do grep -qs '^listening on ' "$work/out3" && break; sleep 0.05; done
  base=$(sed -n 's/^listening on //p' "$work/out3")
  [ -n "$base" ] || { echo "shutdown round $round: demo did not start"; cat "$work/out3" "$work/err3"; exit 1; }
  sleep 0.3
  curl -s -o "$work/list3" -H 'Authorization: Bearer t' "$base/api/v3/events/system_tasks/" || true
  uuids=$(grep -o '"uuid":"[0-9a-f-]*"' "$work/list3" | cut -d'"' -f4 || true)
  [ -n "$uuids" ] || { echo "shutdown round $round: no task to re-run"; cat "$work/list3" "$work/out3" "$work/err3"; exit 1; }
  ( for _ in $(seq 1 500); do
      for u in $uuids; do curl -s -o /dev/null -X POST -H 'Authorization: Bearer t' "$base/api/v3/events/system_tasks/$u/run/"; done
    done ) &
  spam=$!
  sleep "0.$((RANDOM % 9 + 1))"
  if ! kill -TERM "$pid" 2>/dev/null; then
    wait "$pid" && rc=0 || rc=$?
    echo "shutdown round $round: demo ended by itself with $rc"; cat "$work/out3" "$work/err3"; exit 1
  fi
  wait "$pid" && rc=0 || rc=$?
  kill "$spam" 2>/dev/null || true
  wait "$spam" 2>/dev/null || true
  [ "$rc" -eq 0 ] || { echo "shutdown round $round: demo exited with $rc"; cat "$work/err3"; exit 1; }
done

echo "demo end-to-end: all checks passed"
