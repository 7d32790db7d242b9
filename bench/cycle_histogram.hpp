// SPDX-License-Identifier: BSL-1.0
#pragma once

// Per-operation latency in CPU cycles (rdtsc), bucketed on a log scale, for the p50/p99 that
// Google Benchmark does not give. Cycles, not nanoseconds: the ratios between rows are what the
// report uses, and both sides of a ratio pay the same rdtsc overhead.

#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <array>
#include <cstdint>

namespace systask::bench {

class cycle_histogram {
 public:
  static std::uint64_t now() noexcept { return __rdtsc(); }

  void record(std::uint64_t cycles) noexcept {
    // 8 sub-buckets per power of two: at most 12.5% error on a percentile.
    const int log = cycles ? 63 - __builtin_clzll(cycles) : 0;
    const int sub = log >= 3 ? static_cast<int>((cycles >> (log - 3)) & 7) : 0;
    ++buckets_[static_cast<std::size_t>(log * 8 + sub)];
    ++count_;
  }

  double percentile(double p) const noexcept {
    const std::uint64_t target = static_cast<std::uint64_t>(p * static_cast<double>(count_));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen > target) {
        const int log = static_cast<int>(i / 8), sub = static_cast<int>(i % 8);
        return log >= 3 ? static_cast<double>((8ull + static_cast<unsigned>(sub)) << (log - 3)) : static_cast<double>(1 << log);
      }
    }
    return 0;
  }

  void report(benchmark::State& state) const {
    state.counters["p50_cycles"] = percentile(0.50);
    state.counters["p99_cycles"] = percentile(0.99);
  }

 private:
  std::array<std::uint64_t, 64 * 8> buckets_{};
  std::uint64_t count_ = 0;
};

}  // namespace systask::bench
