#!/usr/bin/env python3
"""Writes docs/PERFORMANCE.md from the raw results of scripts/bench (Google Benchmark JSON and
wrk output): every figure, its ratio to the baseline measured in the same run, the target, and
whether it is met."""
import json
import os
import platform
import re
import subprocess
import sys

out_dir, report_path = sys.argv[1], sys.argv[2]


def load(name):
    with open(os.path.join(out_dir, name + ".json")) as f:
        data = json.load(f)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        rows[b.get("run_name", b["name"])] = b
    return data["context"], rows


def find(rows, prefix):
    for name, row in rows.items():
        if name.startswith(prefix):
            return row
    raise KeyError(prefix)


def ns(row):
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[row.get("time_unit", "ns")]
    return row["real_time"] * unit


lines = []
results = []  # (area, figure, value, target text, met)


def check(area, figure, value, target, met):
    results.append((area, figure, value, target, "met" if met else "**missed**"))


ctx, append = load("append")
_, status = load("status")
_, registry = load("registry")
_, memory = load("memory")

# 1. Append.
sys1 = find(append, "BM_append_systask/real_time/threads:1")
naive1 = find(append, "BM_append_naive_mutex_deque/real_time/threads:1")
floor = find(append, "BM_append_floor_spsc")
sys2 = find(append, "BM_append_systask/real_time/threads:2")
naive2 = find(append, "BM_append_naive_mutex_deque/real_time/threads:2")
r = ns(sys1) / ns(naive1)
check("append, 1 thread", f"systask {ns(sys1):.0f} ns vs naive {ns(naive1):.0f} ns", f"{r:.2f}x naive's time", "<= 0.7x", r <= 0.7)
r = ns(sys1) / ns(floor)
check("append, 1 thread", f"systask {ns(sys1):.0f} ns vs floor {ns(floor):.0f} ns", f"{r:.2f}x the floor", "<= 3x", r <= 3)
r = sys2["items_per_second"] / naive2["items_per_second"]
check("append, 2 threads, one run", f"systask {sys2['items_per_second']/1e6:.2f} M/s vs naive {naive2['items_per_second']/1e6:.2f} M/s",
      f"{r:.2f}x naive's throughput", ">= 2x", r >= 2)

# 4. Status JSON.
for shape in ["runs:1/messages:10", "runs:1/messages:100", "runs:1/messages:1000", "runs:16/messages:100"]:
    s = find(status, f"BM_status_systask/{shape}")
    rj = find(status, f"BM_status_rapidjson_plain/{shape}")
    bj = find(status, f"BM_status_boost_json/{shape}")
    nl = find(status, f"BM_status_nlohmann/{shape}")
    mc = find(status, f"BM_status_memcpy_ceiling/{shape}")
    r = ns(rj) / ns(s)
    check(f"status JSON {shape}", f"systask {ns(s)/1e3:.1f} µs vs RapidJSON/plain {ns(rj)/1e3:.1f} µs", f"{r:.2f}x faster", ">= 3x", r >= 3)
    r = ns(bj) / ns(s)
    check(f"status JSON {shape}", f"vs Boost.JSON {ns(bj)/1e3:.1f} µs (nlohmann {ns(nl)/1e3:.1f} µs)", f"{r:.2f}x faster", ">= 10x", r >= 10)
    r = s["bytes_per_second"] / mc["bytes_per_second"]
    check(f"status JSON {shape}", f"{s['bytes_per_second']/1e6:.0f} MB/s vs memcpy {mc['bytes_per_second']/1e9:.1f} GB/s",
          f"{100*r:.2f}% of memcpy", ">= 10%", r >= 0.10)

# 5. Flat in the number of other runs.
base = find(status, "BM_status_with_other_runs/other_runs:0")
for n in ["1000", "100000"]:
    row = find(status, f"BM_status_with_other_runs/other_runs:{n}")
    r = ns(row) / ns(base)
    check("status with other runs", f"{n} other runs: {ns(row)/1e3:.1f} µs vs none {ns(base)/1e3:.1f} µs", f"{r:.2f}x", "<= 1.2x", r <= 1.2)

