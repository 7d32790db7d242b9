// SPDX-License-Identifier: BSL-1.0
// Paths whose cost may grow with the number of runs held, each measured through the facade at a
// small and a large registry in the same run of the benchmark (1,000 and 100,000 finished runs,
// one task key and one message each; rows named small/large, the counter says how many):
// - retrieve a task by uuid (GET /events/system_tasks/<uuid>/) and run it (POST .../run/, the
//   runner queued and run on the io_context inside the loop);
// - the task list: a filter, an ordering and a page of 100
//   (GET /events/system_tasks/?status=error&ordering=-finish_timestamp&page_size=100), next to
//   SQLite answering the same query from an indexed in-memory table in the same process and
//   writing the same body with RapidJSON (its body checked equivalent to systask's first);
// - GET /metrics, reported per task key.

#include "bench_support.hpp"
#include "rapidjson_peers.hpp"
#include "bench_facade.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <sqlite3.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sb = systask::bench;

namespace {

constexpr int page_size = 100;
constexpr const char* list_target =
    "/api/v3/events/system_tasks/?status=error&ordering=-finish_timestamp&page_size=100";

std::int64_t micros(systask::wall_time t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

void sqlite_check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    sb::fail_run(std::string("sqlite: ") + what + ": " + sqlite3_errmsg(db));
  }
}

