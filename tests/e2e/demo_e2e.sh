#!/usr/bin/env bash
# End to end: systask-demo --once on an ephemeral loopback port; its stdout and its HTTP answers
# must match the contract's schema, and SIGTERM must stop it cleanly.
# Usage: demo_e2e.sh DEMO_BINARY SCHEMA_CHECK_BINARY SCHEMA_JSON
set -euo pipefail
demo=$1 check=$2 schema=$3
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

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
echo "demo end-to-end: all checks passed"