# 3. Start + finish.
sf = find(registry, "BM_start_finish_systask/real_time/threads:1")
mm = find(registry, "BM_start_finish_mutex_map/real_time/threads:1")
check("run start + finish (reference)", f"systask {ns(sf):.0f} ns vs mutex+map {ns(mm):.0f} ns", f"{ns(sf)/ns(mm):.2f}x", "no target", True)

# 6. Concurrent writer.
sa = find(registry, "BM_contention_status_alone")
wa = find(registry, "BM_contention_writer_alone")
sw = find(registry, "BM_contention_status_with_writer")
r = sw["writer_appends_per_second"] / wa["items_per_second"]
check("status + writer", f"writer {sw['writer_appends_per_second']/1e6:.2f} M/s with reads vs {wa['items_per_second']/1e6:.2f} M/s alone",
      f"{100*r:.0f}% kept", ">= 80%", r >= 0.8)
r = ns(sw) / ns(sa)
check("status + writer", f"status {ns(sw)/1e3:.1f} µs with writer vs {ns(sa)/1e3:.1f} µs alone", f"{r:.2f}x", "<= 1.5x", r <= 1.5)

# 7. Expiry follows K, not N.
e0 = find(registry, "BM_expiry_reclaim/expired:100/live:0")
e1 = find(registry, "BM_expiry_reclaim/expired:100/live:100000")
r = ns(e1) / ns(e0)
check("expiry", f"reclaim 100 among 100,000 live: {ns(e1)/1e3:.0f} µs vs among none {ns(e0)/1e3:.0f} µs", f"{r:.2f}x", "follows K (<= 2x)", r <= 2)

# 8. Memory.
for n in ["64", "4096"]:
    m = find(memory, f"BM_memory_per_message/messages:{n}")
    check("memory per message", f"{n} messages: {m['bytes_per_message']:.0f} B held per message, JSON {m['json_bytes_per_message']:.0f} B",
          f"{m['bytes_per_message']/m['json_bytes_per_message']:.2f}x JSON", f"<= 1.5x JSON + 64 B ({m['target_bytes']:.0f} B)",
          m["bytes_per_message"] <= m["target_bytes"])
ch = find(memory, "BM_memory_churn")
check("memory churn", f"1,000,000 runs: RSS {ch['rss_kib_at_10pct']:.0f} KiB at 10% -> {ch['rss_kib_at_end']:.0f} KiB at end",
      f"{ch['rss_growth_ratio']:.3f}x", "flat (within 10%)", ch["rss_growth_ratio"] <= 1.10)

# 9. HTTP: a normal client under abuse (bench/abuse_bench.cpp).
try:
    _, abuse = load("abuse")
    calm = find(abuse, "BM_normal_client/abused:0")
    hostile = find(abuse, "BM_normal_client/abused:1")
    r = hostile["p99_cycles"] / calm["p99_cycles"]
    check("HTTP under abuse", f"normal client p99 {hostile['p99_cycles']/1e3:.0f}k cycles under {hostile['idle_connections']:.0f} idle "
          f"connections + slowloris + 100 abusive req/s vs {calm['p99_cycles']/1e3:.0f}k unloaded", f"{r:.2f}x", "<= 2x", r <= 2)
except FileNotFoundError:
    check("HTTP under abuse", "not measured (bench-results/abuse.json missing)", "-", "<= 2x", False)


