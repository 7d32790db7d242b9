// SPDX-License-Identifier: BSL-1.0
// The PostgreSQL backend's costs (docs/store.md, "Replicas (PostgreSQL)"), each next to its
// baseline in the same run, against a real PostgreSQL 15 that the program starts itself (a
// throwaway cluster, tests/store/pg/pg_cluster.*) and stops at exit:
// - append/none / append/postgresql: one run's `info` with no store vs a replica's pg_history
//   and pg_cluster_lock attached; target <= 1.05x;
// - finished/batched / finished/per_run: runs of 20 messages finished as fast as possible and
//   written to PostgreSQL, by pg_history's batches (until `stats().written` counts them all) vs
//   one INSERT transaction per run (the same rows, a blocking libpq call after each finish);
//   runs per second; finished_durable/*: the same on a server with PostgreSQL's default
//   durability (fsync on: each commit waits for the disk), 300 runs per iteration;
// - lock/acquire_release / lock/select1: pg_cluster_lock's acquire answered, its lease
//   destroyed, the next acquire (steady state) vs a `select 1` round trip on the library's own
//   kind of connection (pg_connection on a strand, asked from another thread); references:
//   lock/select1_chained_64 (64 queries each sent from the previous one's handler: the
//   connection's round trip without the thread hops) and lock/select1_blocking (blocking libpq);
//   lock/seen_elsewhere: how soon replica B's is_running sees A take and release the lock;
// - status/replica_b / status/memory_only: a provider's sync status (through the facade) on a
//   replica whose runs were mirrored from replica A vs a memory-only registry holding the same
//   runs; target <= 1.5x. Replica B's body is first checked byte-identical to A's.
//   status/held_elsewhere: the lock's part of B's read alone.

#include "bench_facade.hpp"
#include "bench_support.hpp"
#include "pg_cluster.hpp"
#include "pg_connection.hpp"
#include "pg_test_support.hpp"
#include "pg_row_encoding.hpp"
#include "plain_model.hpp"

#include <systask/engine.hpp>
#include <systask/store/pg_history.hpp>
#include <systask/store/postgresql.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sb = systask::bench;

namespace {

using namespace std::chrono_literals;

// The program's server: started on first use, stopped (and its directory removed) at exit.
// fsync off, as the tests run it: what the rows measure is CPU and round trips.
systask::testing::pg_cluster& cluster() {
  static systask::testing::pg_cluster c;
  return c;
}

// A second server with PostgreSQL's default durability (each commit waits for the disk), for
// the finished-run rows: what batching saves there is mostly commits.
systask::testing::pg_cluster& durable_cluster() {
  static systask::testing::pg_cluster c(true);
  return c;
}

// Polls `done` every 50 µs (the machine is shared: no spinning) for at most `limit`.
template <class Pred>
bool wait_for(Pred done, std::chrono::milliseconds limit = 30s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return done();
    std::this_thread::sleep_for(50us);
  }
  return true;
}

// One replica as a host runs it: a registry on an io_context run by its own thread, with the
// cluster lock and the history attached when asked. The history and the lock go before the
// registry, and the registry before the execution context.
struct replica {
  struct options {
    bool lock = false;
    bool history = false;
    std::string name_space = "default";
    std::size_t history_depth = 1;
    std::chrono::milliseconds flush_interval{200};
    systask::testing::pg_cluster* server = nullptr;  // null: cluster()
  };

  explicit replica(const options& o) {
    systask::registry_options ro;
    ro.default_task.history_depth = o.history_depth;
    reg = std::make_unique<systask::registry>(io.context(), ro);
    reg->register_provider("google_workspace", 1, "Acme Google Workspace");
    if (o.lock) {
      systask::pg_cluster_lock_options lo;
      lo.conninfo = (o.server ? *o.server : cluster()).conninfo();
      lo.lock_namespace = o.name_space;
      lock = std::make_shared<systask::pg_cluster_lock>(io.context().get_executor(), lo);
      reg->set_cluster_lock(lock);
    }
    if (o.history) {
      systask::pg_history_options ho;
      ho.conninfo = (o.server ? *o.server : cluster()).conninfo();
      ho.name_space = o.name_space;
      ho.flush_interval = o.flush_interval;
      history.emplace(*reg, ho);
    }
    if (history && !history->wait_ready(30s)) sb::fail_run("pg_history did not connect: " + history->stats().reason);
    if (lock && !wait_for([&] { return lock->connected(); })) sb::fail_run("pg_cluster_lock did not connect");
  }
  // Closed in order; the io_thread (the first member, so the last to go) then lets what the
  // destructors queued run (the connections' closing) before it stops the context.
  ~replica() {
    history.reset();
    lock.reset();
    reg.reset();
  }
  replica(const replica&) = delete;
  replica& operator=(const replica&) = delete;

