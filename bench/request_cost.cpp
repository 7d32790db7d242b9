// SPDX-License-Identifier: BSL-1.0
// The instruction cost of one request, for callgrind: deterministic where a timed benchmark on a
// shared 2-core machine is not (instructions executed do not depend on the load). Run it through
// bench/request_cost.sh, which runs it under `valgrind --tool=callgrind` and prints instructions
// per request; run alone, it checks its answers and prints wall time only as a sanity figure.
//
//   systask-request-cost facade <requests> [messages]
//       facade::handle on the sync status of a provider, built exactly as status_bench's
//       BM_status_fixed_cost builds it (messages = 0, the default: a provider with no runs).
//   systask-request-cost tcp <requests> [messages]
//       the same status over HTTP/1.1: http::server on an asio::thread_pool of one thread (as
//       `systask-demo --threads 1`), one keep-alive loopback connection, the request wrk sends.
//       The client runs on the main thread, so `--separate-threads=yes` keeps its instructions
//       apart from the server thread's.
//
// A few requests warm every cache and buffer first; the counters are zeroed, `requests` requests
// are answered, and the counters are dumped (CALLGRIND_DUMP_STATS_AT "measured"): the dump holds
// only the measured requests. Callgrind's client requests act on the calling thread alone, so in
// the tcp mode they are posted to the server's thread. Every answer is checked (status 200, the
// same body each time).

#include "bench_support.hpp"
#include "plain_model.hpp"
#include "bench_facade.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>
#include <systask/http/server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <valgrind/callgrind.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>

namespace {

namespace sb = systask::bench;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

constexpr std::string_view status_path = "/api/v3/providers/google_workspace/1/sync/status/";
constexpr int warm_up_requests = 16;

// A provider with one finished run of `messages` messages (none at all for 0), on a manual
// clock, and the facade over it with one token holding every permission.
struct world {
  asio::io_context io;
  std::shared_ptr<systask::manual_clock> clock = std::make_shared<systask::manual_clock>();
  std::unique_ptr<systask::registry> reg;
  std::unique_ptr<systask::api::facade> api;

  explicit world(int messages) {
    reg = std::make_unique<systask::registry>(io, systask::registry_options{systask::task_options{}, clock});
    reg->register_provider("google_workspace", 1, "Acme Google Workspace");
    if (messages > 0) {
      systask::run run = reg->start(reg->sync_spec("google_workspace", 1, "Run full sync for provider \"Acme\""));
      for (int i = 0; i < messages; ++i) {
        clock->advance(std::chrono::microseconds(1234));
        sb::log_input(run, sb::sample_input(i));
      }
      clock->advance(std::chrono::milliseconds(1500));
      run.finish(systask::task_status::successful);
    }
    io.poll();
    api = sb::make_bench_facade(*reg);
  }
};

// What status_bench's fixed-cost row times per iteration: the request built, handled, the body
// taken out of the response.
std::string facade_status(const systask::api::facade& api) {
  auto req = systask::api::request::from_target("GET", status_path);
  req.headers.emplace_back("Authorization", "Bearer bench");
  auto res = api.handle(req);
  if (res.status != 200) sb::fail_run("the status request was answered " + std::to_string(res.status));
  return std::move(res.body);
}

int run_facade(int requests, int messages) {
  world w(messages);
  const std::string expected = facade_status(*w.api);
  for (int i = 0; i < warm_up_requests; ++i) facade_status(*w.api);
  CALLGRIND_ZERO_STATS;
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t differing = 0;
  for (int i = 0; i < requests; ++i) differing += facade_status(*w.api) != expected;
  const auto t1 = std::chrono::steady_clock::now();
  CALLGRIND_DUMP_STATS_AT("measured");
  if (differing) sb::fail_run(std::to_string(differing) + " status bodies differed from the first");
  std::printf("facade: %d requests, body %zu bytes, %.0f ns per request (wall, indicative only)\n", requests,
              expected.size(), std::chrono::duration<double, std::nano>(t1 - t0).count() / requests);
  return 0;
}

int run_tcp(int requests, int messages) {
  world w(messages);
  asio::thread_pool pool(1);
  systask::http::server_options options;
  options.port = 0;
  systask::http::server server(pool.get_executor(), *w.api, options);
  server.start();

  asio::io_context client_io;
  asio::ip::tcp::socket socket(client_io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  // Byte for byte what `wrk -H "Authorization: Bearer bench" URL` sends.
  const std::string request = "GET " + std::string(status_path) + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                              std::to_string(server.port()) + "\r\nAuthorization: Bearer bench\r\n\r\n";
  boost::beast::flat_buffer buffer;
  auto exchange = [&] {
    asio::write(socket, asio::buffer(request));
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket, buffer, res);
    if (res.result_int() != 200) sb::fail_run("the status request was answered " + std::to_string(res.result_int()));
    if (!res.keep_alive()) sb::fail_run("the server closed the keep-alive connection");
    return std::move(res.body());
  };
  // Runs `f` on the server's one thread and waits for it.
  auto on_server_thread = [&](auto f) {
    std::promise<void> done;
    asio::post(pool, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  };
  const std::string expected = exchange();
  for (int i = 0; i < warm_up_requests; ++i) exchange();
  on_server_thread([] { CALLGRIND_ZERO_STATS; });
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t differing = 0;
  for (int i = 0; i < requests; ++i) differing += exchange() != expected;
  const auto t1 = std::chrono::steady_clock::now();
  on_server_thread([] { CALLGRIND_DUMP_STATS_AT("measured"); });
  socket.close();
  server.stop();
  pool.join();
  if (differing) sb::fail_run(std::to_string(differing) + " status bodies differed from the first");
  std::printf("tcp: %d requests, body %zu bytes, %.0f ns per round trip (wall, indicative only)\n", requests,
              expected.size(), std::chrono::duration<double, std::nano>(t1 - t0).count() / requests);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const int requests = argc > 2 ? std::atoi(argv[2]) : 0;
  const int messages = argc > 3 ? std::atoi(argv[3]) : 0;
  if ((mode != "facade" && mode != "tcp") || requests < 1 || messages < 0) {
    std::fprintf(stderr, "usage: %s facade|tcp <requests> [messages]\n", argv[0]);
    return 2;
  }
  return mode == "facade" ? run_facade(requests, messages) : run_tcp(requests, messages);
}