// The same finished runs in an in-memory SQLite table indexed for the query, and the query
// answered as a competent user writes it: prepared once, bound per request, the page's rows
// written with RapidJSON as they are stepped, each run's stored messages spliced whole.
class sqlite_peer {
 public:
  explicit sqlite_peer(const std::vector<systask::task_record>& records) {
    sqlite_check(sqlite3_open(":memory:", &db_), db_, "open");
    exec(
        "CREATE TABLE tasks (uuid TEXT PRIMARY KEY, name TEXT NOT NULL, uid TEXT NOT NULL, description TEXT NOT NULL,"
        " start_us INTEGER NOT NULL, finish_us INTEGER NOT NULL, duration REAL NOT NULL, status TEXT NOT NULL,"
        " expires_us INTEGER, messages TEXT NOT NULL)");
    exec("CREATE INDEX tasks_by_status_finish ON tasks (status, finish_us DESC, uuid)");
    exec("BEGIN");
    sqlite3_stmt* insert = prepare("INSERT INTO tasks VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    std::string messages;
    for (const auto& r : records) {
      messages.clear();
      r.write_messages_json(messages);
      bind_text(insert, 1, r.uuid());
      bind_text(insert, 2, r.name());
      bind_text(insert, 3, r.uid());
      bind_text(insert, 4, r.description());
      sqlite3_bind_int64(insert, 5, micros(r.start_time()));
      sqlite3_bind_int64(insert, 6, micros(r.finish_time()));
      sqlite3_bind_double(insert, 7, r.duration());
      bind_text(insert, 8, systask::to_string(r.status()));
      if (r.expires()) {
        sqlite3_bind_int64(insert, 9, micros(*r.expires()));
      } else {
        sqlite3_bind_null(insert, 9);
      }
      bind_text(insert, 10, messages);
      sqlite_check(sqlite3_step(insert), db_, "insert");
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    exec("COMMIT");
    exec("ANALYZE");
    page_ = prepare(
        "SELECT uuid, name, uid, description, start_us, finish_us, duration, status, expires_us, messages FROM tasks"
        " WHERE status = ?1 ORDER BY finish_us DESC, uuid LIMIT ?2 OFFSET ?3");
    count_ = prepare("SELECT count(*) FROM tasks WHERE status = ?1");
    buf_.Reserve(1 << 20);
  }
  ~sqlite_peer() {
    sqlite3_finalize(page_);
    sqlite3_finalize(count_);
    sqlite3_close(db_);
  }
  sqlite_peer(const sqlite_peer&) = delete;
  sqlite_peer& operator=(const sqlite_peer&) = delete;

  /// Page 1 of the runs with `status`, newest finish first, as the task list's body.
  std::string list(std::string_view status) {
    bind_text(count_, 1, status);
    sqlite_check(sqlite3_step(count_), db_, "count");
    const auto count = static_cast<std::uint64_t>(sqlite3_column_int64(count_, 0));
    sqlite3_reset(count_);
    const std::uint64_t pages = count == 0 ? 1 : (count + page_size - 1) / page_size;

    buf_.Clear();
    sb::json_writer w(buf_);
    w.StartObject();
    sb::put_key(w, "pagination");
    w.StartObject();
    sb::put_key(w, "next");
    w.Uint64(pages > 1 ? 2 : 0);
    sb::put_key(w, "previous");
    w.Uint64(0);
    sb::put_key(w, "count");
    w.Uint64(count);
    sb::put_key(w, "current");
    w.Uint64(1);
    sb::put_key(w, "total_pages");
    w.Uint64(pages);
    sb::put_key(w, "start_index");
    w.Uint64(count == 0 ? 0 : 1);
    sb::put_key(w, "end_index");
    w.Uint64(std::min<std::uint64_t>(count, page_size));
    w.EndObject();
    sb::put_key(w, "results");
    w.StartArray();
    bind_text(page_, 1, status);
    sqlite3_bind_int(page_, 2, page_size);
    sqlite3_bind_int(page_, 3, 0);
    int rc;
    while ((rc = sqlite3_step(page_)) == SQLITE_ROW) {
      row r;
      r.uuid = text(page_, 0);
      r.name = text(page_, 1);
      r.uid = text(page_, 2);
      r.description = text(page_, 3);
      r.start = time_of(sqlite3_column_int64(page_, 4));
      r.finish = time_of(sqlite3_column_int64(page_, 5));
      r.duration = sqlite3_column_double(page_, 6);
      r.status = *systask::from_string<systask::task_status>(text(page_, 7));
      if (sqlite3_column_type(page_, 8) != SQLITE_NULL) r.expires = time_of(sqlite3_column_int64(page_, 8));
      r.messages.text = text(page_, 9);
      sb::put_task(w, r);
    }
    sqlite_check(rc, db_, "page");
    sqlite3_reset(page_);
    w.EndArray();
    w.EndObject();
    return {buf_.GetString(), buf_.GetSize()};
  }

 private:
  struct row {
    std::string_view uuid, name, uid, description;
    systask::wall_time start, finish;
    double duration = 0;
    systask::task_status status = systask::task_status::unknown;
    sb::raw_json_array messages;
    std::optional<systask::wall_time> expires;
  };
  static systask::wall_time time_of(std::int64_t us) { return systask::wall_time{std::chrono::microseconds{us}}; }
  static std::string_view text(sqlite3_stmt* s, int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
    return {p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s, col))};
  }
  void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite_check(sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC), db_, "bind");
  }
  void exec(const char* sql) { sqlite_check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), db_, sql); }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    sqlite_check(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr), db_, sql);
    return s;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* page_ = nullptr;
  sqlite3_stmt* count_ = nullptr;
  rapidjson::StringBuffer buf_;
};

// N finished runs of task "bench_task", uid i, one message each, every tenth an error; finish
// times 1 ms apart on a manual clock. The facade, a sample of uuids spread over all the runs,
// and the SQLite peer over the same records.
struct scaling_world {
  boost::asio::io_context io;
  std::shared_ptr<systask::manual_clock> clock = std::make_shared<systask::manual_clock>();
  std::unique_ptr<systask::registry> reg;
  std::unique_ptr<systask::api::facade> api;
  std::vector<std::string> uuids;  // 64 of them, spread over the registry
  std::unique_ptr<sqlite_peer> sqlite;
  int runs;
  std::uint64_t triggered = 0;

