#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Writes docs/PERFORMANCE.md from one run of scripts/bench, and nothing else.

Usage: bench_report.py [--smoke] RESULTS_DIR REPORT_PATH [--raw RAW_PATH]

RESULTS_DIR holds the Google Benchmark JSON of each program (systask-bench-<area>.json, every
repetition kept), provenance.json (commit, compiler, flags, machine load, written by
scripts/bench) and http.json (the HTTP comparison, summarized by scripts/bench). Every figure in
the report comes from these files: each median is printed with the min and max over the
repetitions, every ratio is between two rows of the same run, rows are found by their exact
names, and a row without a target says "reference". With --raw, the raw results the report was
made from are written to RAW_PATH as one JSON file (scripts/bench keeps it in docs/bench-results/).

--smoke: CI's check over the tiny smoke runs: every row the report needs must exist; provenance
and HTTP results may be missing; the figures mean nothing at those sizes.
"""
import json
import os
import statistics
import sys

args = sys.argv[1:]
smoke = "--smoke" in args
args = [a for a in args if a != "--smoke"]
raw_path = None
if "--raw" in args:
    i = args.index("--raw")
    raw_path = args[i + 1]
    del args[i:i + 2]
if len(args) != 2:
    sys.exit(__doc__)
out_dir, report_path = args

AREAS = ["append", "status", "run", "contention", "scaling", "expiry", "memory", "abuse", "store", "pg"]
# Built only with their dependencies (the store: libsqlite3-dev; pg: libpq-dev, and it runs a
# throwaway postgresql-15 server).
OPTIONAL_AREAS = ["abuse", "store", "pg"]
UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


class Missing(Exception):
    pass


def load(area):
    path = os.path.join(out_dir, f"systask-bench-{area}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        data = json.load(f)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        if b.get("error_occurred"):
            raise SystemExit(f"{area}: {b['name']} reported an error: {b.get('error_message')}")
        rows.setdefault(b.get("run_name", b["name"]), []).append(b)
    return {"context": data["context"], "rows": rows, "raw": data}


data = {a: load(a) for a in AREAS}
for a in AREAS:
    if data[a] is None and a not in OPTIONAL_AREAS:
        sys.exit(f"missing {out_dir}/systask-bench-{a}.json")


def reps(area, name):
    """Every repetition of the row named exactly `name`."""
    d = data.get(area)
    if d is None or name not in d["rows"]:
        raise Missing(f"{area}: no row named {name!r}")
    return d["rows"][name]


def times(area, name):
    return [r["real_time"] * UNIT_NS[r.get("time_unit", "ns")] for r in reps(area, name)]


def counter(area, name, key):
    values = [r[key] for r in reps(area, name) if key in r]
    if not values:
        raise Missing(f"{area}: row {name!r} has no counter {key!r}")
    return values


def spread(values):
    return min(values), statistics.median(values), max(values)


def fmt_ns(v):
    if v >= 1e9:
        return f"{v / 1e9:.2f} s"
    if v >= 1e6:
        return f"{v / 1e6:.2f} ms"
    if v >= 1e4:
        return f"{v / 1e3:.1f} µs"
    if v >= 1e3:
        return f"{v / 1e3:.2f} µs"
    return f"{v:.0f} ns" if v >= 100 else f"{v:.1f} ns"


def fmt_num(v):
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f} M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f} k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}"


def fmt_bytes(v):
    if abs(v) >= 10 * 2**20:
        return f"{v / 2**20:.1f} MiB"
    if abs(v) >= 10 * 2**10:
        return f"{v / 2**10:.1f} KiB"
    return f"{v:.0f} B"


def show(values, fmt):
    """The median, then [min–max] over the repetitions (just the value when there is one)."""
    lo, med, hi = spread(values)
    if len(values) == 1:
        return fmt(med)
    return f"{fmt(med)} [{fmt(lo)}–{fmt(hi)}]"


def fmt_ratio(r):
    return f"{r:.3f}x" if r < 0.1 else f"{r:.2f}x"


def med(values):
    return statistics.median(values)


results = []  # (area, figure, value, target, result)
notes = []


def row(area, figure, value, target=None, met=None):
    if target is None:
        results.append((area, figure, value, "—", "reference"))
    else:
        results.append((area, figure, value, target, "met" if met else "**missed**"))


def section(fn):
    """Runs one part of the report; a missing row is an error in --smoke and full runs alike,
    except for the HTTP part, which only scripts/bench produces."""
    try:
        fn()
    except Missing as e:
        if fn.__name__ == "http_rows" and smoke:
            row("9. HTTP", "not measured in the smoke run (scripts/bench only)", "—")
        else:
            raise SystemExit(f"bench_report: {e}")


# --- 1. a whole run -----------------------------------------------------------------------------
def whole_run():
    s = times("run", "BM_whole_run_systask/real_time")
    n = times("run", "BM_whole_run_naive/real_time")
    r = med(s) / med(n)
    row("1. whole run", f"start, 20 messages x 3 attributes, finish, 1 status read: systask {show(s, fmt_ns)} "
        f"vs naive store + RapidJSON {show(n, fmt_ns)}", f"{r:.2f}x naive's time", "<= 0.5x", r <= 0.5)
    s = times("run", "BM_start_finish_systask/real_time/threads:1")
    n = times("run", "BM_start_finish_naive/real_time/threads:1")
    row("1. whole run", f"start + finish alone, 1 thread: systask {show(s, fmt_ns)} vs naive {show(n, fmt_ns)}",
        f"{med(s) / med(n):.2f}x")
    s = counter("run", "BM_start_finish_systask/real_time/threads:2", "items_per_second")
    n = counter("run", "BM_start_finish_naive/real_time/threads:2", "items_per_second")
    row("1. whole run", f"start + finish, 2 threads: systask {show(s, fmt_num)}/s vs naive {show(n, fmt_num)}/s",
        f"{med(s) / med(n):.2f}x naive's throughput")


# --- 2. append, 1 thread ------------------------------------------------------------------------
def append_rows():
    sys1 = times("append", "BM_append_systask/real_time/threads:1")
    for peer, label in [("BM_append_naive/real_time/threads:1", "naive"),
                        ("BM_append_spdlog_ringbuffer/real_time/threads:1", "spdlog ringbuffer_sink_mt")]:
        p = times("append", peer)
        r = med(sys1) / med(p)
        row("2. append, 1 thread", f"systask {show(sys1, fmt_ns)} vs {label} {show(p, fmt_ns)}",
            f"{r:.2f}x {label.split()[0]}'s time", "<= 1.0x", r <= 1.0)
    for peer, label in [("BM_append_shared_mutex/real_time/threads:1", "shared_mutex store (RapidJSON render)"),
                        ("BM_append_moodycamel_same_bytes/real_time/threads:1", "moodycamel, same bytes"),
                        ("BM_append_storage_floor_spsc/real_time", "storage floor (clock + spsc push)"),
                        ("BM_append_render_only/real_time", "render alone (no clock, no store)")]:
        p = times("append", peer)
        row("2. append, 1 thread", f"vs {label} {show(p, fmt_ns)}", f"{med(sys1) / med(p):.2f}x")


# --- 3. two writers -----------------------------------------------------------------------------
def two_writers():
    one = counter("append", "BM_append_systask/real_time/threads:1", "items_per_second")
    same = counter("append", "BM_append_systask/real_time/threads:2", "items_per_second")
    own1 = counter("append", "BM_append_systask_distinct_runs/real_time/threads:1", "items_per_second")
    own2 = counter("append", "BM_append_systask_distinct_runs/real_time/threads:2", "items_per_second")
    r = med(same) / med(one)
    row("3. two writers", f"one run: 2 writers {show(same, fmt_num)}/s vs 1 writer {show(one, fmt_num)}/s",
        f"{r:.2f}x one writer", ">= 0.8x", r >= 0.8)
    r = med(own2) / med(own1)
    row("3. two writers", f"distinct runs: 2 writers {show(own2, fmt_num)}/s vs 1 writer {show(own1, fmt_num)}/s",
        f"{r:.2f}x one writer", ">= 1.8x", r >= 1.8)
    for name, label in [("BM_append_latency_systask/real_time/threads:2", "one run"),
                        ("BM_append_latency_systask_distinct_runs/real_time/threads:2", "distinct runs")]:
        t0 = counter("append", name, "p99_ns_thread0")
        t1 = counter("append", name, "p99_ns_thread1")
        row("3. two writers", f"{label}, p99 per append (batches of 8): thread 0 {show(t0, fmt_ns)}, "
            f"thread 1 {show(t1, fmt_ns)}", "per thread")
    for name, label in [("BM_append_naive/real_time/threads:2", "naive"),
                        ("BM_append_spdlog_ringbuffer/real_time/threads:2", "spdlog ringbuffer_sink_mt"),
                        ("BM_append_shared_mutex/real_time/threads:2", "shared_mutex store"),
                        ("BM_append_moodycamel_same_bytes/real_time/threads:2", "moodycamel, same bytes")]:
        p = counter("append", name, "items_per_second")
        row("3. two writers", f"one run/queue, 2 writers: {label} {show(p, fmt_num)}/s",
            f"systask {med(same) / med(p):.2f}x its throughput")


# --- 4. status ----------------------------------------------------------------------------------
SLOPE_SHAPES = [10, 100, 300, 1000]
STATUS_PEERS = [("systask", "BM_status_systask"), ("RapidJSON over plain structs", "BM_status_rapidjson_plain"),
                ("RapidJSON + RawValue", "BM_status_rapidjson_rawvalue"), ("Boost.JSON", "BM_status_boost_json"),
                ("nlohmann (reference)", "BM_status_nlohmann")]


def shape_name(prefix, runs, messages):
    return f"{prefix}/runs:{runs}/messages:{messages}/real_time"


def fit(xs, ys):
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return slope, my - slope * mx


def slopes(prefix):
    """(slope ns/message, intercept ns) fitted per repetition index over the 1xM shapes."""
    per_shape = [times("status", shape_name(prefix, 1, m)) for m in SLOPE_SHAPES]
    n = min(len(t) for t in per_shape)
    return [fit(SLOPE_SHAPES, [per_shape[i][k] for i in range(len(SLOPE_SHAPES))]) for k in range(n)]


status_table = []


def status_rows():
    fixed = times("status", "BM_status_fixed_cost/real_time")
    row("4. status", f"fixed cost (a provider with no runs, through the facade): {show(fixed, fmt_ns)}",
        fmt_ns(med(fixed)), "<= 1 µs", med(fixed) <= 1000)
    fits = {prefix: slopes(prefix) for _, prefix in STATUS_PEERS}
    s = [f[0] for f in fits["BM_status_systask"]]
    for label, prefix, bound, target in [("RapidJSON over plain structs", "BM_status_rapidjson_plain", 0.25, "<= 1/4"),
                                         ("RapidJSON + RawValue", "BM_status_rapidjson_rawvalue", 1 / 1.5, "<= 1/1.5")]:
        p = [f[0] for f in fits[prefix]]
        r = med(s) / med(p)
        row("4. status", f"per message (slope over 1x10..1x1000): systask {show(s, fmt_ns)} vs {label} "
            f"{show(p, fmt_ns)}", fmt_ratio(r), f"{target} ({bound:.2f}x)", r <= bound)
    for label, prefix in STATUS_PEERS[3:]:
        p = [f[0] for f in fits[prefix]]
        row("4. status", f"per message: {label} {show(p, fmt_ns)}", f"systask {fmt_ratio(med(s) / med(p))}")
    for label, prefix in STATUS_PEERS:
        icpt = [f[1] for f in fits[prefix]]
        status_table.append((f"{label}: fitted intercept", show(icpt, fmt_ns)))
    base = times("status", "BM_status_with_other_runs/none/real_time")
    for size in ["small", "large"]:
        name = f"BM_status_with_other_runs/{size}/real_time"
        t = times("status", name)
        n = counter("status", name, "other_runs")[0]
        row("4. status", f"1x100 with {n:.0f} other runs: {show(t, fmt_ns)} vs none {show(base, fmt_ns)}",
            f"{med(t) / med(base):.2f}x (regression guard)")


def status_shapes_table():
    lines = ["| shape | " + " | ".join(label for label, _ in STATUS_PEERS) + " | memcpy of systask's body |",
             "|---|" + "---|" * (len(STATUS_PEERS) + 1)]
    for runs, messages in [(1, m) for m in SLOPE_SHAPES] + [(16, 100)]:
        cells = []
        for _, prefix in STATUS_PEERS + [("memcpy", "BM_status_memcpy_ceiling")]:
            name = shape_name(prefix, runs, messages)
            t = times("status", name)
            body = counter("status", name, "body_bytes")[0]
            mbps = [body / (x * 1e-9) / 1e6 for x in t]
            cells.append(f"{show(t, fmt_ns)}; {body:.0f} B; {med(mbps):.0f} MB/s")
        lines.append(f"| {runs}x{messages} | " + " | ".join(cells) + " |")
    return lines


# --- 5. memory ----------------------------------------------------------------------------------
def memory_rows():
    for size, n in [("empty", 0), ("one", 1), ("ten", 10)]:
        name = f"BM_memory_finished_run/{size}/iterations:1"
        b = counter("memory", name, "bytes_per_run")
        a = counter("memory", name, "allocations_per_run")
        if size == "one":
            row("5. memory", f"a finished run with 1 message, record + ring: {fmt_bytes(med(b))} in "
                f"{med(a):.1f} allocations", fmt_bytes(med(b)), "<= 1 KiB", med(b) <= 1024)
        else:
            row("5. memory", f"a finished run with {n} messages: {fmt_bytes(med(b))} in {med(a):.1f} allocations",
                fmt_bytes(med(b)))
    for size in ["small", "mid", "large"]:
        name = f"BM_memory_message_mix/{size}/iterations:1"
        n = counter("memory", name, "messages")[0]
        b = med(counter("memory", name, "bytes_per_message"))
        j = med(counter("memory", name, "json_bytes_per_message"))
        t = med(counter("memory", name, "target_bytes"))
        row("5. memory", f"{n:.0f} messages, events of 50..2,000 B: {b:.0f} B held per message in steady state "
            f"(a second run of that size), JSON {j:.0f} B", f"{b / j:.2f}x JSON", f"<= 1.5x JSON + 64 B ({t:.0f} B)",
            b <= t)
    pool = med(counter("memory", "BM_memory_chunk_pool/iterations:1", "pool_bytes_added"))
    scratch = med(counter("memory", "BM_memory_message_mix/mid/iterations:1", "first_run_extra_bytes"))
    row("5. memory", f"fixed caches, not per message: the chunk pool filled (at most 128 dead rings' 16 KiB chunks, "
        f"per process) {fmt_bytes(pool)}; what the first run of 1001 mixed messages left beyond the second "
        f"(the finishing thread's packing scratch, kept up to 1 MiB per thread) {fmt_bytes(scratch)}",
        fmt_bytes(pool + max(scratch, 0)))
    name = "BM_memory_task_keys/iterations:1"
    keys = counter("memory", name, "keys")[0]
    rss = med(counter("memory", name, "rss_bytes_added"))
    per_key = med(counter("memory", name, "bytes_per_key"))
    row("5. memory", f"{keys:.0f} task keys x 1 finished run x 1 message: resident memory added "
        f"{fmt_bytes(rss)} ({fmt_bytes(per_key)} of heap per key)", fmt_bytes(rss), "<= 200 MB", rss <= 200e6)
    alone = med(counter("memory", "BM_memory_key_alone/iterations:1", "bytes_per_key"))
    row("5. memory", f"a task key alone (its runs kept no record; keys are never removed): {fmt_bytes(alone)}",
        fmt_bytes(alone))
    name = "BM_memory_churn/iterations:1"
    runs = counter("memory", name, "runs")[0]
    g = med(counter("memory", name, "rss_growth_ratio"))
    row("5. memory", f"churn of {runs:.0f} runs over 64 keys, 1 s retention: resident memory at 10% "
        f"{fmt_bytes(med(counter('memory', name, 'rss_kib_at_10pct')) * 1024)} -> end "
        f"{fmt_bytes(med(counter('memory', name, 'rss_kib_at_end')) * 1024)}", f"{g:.3f}x")


# --- 6. paths that grow with N ------------------------------------------------------------------
def growth_rows():
    def pair(prefix):
        small = f"{prefix}/small/real_time"
        large = f"{prefix}/large/real_time"
        return (times("scaling", small), times("scaling", large), counter("scaling", small, "runs")[0],
                counter("scaling", large, "runs")[0])

    for prefix, label in [("BM_task_retrieve", "retrieve a task by uuid"), ("BM_task_run", "run a task by uuid")]:
        s, l, ns_, nl = pair(prefix)
        r = med(l) / med(s)
        row("6. grows with N", f"{label}: {nl:.0f} runs {show(l, fmt_ns)} vs {ns_:.0f} runs {show(s, fmt_ns)}",
            f"{r:.2f}x", "<= 1.2x", r <= 1.2)
    for size in ["small", "large"]:
        s = times("scaling", f"BM_task_list_systask/{size}/real_time")
        q = times("scaling", f"BM_task_list_sqlite/{size}/real_time")
        n = counter("scaling", f"BM_task_list_systask/{size}/real_time", "runs")[0]
        r = med(s) / med(q)
        row("6. grows with N", f"task list (status filter, ordering, page of 100), {n:.0f} runs: systask "
            f"{show(s, fmt_ns)} vs SQLite {show(q, fmt_ns)}", f"{r:.2f}x SQLite's time", "<= 2x", r <= 2)
    s, l, ns_, nl = pair("BM_task_list_systask")
    row("6. grows with N", f"task list, systask: {nl:.0f} runs vs {ns_:.0f} runs", f"{med(l) / med(s):.1f}x")
    s, l, ns_, nl = pair("BM_task_list_sqlite")
    row("6. grows with N", f"task list, SQLite: {nl:.0f} runs vs {ns_:.0f} runs", f"{med(l) / med(s):.1f}x")
    for size in ["small", "large"]:
        name = f"BM_metrics/{size}/real_time"
        t = times("scaling", name)
        keys = counter("scaling", name, "task_keys")[0]
        row("6. grows with N", f"/metrics with {keys:.0f} task keys: {show(t, fmt_ns)}",
            f"{fmt_ns(med(t) / keys)} per task key")


# --- 7. writer and readers ----------------------------------------------------------------------
def rw_rows():
    def writer(store, mode):
        return counter("contention", f"BM_rw_{store}/{mode}/iterations:1/manual_time", "writer_appends_per_second")

    alone = writer("systask", "writer_alone")
    ten = writer("systask", "reads_10_per_s")
    r = med(ten) / med(alone)
    row("7. writer + readers", f"writer with 10 status reads/s {show(ten, fmt_num)}/s vs alone {show(alone, fmt_num)}/s",
        f"{100 * r:.0f}% kept", ">= 95%", r >= 0.95)
    flat = writer("systask", "reads_flat_out")
    peer_flat = writer("shared_mutex", "reads_flat_out")
    r = med(flat) / med(peer_flat)
    row("7. writer + readers", f"under reads flat out: systask's writer {show(flat, fmt_num)}/s vs the shared_mutex "
        f"store's writer {show(peer_flat, fmt_num)}/s", f"{r:.2f}x", ">= 2x", r >= 2)
    for store in ["systask", "shared_mutex"]:
        a = writer(store, "writer_alone")
        t = writer(store, "reads_10_per_s")
        f = writer(store, "reads_flat_out")
        reads = counter("contention", f"BM_rw_{store}/reads_flat_out/iterations:1/manual_time", "reads_per_second")
        row("7. writer + readers", f"{store}: writer alone {show(a, fmt_num)}/s, with 10 reads/s "
            f"{fmt_num(med(t))}/s, with {fmt_num(med(reads))} reads/s flat out {fmt_num(med(f))}/s",
            f"{100 * med(f) / med(a):.0f}% kept under flat-out reads")
        ra = counter("contention", f"BM_rw_{store}/reader_alone/iterations:1/manual_time", "read_us")
        rf = counter("contention", f"BM_rw_{store}/reads_flat_out/iterations:1/manual_time", "read_us")
        row("7. writer + readers", f"{store}: one status read {show(rf, lambda v: f'{v:.1f} µs')} with the writer vs "
            f"{show(ra, lambda v: f'{v:.1f} µs')} alone", f"{med(rf) / med(ra):.2f}x")
        for mode in ["reads_10_per_s", "reads_flat_out"]:
            name = f"BM_rw_{store}/{mode}/iterations:1/manual_time"
            lo = min(counter("contention", name, "messages_min"))
            md = med(counter("contention", name, "messages_median"))
            cap = counter("contention", name, "messages_expected")[0]
            notice = " (plus systask's one dropped-messages notice)" if store == "systask" else ""
            row("7. writer + readers", f"{store}, {mode.replace('_', ' ')}: messages in a sampled body: median "
                f"{md:.0f}, fewest {lo:.0f}, of a full ring of {cap:.0f}{notice}", "counted")


# --- 8. expiry ----------------------------------------------------------------------------------
def expiry_rows():
    def row_of(prefix, name):
        full = f"{prefix}/{name}/iterations:5"
        return times("expiry", full), counter("expiry", full, "expired")[0], counter("expiry", full, "live")[0]

    ks, k, n = row_of("BM_expiry_reclaim", "k_small_n_large")
    kl, k2, _ = row_of("BM_expiry_reclaim", "k_large_n_large")
    nm, _, n_mid = row_of("BM_expiry_reclaim", "k_small_n_mid")
    none, _, _ = row_of("BM_expiry_reclaim", "k_small_n_none")
    first, _, _ = row_of("BM_expiry_first_pass", "k_small_n_large")
    r = med(kl) / med(ks)
    row("8. expiry", f"K={k2:.0f} vs K={k:.0f} expired among N={n:.0f}: {show(kl, fmt_ns)} vs {show(ks, fmt_ns)}",
        f"{r:.1f}x", "8..12x", 8 <= r <= 12)
    r = med(ks) / med(nm)
    row("8. expiry", f"K={k:.0f} among N={n:.0f} vs N={n_mid:.0f}: {show(ks, fmt_ns)} vs {show(nm, fmt_ns)}",
        f"{r:.2f}x", "<= 1.3x", r <= 1.3)
    row("8. expiry", f"K={k:.0f} among none: {show(none, fmt_ns)}; per expired run among N={n:.0f}: "
        f"{fmt_ns(med(ks) / k)}", f"{med(ks) / med(none):.2f}x none")
    row("8. expiry", f"the first pass after building N={n:.0f} runs (K={k:.0f}), one-off: {show(first, fmt_ns)}",
        f"{med(first) / med(ks):.1f}x a steady-state pass")


# --- 9. HTTP ------------------------------------------------------------------------------------
http = None


def http_rows():
    global http
    path = os.path.join(out_dir, "http.json")
    if not os.path.exists(path):
        raise Missing("http.json (the HTTP comparison of scripts/bench)")
    with open(path) as f:
        http = json.load(f)
    s = [x["requests_per_second"] for x in http["throughput"]["systask"]]
    n = [x["requests_per_second"] for x in http["throughput"]["nginx"]]
    r = med(s) / med(n)
    row("9. HTTP", f"closed loop (wrk -t1 -c16, {http['seconds']} s x {len(s)}): systask {show(s, fmt_num)} req/s vs "
        f"nginx {show(n, fmt_num)} req/s ({http['body_bytes']}-byte body)", f"{100 * r:.0f}%", ">= 60% of nginx",
        r >= 0.6)
    rate = http["fixed_rate"]["requests_per_second"]
    s = [x["p99_us"] for x in http["fixed_rate"]["systask"]]
    n = [x["p99_us"] for x in http["fixed_rate"]["nginx"]]
    ach_s = [x["achieved_per_second"] for x in http["fixed_rate"]["systask"]]
    ach_n = [x["achieved_per_second"] for x in http["fixed_rate"]["nginx"]]
    us = lambda v: f"{v:.0f} µs"  # noqa: E731
    r = med(s) / med(n)
    kept = med(ach_s) / rate
    row("9. HTTP", f"p99 at a fixed {rate:.0f} req/s (half nginx's max; h2load --rps): systask {show(s, us)} vs "
        f"nginx {show(n, us)}; rate achieved: systask {fmt_num(med(ach_s))}/s ({100 * kept:.0f}%), nginx "
        f"{fmt_num(med(ach_n))}/s", f"{r:.2f}x nginx's p99", "<= 2x, rate kept (>= 95%)", r <= 2 and kept >= 0.95)
    bad = {t: sum(x["non_2xx"] + x["errors"] for x in http["throughput"][t] + http["fixed_rate"][t])
           for t in ["systask", "nginx"]}
    row("9. HTTP", f"answers other than 2xx, or failed: systask {bad['systask']}, nginx {bad['nginx']}",
        str(bad["systask"] + bad["nginx"]), "0", bad["systask"] + bad["nginx"] == 0)


def abuse_rows():
    if data["abuse"] is None:
        return
    calm = counter("abuse", "BM_normal_client/abused:0/real_time", "p99_cycles")
    hostile = counter("abuse", "BM_normal_client/abused:1/real_time", "p99_cycles")
    r = med(hostile) / med(calm)
    cyc = lambda v: f"{v / 1e3:.0f}k cycles"  # noqa: E731
    row("9. HTTP", f"a normal client's p99 under 1,000 idle connections + slowloris + 100 abusive req/s "
        f"{show(hostile, cyc)} vs unloaded {show(calm, cyc)}", f"{r:.2f}x", "<= 2x (reliability issue)", r <= 2)


# --- 10. the SQLite store ------------------------------------------------------------------------
def store_rows():
    if data["store"] is None:
        return
    none = times("store", "BM_store_append/none")
    attached = times("store", "BM_store_append/sqlite")
    r = med(attached) / med(none)
    row("10. store", f"append with a SQLite store attached (flushing the running run every 10 ms) "
        f"{show(attached, fmt_ns)} vs no store {show(none, fmt_ns)}", f"{r:.2f}x", "<= 1.05x", r <= 1.05)
    batched = counter("store", "BM_store_finished/batched/real_time", "runs_per_second")
    per_run = counter("store", "BM_store_finished/per_run/real_time", "runs_per_second")
    row("10. store", f"finished runs of 20 messages written to SQLite (synchronous=NORMAL): batched "
        f"{show(batched, fmt_num)}/s vs one transaction per run {show(per_run, fmt_num)}/s",
        f"{med(batched) / med(per_run):.2f}x")
    restore = times("store", "BM_store_restore/store/real_time")
    shell = times("store", "BM_store_restore/sqlite3_shell/real_time")
    runs = counter("store", "BM_store_restore/store/real_time", "runs")[0]
    row("10. store", f"start-up: restore {runs:.0f} finished runs (2 messages each) {show(restore, fmt_ns)} vs the "
        f"sqlite3 shell reading the same rows into /dev/null {show(shell, fmt_ns)}", f"{med(restore) / med(shell):.2f}x")


# --- 11. PostgreSQL (replicas) -------------------------------------------------------------------
def pg_rows():
    if data["pg"] is None:
        return
    none = times("pg", "BM_pg_append/none")
    attached = times("pg", "BM_pg_append/postgresql")
    r = med(attached) / med(none)
    row("11. PostgreSQL", f"append with a replica's pg_history and pg_cluster_lock attached {show(attached, fmt_ns)} "
        f"vs no store {show(none, fmt_ns)}", f"{r:.2f}x", "<= 1.05x", r <= 1.05)
    for prefix, server in [("BM_pg_finished_durable", "PostgreSQL's default durability: fsync on"),
                           ("BM_pg_finished", "fsync off, as the tests run it")]:
        batched = counter("pg", f"{prefix}/batched/real_time", "runs_per_second")
        per_run = counter("pg", f"{prefix}/per_run/real_time", "runs_per_second")
        row("11. PostgreSQL", f"finished runs of 20 messages written to PostgreSQL (loopback, {server}): "
            f"pg_history's batches (flush interval 20 ms) {show(batched, fmt_num)}/s vs one INSERT transaction per "
            f"run (blocking libpq) {show(per_run, fmt_num)}/s", f"{med(batched) / med(per_run):.2f}x")
    lock = times("pg", "BM_pg_lock/acquire_release/real_time")
    select1 = times("pg", "BM_pg_lock/select1/real_time")
    blocking = times("pg", "BM_pg_lock/select1_blocking/real_time")
    row("11. PostgreSQL", f"cluster sync lock: acquire, lease destroyed, next acquire {show(lock, fmt_ns)} vs "
        f"`select 1` on the library's connection (Asio strand) {show(select1, fmt_ns)}",
        f"{med(lock) / med(select1):.2f}x a select 1")
    chained = [t / 64 for t in times("pg", "BM_pg_lock/select1_chained_64/real_time")]
    row("11. PostgreSQL", f"`select 1` on the library's connection, each sent from the previous one's handler (no "
        f"thread hop) {show(chained, fmt_ns)} vs blocking libpq, same protocol (PQexecParams) {show(blocking, fmt_ns)}",
        f"{med(chained) / med(blocking):.2f}x")
    taken = [v * 1e3 for v in counter("pg", "BM_pg_lock/seen_elsewhere/real_time", "seen_taken_us")]
    released = [v * 1e3 for v in counter("pg", "BM_pg_lock/seen_elsewhere/real_time", "seen_released_us")]
    row("11. PostgreSQL", f"another replica's is_running sees a take {show(taken, fmt_ns)} and a release "
        f"{show(released, fmt_ns)} after it (notification, read of pg_locks, snapshot)", fmt_ns(med(taken)))
    for runs, messages in [(1, 10), (16, 100)]:
        b = times("pg", f"BM_pg_status/replica_b/runs:{runs}/messages:{messages}/real_time")
        m = times("pg", f"BM_pg_status/memory_only/runs:{runs}/messages:{messages}/real_time")
        r = med(b) / med(m)
        row("11. PostgreSQL", f"status {runs}x{messages} on replica B (runs mirrored from replica A, lock and history "
            f"attached) {show(b, fmt_ns)} vs a memory-only registry {show(m, fmt_ns)}", f"{r:.2f}x", "<= 1.5x",
            r <= 1.5)
    held = times("pg", "BM_pg_status/held_elsewhere/real_time")
    row("11. PostgreSQL", f"of which the lock's `held_elsewhere` (SHA-256 of the lock name + snapshot search), "
        f"alone: {show(held, fmt_ns)}", fmt_ns(med(held)))


for part in [whole_run, append_rows, two_writers, status_rows, memory_rows, growth_rows, rw_rows, expiry_rows,
             http_rows, abuse_rows, store_rows, pg_rows]:
    section(part)


# --- append latency table -------------------------------------------------------------------------
def latency_table():
    lines = ["| row | appends/s | p50 | p99 | p99.9 | p99 thread 0 | p99 thread 1 |", "|---|---|---|---|---|---|---|"]
    for name in sorted(data["append"]["rows"]):
        if not name.startswith("BM_append_latency_"):
            continue
        ips = counter("append", name, "items_per_second")
        cells = [show(ips, fmt_num)]
        for key in ["p50_ns", "p99_ns", "p999_ns", "p99_ns_thread0", "p99_ns_thread1"]:
            try:
                cells.append(show(counter("append", name, key), fmt_ns))
            except Missing:
                cells.append("—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def reference_table():
    lines = ["| row | time per call |", "|---|---|"]
    for name in ["BM_ref_system_clock_now/real_time", "BM_ref_steady_clock_now/real_time",
                 "BM_ref_fenced_rdtsc/real_time", "BM_ref_fetch_add/real_time/threads:1",
                 "BM_ref_fetch_add/real_time/threads:2"]:
        lines.append(f"| {name} | {show(times('append', name), fmt_ns)} |")
    return lines


# --- provenance -----------------------------------------------------------------------------------
prov_path = os.path.join(out_dir, "provenance.json")
prov = None
if os.path.exists(prov_path):
    with open(prov_path) as f:
        prov = json.load(f)
elif not smoke:
    sys.exit(f"missing {prov_path} (written by scripts/bench)")

ctx = data["append"]["context"]
analysis_path = os.path.join(os.path.dirname(os.path.abspath(report_path)), "PERFORMANCE-analysis.md")
analysis_commit = None
if os.path.exists(analysis_path):
    with open(analysis_path) as f:
        for line in f:
            if line.startswith("Written for commit:"):
                analysis_commit = line.split(":", 1)[1].strip().strip("`")
                break

lines = []
lines.append("# Performance\n")
lines.append("Generated by `scripts/bench` (`scripts/bench_report.py`); do not edit by hand. Every figure below "
             "comes from the run described in this header, and every ratio is between two rows of that run, "
             "measured in the same process. A median is followed by [min–max] over the repetitions. Rows "
             "without a target say \"reference\". The analysis of the misses is written by hand in "
             "[PERFORMANCE-analysis.md](PERFORMANCE-analysis.md)"
             + (f", for commit `{analysis_commit}`" if analysis_commit else "")
             + (" (not this report's commit: it may not match these figures)"
                if analysis_commit and prov and prov["commit"] != analysis_commit else "") + ".\n")
if prov:
    if prov.get("reduced"):
        lines.append(f"**Reduced run** ({prov['reduced']}): it proves the pipeline; its figures are not the "
                     "product's. Rerun `scripts/bench` on a quiet machine for the real report.\n")
    lines.append(f"- Commit: `{prov['commit']}`; run started {prov['started']}, load average then "
                 f"{prov['load_before']}, after {prov.get('load_after', '?')}.")
    lines.append(f"- Machine: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz; {prov['kernel']}.")
    lines.append(f"- Compiler: {prov['compiler']}.")
    lines.append(f"- Engine flags (compile_commands.json, `{prov['engine_source']}`): `{prov['engine_flags']}`")
    lines.append(f"- Benchmark flags (`{prov['bench_source']}`): `{prov['bench_flags']}` "
                 "(include paths left out). RapidJSON SIMD for the peers: "
                 + ("SSE2" if "-DRAPIDJSON_SSE2" in prov["bench_flags"] else
                    "SSE4.2" if "-DRAPIDJSON_SSE42" in prov["bench_flags"] else "none (byte at a time)") + ".")
    lines.append(f"- Google Benchmark: {prov['repetitions']} repetitions of each row, "
                 f"`--benchmark_min_time={prov['min_time']}`, `--benchmark_enable_random_interleaving=true` "
                 "(repetitions of all rows of a program run in random order, so drift does not land on one side); "
                 "multi-threaded rows pin one thread per CPU. Debian's libbenchmark calls itself a "
                 f"'{ctx.get('library_build_type')}' build: that is the harness library, not systask.")
    lines.append(f"- Raw results: [`docs/bench-results/{os.path.basename(raw_path) if raw_path else 'results.json'}`]"
                 f"(bench-results/{os.path.basename(raw_path) if raw_path else 'results.json'}).\n")
else:
    lines.append("Smoke run (CI): tiny sizes, one repetition; the figures mean nothing.\n")

lines.append("| area | figure | value | target | result |\n|---|---|---|---|---|")
for area, figure, value, target, res in results:
    lines.append(f"| {area} | {figure} | {value} | {target} | {res} |")
missed = [r for r in results if r[4] == "**missed**"]
met = [r for r in results if r[4] == "met"]
lines.append(f"\n{len(met)} targets met, {len(missed)} missed, {len(results) - len(met) - len(missed)} reference rows.\n")

lines.append("## Status bodies by shape\n")
lines.append("Time per body (median [min–max]); the body's own size; MB/s from each body's own bytes. Every "
             "peer's body was checked equivalent to systask's before it was timed.\n")
lines.extend(status_shapes_table())
lines.append("")
for label, value in status_table:
    lines.append(f"- {label}: {value}")
lines.append("\n## Append latency\n")
lines.append("Each sample is the mean of a batch of 8 appends between two fenced TSC reads (converted to ns); "
             "percentiles of 2-thread rows are over both threads' samples merged, and each thread's p99 is shown "
             "apart. Throughput in this table includes the clock reads; the append rows above do not.\n")
lines.extend(latency_table())
lines.append("\n## Reference costs\n")
lines.extend(reference_table())
lines.append("""
## Definitions

