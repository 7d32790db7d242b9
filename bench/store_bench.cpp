// SPDX-License-Identifier: BSL-1.0
// The SQLite store's costs, each next to its baseline in the same run (docs/store.md):
// - append_none / append_sqlite: one run's `info` with no store vs a SQLite store attached
//   (which reads the running run's new messages every 10 ms); target <= 1.05x;
// - finished_batched / finished_per_run: runs of 20 messages finished and written to SQLite, by
//   the store's batches vs one transaction per run (a flush after each); runs per second;
// - restore_store / restore_sqlite3_shell: start-up of a registry from a file of 100,000
//   finished runs (2 messages each) vs the `sqlite3` shell reading the same rows into /dev/null.

#include "bench_support.hpp"

#include <systask/engine.hpp>
#include <systask/store/sqlite.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace sb = systask::bench;

namespace {

using namespace std::chrono_literals;

std::string temp_path(const std::string& name) {
  const char* base = std::getenv("TMPDIR");
  return std::string(base && *base ? base : "/tmp") + "/systask-store-bench-" + std::to_string(::getpid()) + "-" + name;
}

void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(path + suffix);
}

// A registry whose strand runs on its own thread, as in a host.
struct host {
  host() : reg(io), work(io.get_executor()), thread([this] { io.run(); }) {}
  ~host() {
    work.reset();
    io.stop();
    thread.join();
  }
  boost::asio::io_context io;
  systask::registry reg;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::thread thread;
};

void append(benchmark::State& state, bool with_store) {
  const std::string path = temp_path("append.db");
  remove_db(path);
  host h;
  std::optional<systask::sqlite_store> store;
  if (with_store) {
    systask::sqlite_store_options o;
    o.path = path;
    o.flush_interval = 10ms;
    store.emplace(h.reg, o);
  }
  systask::run r = h.reg.start({.name = "append"});
  std::int64_t i = 0;
  for (auto _ : state) {
    r.info("synced object", {{"n", i++}});
  }
  state.SetItemsProcessed(state.iterations());
  r.finish(systask::task_status::successful);
  if (store) store->close();
  remove_db(path);
}
void BM_store_append_none(benchmark::State& state) { append(state, false); }
void BM_store_append_sqlite(benchmark::State& state) { append(state, true); }
BENCHMARK(BM_store_append_none)->Name("BM_store_append/none");
BENCHMARK(BM_store_append_sqlite)->Name("BM_store_append/sqlite");

void finished(benchmark::State& state, bool batched) {
  const int runs = static_cast<int>(sb::sized(2000, 20));
  std::int64_t total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = temp_path("finished.db");
    remove_db(path);
    {
      host h;
      systask::sqlite_store_options o;
      o.path = path;
      o.flush_interval = 1h;  // written by the flushes below only
      systask::sqlite_store store(h.reg, o);
      state.ResumeTiming();
      for (int k = 0; k < runs; ++k) {
        systask::run r = h.reg.start({.name = "sync", .uid = std::to_string(total + k)});
        for (int m = 0; m < 20; ++m) r.info("synced object", {{"n", m}});
        r.finish(systask::task_status::successful);
        if (!batched) {
          // One transaction per run: wait until the store heard of it, then write.
          while (store.stats().pending == 0) std::this_thread::yield();
          if (!store.flush()) sb::fail_run("a per-run flush failed");
        }
      }
      while (store.stats().pending + store.stats().written < static_cast<std::uint64_t>(runs)) std::this_thread::yield();
      if (!store.flush()) sb::fail_run("the final flush failed");
      state.PauseTiming();
      if (store.stats().written != static_cast<std::uint64_t>(runs)) sb::fail_run("not every run was written");
    }
    remove_db(path);
    total += runs;
    state.ResumeTiming();
  }
  state.SetItemsProcessed(total);
  state.counters["runs_per_second"] = benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
}
void BM_store_finished_batched(benchmark::State& state) { finished(state, true); }
void BM_store_finished_per_run(benchmark::State& state) { finished(state, false); }
BENCHMARK(BM_store_finished_batched)->Name("BM_store_finished/batched")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_store_finished_per_run)->Name("BM_store_finished/per_run")->Unit(benchmark::kMillisecond)->UseRealTime();

// The file both restore rows read, written once.
const std::string& restore_file() {
  static const std::string path = [] {
    const std::string p = temp_path("restore.db");
    remove_db(p);
    host h;
    systask::task_options keep;
    keep.retention = systask::task_options::never_expire;
    h.reg.configure_task("sync", keep);
    systask::sqlite_store_options o;
    o.path = p;
    o.flush_interval = 1h;
    systask::sqlite_store store(h.reg, o);
    const int runs = static_cast<int>(sb::sized(100'000, 200));
    for (int k = 0; k < runs; ++k) {
      systask::run r = h.reg.start({.name = "sync", .uid = std::to_string(k)});
      r.info("synced object", {{"n", k}});
      r.warning("object failed", {{"n", k}, {"reason", "quota"}});
      r.finish(systask::task_status::warning);
      if (k % 10'000 == 9'999) {
        while (store.stats().pending + store.stats().written < static_cast<std::uint64_t>(k + 1)) {
          std::this_thread::yield();
        }
        store.flush(60s);
      }
    }
    while (store.stats().pending + store.stats().written < static_cast<std::uint64_t>(runs)) std::this_thread::yield();
    if (!store.flush(60s) || store.stats().written != static_cast<std::uint64_t>(runs)) {
      sb::fail_run("writing the restore file failed");
    }
    store.close();
    std::atexit([] { remove_db(temp_path("restore.db")); });
    return p;
  }();
  return path;
}

void BM_store_restore_store(benchmark::State& state) {
  const std::string& path = restore_file();
  std::size_t restored = 0;
  for (auto _ : state) {
    auto h = std::make_unique<host>();
    systask::task_options keep;
    keep.retention = systask::task_options::never_expire;
    h->reg.configure_task("sync", keep);
    systask::sqlite_store_options o;
    o.path = path;
    auto store = std::make_unique<systask::sqlite_store>(h->reg, o);
    restored = store->restored().runs_restored;
    state.PauseTiming();  // closing and freeing are not start-up
    store.reset();
    h.reset();
    state.ResumeTiming();
  }
  if (restored != static_cast<std::size_t>(sb::sized(100'000, 200))) sb::fail_run("not every run was restored");
  state.counters["runs"] = static_cast<double>(restored);
}
BENCHMARK(BM_store_restore_store)->Name("BM_store_restore/store")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_store_restore_sqlite3_shell(benchmark::State& state) {
#ifdef SYSTASK_SQLITE3_SHELL
  const std::string& path = restore_file();
  const std::string command = std::string(SYSTASK_SQLITE3_SHELL) + " " + path +
                              " 'SELECT * FROM runs; SELECT * FROM messages;' > /dev/null";
  for (auto _ : state) {
    if (std::system(command.c_str()) != 0) sb::fail_run("the sqlite3 shell failed: " + command);
  }
#else
  state.SkipWithError("the sqlite3 shell was not found at configure time (Debian package sqlite3)");
#endif
}
BENCHMARK(BM_store_restore_sqlite3_shell)
    ->Name("BM_store_restore/sqlite3_shell")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
