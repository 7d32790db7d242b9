#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# authentik's generated TypeScript clients (2025.10.4 TasksApi, 2024.10.5 ProvidersApi and
# EventsApi) against a running systask-demo: installs them with `npm ci` from the committed
# package-lock.json into WORK_DIR (npm's cache makes later runs offline), starts the demo on an
# ephemeral loopback port, and runs generated_clients_test.js. Release builds only (CTest label
# `clients`): it tests the wire, which no sanitizer changes.
# Usage: generated_clients_test.sh DEMO_BINARY CLIENTS_SOURCE_DIR WORK_DIR
set -euo pipefail
demo=$1 src=$2 work=$3
command -v node > /dev/null && command -v npm > /dev/null || {
  echo "node and npm are needed (the machine's Node.js 20; see tests/clients/README.md)"; exit 1; }
start=$(date +%s%N)
mkdir -p "$work"
# npm ci wipes and unpacks both packages (72 MB of files): skipped when this build directory
# already holds what the committed lock file names.
if ! cmp -s "$src/package-lock.json" "$work/installed-package-lock.json" || [ ! -d "$work/node_modules" ]; then
  rm -f "$work/installed-package-lock.json"
  cp "$src/package.json" "$src/package-lock.json" "$work/"
  # --prefer-offline: the tarballs come from npm's cache when they are there (same integrity).
  (cd "$work" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) || { echo "npm ci failed"; exit 1; }
  cp "$src/package-lock.json" "$work/installed-package-lock.json"
fi
installed=$(date +%s%N)

log=$(mktemp)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -f "$log"' EXIT
# --store memory: a history of its own each run, and no database file shared with the other tests
# that start a demo in this directory at the same time (the second would be refused).
# One sync per provider at start (the schedules send once), then nothing for an hour: the counts
# the test compares stay put. A latency long enough for the client to see the syncs running.
"$demo" --store memory --listen 127.0.0.1:0 --token clients-test-token --users 300 --groups 30 --latency 800 --interval 3600 \
  --seed 7 --hard-failure-rate 0 --no-progress > "$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$log" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$log")
[ -n "$base" ] || { echo "the demo did not start"; cat "$log"; exit 1; }

node "$src/generated_clients_test.js" "$work" "$base" clients-test-token
done_at=$(date +%s%N)
echo "generated_clients_test: npm ci $(( (installed - start) / 1000000 )) ms, clients $(( (done_at - installed) / 1000000 )) ms"
kill -TERM "$pid"
wait "$pid" || { echo "the demo did not stop cleanly"; exit 1; }
pid=
