// SPDX-License-Identifier: BSL-1.0
// The HTTP adapter over real loopback sockets: many clients, keep-alive, slow clients cut off
// while others are served, the connection cap, graceful shutdown, and the server's lifetime
// against its facade's.

#include <systask/http/server.hpp>

#include "api_fixture.hpp"
#include "http_client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct loopback : ::testing::Test {
  loopback() : clock(std::make_shared<manual_clock>()), reg(pool, registry_options{{}, clock}), api(reg, options()) {
    reg.register_provider("google_workspace", 1, "Acme Google Workspace");
    reg.start(reg.sync_spec("google_workspace", 1)).finish(task_status::successful);
  }
  ~loopback() override {
    if (server) {
      std::promise<void> stopped;
      server->stop([&] { stopped.set_value(); });
      stopped.get_future().wait_for(10s);
    }
    pool.stop();
    pool.join();
  }
  // A sync-object handler that, for the object id "block", tells the test it has been entered
  // and then waits (10 s at most) until the test releases it: a request held in flight.
  api::facade_options options() {
    auto tokens = std::make_shared<api::static_tokens>();
    tokens->add("t0ken", {"admin", api::permissions::all()});
    api::facade_options o;
    o.tokens = tokens;
    o.sync_object_handlers["google_workspace"] = [this](const api::sync_object_request& req, api::sync_object_log& log) {
      if (req.sync_object_id == "block") {
        entered.set_value();
        released.wait_for(10s);
      }
      log.log(log_level::info, "test", "Synced " + req.sync_object_id);
    };
    return o;
  }
  void start(http::server_options o = {}) {
    o.port = 0;
    o.access_log = nullptr;
    server = std::make_unique<http::server>(pool.get_executor(), api, o);
    server->start();
  }
  tcp::socket connect() { return test::connect_loopback(client_ctx, server->port()); }
  std::unique_ptr<http::server> make_server(const api::facade& f) {
    http::server_options o;
    o.port = 0;
    o.access_log = nullptr;
    auto s = std::make_unique<http::server>(pool.get_executor(), f, o);
    s->start();
    return s;
  }
  static bhttp::response<bhttp::string_body> get(tcp::socket& s, std::string_view target, bool keep_alive = true) {
    return test::http_get(s, target, "t0ken", keep_alive);
  }

  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  asio::thread_pool pool{2};
  asio::io_context client_ctx;
  std::shared_ptr<manual_clock> clock;
  registry reg;
  api::facade api;
  std::unique_ptr<http::server> server;
};

constexpr const char* status_path = "/api/v3/providers/google_workspace/1/sync/status/";

TEST_F(loopback, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  tcp::socket s = connect();
  for (int i = 0; i < 50; ++i) {
    const auto res = get(s, status_path);
    ASSERT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_TRUE(systask::test::matches_schema(res.body(), "SyncStatus"));
  }
  EXPECT_EQ(server->connections(), 1u);
}

TEST_F(loopback, ManyConcurrentClientsAllGetAnswers) {
  start();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&] {
      asio::io_context ctx;
      tcp::socket s = test::connect_loopback(ctx, server->port());
      for (int i = 0; i < 25; ++i) {
        const auto res = get(s, status_path);
        if (res.result_int() == 200) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 16 * 25);
}

// Servers whose executor is an io_context's take the path of concrete executor types (as over a
// thread_pool, the other tests); any other executor (here a strand, type-erased) the generic
// one. Two threads run the context, so the sessions' strands are what keep each session's
// handlers apart; every client gets every answer, and a stop closes them all.
void serve_eight_clients(const api::facade& api, asio::io_context& server_ctx, const asio::any_io_executor& executor) {
  auto work = asio::make_work_guard(server_ctx);
  std::vector<std::thread> runners;
  http::server_options o;
  o.port = 0;
  o.access_log = nullptr;
  http::server server(executor, api, o);
  server.start();
  for (int i = 0; i < 2; ++i) runners.emplace_back([&] { server_ctx.run(); });
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&] {
      asio::io_context ctx;
      tcp::socket s = test::connect_loopback(ctx, server.port());
      for (int i = 0; i < 25; ++i) {
        const auto res = test::http_get(s, status_path, "t0ken", true);
        if (res.result_int() == 200 && systask::test::matches_schema(res.body(), "SyncStatus")) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8 * 25);
  std::promise<void> stopped;
  server.stop([&] { stopped.set_value(); });
  EXPECT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
  work.reset();
  server_ctx.stop();
  for (auto& t : runners) t.join();
}

