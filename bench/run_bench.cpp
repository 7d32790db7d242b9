// SPDX-License-Identifier: BSL-1.0
// A whole run, as a host pays for it: start a provider sync, log 20 messages with 3 attributes,
// finish it, read the provider's sync status once. systask does it through its API (the status
// read goes through the facade: token check, routing, snapshot, JSON) and drives its
// io_context after each run, so the work its strand is handed (expiry scheduling, reclaiming the
// replaced record) is paid inside the loop. The naive store (naive_store.hpp: one mutex, deques of
// plain structs, RapidJSON over them at read time) does the same work.
//
// Before timing, one run of each is made on the same manual clock (the naive store given
// systask's uuid) and the two bodies must be equivalent.
//
// Reference rows: start + finish alone, systask against the naive store, 1 and 2 threads.

#include "bench_support.hpp"
#include "naive_store.hpp"
#include "plain_model.hpp"
#include "bench_facade.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <array>
#include <memory>
#include <optional>

namespace sb = systask::bench;

namespace {

constexpr int messages_per_run = 20;
const std::string description = "Run full sync for provider \"Acme Google Workspace\"";

std::array<sb::message_input, messages_per_run> run_inputs() {
  std::array<sb::message_input, messages_per_run> a;
  for (int i = 0; i < messages_per_run; ++i) a[static_cast<std::size_t>(i)] = sb::sample_input(i);
  return a;
}
const auto inputs = run_inputs();

struct systask_host {
  boost::asio::io_context io;
  std::unique_ptr<systask::registry> reg;
  std::unique_ptr<systask::api::facade> api;
  systask::run_spec spec;
  systask::api::request status_request =
      systask::api::request::from_target("GET", "/api/v3/providers/google_workspace/1/sync/status/");

  explicit systask_host(std::shared_ptr<const systask::clock_source> clock) {
    systask::registry_options o;
    o.clock = std::move(clock);
    reg = std::make_unique<systask::registry>(io, o);
    reg->register_provider("google_workspace", 1, "Acme Google Workspace");
    spec = reg->sync_spec("google_workspace", 1, description);
    api = sb::make_bench_facade(*reg);
    status_request.headers.emplace_back("Authorization", "Bearer bench");
  }

  // One whole run; `between` runs between two messages (the check moves its manual clock).
  template <class Between>
  std::string whole_run(Between&& between) {
    systask::run r = reg->start(spec);
    for (const auto& m : inputs) {
      between();
      sb::log_input(r, m);
    }
    between();
    r.finish(systask::task_status::successful);
    std::string body = api->handle(status_request).body;
    io.poll();
    return body;
  }
};

struct naive_host {
  sb::naive_store store;
  rapidjson::StringBuffer buf;
  explicit naive_host(const systask::clock_source& clock) : store(clock) { buf.Reserve(1 << 16); }

  template <class Between>
  std::string whole_run(Between&& between, std::string uuid = {}) {
    auto* r = store.start("google_workspace_sync", "acme-google-workspace", description, std::move(uuid));
    for (const auto& m : inputs) {
      between();
      store.log(r, m);
    }
    between();
    store.finish(r, systask::task_status::successful);
    return store.status("google_workspace_sync", "acme-google-workspace", buf);
  }
};

// The same run on both, on one manual clock; the bodies must be equivalent.
void check_whole_run_bodies() {
  static bool checked = false;
  if (checked) return;
  checked = true;
  auto clock = std::make_shared<systask::manual_clock>();
  systask_host s(clock);
  naive_host n(*clock);
  auto tick = [&] { clock->advance(std::chrono::microseconds(1733)); };
  const std::string systask_body = s.whole_run(tick);
  const std::string uuid(s.reg->sync_status("google_workspace", 1)->tasks.at(0).uuid());
  clock->set_wall(clock->wall_now() - std::chrono::microseconds(1733 * (messages_per_run + 1)));
  // The naive run starts at the instant systask's did (the monotonic clock only moves on).
  const std::string naive_body = n.whole_run(tick, uuid);
  sb::require_equivalent("whole run", systask_body, naive_body);
}

// The same loop for both hosts: a whole run per iteration, its body kept alive.
template <class Host>
void measure_whole_runs(benchmark::State& state, Host& h) {
  check_whole_run_bodies();
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string body = h.whole_run([] {});
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations());
}

void BM_whole_run_systask(benchmark::State& state) {
  systask_host h(systask::system_clocks());
  measure_whole_runs(state, h);
}
BENCHMARK(BM_whole_run_systask)->UseRealTime();

void BM_whole_run_naive(benchmark::State& state) {
  auto clocks = systask::system_clocks();
  naive_host h(*clocks);
  measure_whole_runs(state, h);
}
BENCHMARK(BM_whole_run_naive)->UseRealTime();

// --- start + finish alone (reference) -----------------------------------------------------------

void BM_start_finish_systask(benchmark::State& state) {
  static boost::asio::io_context io;
  static systask::registry reg(io);
  std::optional<sb::cpu_pin> pin;
  if (state.threads() > 1) pin.emplace(state.thread_index());
  systask::run_spec spec;
  spec.name = "bench_task";
  spec.uid = std::to_string(state.thread_index());
  spec.description = "A benchmark task";
  for (auto _ : state) {
    systask::run r = reg.start(spec);
    benchmark::DoNotOptimize(r.finish(systask::task_status::successful));
    // The strand's share (expiry scheduling, reclaiming the replaced record) is paid here, not
    // left to pile up: io_context::poll may run on several threads at once.
    io.poll();
    if (io.stopped()) io.restart();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_start_finish_systask)->Threads(1)->Threads(2)->UseRealTime();

void BM_start_finish_naive(benchmark::State& state) {
  static auto clocks = systask::system_clocks();
  static sb::naive_store store(*clocks);
  std::optional<sb::cpu_pin> pin;
  if (state.threads() > 1) pin.emplace(state.thread_index());
  const std::string uid = std::to_string(state.thread_index());
  for (auto _ : state) {
    auto* r = store.start("bench_task", uid, "A benchmark task");
    store.finish(r, systask::task_status::successful);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_start_finish_naive)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
