// Abuse over loopback: oversized headers and bodies, malformed request lines, 1,000 idle
// connections, a slowloris client, bad and missing tokens, ids at and beyond int64, non-UUIDs
// and path tricks, all at once. The server must stay up, answer each as the contract says, and
// keep serving a normal client. Latency is recorded (RecordProperty and stdout), not asserted:
// timing goals belong to benchmarks, not to tests on shared machines.

#include <systask/http/server.hpp>

#include "api_fixture.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <future>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct raw_client {
  asio::io_context ctx;
  tcp::socket socket{ctx};
  explicit raw_client(unsigned short port) { socket.connect({asio::ip::make_address("127.0.0.1"), port}); }

  // Sends raw bytes, reads one response; returns its status (0 when the server closed instead).
  unsigned exchange(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec) return 0;
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket, buf, res, ec);
    return ec ? 0 : res.result_int();
  }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

TEST(HttpAbuse, ServerStaysUpAndAnswersEachAbuseAsTheContractSays) {
  // 1,000 idle client sockets plus the server's side: lift the descriptor limit if allowed.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
  setrlimit(RLIMIT_NOFILE, &lim);
  const std::size_t idle_count = std::min<std::size_t>(1000, (lim.rlim_cur - 100) / 2);

  asio::thread_pool pool(2);
  auto clock = std::make_shared<manual_clock>();
  registry reg(pool, registry_options{{}, clock});
  reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  reg.start(reg.sync_spec("google_workspace", 1)).finish(task_status::successful);
  api::facade api(reg, test::api_fixture::make_options());
  http::server_options o;
  o.port = 0;
  o.access_log = nullptr;
  o.max_connections = idle_count + 64;
  o.read_timeout = 2s;
  o.max_header_bytes = 4096;
  o.max_body_bytes = 4096;
  http::server server(pool.get_executor(), api, o);
  server.start();
  const unsigned short port = server.port();

  const std::string ok_request =
      "GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n\r\n";
  auto timed_requests = [&](int n) {
    raw_client c(port);
    std::vector<double> us;
    for (int i = 0; i < n; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_EQ(c.exchange(ok_request), 200u);
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    return us;
  };
  const auto unloaded = timed_requests(300);

  // Load: idle connections that never send a byte, and a slowloris client.
  std::vector<std::unique_ptr<raw_client>> idle;
  for (std::size_t i = 0; i < idle_count; ++i) idle.push_back(std::make_unique<raw_client>(port));
  std::atomic<bool> stop{false};
  std::thread slowloris([&] {
    while (!stop) {
      raw_client c(port);
      boost::system::error_code ec;
      asio::write(c.socket, asio::buffer(std::string("GET / HTTP/1.1\r\n")), ec);
      for (int i = 0; i < 20 && !stop && !ec; ++i) {
        asio::write(c.socket, asio::buffer(std::string("X-A: b\r\n")), ec);
        std::this_thread::sleep_for(200ms);
      }
    }
  });

  // Each abuse, answered as the contract says (each on its own connection).
  struct abuse {
    std::string request;
    unsigned status;
  };
  const std::vector<abuse> abuses = {
      {"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n", 431},
      {"POST /api/v3/providers/google_workspace/1/sync/object/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n"
       "Content-Length: 100000\r\n\r\n" + std::string(5000, '{'), 413},
      {"GARBAGE\r\n\r\n", 400},
      {"GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\n\r\n", 403},
      {"GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n", 403},
      {"GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\nAuthorization: Basic YTpi\r\n\r\n", 403},
      {"GET /api/v3/providers/google_workspace/9223372036854775807/sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/providers/google_workspace/9223372036854775808/sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/providers/google_workspace/-1/sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/events/system_tasks/not-a-uuid/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/providers/google_workspace/1/sync/../sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/providers/google_workspace/1/sync/%2e%2e/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3//providers/google_workspace/1/sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET //api/v3/events/system_tasks/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
  };
  for (int round = 0; round < 5; ++round) {
    for (const auto& a : abuses) {
      raw_client c(port);
      EXPECT_EQ(c.exchange(a.request), a.status) << a.request.substr(0, 80);
    }
  }
  const auto loaded = timed_requests(300);
  stop = true;
  slowloris.join();
  EXPECT_GE(server.connections(), idle_count) << "the idle connections are still open (within read_timeout)";

  const double p99_unloaded = percentile(unloaded, 0.99), p99_loaded = percentile(loaded, 0.99);
  ::testing::Test::RecordProperty("idle_connections", static_cast<int>(idle_count));
  ::testing::Test::RecordProperty("p99_us_unloaded", static_cast<int>(p99_unloaded));
  ::testing::Test::RecordProperty("p99_us_under_abuse", static_cast<int>(p99_loaded));
  std::printf("abuse: %zu idle connections + slowloris + %zu abusive requests; normal client p99 %.0f us unloaded, "
              "%.0f us under abuse (%.2fx)\n",
              idle_count, abuses.size() * 5, p99_unloaded, p99_loaded, p99_loaded / std::max(1.0, p99_unloaded));

  idle.clear();
  std::promise<void> stopped;
  server.stop([&] { stopped.set_value(); });
  EXPECT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
  pool.stop();
  pool.join();
}

}  // namespace