TEST_F(loopback, OnAnIoContextsExecutorEveryClientGetsEveryAnswer) {
  asio::io_context server_ctx;
  serve_eight_clients(api, server_ctx, server_ctx.get_executor());
}

TEST_F(loopback, OnAnyOtherExecutorEveryClientGetsEveryAnswer) {
  asio::io_context server_ctx;
  serve_eight_clients(api, server_ctx, asio::make_strand(server_ctx));
}

TEST_F(loopback, SlowClientIsClosedWithinTheDeadlineWhileAnotherIsServed) {
  http::server_options o;
  o.read_timeout = 300ms;
  start(o);
  tcp::socket slow = connect();
  asio::write(slow, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n")));  // never finishes its headers
  const auto t0 = std::chrono::steady_clock::now();
  tcp::socket normal = connect();
  EXPECT_EQ(get(normal, status_path).result_int(), 200u) << "served while the slow client dawdles";
  char byte;
  boost::system::error_code ec;
  asio::read(slow, asio::buffer(&byte, 1), ec);  // blocks until the server closes it
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 5s);
}

// The read deadline is the time to send one request, not a connection's lifetime: a client
// that sends a request every 250 ms is served for twice the read deadline and more.
TEST_F(loopback, AKeepAliveClientWithinTheDeadlineOfEachRequestIsNeverCutOff) {
  http::server_options o;
  o.read_timeout = 1s;
  start(o);
  tcp::socket s = connect();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 9; ++i) {
    ASSERT_EQ(get(s, status_path).result_int(), 200u) << "request " << i;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(server->connections(), 1u);
}

// milliseconds::max() as a timeout means never (the deadline saturates instead of wrapping
// into the past, which would close every connection at once).
TEST_F(loopback, ATimeoutOfMillisecondsMaxMeansNever) {
  http::server_options o;
  o.read_timeout = std::chrono::milliseconds::max();
  o.write_timeout = std::chrono::milliseconds::max();
  start(o);
  tcp::socket s = connect();
  ASSERT_EQ(get(s, status_path).result_int(), 200u);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(get(s, status_path).result_int(), 200u) << "the same connection, still open";
}

// A client that pipelines requests and never reads the answers fills the socket buffers; the
// response that can no longer be written is given write_timeout, then the connection closes
// (the client's next write fails), and the server goes on serving others.
TEST_F(loopback, AClientThatStopsReadingIsClosedWithinTheWriteDeadline) {
  http::server_options o;
  o.write_timeout = 300ms;
  start(o);
  tcp::socket s = connect();
  s.set_option(asio::socket_base::receive_buffer_size(4096));
  std::string batch;
  for (int i = 0; i < 100; ++i) {
    batch += std::string("GET ") + status_path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n\r\n";
  }
  boost::system::error_code ec;
  // Blocks once the server stops reading (it is stuck writing); fails once it has closed.
  auto writer = std::async(std::launch::async, [&] {
    while (!ec) {
      asio::write(s, asio::buffer(batch), ec);
    }
  });
  // Well under read_timeout (15 s): the write deadline, not the read one, closed it.
  const bool closed = writer.wait_for(5s) == std::future_status::ready;
  if (!closed) {
    boost::system::error_code ignored;
    s.shutdown(tcp::socket::shutdown_both, ignored);  // unblocks the writer
    writer.wait();
  }
  ASSERT_TRUE(closed) << "still open 5 s after the client stopped reading";
  EXPECT_TRUE(ec == asio::error::connection_reset || ec == asio::error::broken_pipe) << ec.message();
  tcp::socket normal = connect();
  EXPECT_EQ(get(normal, status_path).result_int(), 200u) << "the server goes on";
}

