#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""End to end: two systask-demo processes sharing one throwaway PostgreSQL (docs/store.md,
"Replicas"), both syncing the same three providers every second.

Checks, over HTTP (psql only to pick a sync to kill whose running row is written):
  - one sync lock: the syncs of a provider, wherever they ran, never overlap in time;
  - is_running: while replica A shows a sync running, B says is_running within the bound
    (250 ms; 600 ms under a sanitizer; a sync lasts about 1.2 s, so a B that never says so
    fails), and the other way round. What it saw is printed (median and max, including the
    checks where B runs the sync itself); the propagation's benchmark is bench/pg_bench.cpp
    (BM_pg_lock/seen_elsewhere);
  - include_running: B shows A's running sync as running within 1 s, and the other way round;
  - one history: every finished sync either replica showed is shown by both, same uuid, same
    messages byte for byte;
  - kill -9 of a replica mid-sync: the survivor's is_running for that provider turns false
    within 2 s (unless it runs its own sync then), the killed sync is shown as error
    ("interrupted", after the maintenance grace), and the survivor syncs the provider again.
  - every body matches the contract's schema (schema_check);
  - /metrics on B counts a lock wait (histogram) for every lock B acquired.

Usage: replicas_e2e.py DEMO SCHEMA_CHECK SCHEMA_JSON PG_CLUSTER_SCRIPT [BOUND_MS]
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

demo, schema_check, schema, pg_cluster = sys.argv[1:5]
bound = float(sys.argv[5]) / 1000 if len(sys.argv) > 5 else 0.25
providers = [("google_workspace", 1), ("microsoft_entra", 2), ("scim", 3)]
token = "e2e-replicas-token"
work = tempfile.mkdtemp(prefix="systask-replicas-e2e.")
os.chmod(work, 0o755)  # the server runs as postgres, which must reach work/pg
procs = {}


def fail(message):
    print("FAIL: " + message, flush=True)
    for name, p in procs.items():
        print(f"--- {name} log (tail)")
        with open(os.path.join(work, name + ".log"), errors="replace") as f:
            print("".join(f.readlines()[-15:]))
    sys.exit(1)


def start_replica(name, uri):
    log = open(os.path.join(work, name + ".log"), "w")
    p = subprocess.Popen([demo, "--store", uri, "--listen", "127.0.0.1:0", "--token", token, "--no-progress",
                          "--interval", "1", "--users", "300", "--groups", "30", "--latency", "300",
                          "--hard-failure-rate", "0", "--seed", "7"], stdout=log, stderr=subprocess.STDOUT)
    procs[name] = p
    deadline = time.time() + 30
    while time.time() < deadline:
        with open(os.path.join(work, name + ".log")) as f:
            for line in f:
                if line.startswith("listening on "):
                    return line.split()[2]
        if p.poll() is not None:
            fail(f"replica {name} exited with {p.returncode}")
        time.sleep(0.05)
    fail(f"replica {name} did not start")


