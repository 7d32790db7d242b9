// SPDX-License-Identifier: BSL-1.0
// A normal client's latency under hostile load: keep-alive GETs of the sync-status route over
// loopback, first with the server otherwise idle, then while the reliability issue's abuse runs
// against the same server (tests/http/abuse_load.hpp: 1,000 idle connections held open, a
// slowloris client, and 100 abusive requests a second, each answer checked). Target: the p99
// under abuse within 2x the unloaded p99 (scripts/abuse and scripts/bench report the ratio).
// Memory held per idle connection is measured by the abuse test instead (tests/http/
// http_abuse_test.cpp), in a fresh process: here, repetitions reuse what earlier ones freed.

#include "abuse_load.hpp"
#include "cycle_histogram.hpp"

#include <systask/api/auth.hpp>
#include <systask/api/facade.hpp>
#include <systask/engine.hpp>
#include <systask/http/server.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/thread_pool.hpp>

#include <future>
#include <optional>

namespace {

namespace asio = boost::asio;
constexpr const char* status_path = "/api/v3/providers/google_workspace/1/sync/status/";

// One server for the whole process: two threads, the limits abusive_requests() is written for.
struct server_under_test {
  asio::thread_pool pool{2};
  systask::registry reg{pool};
  systask::api::facade api{reg, options()};
  std::optional<systask::http::server> server;

  server_under_test() {
    reg.register_provider("google_workspace", 1, "Acme Google Workspace");
    auto run = reg.start(reg.sync_spec("google_workspace", 1));
    for (int i = 0; i < 20; ++i) run.info("Synced page", {{"page", i}});
    run.finish(systask::task_status::successful);
    systask::http::server_options o;
    o.port = 0;
    o.access_log = nullptr;
    o.max_connections = 4096;
    o.max_header_bytes = 4096;
    o.max_body_bytes = 4096;
    server.emplace(pool.get_executor(), api, o);
    server->start();
  }
  ~server_under_test() {
    std::promise<void> stopped;
    server->stop([&] { stopped.set_value(); });
    stopped.get_future().wait();
    pool.stop();  // the registry's expiry timer would keep the pool's threads busy forever
    pool.join();
  }
  static systask::api::facade_options options() {
    auto tokens = std::make_shared<systask::api::static_tokens>();
    tokens->add("admin-token", {"admin", systask::api::all_permissions});
    systask::api::facade_options o;
    o.tokens = tokens;
    return o;
  }
};

server_under_test& shared_server() {
  static server_under_test s;
  return s;
}

void BM_normal_client(benchmark::State& state) {
  auto& srv = shared_server();
  const unsigned short port = srv.server->port();
  const bool abused = state.range(0) != 0;

  std::optional<systask::test::abuse_load> load;
  if (abused) load.emplace(port, systask::test::idle_connections_allowed(1000));

  asio::io_context ctx;
  auto socket = systask::test::connect_loopback(ctx, port);
  systask::bench::cycle_histogram latency;
  for (auto _ : state) {
    const auto t0 = systask::bench::cycle_histogram::now();
    const auto res = systask::test::http_get(socket, status_path, "admin-token");
    latency.record(systask::bench::cycle_histogram::now() - t0);
    if (res.result_int() != 200) {
      state.SkipWithError("the normal client was not answered 200");
      break;
    }
  }
  latency.report(state);
  if (load) {
    state.counters["idle_connections"] = static_cast<double>(load->idle_connections());
    state.counters["abusive_sent"] = static_cast<double>(load->abusive_sent());
    if (load->abusive_misanswered() != 0) state.SkipWithError("an abusive request was not answered as specified");
  }
}
BENCHMARK(BM_normal_client)->ArgName("abused")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
