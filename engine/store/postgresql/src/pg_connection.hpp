// SPDX-License-Identifier: BSL-1.0
#pragma once

// One libpq connection driven by an Asio strand (docs/store.md, "Replicas"): a non-blocking
// connect (PQconnectStart/PQconnectPoll), queries sent one at a time from a queue
// (PQsendQueryParams, PQflush, PQconsumeInput/PQisBusy/PQgetResult), LISTEN notifications, and a
// "closed" callback when the connection fails or drops. No thread waits for the network: the
// strand waits for PQsocket()'s readiness through posix::stream_descriptor::async_wait.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;  // libpq's PGconn

namespace systask::detail {

/// A query's outcome: `ok` with the rows of its last result (text format; nullopt for SQL
/// NULL), or not `ok` with the server's or the connection's error message.
struct pg_result {
  bool ok = false;
  std::string error;
  std::string sqlstate;  ///< the server's SQLSTATE for an error it sent ("" for a connection or client error)
  std::vector<std::vector<std::optional<std::string>>> rows;
};

/// A NOTIFY received on a channel this connection listens to.
struct pg_notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;  ///< the notifying session's backend pid
};

/// What a conninfo becomes before libpq sees it (`pg_connection::prepare`).
struct pg_conninfo {
  /// key='value' pairs: the host's own settings, plus the keepalive defaults it did not set.
  std::string conninfo;
  /// A host name to resolve with Asio before connecting (then given to libpq as host, once per
  /// address, with the addresses (up to 8) as hostaddr, because PQconnectStart would resolve it
  /// with a blocking getaddrinfo); empty when the host is an address, a socket directory,
  /// absent, or hostaddr is given. `conninfo` has no host then.
  std::string resolve_host;
  std::string resolve_port;  ///< the port for the resolver ("5432" when unset)
};

class pg_connection : public std::enable_shared_from_this<pg_connection> {
 public:
  using strand_type = boost::asio::strand<boost::asio::any_io_executor>;
  using query_handler = std::function<void(pg_result)>;

  struct callbacks {
    std::function<void()> on_connected;                     ///< once, when the connection is up
    std::function<void(pg_notification)> on_notify;         ///< each NOTIFY received
    std::function<void(std::string why)> on_closed;         ///< once: connect failed, or dropped
    std::function<void(std::string_view notice)> on_notice; ///< server notices and warnings
  };

  /// Parses a libpq conninfo (key=value or URI), adds keepalives_idle=10
  /// keepalives_interval=5 keepalives_count=3 where unset, and says which host name needs
  /// resolving. Throws std::invalid_argument for a string libpq cannot parse (libpq's reason)
  /// or a host list (several hosts) without hostaddr. Any thread; allocates.
  static pg_conninfo prepare(std::string_view conninfo);
  /// `name` as a quoted SQL identifier ("a""b"), for statements that take no parameter there
  /// (LISTEN). Any thread; allocates.
  static std::string quote_identifier(std::string_view name);

  /// A connection that starts connecting at `start()`. All callbacks run on `strand`.
  static std::shared_ptr<pg_connection> create(strand_type strand, pg_conninfo info,
                                               std::chrono::milliseconds connect_timeout, callbacks cb);
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  // Everything below is called on the strand only.

  /// Starts connecting: resolves the host name if needed, then PQconnectStart and
  /// PQconnectPoll as the socket becomes ready; `on_connected` or `on_closed` follows.
  void start();
  /// Queues a query with text parameters (nullopt: NULL); `done` is called on the strand once
  /// it completes, in queue order, or with an error when the connection fails or is closed
  /// first (possibly inline when it is closed or failed already).
  void query(std::string sql, std::vector<std::optional<std::string>> params, query_handler done);
  /// Closes the connection: queued queries complete with the error "connection closed"; no
  /// other callback is called afterwards. Idempotent.
  void close();
  bool connected() const noexcept { return state_ == state::connected; }
  /// The server process id of the session (0 before it connected).
  int backend_pid() const noexcept { return backend_pid_; }
  /// Queries queued or in flight.
  std::size_t queued() const noexcept { return queue_.size(); }

 private:
  enum class state : unsigned char { idle, resolving, connecting, connected, closed };
  struct pending_query {
    std::string sql;
    std::vector<std::optional<std::string>> params;
    query_handler done;
  };

  pg_connection(strand_type strand, pg_conninfo info, std::chrono::milliseconds connect_timeout, callbacks cb);
  void begin_connect(const std::string& conninfo);
  void connect_poll(bool wait_for_read);
  void on_connected();
  void wait_readable();
  void on_readable();
  void pump();
  void flush();
  void drain_results();
  void drain_notifications();
  void fail(std::string why);
  void fail_queries(const std::string& why);
  void release_socket() noexcept;
  bool wrap_socket();

  strand_type strand_;
  pg_conninfo info_;
  std::chrono::milliseconds connect_timeout_;
  callbacks cb_;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::ip::tcp::resolver resolver_;
  pg_conn* conn_ = nullptr;
  state state_ = state::idle;
  int backend_pid_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool in_flight_ = false;
  pg_result current_;
  std::deque<pending_query> queue_;
};

}  // namespace systask::detail
