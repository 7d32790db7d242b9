#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Two builds of the request path compared in one run, for a change to it (e.g. a branch against
# the commit it started from): the same-run ratio new/base of
#   1. instructions per request under callgrind (bench/request_cost.sh on each build:
#      deterministic, so it decides a comparison on a busy machine);
#   2. BM_status_fixed_cost (systask-bench-status: a provider with no runs, through the
#      facade), base and new alternated, each pinned to CPU 1;
#   3. HTTP requests per second: each build's systask-demo with one thread and nginx answering
#      the same body from memory (`return 200`), servers pinned to CPU 1, wrk -t1 -c16 on CPU 0,
#      the order rotated each repetition. The two demos' bodies must be byte-identical and
#      nginx's the same bytes, and every answer must be 2xx, or the run fails.
# Timed figures are medians with [min-max] over the repetitions; on a loaded machine only the
# instruction counts are firm (the load average is printed before and after).
#
#   bench/ab_compare.sh BASE_BUILD NEW_BUILD [repetitions] [http-seconds]
#
# Each build directory is a release build with the targets systask-request-cost,
# systask-bench-status and systask-demo built (e.g. the base from `git archive <commit>`
# configured with the release preset's flags into a directory of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,20p "$0" >&2; exit 2; }
base=$1 new=$2 reps=${3:-5} seconds=${4:-3}
for b in "$base" "$new"; do
  for t in bench/systask-request-cost bench/systask-bench-status examples/systask-demo; do
    [ -x "$b/$t" ] || { echo "missing $b/$t" >&2; exit 1; }
  done
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "=== 1. instructions per request (callgrind)"
echo "--- base $base"; bench/request_cost.sh "$base"
echo "--- new $new"; bench/request_cost.sh "$new"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "=== 2. BM_status_fixed_cost, $reps alternated runs each"
for rep in $(seq 1 "$reps"); do
  for side in base new; do
    dir=$base; [ $side = new ] && dir=$new
    taskset -c 1 "$dir/bench/systask-bench-status" --benchmark_filter='^BM_status_fixed_cost/' \
      --benchmark_min_time=0.2 --benchmark_format=json > "$work/status-$side-$rep.json" 2> /dev/null
  done
done

echo "=== 3. HTTP requests per second, $reps rotations of ${seconds} s runs"
token=bench
path=/api/v3/providers/google_workspace/1/sync/status/
declare -A url
for side in base new; do
  dir=$base; [ $side = new ] && dir=$new
  # No database: a file in the working directory would be shared by the two builds' demos (and
  # grow their history); builds from before the store have no --store flag.
  store=()
  if [[ "$("$dir/examples/systask-demo" --help)" == *--store* ]]; then store=(--store memory); fi
  taskset -c 1 "$dir/examples/systask-demo" "${store[@]}" --once --hold 3600 --threads 1 --listen 127.0.0.1:0 --users 100 \
    --groups 0 --latency 0 --hard-failure-rate 0 --seed 1 --token "$token" --no-progress > "$work/once-$side.json" \
    2> "$work/demo-$side.err" &
  pids+=($!)
  for _ in $(seq 1 200); do grep -q '^listening on ' "$work/demo-$side.err" && [ -s "$work/once-$side.json" ] && break; sleep 0.1; done
  url[$side]="$(sed -n 's/^listening on //p' "$work/demo-$side.err")$path"
  [ "${url[$side]}" != "$path" ] || { cat "$work/demo-$side.err"; exit 1; }
  curl -sf -H "Authorization: Bearer $token" "${url[$side]}" > "$work/body-$side.json"
done
# The demo runs on the wall clock with random uuids: the two bodies are compared with uuids,
# timestamps and durations masked.
python3 - "$work" <<'PY'
import re, sys
w = sys.argv[1]
mask = lambda s: re.sub(r'"(uuid|[a-z_]*timestamp|expires|last_successful_sync)":"[^"]*"', r'"\1":"-"',
                        re.sub(r'"duration":[0-9.e-]+', '"duration":0', s))
a, b = (open(f"{w}/body-{s}.json").read() for s in ("base", "new"))
if mask(a) != mask(b):
    sys.exit("the two builds' status bodies differ (beyond uuids and times)")
PY
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$work" "$port" "$path" <<'PY'
import sys
work, port, path = sys.argv[1:]
quoted = open(f"{work}/body-new.json").read().replace("\\", "\\\\").replace("'", "\\'")
if "$" in quoted:
    sys.exit("the status body holds a '$', which nginx's return would read as a variable")
open(f"{work}/nginx.conf", "w").write(f"""daemon on; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 10000000;
  server {{ listen 127.0.0.1:{port};
    location = {path} {{ default_type "application/json; charset=utf-8"; return 200 '{quoted}'; }} }} }}
""")
PY
taskset -c 1 nginx -c "$work/nginx.conf" -p "$work"
url[nginx]="http://127.0.0.1:$port$path"
for _ in $(seq 1 50); do curl -sf "${url[nginx]}" > "$work/body-nginx.json" && break; sleep 0.1; done
cmp -s "$work/body-new.json" "$work/body-nginx.json" || { echo "nginx does not answer the body byte for byte" >&2; exit 1; }
sides=(base new nginx)
for rep in $(seq 1 "$reps"); do
  for i in 0 1 2; do
    side=${sides[$(((rep + i) % 3))]}
    taskset -c 0 wrk -t1 -c16 -d"${seconds}s" -H "Authorization: Bearer $token" "${url[$side]}" > "$work/wrk-$side-$rep.txt"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$work" "$reps" <<'PY'
import json, re, statistics, sys
w, reps = sys.argv[1], int(sys.argv[2])
def spread(xs, fmt):
    return f"{fmt(statistics.median(xs))} [{fmt(min(xs))}-{fmt(max(xs))}]"
ns = {s: [json.load(open(f"{w}/status-{s}-{r}.json"))["benchmarks"][0]["real_time"] for r in range(1, reps + 1)]
      for s in ("base", "new")}
ratios = [n / b for n, b in zip(ns["new"], ns["base"])]
print("BM_status_fixed_cost ns: base", spread(ns["base"], "{:.0f}".format), " new", spread(ns["new"], "{:.0f}".format),
      " new/base per pair", spread(ratios, "{:.2f}x".format))
rps, bad = {}, 0
for s in ("base", "new", "nginx"):
    rps[s] = []
    for r in range(1, reps + 1):
        text = open(f"{w}/wrk-{s}-{r}.txt").read()
        rps[s].append(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)))
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
        e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        bad += (int(m.group(1)) if m else 0) + (sum(map(int, e.groups())) if e else 0)
for s in rps:
    print(f"HTTP {s:5} requests/s", spread(rps[s], "{:.0f}".format))
print("HTTP new/base per rotation", spread([n / b for n, b in zip(rps["new"], rps["base"])], "{:.2f}x".format),
      " new/nginx", spread([n / g for n, g in zip(rps["new"], rps["nginx"])], "{:.0%}".format),
      " base/nginx", spread([b / g for b, g in zip(rps["base"], rps["nginx"])], "{:.0%}".format))
print("non-2xx answers and socket errors:", bad)
sys.exit(1 if bad else 0)
PY
