// SPDX-License-Identifier: BSL-1.0
// A writer and a reader together: one thread appends flat out to a running provider sync whose
// ring (128 messages) is full and turning over, while the other reads the provider's sync status
// (with the running run) not at all, 10 times a second, or flat out. Each for a fixed window,
// the writer pinned to one CPU and the reader to the other. systask next to the shared_mutex
// store (naive_store.hpp: the same render-on-write design behind a std::shared_mutex).
//
// Rows (per store): writer_alone, reader_alone, reads_10_per_s, reads_flat_out. Counters: the
// writer's appends per second, the reads per second and the mean time of one read, and the
// number of messages in sampled bodies (every 64th read is counted after the read): a read that
// meets a writer may show fewer messages, and the report says how many.
//
// Before timing, both stores log the same 128 messages on one manual clock and their bodies
// must be equivalent.

#include "bench_support.hpp"
#include "naive_store.hpp"
#include "plain_model.hpp"
#include "bench_facade.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace sb = systask::bench;

namespace {

constexpr std::size_t ring_messages = 128;

const std::array<sb::message_input, 8> inputs = [] {
  std::array<sb::message_input, 8> a;
  for (int i = 0; i < 8; ++i) a[static_cast<std::size_t>(i)] = sb::sample_input(i);
  return a;
}();

struct systask_side {
  boost::asio::io_context io;
  std::unique_ptr<systask::registry> reg;
  std::unique_ptr<systask::api::facade> api;
  systask::run run;
  systask::api::request req = systask::api::request::from_target(
      "GET", "/api/v3/providers/google_workspace/1/sync/status/?include_running=true");

  explicit systask_side(std::shared_ptr<const systask::clock_source> clock) {
    systask::registry_options ro;
    ro.clock = std::move(clock);
    reg = std::make_unique<systask::registry>(io, ro);
    systask::task_options o;
    o.max_messages = ring_messages;
    reg->configure_task("google_workspace_sync", o);
    reg->register_provider("google_workspace", 1, "Acme Google Workspace");
    run = reg->start(reg->sync_spec("google_workspace", 1));
    api = sb::make_bench_facade(*reg);
    req.headers.emplace_back("Authorization", "Bearer bench");
  }
  void append(const sb::message_input& m) { sb::log_input(run, m); }
  std::string status() { return api->handle(req).body; }
  std::size_t expected_messages() const { return ring_messages; }
};

struct shared_mutex_side {
  sb::shared_mutex_store store;
  rapidjson::StringBuffer buf;  // the reader's