def get(base, path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read()


def status(base, kind, pid):
    return json.loads(get(base, f"/api/v3/providers/{kind}/{pid}/sync/status/?include_running=true"))


def check_schema(body):
    r = subprocess.run([schema_check, schema, "SyncStatus"], input=body, capture_output=True)
    if r.returncode != 0:
        fail("a body does not match the schema: " + r.stdout.decode() + r.stderr.decode())


def is_run_running(t):
    # With include_running, a running sync is served with status "unknown" (its finish is the
    # snapshot time); a provider's sync has no "not run yet" placeholder here.
    return t["status"] == "unknown"


def row_state(uuid):
    """The run's row state in PostgreSQL (0 running, 1 finished, 2 interrupted), "" if none."""
    r = subprocess.run(["psql", uri, "-XAtqc", f"select state from systask_run where uuid = '{uuid}'"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("psql failed: " + r.stderr)
    return r.stdout.strip()


def ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


uri = subprocess.run([pg_cluster, "start", os.path.join(work, "pg")], check=True, capture_output=True,
                     text=True).stdout.strip()
try:
    bases = {"a": start_replica("a", uri), "b": start_replica("b", uri)}
    finished = {}  # uuid -> (kind, start, finish, messages as served)
    is_running_checks = 0
    seen_after = []  # seconds from "a sync runs on one replica" to "the other says is_running"
    for kind, pid in providers:
        check_schema(get(bases["a"], f"/api/v3/providers/{kind}/{pid}/sync/status/?include_running=true"))

    # Observe for a while: both replicas try every provider every second.
    end = time.time() + 6
    while time.time() < end:
        for kind, pid in providers:
            for me, other in (("a", "b"), ("b", "a")):
                st = status(bases[me], kind, pid)
                for t in st["tasks"]:
                    if not is_run_running(t):
                        seen = finished.setdefault(t["uuid"], (kind, t["start_timestamp"], t["finish_timestamp"],
                                                               json.dumps(t["messages"], sort_keys=True)))
                        if seen[3] != json.dumps(t["messages"], sort_keys=True):
                            fail(f"run {t['uuid']} is served with other messages by replica {me}")
                running = [t["uuid"] for t in st["tasks"] if is_run_running(t)]
                if not running:
                    continue
                # A sync runs on `me`, or `me` mirrors one that runs on `other`: the other replica
                # must say is_running within the bound, for as long as the sync runs. Once
                # `other` shows it finished, or `me` no longer shows it running, it has ended:
                # `me` was its owner, or a mirror lagging a flush behind the owner's finish
                # (docs/store.md: is_running is the lock's answer, not the mirror's).
                t0 = time.time()
                while True:
                    theirs = status(bases[other], kind, pid)
                    if theirs["is_running"]:
                        is_running_checks += 1
                        seen_after.append(time.time() - t0)
                        break
                    if any(t["uuid"] in running and not is_run_running(t) for t in theirs["tasks"]):
                        break
                    again = status(bases[me], kind, pid)
                    if not any(t["uuid"] in running and is_run_running(t) for t in again["tasks"]):
                        break
                    if time.time() - t0 > bound:
                        fail(f"{kind}: replica {me} runs {running[0]} but {other} says is_running false "
                             f"for {int((time.time() - t0) * 1000)} ms")
                    time.sleep(0.005)
    if is_running_checks == 0:
        fail("no sync was ever seen running: the check checked nothing")

    # One lock: the syncs of a provider never overlap, whichever replica ran them. A refused run
    # (the lock was held elsewhere, or a replica's lock connection was not up yet) records
    # "Synchronization not started" and never held the lock: it is no sync.
    for kind, _ in providers:
        spans = sorted((ts(s), ts(f), u) for u, (k, s, f, m) in finished.items()
                       if k == kind and "Synchronization not started" not in m)
        if len(spans) < 2:
            fail(f"{kind}: only {len(spans)} finished syncs seen in 6 s")
        for (s1, f1, u1), (s2, f2, u2) in zip(spans, spans[1:]):
            if s2 < f1:
                fail(f"{kind}: syncs {u1} and {u2} overlap ({s1}..{f1} and {s2}..{f2})")

    # One history: each finished sync is served by both replicas (within 1 s of being seen).
    time.sleep(1.0)
    for kind, pid in providers:
        for me in ("a", "b"):
            st = status(bases[me], kind, pid)
            check_schema(json.dumps(st).encode())
            served = {t["uuid"]: json.dumps(t["messages"], sort_keys=True) for t in st["tasks"]}
            for u, (k, s, f, messages) in finished.items():
                # History depth 10 per provider: only the newest ten are served.
                newest = sorted((v[2] for x, v in finished.items() if v[0] == k), reverse=True)[:10]
                if k != kind or f not in newest:
                    continue
                if u not in served:
                    fail(f"{kind}: replica {me} does not serve sync {u}")
                if served[u] != messages:
                    fail(f"{kind}: replica {me} serves sync {u} with other messages")

    # include_running: each replica shows the other's running sync, running (mirrored within
    # about a flush interval: 1 s here, more than enough even under a sanitizer).
    mirrored_checks = 0
    deadline = time.time() + 20
    while time.time() < deadline and mirrored_checks < 3:
        for kind, pid in providers:
            for me, other in (("a", "b"), ("b", "a")):
                running = [t["uuid"] for t in status(bases[me], kind, pid)["tasks"] if is_run_running(t)]
                if not running:
                    continue
                t0 = time.time()
                while True:
                    shown = [t for t in status(bases[other], kind, pid)["tasks"] if t["uuid"] == running[0]]
                    if shown and is_run_running(shown[0]):
                        mirrored_checks += 1
                        break
                    if time.time() - t0 > 1.0:
                        again = [t for t in status(bases[me], kind, pid)["tasks"] if t["uuid"] == running[0]]
                        if again and is_run_running(again[0]):
                            fail(f"{kind}: replica {me} runs {running[0]} but {other} does not show it running after 1 s")
                        break  # it finished meanwhile
                    time.sleep(0.02)
    if mirrored_checks == 0:
        fail("no running sync of one replica was ever seen running on the other")

    # kill -9 of a replica mid-sync. The victim is a sync whose running row is already in
    # PostgreSQL: a run started less than a flush interval (200 ms) before the kill is not yet
    # written anywhere, and the store documents that window (docs/store.md, "Replicas").
    deadline = time.time() + 20
    victim = None
    while time.time() < deadline and victim is None:
        for kind, pid in providers:
            st = status(bases["a"], kind, pid)
            run = [t["uuid"] for t in st["tasks"] if is_run_running(t)]
            if run and row_state(run[0]) == "0":
                victim = (kind, pid, run[0])
                break
    if victim is None:
        fail("replica a never ran a sync whose running row was written, to kill")
    kind, pid, uuid = victim
    procs["a"].send_signal(signal.SIGKILL)
    procs["a"].wait()
    killed = time.time()
    freed = None
    while time.time() - killed < 5:
        st = status(bases["b"], kind, pid)
        # b's own sync (the killed one is shown running too, mirrored, until it is marked interrupted)
        own = [t for t in st["tasks"] if is_run_running(t) and t["uuid"] != uuid]
        if not st["is_running"] or own:
            freed = time.time() - killed
            break
        time.sleep(0.02)
    if freed is None or freed > 2:
        fail(f"{kind}: replica b still says is_running {freed} s after replica a was killed")
    while time.time() - killed < 20:  # the maintenance owner's grace (5 s) and pass (1 s), under load
        st = status(bases["b"], kind, pid)
        shown = [t for t in st["tasks"] if t["uuid"] == uuid]
        if shown and shown[0]["status"] == "error":
            if "The process ended while the task was running" not in json.dumps(shown[0]["messages"]):
                fail(f"the killed sync {uuid} is shown as error without the interrupted message")
            break
        time.sleep(0.05)
    else:
        fail(f"the killed sync {uuid} is not shown interrupted on replica b after 20 s")
    # The survivor syncs the provider again (its schedule fires every second).
    while time.time() - killed < 25:
        st = status(bases["b"], kind, pid)
        later = [t for t in st["tasks"] if t["status"] == "successful" and ts(t["start_timestamp"]).timestamp() > killed - 0.5]
        if later:
            break
        time.sleep(0.1)
    else:
        fail(f"{kind}: replica b did not sync again after replica a was killed")
    # Every sync started on b asked the cluster lock, and /metrics shows how long each waited.
    metrics = get(bases["b"], "/metrics").decode()
    waits = re.search(r'^systask_store_lock_acquire_wait_seconds_count\{backend="postgresql"\} (\d+)$', metrics, re.M)
    acquired = re.search(r'^systask_store_lock_acquired_total\{backend="postgresql"\} (\d+)', metrics, re.M)
    if not waits or not acquired or int(waits.group(1)) < int(acquired.group(1)) or int(acquired.group(1)) < 1:
        fail("replica b's /metrics lacks the lock wait histogram, or it counts fewer requests than locks acquired")
    seen_after.sort()
    print(f"ok: {len(finished)} finished syncs seen, {is_running_checks} is_running checks within {int(bound * 1000)} ms "
          f"(median {seen_after[len(seen_after) // 2] * 1000:.1f} ms, max {seen_after[-1] * 1000:.1f} ms), "
          f"{mirrored_checks} running syncs seen running on the other replica, "
          f"killed replica freed the lock after {freed:.2f} s")
finally:
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    subprocess.run([pg_cluster, "stop", os.path.join(work, "pg")])
    subprocess.run(["rm", "-rf", work])
