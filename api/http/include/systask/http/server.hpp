#pragma once

#include <systask/api/facade.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdio>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace systask::http {

/// Options of the HTTP server. Plain struct; every field defaulted.
struct server_options {
  /// Address to listen on (IPv4 or IPv6 literal).
  std::string address = "127.0.0.1";
  /// Port to listen on; 0 picks a free one (see `server::port`).
  unsigned short port = 9000;
  /// Open connections at most; a connection beyond it is closed at once.
  std::size_t max_connections = 1024;
  /// Time a client has to send one whole request (headers and body); an idle keep-alive
  /// connection is closed after it too. Slow clients (slowloris) are cut off by it.
  std::chrono::milliseconds read_timeout{std::chrono::seconds{15}};
  /// Time to write one response.
  std::chrono::milliseconds write_timeout{std::chrono::seconds{15}};
  /// Request line plus headers, in bytes; larger: 431 and close.
  std::size_t max_header_bytes = 8 * 1024;
  /// Request body, in bytes; larger: 413 and close.
  std::size_t max_body_bytes = 64 * 1024;
  /// Bytes of pipelined requests a connection may have buffered ahead of the one being answered.
  std::size_t max_pipeline_bytes = 64 * 1024;
  /// `GET` of this path answers 200 with an empty body, without a token.
  std::string health_path = "/-/health/live/";
  /// Where the access log goes: one JSON line per request (method, path, status, bytes,
  /// microseconds, peer). Null: no access log. Called from the server's threads.
  std::function<void(std::string_view line)> access_log = [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
};

/// An HTTP/1.1 server for the facade's routes (Boost.Beast): keep-alive, pipelining (answered
/// in order), a connection cap, read and write deadlines, header and body limits, graceful stop.
/// Runs on the executor it is given; with a thread pool, each connection is serialized on its
/// own strand. Not copyable or movable.
class server {
 public:
  server(boost::asio::any_io_executor executor, const api::facade& facade, server_options options);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts accepting. Throws boost::system::system_error when it cannot bind.
  void start();
  /// The bound port (after `start`; useful with port 0).
  unsigned short port() const noexcept;
  /// Stops accepting, closes idle connections, lets every in-flight response finish, then
  /// calls `on_stopped` (on the server's executor). Safe from any thread, and more than once.
  void stop(std::function<void()> on_stopped = {});
  /// Connections open now.
  std::size_t connections() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace systask::http
