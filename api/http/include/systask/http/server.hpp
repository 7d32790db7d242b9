// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/api/facade.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
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
  /// Receives the access log: one JSON line per request (method, path, status, bytes,
  /// microseconds, peer), newline included. Null (the default): no access log, so that a
  /// library writes nothing the host did not ask for. Called on the connections' I/O threads,
  /// possibly several at once; must not throw. Never called once the server object has been
  /// destroyed.
  std::function<void(std::string_view line)> access_log{};
};

/// An HTTP/1.1 server for the facade's routes (Boost.Beast): keep-alive, pipelining (answered
/// in order), a connection cap, read and write deadlines, header and body limits, graceful stop.
/// Runs on the executor it is given; with a thread pool, each connection is serialized on its
/// own strand, and each request calls `facade::handle` synchronously on that connection's I/O
/// thread. Not copyable or movable.
///
/// Lifetimes: the facade (and whatever `access_log` refers to) must outlive the server object,
/// and the executor's execution context must outlive it too. Destroying the server never blocks:
/// it stops accepting and shuts every connection down as `stop` does, and from then on no
/// connection starts a call to the facade or `access_log`; a pending `on_stopped` is dropped,
/// never called. A `facade::handle` call that another I/O thread had already entered when the
/// destructor ran is not waited for and needs the facade until it returns: when requests may be
/// in flight, first `stop` the server and wait for `on_stopped` (every connection is closed by
/// then), or destroy the facade after the I/O threads have stopped.
class server {
 public:
  /// A server for `facade` on `executor`; nothing is bound until `start`. Allocates; any thread.
  server(boost::asio::any_io_executor executor, const api::facade& facade, server_options options);
  /// Detaches the server from its connections and from the facade (see the class comment).
  /// Never blocks; any thread, including one of the executor's.
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and starts accepting. Throws boost::system::system_error when it cannot bind.
  /// Call once, from any thread.
  void start();
  /// The bound port (after `start`; useful with port 0). Any thread.
  unsigned short port() const noexcept;
  /// Stops accepting, closes idle connections, lets every response already being produced be
  /// written (with `Connection: close`), then posts `on_stopped` to the executor once the last
  /// connection has closed. Returns at once; any thread, and more than once (each call's
  /// `on_stopped` runs, in the order given). Locks a mutex and allocates, so from a POSIX signal
  /// handler it must not be called: use a `boost::asio::signal_set` handler. `on_stopped` must
  /// not throw; it is dropped if the server object is destroyed before it runs.
  void stop(std::function<void()> on_stopped = {});
  /// Connections open now. Any thread.
  std::size_t connections() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace systask::http