  systask::testing::io_thread io;
  std::unique_ptr<systask::registry> reg;
  std::shared_ptr<systask::pg_cluster_lock> lock;
  std::optional<systask::pg_history> history;
};

// A blocking libpq connection to the server, for the baselines that write or ask directly.
struct blocking_connection {
  explicit blocking_connection(const systask::testing::pg_cluster& server = cluster())
      : conn(PQconnectdb(server.conninfo().c_str())) {
    if (PQstatus(conn) != CONNECTION_OK) sb::fail_run(std::string("libpq connect failed: ") + PQerrorMessage(conn));
  }
  ~blocking_connection() { PQfinish(conn); }
  blocking_connection(const blocking_connection&) = delete;
  blocking_connection& operator=(const blocking_connection&) = delete;
  PGconn* conn;
};

// --- 1. append -----------------------------------------------------------------------------------

void append(benchmark::State& state, bool with_pg) {
  replica::options o;
  o.lock = with_pg;
  o.history = with_pg;
  o.name_space = "bench_append";
  replica h(o);
  systask::run r = h.reg->start({.name = "append"});
  std::int64_t i = 0;
  for (auto _ : state) {
    r.info("synced object", {{"n", i++}});
  }
  state.SetItemsProcessed(state.iterations());
  const std::string uuid(r.uuid());
  r.finish(systask::task_status::successful);
  if (with_pg && !wait_for([&] { return h.history->stats().written >= 1; })) {
    sb::fail_run("the appended run was not written to PostgreSQL: " + h.history->stats().reason);
  }
}
void BM_pg_append_none(benchmark::State& state) { append(state, false); }
void BM_pg_append_postgresql(benchmark::State& state) { append(state, true); }
BENCHMARK(BM_pg_append_none)->Name("BM_pg_append/none");
BENCHMARK(BM_pg_append_postgresql)->Name("BM_pg_append/postgresql");

// --- 2. finished runs into PostgreSQL --------------------------------------------------------

constexpr int messages_per_run = 20;

void produce_run(systask::registry& reg, const std::string& uid) {
  systask::run r = reg.start({.name = "sync", .uid = uid});
  for (int m = 0; m < messages_per_run; ++m) r.info("synced object", {{"n", m}});
  r.finish(systask::task_status::successful);
}

// pg_history's batches: every run finished as fast as possible, then the time until the
// history counts them all written. One replica for the whole benchmark (connecting is set-up).
void finished_batched(benchmark::State& state, bool durable) {
  const int runs = static_cast<int>(durable ? sb::sized(300, 5) : sb::sized(2000, 20));
  replica::options o;
  o.history = true;
  o.name_space = "bench_finished";
  o.flush_interval = 20ms;
  o.server = durable ? &durable_cluster() : &cluster();
  replica h(o);
  const std::uint64_t before = h.history->stats().written;
  std::int64_t total = 0;
  for (auto _ : state) {
    for (int k = 0; k < runs; ++k) produce_run(*h.reg, std::to_string(total + k));
    total += runs;
    const std::uint64_t want = before + static_cast<std::uint64_t>(total);
    if (!wait_for([&] { return h.history->stats().written >= want; }, 60s)) {
      sb::fail_run("pg_history did not write every run: " + std::to_string(h.history->stats().written - before) + " of " +
                   std::to_string(total) + " (" + h.history->stats().reason + ")");
    }
  }
  const auto s = h.history->stats();
  if (s.written - before != static_cast<std::uint64_t>(total) || s.dropped != 0 || s.write_errors != 0) {
    sb::fail_run("pg_history's counts do not add up: written " + std::to_string(s.written - before) + " of " +
                 std::to_string(total) + ", dropped " + std::to_string(s.dropped) + ", write errors " +
                 std::to_string(s.write_errors));
  }
  state.SetItemsProcessed(total);
  state.counters["runs_per_second"] = benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
}

