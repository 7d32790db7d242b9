// Memory: bytes held per retained message against the size of its JSON, and resident memory
// across a churn of 1,000,000 runs with a short retention (it must stay flat). Allocations are
// counted by replacing the global operator new in this program only.

#include "plain_model.hpp"
#include "resident_memory.hpp"

#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
std::atomic<std::int64_t> live_bytes{0};
}

void* operator new(std::size_t n) {
  void* p = std::malloc(n + 16);
  if (!p) throw std::bad_alloc();
  *static_cast<std::size_t*>(p) = n;
  live_bytes.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
  return static_cast<char*>(p) + 16;
}
void* operator new(std::size_t n, std::align_val_t a) {
  // Over-aligned (the ring's 64-byte slots): keep the header in front of an aligned block.
  const std::size_t align = std::max<std::size_t>(static_cast<std::size_t>(a), 16);
  void* raw = std::aligned_alloc(align, ((n + align + align - 1) / align) * align);
  if (!raw) throw std::bad_alloc();
  *static_cast<std::size_t*>(raw) = n;
  live_bytes.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
  return static_cast<char*>(raw) + align;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  char* base = static_cast<char*>(p) - 16;
  live_bytes.fetch_sub(static_cast<std::int64_t>(*reinterpret_cast<std::size_t*>(base)), std::memory_order_relaxed);
  std::free(base);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete(void* p, std::align_val_t a) noexcept {
  if (!p) return;
  const std::size_t align = std::max<std::size_t>(static_cast<std::size_t>(a), 16);
  char* base = static_cast<char*>(p) - align;
  live_bytes.fetch_sub(static_cast<std::int64_t>(*reinterpret_cast<std::size_t*>(base)), std::memory_order_relaxed);
  std::free(base);
}
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { operator delete(p, a); }

namespace sb = systask::bench;

namespace {

using systask::test::resident_kib;

// Bytes the engine holds per retained message, for a run of `messages` messages, next to the
// average size of one message's JSON.
void BM_memory_per_message(benchmark::State& state) {
  const int messages = static_cast<int>(state.range(0));
  double per_message = 0, json = 0;
  for (auto _ : state) {
    boost::asio::io_context io;
    systask::registry reg(io);
    const std::int64_t before = live_bytes.load();
    systask::run r = reg.start({.name = "memory"});
    for (int i = 0; i < messages; ++i) {
      const auto m = sb::sample_message({}, i);
      r.log(systask::log_level::warning, m.logger, m.event, {{"obj", m.attributes.at("obj")}, {"attempt", 3}});
    }
    r.finish(systask::task_status::successful);
    const std::int64_t held = live_bytes.load() - before;
    std::string body;
    reg.tasks("memory", "")[0].write_messages_json(body);
    per_message = static_cast<double>(held) / messages;
    json = static_cast<double>(body.size() - 2 - (messages - 1)) / messages;  // without [ ] and commas
  }
  state.counters["bytes_per_message"] = per_message;
  state.counters["json_bytes_per_message"] = json;
  state.counters["target_bytes"] = 1.5 * json + 64;
}
BENCHMARK(BM_memory_per_message)->Arg(64)->Arg(1000)->Arg(4096)->ArgName("messages")->Iterations(1);

// Bytes a finished run holds, all in: its frozen record (texts and packed messages in one
// buffer), and its share of the task view, the uuid index and the expiry heap. Measured over
// 1,000 runs of one task key (created first, so its entry is not counted), once the handles
// are gone and the strand has taken the expiry deadlines. The `with_live_record` figure keeps
// every handle alive, so the live record (ring and its first chunk of slots) stays next to the
// frozen one: roughly what a finished run held before finished runs were frozen, plus the
// frozen record.
void BM_finished_run_bytes(benchmark::State& state) {
  const int messages = static_cast<int>(state.range(0));
  constexpr int runs = 1000;
  double frozen = 0, with_handles = 0;
  for (auto _ : state) {
    for (const bool keep_handles : {false, true}) {
      boost::asio::io_context io;
      systask::task_options o;
      o.history_depth = runs;
      systask::registry reg(io, systask::registry_options{o});
      reg.start({.name = "finished"}).finish(systask::task_status::successful);
      io.poll();
      std::vector<systask::run> handles;
      handles.reserve(runs);
      const std::int64_t before = live_bytes.load();
      for (int i = 0; i < runs; ++i) {
        systask::run r = reg.start({.name = "finished", .description = "Run full sync for provider \"Acme\""});
        for (int m = 0; m < messages; ++m) {
          const auto s = sb::sample_message({}, m);
          r.log(systask::log_level::warning, s.logger, s.event, {{"obj", s.attributes.at("obj")}, {"attempt", 3}});
        }
        r.finish(systask::task_status::successful);
        if (keep_handles) handles.push_back(std::move(r));
      }
      io.restart();
      io.poll();
      const std::int64_t held = live_bytes.load() - before;  // the handles' vector was reserved before
      (keep_handles ? with_handles : frozen) = static_cast<double>(held) / runs;
    }
  }
  state.counters["bytes_per_finished_run"] = frozen;
  state.counters["bytes_per_finished_run_with_live_record"] = with_handles;
}
BENCHMARK(BM_finished_run_bytes)->Arg(1)->Arg(10)->Arg(100)->ArgName("messages")->Iterations(1);

// Resident memory across a churn of runs with a short retention, reclaimed by the registry.
void BM_memory_churn(benchmark::State& state) {
  const long total = state.range(0);
  long rss_early = 0, rss_end = 0, held_end = 0;
  std::int64_t live_early = 0, live_end = 0;
  for (auto _ : state) {
    auto clock = std::make_shared<systask::manual_clock>();
    boost::asio::io_context io;
    systask::task_options o;
    o.retention = std::chrono::seconds(1);
    systask::registry reg(io, systask::registry_options{o, clock});
    for (long i = 0; i < total; ++i) {
      systask::run r = reg.start({.name = "churn", .uid = std::to_string(i % 64)});
      r.info("synced", {{"n", i}});
      r.finish(i % 10 ? systask::task_status::successful : systask::task_status::error);
      if (i % 1000 == 999) {
        clock->advance(std::chrono::seconds(2));
        // poll() stops a context that has run out of work (no timer armed once everything is
        // reclaimed); restart it as Asio requires, or later posts would queue up unrun.
        io.restart();
        io.poll();
        reg.reclaim_expired();
        io.restart();
        io.poll();
      }
      if (i == total / 10) {
        rss_early = resident_kib();
        live_early = live_bytes.load();
      }
    }
    rss_end = resident_kib();
    live_end = live_bytes.load();
    held_end = static_cast<long>(reg.records_held());
  }
  state.counters["runs"] = static_cast<double>(total);
  state.counters["rss_kib_at_10pct"] = static_cast<double>(rss_early);
  state.counters["rss_kib_at_end"] = static_cast<double>(rss_end);
  state.counters["rss_growth_ratio"] = rss_early ? static_cast<double>(rss_end) / static_cast<double>(rss_early) : 0;
  state.counters["records_held_at_end"] = static_cast<double>(held_end);
  state.counters["heap_bytes_at_10pct"] = static_cast<double>(live_early);
  state.counters["heap_bytes_at_end"] = static_cast<double>(live_end);
}
BENCHMARK(BM_memory_churn)->Arg(1'000'000)->ArgName("runs")->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