  explicit scaling_world(int n) : runs(n) {
    reg = std::make_unique<systask::registry>(io, systask::registry_options{{}, clock});
    reg->set_runner("bench_task", [this](const systask::run_spec&) { ++triggered; });
    const int stride = std::max(1, n / 64);
    for (int i = 0; i < n; ++i) {
      systask::run_spec spec;
      spec.name = "bench_task";
      spec.uid = std::to_string(i);
      spec.description = "Nightly directory sync " + std::to_string(i % 7);
      systask::run r = reg->start(spec);
      r.info("Synced page", {{"page", i}, {"objects", 100}});
      clock->advance(std::chrono::milliseconds(1));
      r.finish(i % 10 == 0 ? systask::task_status::error : systask::task_status::successful);
      if (i % stride == 0 && uuids.size() < 64) uuids.emplace_back(r.uuid());
    }
    io.poll();
    api = sb::make_bench_facade(*reg);
    sqlite = std::make_unique<sqlite_peer>(reg->list_tasks());
    sb::require_equivalent("task list at " + std::to_string(n) + " runs", get(list_target).body, sqlite->list("error"));
  }

  systask::api::response call(std::string_view method, const std::string& target) const {
    auto req = systask::api::request::from_target(method, target);
    req.headers.emplace_back("Authorization", "Bearer bench");
    return api->handle(req);
  }
  systask::api::response get(const std::string& target) const { return call("GET", target); }
};

scaling_world& world(int n) {
  static std::map<int, std::unique_ptr<scaling_world>> worlds;
  auto& w = worlds[n];
  if (!w) w = std::make_unique<scaling_world>(n);
  return *w;
}

const int small_n = static_cast<int>(sb::sized(1000, 100));
const int large_n = static_cast<int>(sb::sized(100000, 1000));

void expect_status(const systask::api::response& r, int status, const char* what) {
  if (r.status != status) sb::fail_run(std::string(what) + " was answered " + std::to_string(r.status));
}

void BM_task_retrieve(benchmark::State& state, const int* n) {
  auto& w = world(*n);
  std::vector<std::string> targets;
  for (const auto& u : w.uuids) targets.push_back("/api/v3/events/system_tasks/" + u + "/");
  for (const auto& t : targets) expect_status(w.get(t), 200, "a task retrieve");
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(w.get(targets[i++ % targets.size()]));
  state.counters["runs"] = *n;
}
BENCHMARK_CAPTURE(BM_task_retrieve, small, &small_n)->UseRealTime();
BENCHMARK_CAPTURE(BM_task_retrieve, large, &large_n)->UseRealTime();

void BM_task_run(benchmark::State& state, const int* n) {
  auto& w = world(*n);
  std::vector<std::string> targets;
  for (const auto& u : w.uuids) targets.push_back("/api/v3/events/system_tasks/" + u + "/run/");
  expect_status(w.call("POST", targets[0]), 204, "a task run");
  const std::uint64_t before = w.triggered;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.call("POST", targets[i++ % targets.size()]));
    w.io.poll();  // runs the queued runner
  }
  w.io.poll();
  if (w.triggered - before < static_cast<std::uint64_t>(state.iterations())) {
    sb::fail_run("a task run request did not reach its runner");
  }
  state.counters["runs"] = *n;
}
BENCHMARK_CAPTURE(BM_task_run, small, &small_n)->UseRealTime();
BENCHMARK_CAPTURE(BM_task_run, large, &large_n)->UseRealTime();

void BM_task_list_systask(benchmark::State& state, const int* n) {
  auto& w = world(*n);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto r = w.get(list_target);
    bytes = r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["runs"] = *n;
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(BM_task_list_systask, small, &small_n)->UseRealTime();
BENCHMARK_CAPTURE(BM_task_list_systask, large, &large_n)->UseRealTime();

void BM_task_list_sqlite(benchmark::State& state, const int* n) {
  auto& w = world(*n);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = w.sqlite->list("error");
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.counters["runs"] = *n;
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(BM_task_list_sqlite, small, &small_n)->UseRealTime();
BENCHMARK_CAPTURE(BM_task_list_sqlite, large, &large_n)->UseRealTime();

void BM_metrics(benchmark::State& state, const int* n) {
  auto& w = world(*n);
  expect_status(w.get("/metrics"), 200, "/metrics");
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto r = w.get("/metrics");
    bytes = r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["runs"] = *n;
  state.counters["task_keys"] = *n;
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(BM_metrics, small, &small_n)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_metrics, large, &large_n)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