- *naive store*: what a C++ programmer writes first (bench/naive_store.hpp): one `std::mutex` over an
  `unordered_map` of task keys; a run's messages are structs (timestamp, level, `std::string` logger
  and event, a `std::vector` of typed attributes) in a `std::deque` bounded by popping the front; the
  body is written at read time with RapidJSON over the structs. Its append is the *naive* append row.
- *RapidJSON over plain structs* / *RapidJSON + RawValue*: bench/rapidjson_peers.hpp; a `Writer` over
  a reserved `StringBuffer` reused across requests, strings and keys passed as (data, size),
  timestamps formatted into a stack buffer; the RawValue peer renders each message once with
  RapidJSON and splices it. Both are built from systask's own records (same uuids, timestamps,
  typed attributes in order).
- *Boost.JSON*: `value_from` into a `monotonic_resource` per request over a reused 4 MiB block,
  conversions written with `reserve` and `emplace`, timestamps from a stack buffer, one `serializer`
  reused across requests reading into a reserved buffer. *nlohmann*: idiomatic `to_json`; no target.
- *shared_mutex store*: systask's render-on-write design behind a `std::shared_mutex`: messages
  rendered with RapidJSON outside the lock, copied into a slot of a `std::vector<std::string>` ring
  under the exclusive lock; status written under the shared lock, messages spliced with RawValue.
