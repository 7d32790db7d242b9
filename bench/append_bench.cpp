// SPDX-License-Identifier: BSL-1.0
// Message append: systask's run::log next to the naive baseline, spdlog's ringbuffer_sink_mt
// (which also formats on write), the shared_mutex store of pre-rendered messages, moodycamel's
// ConcurrentQueue carrying the same stored bytes in fixed slots, and the storage floor (a clock
// read plus a Boost.Lockfree spsc_queue push of the same stored bytes). Same inputs everywhere
// (plain_model.hpp: 3 attributes, every eighth message escape-heavy and non-ASCII), cycled.
//
// Throughput rows time the bare calls (no clock read in the loop); competing threads are pinned
// one per CPU. Latency is taken in separate BM_append_latency_* rows: batches of 8 appends between two
// fenced time-stamp-counter reads, one sample per batch (the batch's mean), per-thread
// histograms merged for the percentiles of all threads and kept apart for each thread's p99.

#include "bench_support.hpp"
#include "naive_store.hpp"
#include "plain_model.hpp"
#include "render_buffer.hpp"

#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/lockfree/spsc_queue.hpp>
#include <concurrentqueue/concurrentqueue.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace sb = systask::bench;

namespace {

constexpr std::size_t ring_messages = 4096;  // every store keeps this many, overwriting the oldest
constexpr int latency_batch = 8;

const std::array<sb::message_input, 8> inputs = [] {
  std::array<sb::message_input, 8> a;
  for (int i = 0; i < 8; ++i) a[static_cast<std::size_t>(i)] = sb::sample_input(i);
  return a;
}();

// Threads that compete are pinned one per CPU; a single thread is left to the scheduler (pinned
// to a CPU that something else wants, it could only lose).
template <class Append>
void throughput_loop(benchmark::State& state, Append&& append) {
  std::optional<sb::cpu_pin> pin;
  if (state.threads() > 1) pin.emplace(state.thread_index());
  std::size_t i = 0;
  for (auto _ : state) {
    append(inputs[i & 7]);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Append>
void latency_loop(benchmark::State& state, std::array<sb::latency_histogram, 2>& per_thread, Append&& append) {
  sb::cpu_pin pin(state.thread_index());
  auto& h = per_thread[static_cast<std::size_t>(state.thread_index())];
  h.clear();
  std::size_t i = 0;
  for (auto _ : state) {
    const std::uint64_t t0 = sb::ticks();
    for (int k = 0; k < latency_batch; ++k) append(inputs[(i + static_cast<std::size_t>(k)) & 7]);
    const std::uint64_t t1 = sb::ticks();
    h.record((t1 - t0) / latency_batch);
    i += latency_batch;
  }
  state.SetItemsProcessed(state.iterations() * latency_batch);
  if (state.thread_index() == 0) sb::report_latency(state, per_thread.data(), state.threads());
}

// --- systask ----------------------------------------------------------------------------------

boost::asio::io_context io;
systask::registry reg(io);

// Runs that live for the whole program, so every row measures a ring in its steady state (full,
// overwriting) rather than its first lap of chunk allocations.
systask::run& shared_run() {
  static systask::run r = [] {
    systask::run_spec spec;
    spec.name = "bench_append";
    return reg.start(spec);
  }();
  return r;
}
systask::run& own_run(int thread) {
  static std::array<systask::run, 2> runs = [] {
    std::array<systask::run, 2> a;
    for (int t = 0; t < 2; ++t) {
      systask::run_spec spec;
      spec.name = "bench_append_own";
      spec.uid = std::to_string(t);
      a[static_cast<std::size_t>(t)] = reg.start(spec);
    }
    return a;
  }();
  return runs[static_cast<std::size_t>(thread)];
}

void BM_append_systask(benchmark::State& state) {
  systask::run& r = shared_run();
  throughput_loop(state, [&](const sb::message_input& m) { benchmark::DoNotOptimize(sb::log_input(r, m)); });
}
BENCHMARK(BM_append_systask)->Threads(1)->Threads(2)->UseRealTime();

void BM_append_systask_distinct_runs(benchmark::State& state) {
  systask::run& r = own_run(state.thread_index());
  throughput_loop(state, [&](const sb::message_input& m) { benchmark::DoNotOptimize(sb::log_input(r, m)); });
}
BENCHMARK(BM_append_systask_distinct_runs)->Threads(1)->Threads(2)->UseRealTime();

// --- the naive baseline -----------------------------------------------------------------------

sb::naive_store& naive() {
  static auto clocks = systask::system_clocks();
  static sb::naive_store store(*clocks, 1, ring_messages);
  return store;
}
sb::naive_store::run* naive_run() {
  static sb::naive_store::run* r = naive().start("bench_append", "", "");
  return r;
}

void BM_append_naive(benchmark::State& state) {
  auto* r = naive_run();
  throughput_loop(state, [&](const sb::message_input& m) { naive().log(r, m); });
}
BENCHMARK(BM_append_naive)->Threads(1)->Threads(2)->UseRealTime();

// --- spdlog ringbuffer_sink_mt ----------------------------------------------------------------

spdlog::logger& spdlog_ring() {
  static spdlog::logger logger("bench", std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(ring_messages));
  return logger;
}
void spdlog_log(spdlog::logger& l, const sb::message_input& m) {
  l.warn("{} obj={} attempt={} dry_run={}", m.event, m.obj, m.attempt, m.dry_run);
}

void BM_append_spdlog_ringbuffer(benchmark::State& state) {
  auto& l = spdlog_ring();
  throughput_loop(state, [&](const sb::message_input& m) { spdlog_log(l, m); });
}
BENCHMARK(BM_append_spdlog_ringbuffer)->Threads(1)->Threads(2)->UseRealTime();

// --- std::shared_mutex + std::vector of pre-rendered messages ---------------------------------

sb::shared_mutex_store& shared_mutex_peer() {
  static auto clocks = systask::system_clocks();
  static sb::shared_mutex_store store(*clocks, ring_messages, {});
  return store;
}

void BM_append_shared_mutex(benchmark::State& state) {
  auto& s = shared_mutex_peer();
  throughput_loop(state, [&](const sb::message_input& m) { s.log(m); });
}
BENCHMARK(BM_append_shared_mutex)->Threads(1)->Threads(2)->UseRealTime();

// --- the same stored bytes in fixed slots ------------------------------------------------------

// A 256-byte slot holding what systask stores for a message (its compact form), like a ring slot.
struct stored_slot {
  std::uint32_t length = 0;
  char bytes[252];
};
static_assert(sizeof(stored_slot) == 256);

const std::array<stored_slot, 8>& stored() {
  static const std::array<stored_slot, 8> slots = [] {
    std::array<stored_slot, 8> a;
    std::string buf(systask::limits::message_bytes, '\0');
    for (std::size_t i = 0; i < 8; ++i) {
      const auto& m = inputs[i];
      const systask::attribute attrs[] = {{"obj", m.obj}, {"attempt", m.attempt}, {"dry_run", m.dry_run}};
      const std::size_t n = systask::detail::render_compact(buf.data(), std::chrono::system_clock::now(), m.level,
                                                            m.logger, m.event, attrs);
      if (n > sizeof a[i].bytes) sb::fail_run("a sample message does not fit a 256-byte slot");
      a[i].length = static_cast<std::uint32_t>(n);
      std::memcpy(a[i].bytes, buf.data(), n);
    }
    return a;
  }();
  return slots;
}

// The slot to store: the message's bytes with a fresh timestamp (its first 8 bytes), one copy.
stored_slot stamped(std::size_t i) {
  stored_slot s = stored()[i & 7];
  const std::int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::memcpy(s.bytes, &us, sizeof us);
  return s;
}

void BM_append_storage_floor_spsc(benchmark::State& state) {
  static boost::lockfree::spsc_queue<stored_slot, boost::lockfree::capacity<ring_messages>> queue;
  std::size_t i = 0;
  for (auto _ : state) {
    const stored_slot s = stamped(i++);
    if (!queue.push(s)) {  // full: drop the oldest, as every ring here does
      queue.consume_one([](const stored_slot&) {});
      queue.push(s);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_storage_floor_spsc)->UseRealTime();

moodycamel::ConcurrentQueue<stored_slot>& mc_queue() {
  static moodycamel::ConcurrentQueue<stored_slot> q;
  return q;
}

// Enqueue with a producer token; bounded by the producer itself, which dequeues one slot per
// enqueue once it has ring_messages / threads in the queue (no shared counter).
void BM_append_moodycamel_same_bytes(benchmark::State& state) {
  std::optional<sb::cpu_pin> pin;
  if (state.threads() > 1) pin.emplace(state.thread_index());
  auto& q = mc_queue();
  moodycamel::ProducerToken producer(q);
  moodycamel::ConsumerToken consumer(q);
  const std::size_t bound = ring_messages / static_cast<std::size_t>(state.threads());
  std::size_t held = 0, i = 0;
  stored_slot out;
  for (auto _ : state) {
    q.enqueue(producer, stamped(i++));
    if (++held > bound && q.try_dequeue(consumer, out)) --held;
  }
  while (held > 0 && q.try_dequeue(consumer, out)) --held;
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_moodycamel_same_bytes)->Threads(1)->Threads(2)->UseRealTime();

// Rendering alone: what systask's append does before it stores, into a stack buffer.
void BM_append_render_only(benchmark::State& state) {
  char buf[systask::limits::message_bytes];
  const auto t = std::chrono::system_clock::now();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& m = inputs[i++ & 7];
    const systask::attribute attrs[] = {{"obj", m.obj}, {"attempt", m.attempt}, {"dry_run", m.dry_run}};
    benchmark::DoNotOptimize(systask::detail::render_compact(buf, t, m.level, m.logger, m.event, attrs));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_render_only)->UseRealTime();

// --- latency (batched, pinned, merged) ----------------------------------------------------------

void BM_append_latency_systask(benchmark::State& state) {
  static std::array<sb::latency_histogram, 2> h;
  systask::run& r = shared_run();
  latency_loop(state, h, [&](const sb::message_input& m) { benchmark::DoNotOptimize(sb::log_input(r, m)); });
}
BENCHMARK(BM_append_latency_systask)->Threads(1)->Threads(2)->UseRealTime();

void BM_append_latency_systask_distinct_runs(benchmark::State& state) {
  static std::array<sb::latency_histogram, 2> h;
  systask::run& r = own_run(state.thread_index());
  latency_loop(state, h, [&](const sb::message_input& m) { benchmark::DoNotOptimize(sb::log_input(r, m)); });
}
BENCHMARK(BM_append_latency_systask_distinct_runs)->Threads(2)->UseRealTime();

void BM_append_latency_naive(benchmark::State& state) {
  static std::array<sb::latency_histogram, 2> h;
  auto* r = naive_run();
  latency_loop(state, h, [&](const sb::message_input& m) { naive().log(r, m); });
}
BENCHMARK(BM_append_latency_naive)->Threads(1)->Threads(2)->UseRealTime();

void BM_append_latency_spdlog_ringbuffer(benchmark::State& state) {
  static std::array<sb::latency_histogram, 2> h;
  auto& l = spdlog_ring();
  latency_loop(state, h, [&](const sb::message_input& m) { spdlog_log(l, m); });
}
BENCHMARK(BM_append_latency_spdlog_ringbuffer)->Threads(1)->Threads(2)->UseRealTime();

void BM_append_latency_shared_mutex(benchmark::State& state) {
  static std::array<sb::latency_histogram, 2> h;
  auto& s = shared_mutex_peer();
  latency_loop(state, h, [&](const sb::message_input& m) { s.log(m); });
}
BENCHMARK(BM_append_latency_shared_mutex)->Threads(1)->Threads(2)->UseRealTime();

// --- reference rows ---------------------------------------------------------------------------

void BM_ref_system_clock_now(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::system_clock::now());
}
BENCHMARK(BM_ref_system_clock_now)->UseRealTime();

void BM_ref_steady_clock_now(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
BENCHMARK(BM_ref_steady_clock_now)->UseRealTime();

void BM_ref_fenced_rdtsc(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(sb::ticks());
}
BENCHMARK(BM_ref_fenced_rdtsc)->UseRealTime();

std::atomic<std::uint64_t> counter{0};
void BM_ref_fetch_add(benchmark::State& state) {
  std::optional<sb::cpu_pin> pin;
  if (state.threads() > 1) pin.emplace(state.thread_index());
  for (auto _ : state) benchmark::DoNotOptimize(counter.fetch_add(1, std::memory_order_acq_rel));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ref_fetch_add)->Threads(1)->Threads(2)->UseRealTime();  // 1: uncontended, 2: contended

}  // namespace

BENCHMARK_MAIN();