def wrk(name):
    text = open(os.path.join(out_dir, f"wrk-{name}.txt")).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def lat(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", text)
        return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
    return rps, lat(50), lat(99)

try:
    s_rps, s50, s99 = wrk("systask")
    n_rps, n50, n99 = wrk("nginx")
    body = open(os.path.join(out_dir, "http-body.txt")).read().split()[1]
    check("HTTP (wrk -t2 -c16 -d10s)", f"systask {s_rps:.0f} req/s vs nginx {n_rps:.0f} req/s ({body}-byte body)",
          f"{100*s_rps/n_rps:.0f}%", ">= 50% of nginx", s_rps >= 0.5 * n_rps)
    check("HTTP (wrk -t2 -c16 -d10s)", f"p50 {s50:.0f} µs vs {n50:.0f} µs; p99 {s99:.0f} µs vs nginx {n99:.0f} µs",
          f"{s99/n99:.2f}x nginx's p99", "<= 2x", s99 <= 2 * n99)
except FileNotFoundError:
    check("HTTP", "not measured (wrk results missing)", "-", ">= 50% of nginx", False)

# Append latency percentiles (cycles) for the record.
pct = []
for name, row in append.items():
    if "p50_cycles" in row:
        pct.append(f"| {name} | {ns(row):.0f} | {row['p50_cycles']:.0f} | {row['p99_cycles']:.0f} |")

cpu = ctx.get("mhz_per_cpu", 0)
lines.append("# Performance\n")
lines.append("Every figure is a ratio to something measured in the same process and run, because these "
             "machines are shared and noisy. Times are medians of repetitions (Google Benchmark "
             "`--benchmark_repetitions`), real time. Written by `scripts/bench` (raw results in "
             "`bench-results/`, not committed); rerun it to reproduce.\n")
lines.append(f"Machine: {ctx.get('num_cpus')} CPUs at {cpu} MHz, {platform.platform()}, "
             f"built with the `release` preset (g++, CMake's Release flags: -O3 -DNDEBUG); run on {ctx.get('date')}. "
             f"(Google Benchmark reports its own library as '{ctx.get('library_build_type')}': that is Debian's "
             f"build of libbenchmark, not of systask; it affects both sides of every ratio alike.)\n")
lines.append("| area | figure | ratio | target | result |\n|---|---|---|---|---|")
for area, figure, value, target, met in results:
    lines.append(f"| {area} | {figure} | {value} | {target} | {met} |")
lines.append("\n## Append latency (per call, cycles from rdtsc)\n")
lines.append("| row | median ns/op | p50 cycles | p99 cycles |\n|---|---|---|---|")
lines.extend(sorted(pct))
lines.append("\n## Definitions\n")
lines.append("- *floor*: a clock read plus a Boost.Lockfree `spsc_queue` push of the message's rendered bytes.\n"
             "- *naive*: a clock read, a `std::lock_guard<std::mutex>` and `push_back` of a struct of "
             "`std::string`s and a `std::map` of attributes into a `std::deque` bounded by popping the front.\n"
             "- *RapidJSON over plain structs*: the same runs and messages as plain structs, written with a "
             "RapidJSON `Writer` into a reserved `StringBuffer`, timestamps formatted during the write.\n"
             "- systask's status row is the facade's whole request path (token check, routing, snapshot, JSON).\n"
             "- HTTP: `wrk -t2 -c16 -d10s --latency` against `systask-demo` (Beast adapter, 2 threads) and "
             "against nginx (2 workers) serving the same body as a static file.\n"
             "- HTTP under abuse: keep-alive GETs of the sync-status route from one client, with the server "
             "otherwise idle and then under tests/http/abuse_load.hpp (1,000 idle connections, a slowloris "
             "client, 100 abusive requests a second, every answer checked); p99 from a cycle histogram.\n")
lines.append("""
## Analysis of the misses (by hand, 2026-11-28; update it when the figures move)

- **Append, 1 thread, vs the naive baseline.** systask renders on write: escaping, UTF-8
  validation, number formatting and the attribute JSON happen in `log`, so that every later read
  only copies bytes. The naive baseline defers all of that to each read (its status JSON is the
  "RapidJSON over plain structs" row: 2-5x slower than systask's). On 2026-11-28 perf showed 38%
  of the escaper on one instruction: the tail of each string was assembled into a word on the
  stack and read back whole, a store-forwarding stall. Checking the tail with an overlapping load
  took append from 142 ns to 112 ns (0.9x naive). What remains (perf): the escaper ~21%, the ring
  (ticket, slot claim, word stores) ~20%, the clock read ~12%, render_compact ~10%, the copy
  from the stack buffer into the slot ~5-9%. Reaching 0.7x needs either rendering straight into
  the slot's words (the seqlock needs atomic word stores, so the renderer would have to write
  through them) or rendering the repeated logger once per run; both are design changes for the
  planner.
- **Status JSON for small bodies (1x10) vs RapidJSON, and vs Boost.JSON.** The systask row is the
  whole request path: token check, routing, query parsing, a registry snapshot (pins,
  shared_ptr copies) and the body copy out of the scratch buffer; the peers only serialize
  pre-built structs. Profiling on 2026-11-28 removed four costs: RapidJSON's byte-at-a-time
  WriteString (24%; strings now go through the engine's SSE2 escaper), its Key() on constant
  member names (15%; written whole), timestamp formatting (`format_timestamp` was 17% of a small
  body; each thread now caches the current day's date, and digits are written two per table
  lookup) and locale-aware case folding in header lookup. 1x10 went from 2.3 µs to ~1.5 µs
  (1.3x -> ~1.9x RapidJSON), 16x100 from 110 µs to ~65 µs. The rest of 1x10 is spread thin
  (timestamps 12%, memmove, RapidJSON's Prefix bookkeeping, the snapshot's allocations).
  % of memcpy bandwidth (10%) stays out of reach while every timestamp is formatted at read
  time (messages are stored compact to fit their slots, see docs/engine.md); storing the 27
  formatted timestamp bytes would trade memory per message (target met with room: 1.02x JSON)
  for speed.
- **Status with 100,000 other runs.** Met in the latest run (1.00x). An earlier run on a busier
  machine showed 1.44x: the facade's path touches no other run, but 100,000 records and their
  rings can push the provider's data out of L2 between iterations, so this figure is the most
  sensitive to what else the machine is doing.
- **Writer throughput with a concurrent reader (47-58% kept), and status with a writer.** On a
  2-core machine the reader and the writer each take a core, and the benchmark's own thread
  needs one too; the reader's seqlock copies pull the ring's cache lines away from the writer.
  Making the status path faster (2026-11-28: 8.5 µs -> 4.6 µs alone) made both ratios worse: the
  reader now reads the writer's lines twice as often (47% kept, from 54-58%), and the part of a
  status that contention costs did not shrink (7.3 µs with the writer vs 11.4 µs before), so
  against a smaller denominator it is 1.58x (from 1.33-1.39x). In absolute terms both sides
  improved. Worth re-measuring on more cores before redesigning. The reader already skips a slot
  the writer is filling. Tried and not kept: folding copy_to's pass that looks for "survivor"
  slots (overwrite policy) into the main pass; same-binary A/B runs on this machine did not
  separate from the noise (9.1-9.7 µs either way).
- **Expiry among 100,000 live runs.** Profiled on 2026-11-28 (callgrind collecting only inside
  `reclaim_expired_now`): 87% of the pass was glibc's `_int_malloc`, not the deadline heap. The
  list of due entries grew past 1 KiB, a large request, which made glibc consolidate every small
  free block in the process (1,834 µs vs 28.5 µs among none, 64x, in that run). The pass now
  drops each entry as it pops it and allocates only the replacement views. The benchmark also
  reclaims a first wave untimed: after building N runs, the first allocations pay once to sort
  glibc's unsorted free list, a cost of the setup, not of expiry. What remains above 2x is the K
  entries' records and rings being cold in cache after N others were built, and log N per heap
  pop; a 4- or 8-ary heap (Boost.Heap `d_ary_heap`) and a `std::multimap` were tried and did not
  move the median (multimap was worse and noisier), so the binary heap stays. Reclaiming 1,000
  among 100,000 takes about 10x reclaiming 100: it follows K.
- **Deferred reclamation (not a row, fixed on 2026-11-28).** A view replaced while a reader was
  pinned was retried from a 2 ms timer that walked every task entry; the retry now visits only
  the entries queued for it (docs/architecture.md, "Views, pins and reclamation").
""")
with open(report_path, "w") as f:
    f.write("\n".join(lines) + "\n")
missed = [r for r in results if r[4] != "met"]
print(f"{len(results)} figures, {len(missed)} targets missed")
for r in missed:
    print("  missed:", r[0], "-", r[1], "-", r[2], "target", r[3])
