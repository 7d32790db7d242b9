// Registry paths: run start + finish next to a std::mutex + std::unordered_map registry; the
// status read while a writer appends flat out (each alone, then together); and expiry, which
// must cost in proportion to the K expired runs, not the N live ones.

#include "plain_model.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace sb = systask::bench;

namespace {

void BM_start_finish_systask(benchmark::State& state) {
  static boost::asio::io_context io;
  static systask::registry reg(io);
  const std::string uid = std::to_string(state.thread_index());
  for (auto _ : state) {
    systask::run r = reg.start({.name = "bench_task", .uid = uid, .description = "A benchmark task"});
    benchmark::DoNotOptimize(r.finish(systask::task_status::successful));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_start_finish_systask)->Threads(1)->Threads(2)->UseRealTime();

void BM_start_finish_mutex_map(benchmark::State& state) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::vector<sb::plain_run>> runs;
  const std::string uid = std::to_string(state.thread_index());
  std::uint64_t n = 0;
  for (auto _ : state) {
    sb::plain_run r{std::to_string(++n), "bench_task", uid, "A benchmark task", std::chrono::system_clock::now(), {}, {},
                    0, "unknown", {}};
    const auto t0 = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mutex);
      runs["bench_task:" + uid].push_back(r);
    }
    r.finish = std::chrono::system_clock::now();
    r.duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    {
      std::lock_guard lock(mutex);
      auto& v = runs["bench_task:" + uid];
      v.back() = r;
      if (v.size() > 1) v.erase(v.begin());  // history depth 1, like the registry's default
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_start_finish_mutex_map)->Threads(1)->Threads(2)->UseRealTime();

// Status read and message append, each alone and together (thread 0 reads, thread 1 writes).
struct contention_world {
  boost::asio::io_context io;
  systask::registry reg{io};
  std::unique_ptr<systask::api::facade> api;
  systask::run writer_run;
  contention_world() {
    systask::task_options o;
    o.max_messages = 128;  // a running sync whose ring is full and turning over
    reg.configure_task("google_workspace_sync", o);
    reg.register_provider("google_workspace", 1, "Acme Google Workspace");
    writer_run = reg.start(reg.sync_spec("google_workspace", 1));
    for (int i = 0; i < 128; ++i) writer_run.info("warm-up");
    auto tokens = std::make_shared<systask::api::static_tokens>();
    tokens->add("bench", {"bench", systask::api::all_permissions});
    systask::api::facade_options fo;
    fo.tokens = tokens;
    api = std::make_unique<systask::api::facade>(reg, fo);
  }
  std::string status() const {
    auto req = systask::api::request::from_target("GET",
                                                  "/api/v3/providers/google_workspace/1/sync/status/?include_running=true");
    req.headers.emplace_back("Authorization", "Bearer bench");
    return api->handle(req).body;
  }
  void append() {
    const auto& m = sb::sample_message({}, 3);
    writer_run.log(systask::log_level::warning, m.logger, m.event, {{"obj", "alice.3"}, {"attempt", 3}});
  }
};

void BM_contention_status_alone(benchmark::State& state) {
  contention_world w;
  for (auto _ : state) benchmark::DoNotOptimize(w.status());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_contention_status_alone)->UseRealTime();

void BM_contention_writer_alone(benchmark::State& state) {
  contention_world w;
  for (auto _ : state) w.append();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_contention_writer_alone)->UseRealTime();

// Status reads while a writer appends flat out on another thread for the whole measurement.
// (Not Google Benchmark's ->Threads(2): it gives every thread the same iteration count, so the
// faster writer would finish early and idle.)
void BM_contention_status_with_writer(benchmark::State& state) {
  contention_world w;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> appends{0};
  std::thread writer([&] {
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      w.append();
      ++n;
    }
    appends.store(n);
  });
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(w.status());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop.store(true);
  writer.join();
  state.counters["writer_appends_per_second"] = static_cast<double>(appends.load()) / secs;
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_contention_status_with_writer)->UseRealTime();

// Expiry: K expired runs among N live ones; one reclamation pass. Setup is not timed. The
// short-lived runs come in two waves a second apart and the first wave is reclaimed untimed:
// building N runs leaves glibc's unsorted free list long, and the first allocations after it
// pay once to sort it (measured 1.8 ms at N = 100,000, none of it systask's); the timed pass is
// the second wave, with the allocator in its steady state.
void BM_expiry_reclaim(benchmark::State& state) {
  const int expired = static_cast<int>(state.range(0)), live = static_cast<int>(state.range(1));
  for (auto _ : state) {
    state.PauseTiming();
    auto clock = std::make_shared<systask::manual_clock>();
    auto io = std::make_unique<boost::asio::io_context>();
    auto reg = std::make_unique<systask::registry>(*io, systask::registry_options{{}, clock});
    systask::task_options short_lived;
    short_lived.retention = std::chrono::seconds(1);
    reg->configure_task("short", short_lived);
    for (int i = 0; i < live; ++i) reg->start({.name = "long", .uid = std::to_string(i)}).finish(systask::task_status::successful);
    for (int wave = 0; wave < 2; ++wave) {
      for (int i = 0; i < expired; ++i) {
        reg->start({.name = "short", .uid = std::to_string(wave) + "-" + std::to_string(i)})
            .finish(systask::task_status::successful);
      }
      if (wave == 0) clock->advance(std::chrono::seconds(1));
    }
    io->poll();  // deadlines reach the strand (the armed timer keeps the context from stopping)
    clock->advance(std::chrono::milliseconds(500));  // the first wave is due, the second not yet
    reg->reclaim_expired();
    io->poll();
    if (reg->records_held() != static_cast<std::size_t>(live + expired)) {
      state.SkipWithError("the first wave was not reclaimed alone");
      break;
    }
    clock->advance(std::chrono::seconds(1));  // now the second wave is due
    state.ResumeTiming();
    reg->reclaim_expired();
    io->poll();
    state.PauseTiming();
    if (reg->records_held() != static_cast<std::size_t>(live)) {
      state.SkipWithError("reclamation left expired runs");
      break;
    }
    reg.reset();
    io.reset();
    state.ResumeTiming();
  }
  state.counters["expired"] = expired;
  state.counters["live"] = live;
}
BENCHMARK(BM_expiry_reclaim)
    ->Args({100, 0})
    ->Args({100, 10000})
    ->Args({100, 100000})
    ->Args({1000, 100000})
    ->ArgNames({"expired", "live"})
    ->Iterations(3)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