// The rows pg_history writes for a finished run (systask_run and its systask_message rows, the
// messages in the engine's compact format), in one statement, so one transaction.
constexpr const char* per_run_sql =
    "with r as (insert into systask_run (uuid, namespace, replica, name, uid, description, provider_kind, provider_id,"
    " state, status, start_ns, finish_ns, duration, expires_ns, overflow, appended, dropped, prefilled)"
    " values ($1::uuid, $2, $3::uuid, $4, $5, $6, null, null, 1, $7::smallint, $8::bigint, $9::bigint,"
    " $10::double precision, $11::bigint, $12::smallint, $13::bigint, $14::bigint, $15::boolean))"
    " insert into systask_message (run_uuid, seq, compact)"
    " select $1::uuid, m.seq, decode(m.hex, 'hex') from unnest($16::bigint[], $17::text[]) as m(seq, hex)";

void write_one_transaction(PGconn* conn, const systask::run_image& im) {
  std::string seqs = "{", hexes = "{";
  for (const auto& m : im.messages) {
    if (seqs.size() > 1) {
      seqs += ',';
      hexes += ',';
    }
    seqs += std::to_string(m.seq);
    hexes += systask::detail::pg_hex(m.compact);
  }
  seqs += '}';
  hexes += '}';
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.17g", im.duration);
  const std::string values[] = {im.uuid,
                                "bench_per_run",
                                "00000000-0000-4000-8000-000000000001",
                                im.name,
                                im.uid,
                                im.description,
                                std::to_string(static_cast<int>(im.status)),
                                std::to_string(systask::detail::pg_nanos(im.start)),
                                std::to_string(systask::detail::pg_nanos(im.finish)),
                                duration,
                                im.expires ? std::to_string(systask::detail::pg_nanos(*im.expires)) : std::string(),
                                std::to_string(static_cast<int>(im.overflow)),
                                std::to_string(im.appended),
                                std::to_string(im.dropped),
                                im.prefilled ? "true" : "false",
                                seqs,
                                hexes};
  const char* params[17];
  for (int i = 0; i < 17; ++i) params[i] = values[i].c_str();
  if (!im.expires) params[10] = nullptr;
  PGresult* res = PQexecParams(conn, per_run_sql, 17, nullptr, params, nullptr, nullptr, 0);
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
                  std::string_view(PQcmdTuples(res)) == std::to_string(im.messages.size());
  const std::string error = ok ? "" : std::string(PQresultErrorMessage(res)) + " (" + PQcmdTuples(res) + " rows)";
  PQclear(res);
  if (!ok) sb::fail_run("a per-run INSERT failed: " + error);
}

// One transaction per run, written by the producing thread right after the run finished,
// through blocking libpq: the cheapest way to do it (no executor hop, no queue), so the ratio
// to the batches is not flattered. The schema is pg_history's (a replica created it).
void finished_per_run(benchmark::State& state, bool durable) {
  const int runs = static_cast<int>(durable ? sb::sized(300, 5) : sb::sized(2000, 20));
  replica::options o;
  o.history = true;  // creates the schema; writes nothing (no run recorded in its registry)
  o.name_space = "bench_per_run_schema";
  o.server = durable ? &durable_cluster() : &cluster();
  replica schema(o);
  boost::asio::io_context io;
  systask::registry reg(io);
  blocking_connection db(*o.server);
  std::int64_t total = 0;
  for (auto _ : state) {
    for (int k = 0; k < runs; ++k) {
      const std::string uid = "per_run." + std::to_string(total + k);
      produce_run(reg, uid);
      const auto finished = reg.tasks("sync", uid);
      if (finished.size() != 1) sb::fail_run("the finished run is not in the registry");
      write_one_transaction(db.conn, systask::make_run_image(finished.front()));
    }
    total += runs;
    state.PauseTiming();
    io.poll();  // the registry's strand work (observers, expiry) between iterations
    state.ResumeTiming();
  }
  state.SetItemsProcessed(total);
  state.counters["runs_per_second"] = benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
}
void BM_pg_finished_batched(benchmark::State& state) { finished_batched(state, false); }
void BM_pg_finished_per_run(benchmark::State& state) { finished_per_run(state, false); }
void BM_pg_finished_durable_batched(benchmark::State& state) { finished_batched(state, true); }
void BM_pg_finished_durable_per_run(benchmark::State& state) { finished_per_run(state, true); }
BENCHMARK(BM_pg_finished_batched)->Name("BM_pg_finished/batched")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_pg_finished_per_run)->Name("BM_pg_finished/per_run")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_pg_finished_durable_batched)
    ->Name("BM_pg_finished_durable/batched")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_pg_finished_durable_per_run)
    ->Name("BM_pg_finished_durable/per_run")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// --- 3. the lock's round trip ----------------------------------------------------------------

