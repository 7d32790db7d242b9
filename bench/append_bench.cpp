// Message append: systask's run::log next to the floor (a clock read plus a Boost.Lockfree
// spsc_queue push of the same rendered bytes) and the naive baseline (a clock read, a
// std::mutex, and a std::deque of structs with std::strings and a std::map of attributes,
// bounded by popping the front). Same event (64 bytes), same two attributes, same process.

#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace {

const std::string event(64, 'e');
constexpr std::string_view logger = "Google Workspace Provider@authentik.core.models.User";

void BM_systask_append(benchmark::State& state) {
  static boost::asio::io_context io;
  static systask::registry reg(io);
  static systask::run r;
  if (state.thread_index() == 0) r = reg.start({.name = "bench_append"});
  for (auto _ : state) {
    benchmark::DoNotOptimize(r.log(systask::log_level::warning, logger, event, {{"obj", "alice"}, {"attempt", 3}}));
  }
  if (state.thread_index() == 0) r.finish(systask::task_status::successful);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_systask_append)->Threads(1)->Threads(2)->UseRealTime();

void BM_floor_spsc_push(benchmark::State& state) {
  // The bytes systask stores for this message, rendered once up front.
  const std::string rendered = systask::render_log_event(std::chrono::system_clock::now(), systask::log_level::warning,
                                                         logger, event, {{"obj", "alice"}, {"attempt", 3}});
  using slot = std::array<char, 256>;
  static boost::lockfree::spsc_queue<slot, boost::lockfree::capacity<4096>> queue;
  slot s{};
  for (auto _ : state) {
    const auto now = std::chrono::system_clock::now();
    benchmark::DoNotOptimize(now);
    std::memcpy(s.data(), rendered.data(), std::min(rendered.size(), s.size()));
    if (!queue.push(s)) queue.consume_all([](const slot&) {});
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_floor_spsc_push);

struct naive_message {
  std::chrono::system_clock::time_point timestamp;
  int level;
  std::string logger;
  std::string event;
  std::map<std::string, std::string> attributes;
};

void BM_naive_mutex_deque(benchmark::State& state) {
  static std::mutex mutex;
  static std::deque<naive_message> messages;
  for (auto _ : state) {
    naive_message m{std::chrono::system_clock::now(), 30, std::string(logger), event, {{"obj", "alice"}, {"attempt", "3"}}};
    std::lock_guard lock(mutex);
    messages.push_back(std::move(m));
    if (messages.size() > 4096) messages.pop_front();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_naive_mutex_deque)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