TEST_F(loopback, ConnectionsBeyondTheCapAreRefused) {
  http::server_options o;
  o.max_connections = 2;
  start(o);
  tcp::socket a = connect(), b = connect();
  EXPECT_EQ(get(a, status_path).result_int(), 200u);
  EXPECT_EQ(get(b, status_path).result_int(), 200u);
  tcp::socket c = connect();
  char byte;
  boost::system::error_code ec;
  asio::read(c, asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(get(a, status_path).result_int(), 200u) << "the others are still served";
}

TEST_F(loopback, StopClosesIdleConnections) {
  start();
  tcp::socket idle = connect();
  EXPECT_EQ(get(idle, status_path).result_int(), 200u);
  std::promise<void> stopped;
  server->stop([&] { stopped.set_value(); });
  EXPECT_EQ(stopped.get_future().wait_for(5s), std::future_status::ready);
  char byte;
  boost::system::error_code ec;
  asio::read(idle, asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  tcp::socket late(client_ctx);
  late.connect({asio::ip::make_address("127.0.0.1"), server->port()}, ec);
  EXPECT_TRUE(ec) << "no longer accepting";
  server.reset();
}

TEST_F(loopback, StopLetsTheResponseInFlightFinishWithConnectionClose) {
  start();
  tcp::socket s = connect();
  const std::string body = R"({"sync_object_model":"authentik.core.models.User","sync_object_id":"block"})";
  const std::string request = "POST /api/v3/providers/google_workspace/1/sync/object/ HTTP/1.1\r\nHost: x\r\n"
                              "Authorization: Bearer t0ken\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::write(s, asio::buffer(request));
  ASSERT_EQ(entered.get_future().wait_for(10s), std::future_status::ready) << "the handler was never called";

  std::promise<void> stopped;
  auto stopped_future = stopped.get_future();
  server->stop([&] { stopped.set_value(); });
  EXPECT_EQ(stopped_future.wait_for(0s), std::future_status::timeout) << "stopped with a request in flight";
  release.set_value();

  boost::beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_TRUE(systask::test::matches_schema(res.body(), "SyncObjectResult"));
  EXPECT_NE(res.body().find("Synced block"), std::string::npos) << res.body();
  EXPECT_FALSE(res.keep_alive()) << "the response written after stop() says Connection: close";
  char byte;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof) << "then the connection closes";
  EXPECT_EQ(stopped_future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(server->connections(), 0u);
}

TEST_F(loopback, DestroyingTheServerClosesItsConnectionsAndTheFacadeIsNeverCalledAgain) {
  auto facade = std::make_unique<api::facade>(reg, options());
  auto srv = make_server(*facade);
  tcp::socket s = test::connect_loopback(client_ctx, srv->port());
  EXPECT_EQ(get(s, status_path).result_int(), 200u);
  // The order in which `api::facade api; http::server http;` leave a scope, with the I/O threads
  // still running and a keep-alive connection open.
  srv.reset();
  facade.reset();
  // A request on that connection after the destructor: closed unanswered, nothing touches the
  // destroyed facade (ASan would see it).
  EXPECT_EQ(test::exchange_raw(s, "GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\n"
                                  "Authorization: Bearer t0ken\r\n\r\n"),
            0u);
}

TEST_F(loopback, TheFacadeMayBeDestroyedOnceStopHasCompleted) {
  auto facade = std::make_unique<api::facade>(reg, options());
  auto srv = make_server(*facade);
  tcp::socket s = test::connect_loopback(client_ctx, srv->port());
  EXPECT_EQ(get(s, status_path).result_int(), 200u);
  std::promise<void> stopped;
  srv->stop([&] { stopped.set_value(); });
  ASSERT_EQ(stopped.get_future().wait_for(10s), std::future_status::ready);
  facade.reset();  // before the server object: allowed once on_stopped has run
  EXPECT_EQ(test::exchange_raw(s, "GET /-/health/live/ HTTP/1.1\r\n\r\n"), 0u) << "closed by stop";
  boost::system::error_code ec;
  tcp::socket late(client_ctx);
  late.connect({asio::ip::make_address("127.0.0.1"), srv->port()}, ec);
  EXPECT_TRUE(ec) << "no longer accepting";
  srv.reset();
}

TEST_F(loopback, BindFailureIsAnError) {
  start();
  http::server_options o;
  o.port = server->port();
  o.access_log = nullptr;
  http::server second(pool.get_executor(), api, o);
  // SO_REUSEADDR lets a second bind succeed on some kernels only for TIME_WAIT sockets, never
  // for a listening one.
  EXPECT_THROW(second.start(), boost::system::system_error);
}

}  // namespace