- *storage floor*: a clock read plus a Boost.Lockfree `spsc_queue` push of a 256-byte slot holding
  the bytes systask stores for the message (one copy); full: the oldest is consumed. A reference for
  the storing part alone, not a limit for the job: it neither renders nor coordinates producers.
- *moodycamel, same bytes*: `ConcurrentQueue` of the same 256-byte slots with a producer token; each
  producer dequeues one slot per enqueue once it holds its share of 4,096.
- *render alone*: systask's `render_compact` of the message into a stack buffer (no clock, no store).
- systask's status and task rows go through the facade's whole request path (token check, routing,
  snapshot, JSON, copy into the response); the peers only build the body.
- *whole run*: start a provider sync, 20 messages of 3 attributes, finish, one sync-status read;
  systask's io_context is polled after each run, so its strand's work is paid in the loop.
- *task list*: `?status=error&ordering=-finish_timestamp&page_size=100` over runs of which one in ten
  failed; SQLite answers from an in-memory table indexed on (status, finish_us DESC, uuid) with a
  count and a page query, writing the same body with RapidJSON.
- *memory*: malloc's footprint (glibc `mallinfo2`: bytes in use plus mmapped blocks, so chunk
  headers and alignment count) added by what is measured; resident memory for the 100,000 keys.
- *HTTP*: the client pinned to CPU 0, the server to CPU 1 with one thread (`systask-demo --threads 1`)
  or one worker (nginx answering the same body from memory with `return 200`); the bodies are
  compared byte for byte before timing. Closed loop: `wrk -t1 -c16`. Fixed rate: `h2load --h1 -c16
  --rps`, which times each request from when it is sent (so a server that falls behind hides part of
  its queueing); the achieved rate is printed next to it. A/B repetitions alternate the order.
""")

with open(report_path, "w") as f:
    f.write("\n".join(lines) + "\n")

if raw_path:
    raw = {"provenance": prov, "http": http,
           "benchmarks": {a: data[a]["raw"] for a in AREAS if data[a] is not None}}
    with open(raw_path, "w") as f:
        json.dump(raw, f, separators=(",", ":"))

print(f"bench_report: {len(results)} rows, {len(met)} targets met, {len(missed)} missed")
for r in missed:
    print("  missed:", r[0], "-", r[1], "-", r[2], "target", r[3])
