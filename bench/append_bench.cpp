// Message append: systask's run::log next to the floor (a clock read plus a Boost.Lockfree
// spsc_queue push of the same rendered bytes), moodycamel::ConcurrentQueue with a producer
// token, spdlog's ringbuffer_sink_mt, and the naive baseline (a clock read, a std::mutex, and a
// std::deque of structs with std::strings and a std::map of attributes, bounded by popping the
// front). Same message everywhere: authentik's wording, ~64-byte event, 2 attributes. Each row
// also reports p50/p99 in cycles. Reference rows: clock reads and fetch_add.

#include "cycle_histogram.hpp"
#include "plain_model.hpp"

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
#include <deque>
#include <mutex>
#include <string>

namespace sb = systask::bench;

namespace {

const sb::plain_message sample = sb::sample_message({}, 7);

// --- systask ----------------------------------------------------------------------------------

boost::asio::io_context io;
systask::registry reg(io);
systask::run shared_run;

void BM_append_systask(benchmark::State& state) {
  if (state.thread_index() == 0) shared_run = reg.start({.name = "bench_append"});
  sb::cycle_histogram h;
  const std::string obj = sample.attributes.at("obj");
  for (auto _ : state) {
    const auto t0 = sb::cycle_histogram::now();
    benchmark::DoNotOptimize(
        shared_run.log(systask::log_level::warning, sample.logger, sample.event, {{"obj", obj}, {"attempt", 3}}));
    h.record(sb::cycle_histogram::now() - t0);
  }
  h.report(state);
  if (state.thread_index() == 0) shared_run.finish(systask::task_status::successful);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_systask)->Threads(1)->Threads(2)->UseRealTime();

void BM_append_systask_distinct_runs(benchmark::State& state) {
  systask::run own = reg.start({.name = "bench_append_own", .uid = std::to_string(state.thread_index())});
  const std::string obj = sample.attributes.at("obj");
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        own.log(systask::log_level::warning, sample.logger, sample.event, {{"obj", obj}, {"attempt", 3}}));
  }
  own.finish(systask::task_status::successful);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_systask_distinct_runs)->Threads(2)->UseRealTime();

// --- the floor: clock read + spsc push of the same rendered bytes ---------------------------

void BM_append_floor_spsc(benchmark::State& state) {
  const std::string rendered =
      systask::render_log_event(std::chrono::system_clock::now(), systask::log_level::warning, sample.logger,
                                sample.event, {{"obj", sample.attributes.at("obj")}, {"attempt", 3}});
  using slot = std::array<char, 256>;
  static boost::lockfree::spsc_queue<slot, boost::lockfree::capacity<4096>> queue;
  slot s{};
  sb::cycle_histogram h;
  for (auto _ : state) {
    const auto t0 = sb::cycle_histogram::now();
    const auto now = std::chrono::system_clock::now();
    benchmark::DoNotOptimize(now);
    std::memcpy(s.data(), rendered.data(), std::min(rendered.size(), s.size()));
    if (!queue.push(s)) {
      queue.consume_all([](const slot&) {});
      queue.push(s);
    }
    h.record(sb::cycle_histogram::now() - t0);
  }
  h.report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_floor_spsc);

// --- moodycamel::ConcurrentQueue with a producer token ----------------------------------------

moodycamel::ConcurrentQueue<sb::plain_message> mc_queue;
std::atomic<std::size_t> mc_size{0};

void BM_append_moodycamel(benchmark::State& state) {
  moodycamel::ProducerToken token(mc_queue);
  moodycamel::ConsumerToken consumer(mc_queue);
  sb::cycle_histogram h;
  for (auto _ : state) {
    const auto t0 = sb::cycle_histogram::now();
    mc_queue.enqueue(token, sb::plain_message{std::chrono::system_clock::now(), sample.log_level, sample.logger,
                                              sample.event, sample.attributes});
    // Bounded like the others: past 4096 messages the oldest are taken out.
    if (mc_size.fetch_add(1, std::memory_order_relaxed) >= 4096) {
      sb::plain_message dropped;
      if (mc_queue.try_dequeue(consumer, dropped)) mc_size.fetch_sub(1, std::memory_order_relaxed);
    }
    h.record(sb::cycle_histogram::now() - t0);
  }
  h.report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_moodycamel)->Threads(1)->Threads(2)->UseRealTime();

// --- spdlog ringbuffer_sink_mt ----------------------------------------------------------------

void BM_append_spdlog_ringbuffer(benchmark::State& state) {
  static auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);
  static spdlog::logger logger("bench", sink);
  sb::cycle_histogram h;
  const std::string& obj = sample.attributes.at("obj");
  for (auto _ : state) {
    const auto t0 = sb::cycle_histogram::now();
    logger.warn("{} obj={} attempt={}", sample.event, obj, 3);
    h.record(sb::cycle_histogram::now() - t0);
  }
  h.report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_spdlog_ringbuffer)->Threads(1)->Threads(2)->UseRealTime();

// --- the naive baseline -----------------------------------------------------------------------

void BM_append_naive_mutex_deque(benchmark::State& state) {
  static std::mutex mutex;
  static std::deque<sb::plain_message> messages;
  sb::cycle_histogram h;
  for (auto _ : state) {
    const auto t0 = sb::cycle_histogram::now();
    sb::plain_message m{std::chrono::system_clock::now(), sample.log_level, sample.logger, sample.event,
                        sample.attributes};
    {
      std::lock_guard lock(mutex);
      messages.push_back(std::move(m));
      if (messages.size() > 4096) messages.pop_front();
    }
    h.record(sb::cycle_histogram::now() - t0);
  }
  h.report(state);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_append_naive_mutex_deque)->Threads(1)->Threads(2)->UseRealTime();

// --- reference rows ---------------------------------------------------------------------------

void BM_ref_system_clock_now(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::system_clock::now());
}
BENCHMARK(BM_ref_system_clock_now);

void BM_ref_steady_clock_now(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(std::chrono::steady_clock::now());
}
BENCHMARK(BM_ref_steady_clock_now);

std::atomic<std::uint64_t> counter{0};
void BM_ref_fetch_add(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(counter.fetch_add(1, std::memory_order_acq_rel));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ref_fetch_add)->Threads(1)->Threads(2)->UseRealTime();  // 1: uncontended, 2: contended

}  // namespace

BENCHMARK_MAIN();
