// SPDX-License-Identifier: BSL-1.0
#pragma once

// What every benchmark program shares: the tiny sizes of CI's smoke runs, CPU pinning, checks
// that fail the whole run (not just one row) when a comparison would be meaningless, a
// JSON-equivalence check, and a latency histogram that merges across threads.

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <rapidjson/writer.h>
#include <x86intrin.h>

#include <pthread.h>
#include <sched.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace systask::bench {

/// True when SYSTASK_BENCH_SMOKE is set (to anything but "0"): CI runs every benchmark once at a
/// tiny size, to keep them compiling, running and checking their bodies. Any thread.
inline bool smoke() {
  static const bool on = [] {
    const char* v = std::getenv("SYSTASK_BENCH_SMOKE");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
  }();
  return on;
}

/// `full` normally, `tiny` in a smoke run.
inline std::int64_t sized(std::int64_t full, std::int64_t tiny) { return smoke() ? tiny : full; }

/// Ends the process with exit status 1 and `what` on stderr. For a comparison that must not be
/// timed (bodies that differ, counts that do not add up): a skipped row would leave the rest of
/// the report looking valid, and Google Benchmark exits 0 after SkipWithError.
[[noreturn]] inline void fail_run(const std::string& what) {
  std::fprintf(stderr, "\nsystask bench: FAILED: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

/// The CPUs this process may run on (as taskset left them), in order.
inline std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  return cpus;
}

/// Pins the calling thread to the `index`-th allowed CPU (modulo their number) and restores its
/// previous affinity when destroyed: Google Benchmark runs thread 0 of every benchmark on the
/// main thread, which must not stay pinned for the next benchmark.
class cpu_pin {
 public:
  explicit cpu_pin(int index) {
    saved_ok_ = pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0;
    const auto cpus = allowed_cpus();
    if (cpus.empty()) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[static_cast<std::size_t>(index) % cpus.size()], &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
  }
  ~cpu_pin() {
    if (saved_ok_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }
  cpu_pin(const cpu_pin&) = delete;
  cpu_pin& operator=(const cpu_pin&) = delete;

 private:
  cpu_set_t saved_{};
  bool saved_ok_ = false;
};

// --- JSON equivalence -----------------------------------------------------------------------

namespace detail {

inline std::string show(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  std::string s(sb.GetString(), sb.GetSize());
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  return s;
}

// The path of the first place where `a` and `b` differ ("" when they do not).
inline std::string first_difference(const rapidjson::Value& a, const rapidjson::Value& b, const std::string& path) {
  if (a.IsObject() && b.IsObject()) {
    for (auto m = a.MemberBegin(); m != a.MemberEnd(); ++m) {
      const std::string key(m->name.GetString(), m->name.GetStringLength());
      if (!b.HasMember(m->name)) return path + "." + key + " is missing from the second body";
      auto d = first_difference(m->value, b[m->name], path + "." + key);
      if (!d.empty()) return d;
    }
    for (auto m = b.MemberBegin(); m != b.MemberEnd(); ++m) {
      if (!a.HasMember(m->name)) {
        return path + "." + std::string(m->name.GetString(), m->name.GetStringLength()) +
               " is missing from the first body";
      }
    }
    return {};
  }
  if (a.IsArray() && b.IsArray()) {
    if (a.Size() != b.Size()) {
      return path + ": " + std::to_string(a.Size()) + " items vs " + std::to_string(b.Size());
    }
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      auto d = first_difference(a[i], b[i], path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return {};
  }
  if (a == b) return {};
  return path + ": " + show(a) + " vs " + show(b);
}

}  // namespace detail

/// Whether two JSON texts hold the same value: parsed (doubles at full precision) and compared
/// as values, object members in any order, array items in order. When they differ, `why` says
/// where. Any thread; allocates.
inline bool json_equivalent(std::string_view a, std::string_view b, std::string* why) {
  rapidjson::Document da, db;
  da.Parse<rapidjson::kParseFullPrecisionFlag>(a.data(), a.size());
  db.Parse<rapidjson::kParseFullPrecisionFlag>(b.data(), b.size());
  if (da.HasParseError() || db.HasParseError()) {
    *why = da.HasParseError() ? "the first body is not JSON" : "the second body is not JSON";
    return false;
  }
  *why = detail::first_difference(da, db, "$");
  return why->empty();
}

/// Fails the run (see fail_run) unless `peer_body` is equivalent to `systask_body`.
inline void require_equivalent(std::string_view what, std::string_view systask_body, std::string_view peer_body) {
  std::string why;
  if (!json_equivalent(systask_body, peer_body, &why)) {
    fail_run(std::string(what) + ": the peer's body differs from systask's: " + why);
  }
}

// --- latency --------------------------------------------------------------------------------

/// Time-stamp counter reads, fenced so that the work between two reads stays between them.
inline std::uint64_t ticks() noexcept {
  _mm_lfence();
  const std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}

/// Time-stamp counter ticks per nanosecond, measured once against steady_clock (20 ms).
inline double ticks_per_ns() {
  static const double rate = [] {
    const auto c0 = std::chrono::steady_clock::now();
    const std::uint64_t t0 = ticks();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto c1 = std::chrono::steady_clock::now();
    const std::uint64_t t1 = ticks();
    return static_cast<double>(t1 - t0) / static_cast<double>(std::chrono::nanoseconds(c1 - c0).count());
  }();
  return rate;
}

/// A log-linear histogram: exact below 16, then 16 buckets per power of two (at most 6.25%
/// wide; a percentile is reported as its bucket's midpoint, within 3.2%). Histograms of several
/// threads are merged by adding buckets, so a 2-thread percentile is a percentile of all the
/// samples, never a sum of per-thread percentiles. Not thread-safe: one thread records.
class latency_histogram {
 public:
  void record(std::uint64_t v) noexcept {
    ++buckets_[index(v)];
    ++count_;
  }
  void merge(const latency_histogram& o) noexcept {
    for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
  }
  void clear() noexcept {
    buckets_.fill(0);
    count_ = 0;
  }
  std::uint64_t count() const noexcept { return count_; }
  /// The value below which a fraction `p` of the samples lie (bucket midpoint); 0 when empty.
  double percentile(double p) const noexcept {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(p * static_cast<double>(count_ - 1));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen > rank) return midpoint(i);
    }
    return midpoint(buckets_.size() - 1);
  }

 private:
  static constexpr int sub_bits = 4;
  static std::size_t index(std::uint64_t v) noexcept {
    if (v < (1u << sub_bits)) return static_cast<std::size_t>(v);
    const int log = 63 - __builtin_clzll(v);
    const auto sub = static_cast<std::size_t>((v >> (log - sub_bits)) & ((1u << sub_bits) - 1));
    return (static_cast<std::size_t>(log - sub_bits + 1) << sub_bits) + sub;
  }
  static double midpoint(std::size_t i) noexcept {
    if (i < (1u << sub_bits)) return static_cast<double>(i);
    const int log = static_cast<int>(i >> sub_bits) + sub_bits - 1;
    const double width = static_cast<double>(std::uint64_t{1} << (log - sub_bits));
    const double low = static_cast<double>((std::uint64_t{1} << sub_bits) + (i & ((1u << sub_bits) - 1))) * width;
    return low + width / 2;
  }
  std::array<std::uint64_t, (64 - sub_bits + 1) << sub_bits> buckets_{};
  std::uint64_t count_ = 0;
};

/// Latency counters from per-thread histograms of ticks, set on thread 0 only (Google
/// Benchmark sums a counter over threads): p50/p99/p99.9 in ns of all threads' samples merged,
/// and each thread's own p99. Call on thread 0 after the timed loop (every thread has then
/// passed the loop's end barrier, so their histograms are complete).
inline void report_latency(benchmark::State& state, const latency_histogram* per_thread, int threads) {
  latency_histogram all;
  for (int t = 0; t < threads; ++t) all.merge(per_thread[t]);
  const double k = 1.0 / ticks_per_ns();
  state.counters["p50_ns"] = all.percentile(0.50) * k;
  state.counters["p99_ns"] = all.percentile(0.99) * k;
  state.counters["p999_ns"] = all.percentile(0.999) * k;
  for (int t = 0; t < threads; ++t) {
    state.counters["p99_ns_thread" + std::to_string(t)] = per_thread[t].percentile(0.99) * k;
  }
}

}  // namespace systask::bench