void BM_pg_lock_acquire_release(benchmark::State& state) {
  replica::options o;
  o.lock = true;
  o.name_space = "bench_lock";
  replica h(o);
  const systask::provider_ref provider{"google_workspace", 1};
  const std::uint64_t polls_before = h.lock->stats().polls;
  for (auto _ : state) {
    std::promise<systask::cluster_lock_answer> answer;
    h.lock->async_acquire(provider, [&answer](systask::cluster_lock_answer a) { answer.set_value(std::move(a)); });
    systask::cluster_lock_answer a = answer.get_future().get();
    if (a.status != systask::cluster_lock_status::acquired || !a.lease) {
      sb::fail_run("the lock was not acquired after its lease was destroyed: " + a.reason);
    }
    a.lease.reset();  // released on the lock's strand, before the next acquire
  }
  const auto s = h.lock->stats();
  if (s.acquired != static_cast<std::uint64_t>(state.iterations()) || s.held_elsewhere != 0 || s.unavailable != 0) {
    sb::fail_run("the lock's counts do not add up: acquired " + std::to_string(s.acquired) + " of " +
                 std::to_string(state.iterations()));
  }
  state.counters["pg_locks_reads_per_iteration"] =
      static_cast<double>(s.polls - polls_before) / static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
}
BENCHMARK(BM_pg_lock_acquire_release)->Name("BM_pg_lock/acquire_release")->UseRealTime()->Unit(benchmark::kMicrosecond);

// How soon another replica's is_running sees a take and a release: A acquires the provider's
// lock, B's held_elsewhere is read in a loop until true; A releases, until false. The row's time
// is the whole cycle; the counters are the two propagation delays (a notification, B's read of
// pg_locks, B's snapshot), averaged. docs/store.md quotes them; the replicas e2e test checks only
// the poll's bound, since time on a shared CI machine is not a check.
void BM_pg_lock_seen_elsewhere(benchmark::State& state) {
  replica::options o;
  o.lock = true;
  o.name_space = "bench_seen";
  replica a(o), b(o);
  const systask::provider_ref provider{"google_workspace", 1};
  using clock = std::chrono::steady_clock;
  const auto wait_until_b_sees = [&](bool held) {
    const auto t0 = clock::now();
    while (b.lock->held_elsewhere("google_workspace", 1) != held) {
      if (clock::now() - t0 > 10s) sb::fail_run(held ? "B never saw A's lock" : "B never saw A's release");
      std::this_thread::sleep_for(20us);
    }
    return std::chrono::duration<double, std::micro>(clock::now() - t0).count();
  };
  double seen_taken_us = 0, seen_released_us = 0;
  for (auto _ : state) {
    std::promise<systask::cluster_lock_answer> answer;
    a.lock->async_acquire(provider, [&answer](systask::cluster_lock_answer x) { answer.set_value(std::move(x)); });
    systask::cluster_lock_answer x = answer.get_future().get();
    if (x.status != systask::cluster_lock_status::acquired || !x.lease) sb::fail_run("A did not get the lock: " + x.reason);
    seen_taken_us += wait_until_b_sees(true);
    x.lease.reset();
    seen_released_us += wait_until_b_sees(false);
  }
  const double n = static_cast<double>(std::max<std::int64_t>(1, state.iterations()));
  state.counters["seen_taken_us"] = seen_taken_us / n;
  state.counters["seen_released_us"] = seen_released_us / n;
}
BENCHMARK(BM_pg_lock_seen_elsewhere)->Name("BM_pg_lock/seen_elsewhere")->UseRealTime()->Unit(benchmark::kMillisecond);