  // The run is named as systask's twin run (uuid, name, uid, description).
  shared_mutex_side(const systask::clock_source& clock, const systask_side& twin)
      : store(clock, ring_messages, header_of(twin)) {
    buf.Reserve(1 << 16);
  }
  static sb::rendered_run header_of(const systask_side& twin) {
    sb::rendered_run h;
    h.uuid = twin.run.uuid();
    h.name = twin.run.name();
    h.uid = twin.run.uid();
    h.description = twin.reg->sync_spec("google_workspace", 1).description;
    return h;
  }
  void append(const sb::message_input& m) { store.log(m); }
  std::string status() { return store.status(buf); }
  std::size_t expected_messages() const { return ring_messages; }
};

// Both stores fed the same messages on one manual clock: equivalent bodies, or the run fails.
void check_bodies() {
  static bool checked = false;
  if (checked) return;
  checked = true;
  auto clock = std::make_shared<systask::manual_clock>();
  systask_side s(clock);
  shared_mutex_side p(*clock, s);
  for (std::size_t i = 0; i < ring_messages; ++i) {
    clock->advance(std::chrono::microseconds(977));
    s.append(inputs[i & 7]);
    p.append(inputs[i & 7]);
  }
  clock->advance(std::chrono::milliseconds(3));
  sb::require_equivalent("status with a running run", s.status(), p.status());
}

std::size_t count_messages(const std::string& body) {
  std::size_t n = 0;
  for (std::size_t at = body.find("\"log_level\":"); at != std::string::npos;
       at = body.find("\"log_level\":", at + 1)) {
    ++n;
  }
  return n;
}

enum class mode { writer_alone, reader_alone, reads_10_per_s, reads_flat_out };

template <class Side>
void rw(benchmark::State& state, Side& side, mode m) {
  const auto window = std::chrono::milliseconds(sb::sized(1000, 20));
  const bool writing = m != mode::reader_alone;
  const bool reading = m != mode::writer_alone;
  std::vector<std::size_t> counts;
  double writer_rate = 0, read_rate = 0, read_us = 0;
  for (auto _ : state) {
    std::atomic<bool> go{false}, stop{false};
    std::atomic<std::uint64_t> appended{0};
    std::thread writer;
    if (writing) {
      writer = std::thread([&] {
        sb::cpu_pin pin(1);
        while (!go.load(std::memory_order_acquire)) {
        }
        std::uint64_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          side.append(inputs[n & 7]);
          ++n;
        }
        appended.store(n, std::memory_order_release);
      });
    }
    sb::cpu_pin pin(0);
    std::uint64_t reads = 0;
    double reading_seconds = 0;
    const auto t0 = std::chrono::steady_clock::now();
    go.store(true, std::memory_order_release);
    const auto end = t0 + window;
    if (m == mode::writer_alone) {
      std::this_thread::sleep_until(end);  // the measurement window, not a wait for an event
    } else {
      auto next = t0;
      while (std::chrono::steady_clock::now() < end) {
        if (m == mode::reads_10_per_s) {
          next += window / 10;  // 10 reads a second in the full window of 1 s
          if (next >= end) {
            std::this_thread::sleep_until(end);
            break;
          }
          std::this_thread::sleep_until(next);
        }
        const auto r0 = std::chrono::steady_clock::now();
        std::string body = side.status();
        reading_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
        if (reads % 64 == 0) counts.push_back(count_messages(body));
        ++reads;
        benchmark::DoNotOptimize(body.data());
      }
    }
    stop.store(true, std::memory_order_relaxed);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (writer.joinable()) writer.join();
    state.SetIterationTime(secs);
    writer_rate = static_cast<double>(appended.load(std::memory_order_acquire)) / secs;
    read_rate = static_cast<double>(reads) / secs;
    read_us = reads ? 1e6 * reading_seconds / static_cast<double>(reads) : 0;
  }
  if (writing) state.counters["writer_appends_per_second"] = writer_rate;
  if (reading) {
    state.counters["reads_per_second"] = read_rate;
    state.counters["read_us"] = read_us;
    if (counts.empty()) sb::fail_run("no status was read");
    const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    std::sort(counts.begin(), counts.end());
    state.counters["messages_min"] = static_cast<double>(*lo);
    state.counters["messages_median"] = static_cast<double>(counts[counts.size() / 2]);
    state.counters["messages_max"] = static_cast<double>(*hi);
    state.counters["messages_expected"] = static_cast<double>(side.expected_messages());
    // A full ring shows its capacity, plus systask's one "messages were dropped" notice; more is
    // a miscount, none is a broken read.
    if (*hi > side.expected_messages() + 1 || *lo == 0) {
      sb::fail_run("a status body held " + std::to_string(*lo) + ".." + std::to_string(*hi) +
                   " messages from a ring of " + std::to_string(side.expected_messages()));
    }
  }
}

systask_side& systask_world() {
  static systask_side s(systask::system_clocks());
  static const bool warm = [] {
    for (std::size_t i = 0; i < ring_messages; ++i) s.append(inputs[i & 7]);
    return true;
  }();
  (void)warm;
  return s;
}

struct peer_world_t {
  std::shared_ptr<const systask::clock_source> clock = systask::system_clocks();
  systask_side twin{clock};  // gives the peer's run the same names
  shared_mutex_side side{*clock, twin};
};
shared_mutex_side& peer_world() {
  static peer_world_t w;
  static const bool warm = [] {
    for (std::size_t i = 0; i < ring_messages; ++i) w.side.append(inputs[i & 7]);
    return true;
  }();
  (void)warm;
  return w.side;
}

void BM_rw_systask(benchmark::State& state, mode m) {
  check_bodies();
  rw(state, systask_world(), m);
}
void BM_rw_shared_mutex(benchmark::State& state, mode m) {
  check_bodies();
  rw(state, peer_world(), m);
}

BENCHMARK_CAPTURE(BM_rw_systask, writer_alone, mode::writer_alone)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_rw_systask, reader_alone, mode::reader_alone)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_rw_systask, reads_10_per_s, mode::reads_10_per_s)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_rw_systask, reads_flat_out, mode::reads_flat_out)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_rw_shared_mutex, writer_alone, mode::writer_alone)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_rw_shared_mutex, reader_alone, mode::reader_alone)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_rw_shared_mutex, reads_10_per_s, mode::reads_10_per_s)->Iterations(1)->UseManualTime();
BENCHMARK_CAPTURE(BM_rw_shared_mutex, reads_flat_out, mode::reads_flat_out)->Iterations(1)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
