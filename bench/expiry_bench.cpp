// SPDX-License-Identifier: BSL-1.0
// Expiry must cost in proportion to what expires (K runs), not to what lives (N runs). One
// reclamation pass over K expired runs among N live ones, on a manual clock; setup is not timed.
// Rows (named for stable smoke names; counters say the sizes):
// - k_small_n_none, k_small_n_mid, k_small_n_large, k_large_n_large: K in {100, 1,000},
//   N in {0, 10,000, 100,000};
// - first_pass: the first pass after building N = 100,000 live runs, timed on its own. Building
//   N runs leaves glibc's unsorted free list long, and the first allocations after it pay once to
//   sort it; the steady-state rows reclaim such a first wave untimed, and this row reports the
//   one-off stall (it runs on the registry's strand, which shares the host's executor).

#include "bench_support.hpp"

#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

namespace sb = systask::bench;

namespace {

struct expiry_world {
  std::shared_ptr<systask::manual_clock> clock = std::make_shared<systask::manual_clock>();
  std::unique_ptr<boost::asio::io_context> io = std::make_unique<boost::asio::io_context>();
  std::unique_ptr<systask::registry> reg;

  // `live` long-lived runs, then `waves` waves of `expired` short-lived runs a second apart.
  expiry_world(int expired, int live, int waves) {
    reg = std::make_unique<systask::registry>(*io, systask::registry_options{{}, clock});
    systask::task_options short_lived;
    short_lived.retention = std::chrono::seconds(1);
    reg->configure_task("short", short_lived);
    for (int i = 0; i < live; ++i) {
      systask::run_spec spec;
      spec.name = "long";
      spec.uid = std::to_string(i);
      reg->start(spec).finish(systask::task_status::successful);
    }
    for (int wave = 0; wave < waves; ++wave) {
      for (int i = 0; i < expired; ++i) {
        systask::run_spec spec;
        spec.name = "short";
        spec.uid = std::to_string(wave) + "-" + std::to_string(i);
        reg->start(spec).finish(systask::task_status::successful);
      }
      if (wave + 1 < waves) clock->advance(std::chrono::seconds(1));
    }
    io->poll();  // deadlines reach the strand (the armed timer keeps the context from stopping)
  }
  void reclaim() {
    reg->reclaim_expired();
    io->poll();
  }
  void expect_held(std::size_t n, const char* what) const {
    if (reg->records_held() != n) {
      sb::fail_run(std::string(what) + ": " + std::to_string(reg->records_held()) + " records held, expected " +
                   std::to_string(n));
    }
  }
  ~expiry_world() {
    reg.reset();
    io.reset();
  }
};

void BM_expiry_reclaim(benchmark::State& state, int expired, int live) {
  for (auto _ : state) {
    state.PauseTiming();
    auto w = std::make_unique<expiry_world>(expired, live, 2);
    w->clock->advance(std::chrono::milliseconds(500));  // the first wave is due, the second not yet
    w->reclaim();
    w->expect_held(static_cast<std::size_t>(live + expired), "the first wave was not reclaimed alone");
    w->clock->advance(std::chrono::seconds(1));  // now the second wave is due
    state.ResumeTiming();
    w->reclaim();
    state.PauseTiming();
    w->expect_held(static_cast<std::size_t>(live), "reclamation left expired runs");
    w.reset();
    state.ResumeTiming();
  }
  state.counters["expired"] = expired;
  state.counters["live"] = live;
}

void BM_expiry_first_pass(benchmark::State& state, int expired, int live) {
  for (auto _ : state) {
    state.PauseTiming();
    auto w = std::make_unique<expiry_world>(expired, live, 1);
    w->clock->advance(std::chrono::milliseconds(1500));
    state.ResumeTiming();
    w->reclaim();
    state.PauseTiming();
    w->expect_held(static_cast<std::size_t>(live), "the first pass left expired runs");
    w.reset();
    state.ResumeTiming();
  }
  state.counters["expired"] = expired;
  state.counters["live"] = live;
}

const int k_small = static_cast<int>(sb::sized(100, 10));
const int k_large = static_cast<int>(sb::sized(1000, 100));
const int n_mid = static_cast<int>(sb::sized(10000, 100));
const int n_large = static_cast<int>(sb::sized(100000, 1000));

void common(benchmark::internal::Benchmark* b) { b->Iterations(5)->Unit(benchmark::kMicrosecond); }

BENCHMARK_CAPTURE(BM_expiry_reclaim, k_small_n_none, k_small, 0)->Apply(common);
BENCHMARK_CAPTURE(BM_expiry_reclaim, k_small_n_mid, k_small, n_mid)->Apply(common);
BENCHMARK_CAPTURE(BM_expiry_reclaim, k_small_n_large, k_small, n_large)->Apply(common);
BENCHMARK_CAPTURE(BM_expiry_reclaim, k_large_n_large, k_large, n_large)->Apply(common);
BENCHMARK_CAPTURE(BM_expiry_first_pass, k_small_n_large, k_small, n_large)->Apply(common);

}  // namespace

BENCHMARK_MAIN();