// `select 1` through pg_connection on a strand, as the lock's own queries travel: asked from
// another thread, as async_acquire is.
void select1(benchmark::State& state, bool chained) {
  using systask::detail::pg_connection;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  pg_connection::strand_type strand(io.get_executor());
  std::promise<bool> up;
  pg_connection::callbacks cb;
  cb.on_connected = [&up] { up.set_value(true); };
  cb.on_closed = [&up](std::string why) {
    try {
      up.set_value(false);
    } catch (const std::future_error&) {
      std::fprintf(stderr, "pg_connection closed: %s\n", why.c_str());
    }
  };
  auto conn = pg_connection::create(strand, pg_connection::prepare(cluster().conninfo()), 10s, std::move(cb));
  std::thread thread([&io] { io.run(); });
  boost::asio::post(strand, [conn] { conn->start(); });
  if (!up.get_future().get()) sb::fail_run("pg_connection did not connect");
  // chained: each query sent from the previous one's handler on the strand, no thread hop:
  // the connection's own round trip (the row's time is for `chain` queries).
  const int chain = chained ? 64 : 1;
  for (auto _ : state) {
    std::promise<bool> done;
    auto left = std::make_shared<int>(chain);
    auto ask = std::make_shared<std::function<void()>>();
    *ask = [&done, &conn, left, ask] {
      conn->query("select 1", {}, [&done, left, ask](systask::detail::pg_result r) {
        const bool ok = r.ok && r.rows.size() == 1 && r.rows[0].size() == 1 && r.rows[0][0] == "1";
        if (!ok || --*left == 0) {
          done.set_value(ok);
          *ask = nullptr;  // breaks the cycle
        } else {
          (*ask)();
        }
      });
    };
    boost::asio::post(strand, [ask] { (*ask)(); });
    if (!done.get_future().get()) sb::fail_run("select 1 failed");
  }
  if (chained) state.counters["queries_per_iteration"] = chain;
  std::promise<void> closed;
  boost::asio::post(strand, [&] {
    conn->close();
    closed.set_value();
  });
  closed.get_future().wait();
  work.reset();
  io.stop();
  thread.join();
}
void BM_pg_lock_select1(benchmark::State& state) { select1(state, false); }
void BM_pg_lock_select1_chained(benchmark::State& state) { select1(state, true); }
BENCHMARK(BM_pg_lock_select1)->Name("BM_pg_lock/select1")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_pg_lock_select1_chained)->Name("BM_pg_lock/select1_chained_64")->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_pg_lock_select1_blocking(benchmark::State& state) {
  blocking_connection db;
  for (auto _ : state) {
    // The extended protocol, as pg_connection's PQsendQueryParams (PQexec's simple protocol
    // is cheaper on the server).
    PGresult* res = PQexecParams(db.conn, "select 1", 0, nullptr, nullptr, nullptr, nullptr, 0);
    const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    if (!ok) sb::fail_run("select 1 failed");
  }
}
BENCHMARK(BM_pg_lock_select1_blocking)->Name("BM_pg_lock/select1_blocking")->UseRealTime()->Unit(benchmark::kMicrosecond);

// --- 4. status on a replica ------------------------------------------------------------------

systask::api::request status_request() {
  auto req = systask::api::request::from_target("GET", "/api/v3/providers/google_workspace/1/sync/status/");
  req.headers.emplace_back("Authorization", "Bearer bench");  // sb::bench_token; the headers are views
  return req;
}

void record_runs(systask::registry& reg, int runs, int messages) {
  int n = 0;
  for (int r = 0; r < runs; ++r) {
    systask::run run = reg.start(reg.sync_spec("google_workspace", 1, "Run full sync for provider \"Acme\""));
    for (int i = 0; i < messages; ++i) sb::log_input(run, sb::sample_input(n++));
    run.finish(systask::task_status::successful);
  }
}

// Replica A records the runs; replica B (lock and history, as a host runs it) mirrors them;
// a memory-only registry records the same runs itself. Built once per shape.
struct status_world {
  status_world(int runs, int messages) {
    const std::string ns = "bench_status_" + std::to_string(runs) + "x" + std::to_string(messages);
    replica::options ao;
    ao.history = true;
    ao.name_space = ns;
    ao.history_depth = static_cast<std::size_t>(runs);
    ao.flush_interval = 20ms;
    a = std::make_unique<replica>(ao);
    record_runs(*a->reg, runs, messages);
    if (!wait_for([&] { return a->history->stats().written == static_cast<std::uint64_t>(runs); })) {
      sb::fail_run("replica A did not write its runs: " + a->history->stats().reason);
    }
    replica::options bo = ao;
    bo.lock = true;
    b = std::make_unique<replica>(bo);  // mirrors A's runs at its first resync
    if (!wait_for([&] {
          const auto s = b->reg->sync_status("google_workspace", 1);
          return s && s->tasks.size() == static_cast<std::size_t>(runs);
        })) {
      sb::fail_run("replica B did not mirror replica A's runs");
    }
    replica::options mo;
    mo.history_depth = static_cast<std::size_t>(runs);
    memory = std::make_unique<replica>(mo);
    record_runs(*memory->reg, runs, messages);
    a_api = sb::make_bench_facade(*a->reg);
    b_api = sb::make_bench_facade(*b->reg);
    memory_api = sb::make_bench_facade(*memory->reg);
    const auto from_a = a_api->handle(status_request());
    const auto from_b = b_api->handle(status_request());
    const auto from_memory = memory_api->handle(status_request());
    if (from_a.status != 200 || from_b.status != 200 || from_memory.status != 200) {
      sb::fail_run("a status request was not answered 200");
    }
    // The mirror holds A's runs as ordinary records, and the provider's last outcome with them:
    // B serves A's body, every run and message and last_sync_status, byte for byte.
    rapidjson::Document body_a, body_b;
    body_a.Parse(from_a.body.data(), from_a.body.size());
    body_b.Parse(from_b.body.data(), from_b.body.size());
    if (body_a.HasParseError() || body_b.HasParseError() || !body_a.IsObject() || !body_b.IsObject()) {
      sb::fail_run("a replica's status body is not a JSON object");
    }
    if (const std::string why = sb::detail::first_difference(body_a, body_b, "$"); !why.empty()) {
      sb::fail_run("replica B's status body differs from replica A's: " + why);
    }
    if (from_a.body != from_b.body) sb::fail_run("replica B's status body is not replica A's byte for byte");
    // The memory-only registry holds runs of the same shape (its uuids and times differ).
    const std::size_t memory_size = from_memory.body.size(), b_size = from_b.body.size();
    if (memory_size < b_size * 9 / 10 || memory_size > b_size * 11 / 10) {
      sb::fail_run("the memory-only body (" + std::to_string(memory_size) + " B) is not the size of replica B's (" +
                   std::to_string(b_size) + " B)");
    }
  }
  ~status_world() {
    a_api.reset();
    b_api.reset();
    memory_api.reset();
  }
  std::unique_ptr<replica> a, b, memory;
  std::unique_ptr<systask::api::facade> a_api, b_api, memory_api;
};

status_world& world(int runs, int messages) {
  cluster();  // constructed first, so destroyed after the worlds
  static std::map<std::pair<int, int>, std::unique_ptr<status_world>> worlds;
  auto& w = worlds[{runs, messages}];
  if (!w) w = std::make_unique<status_world>(runs, messages);
  return *w;
}

void time_status(benchmark::State& state, bool on_replica_b) {
  auto& w = world(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  systask::api::facade& api = on_replica_b ? *w.b_api : *w.memory_api;
  const auto request = status_request();
  if (const auto first = api.handle(request); first.status != 200) {
    sb::fail_run("the status request was answered " + std::to_string(first.status) + ": " + first.body);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto response = api.handle(request);
    bytes = response.body.size();
    benchmark::DoNotOptimize(response);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
void BM_pg_status_replica_b(benchmark::State& state) { time_status(state, true); }
void BM_pg_status_memory_only(benchmark::State& state) { time_status(state, false); }

// What replica B's status read adds to the memory-only one whatever the body: the lock's
// held_elsewhere (is_running), which hashes the provider's lock name (SHA-256) and searches the
// snapshot of the keys other sessions hold.
void BM_pg_status_held_elsewhere(benchmark::State& state) {
  auto& w = world(1, 10);
  for (auto _ : state) {
    bool held = w.b->lock->held_elsewhere("google_workspace", 1);
    benchmark::DoNotOptimize(held);
  }
}
BENCHMARK(BM_pg_status_held_elsewhere)->Name("BM_pg_status/held_elsewhere")->UseRealTime();

void status_shapes(benchmark::internal::Benchmark* b) {
  b->Args({1, 10});
  b->Args({16, 100});
  b->ArgNames({"runs", "messages"});
  b->UseRealTime();
}
BENCHMARK(BM_pg_status_replica_b)->Name("BM_pg_status/replica_b")->Apply(status_shapes);
BENCHMARK(BM_pg_status_memory_only)->Name("BM_pg_status/memory_only")->Apply(status_shapes);

}  // namespace

BENCHMARK_MAIN();
