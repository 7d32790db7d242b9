// SPDX-License-Identifier: BSL-1.0
#include "pg_connection.hpp"

#include <libpq-fe.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <map>
#include <stdexcept>
#include <utility>

namespace systask::detail {

namespace {

// libpq's messages end with a newline; the callers put them in sentences.
std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "unknown libpq error" : s;
}

std::string quoted(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

std::string pg_connection::quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

pg_conninfo pg_connection::prepare(std::string_view conninfo) {
  char* error = nullptr;
  const std::string text(conninfo);
  PQconninfoOption* options = PQconninfoParse(text.c_str(), &error);
  if (options == nullptr) {
    std::string why = error ? trimmed(error) : "out of memory";
    if (error) PQfreemem(error);
    throw std::invalid_argument("invalid PostgreSQL connection string: " + why);
  }
  std::map<std::string, std::string> values;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) values[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  // Half-open connections (a vanished host) must not keep a sync lock for the OS's 2 hours.
  values.try_emplace("keepalives", "1");
  values.try_emplace("keepalives_idle", "10");
  values.try_emplace("keepalives_interval", "5");
  values.try_emplace("keepalives_count", "3");
  // The server's side too: a replica whose host vanished keeps its session, and so its sync
  // lock, until the server's keepalives give up (the OS default is 2 hours). Per session,
  // settable by any user.
  std::string& server_options = values["options"];
  if (server_options.find("tcp_keepalives_idle") == std::string::npos) {
    server_options += std::string(server_options.empty() ? "" : " ") +
                      "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3";
  }
  // Lock names are hashed as UTF-8 on both sides (pg_lock_key and the database's sha256).
  values.try_emplace("client_encoding", "UTF8");
  pg_conninfo out;
  const auto host = values.find("host");
  if (host != values.end() && !host->second.empty() && values.count("hostaddr") == 0) {
    const std::string& h = host->second;
    if (h.find(',') != std::string::npos) {
      throw std::invalid_argument(
          "invalid PostgreSQL connection string: several hosts need hostaddr (host names are resolved "
          "with Asio, one host only)");
    }
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(h, ec);
    const bool socket_directory = h.front() == '/' || h.front() == '@';
    if (ec && !socket_directory) {
      out.resolve_host = h;
      const auto port = values.find("port");
      out.resolve_port = port != values.end() && !port->second.empty() ? port->second : "5432";
      values.erase(host);  // given again with the resolved addresses (start())
    }
  }
  for (const auto& [key, value] : values) {
    if (!out.conninfo.empty()) out.conninfo += ' ';
    out.conninfo += key + '=' + quoted(value);
  }
  return out;
}

std::shared_ptr<pg_connection> pg_connection::create(strand_type strand, pg_conninfo info,
                                                     std::chrono::milliseconds connect_timeout, callbacks cb) {
  return std::shared_ptr<pg_connection>(new pg_connection(std::move(strand), std::move(info), connect_timeout, std::move(cb)));
}

pg_connection::pg_connection(strand_type strand, pg_conninfo info, std::chrono::milliseconds connect_timeout,
                             callbacks cb)
    : strand_(strand),
      info_(std::move(info)),
      connect_timeout_(connect_timeout),
      cb_(std::move(cb)),
      socket_(strand),
      connect_timer_(strand),
      resolver_(strand) {}

pg_connection::~pg_connection() {
  release_socket();
  if (conn_ != nullptr) PQfinish(conn_);
}

void pg_connection::release_socket() noexcept {
  // libpq owns the descriptor: Asio must forget it, never close it.
  if (socket_.is_open()) (void)socket_.release();
}

bool pg_connection::wrap_socket() {
  release_socket();
  const int fd = PQsocket(conn_);
  if (fd < 0) return false;
  boost::system::error_code ec;
  socket_.assign(fd, ec);
  return !ec;
}

void pg_connection::start() {
  if (state_ != state::idle) return;
  connect_timer_.expires_after(connect_timeout_);
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || (self->state_ != state::resolving && self->state_ != state::connecting)) return;
    self->fail("connection timed out after " + std::to_string(self->connect_timeout_.count()) + " ms");
  });
  if (info_.resolve_host.empty()) {
    state_ = state::connecting;
    begin_connect(info_.conninfo);
    return;
  }
  state_ = state::resolving;
  resolver_.async_resolve(
      info_.resolve_host, info_.resolve_port,
      [self = shared_from_this()](boost::system::error_code ec, boost::asio::ip::tcp::resolver::results_type results) {
        if (self->state_ != state::resolving) return;
        if (ec || results.empty()) {
          self->fail("could not resolve host \"" + self->info_.resolve_host + "\": " +
                     (ec ? ec.message() : std::string("no address")));
          return;
        }
        // Every address, in the resolver's order (libpq tries the next one when a connection
        // fails: "localhost" may give ::1 first to a server listening on 127.0.0.1 only).
        std::string hosts;
        std::string addresses;
        std::size_t count = 0;
        for (const auto& entry : results) {
          if (count++ == 8) break;
          if (!hosts.empty()) {
            hosts += ',';
            addresses += ',';
          }
          hosts += self->info_.resolve_host;
          addresses += entry.endpoint().address().to_string();
        }
        self->state_ = state::connecting;
        self->begin_connect(self->info_.conninfo + " host=" + quoted(hosts) + " hostaddr=" + quoted(addresses));
      });
}

void pg_connection::begin_connect(const std::string& conninfo) {
  conn_ = PQconnectStart(conninfo.c_str());
  if (conn_ == nullptr) {
    fail("out of memory");
    return;
  }
  if (PQstatus(conn_) == CONNECTION_BAD) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  PQsetNoticeReceiver(
      conn_,
      [](void* arg, const PGresult* res) {
        auto* self = static_cast<pg_connection*>(arg);
        if (self->cb_.on_notice) self->cb_.on_notice(trimmed(PQresultErrorMessage(res)));
      },
      this);
  // libpq: after PQconnectStart, behave as if PQconnectPoll had returned PGRES_POLLING_WRITING.
  connect_poll(false);
}

void pg_connection::connect_poll(bool wait_for_read) {
  if (!wrap_socket()) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  using wait_type = boost::asio::posix::stream_descriptor::wait_type;
  socket_.async_wait(wait_for_read ? wait_type::wait_read : wait_type::wait_write,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       if (self->state_ != state::connecting) return;
                       if (ec) {
                         self->fail("waiting for the socket: " + ec.message());
                         return;
                       }
                       // The socket may change between polls: forget it before, wrap it after.
                       self->release_socket();
                       switch (PQconnectPoll(self->conn_)) {
                         case PGRES_POLLING_OK:
                           self->on_connected();
                           return;
                         case PGRES_POLLING_READING:
                           self->connect_poll(true);
                           return;
                         case PGRES_POLLING_WRITING:
                           self->connect_poll(false);
                           return;
                         default:
                           self->fail(trimmed(PQerrorMessage(self->conn_)));
                           return;
                       }
                     });
}

void pg_connection::on_connected() {
  connect_timer_.cancel();
  if (!wrap_socket() || PQsetnonblocking(conn_, 1) != 0) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  state_ = state::connected;
  backend_pid_ = PQbackendPID(conn_);
  if (cb_.on_connected) cb_.on_connected();
  if (state_ != state::connected) return;
  wait_readable();
  pump();
}

void pg_connection::wait_readable() {
  if (reading_ || state_ != state::connected) return;
  reading_ = true;
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->reading_ = false;
                       if (self->state_ != state::connected) return;
                       if (ec) {
                         self->fail("waiting for the socket: " + ec.message());
                         return;
                       }
                       self->on_readable();
                     });
}

void pg_connection::on_readable() {
  if (PQconsumeInput(conn_) == 0) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  drain_notifications();
  if (state_ != state::connected) return;
  drain_results();
  if (state_ != state::connected) return;
  // libpq parses a NOTIFY that came in the same read after a query's result only when that
  // result is taken (PQgetResult): without a second pass it would wait for the next read,
  // which may be a poll interval away.
  drain_notifications();
  if (state_ != state::connected) return;
  if (PQstatus(conn_) == CONNECTION_BAD) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  wait_readable();
}

void pg_connection::query(std::string sql, std::vector<std::optional<std::string>> params, query_handler done) {
  if (state_ == state::closed) {
    pg_result r;
    r.error = "connection closed";
    done(std::move(r));
    return;
  }
  queue_.push_back(pending_query{std::move(sql), std::move(params), std::move(done)});
  pump();
}

void pg_connection::pump() {
  while (state_ == state::connected && !in_flight_ && !queue_.empty()) {
    const pending_query& q = queue_.front();
    std::vector<const char*> values;
    values.reserve(q.params.size());
    for (const auto& p : q.params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryParams(conn_, q.sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0) == 0) {
      const std::string why = trimmed(PQerrorMessage(conn_));
      if (PQstatus(conn_) == CONNECTION_BAD) {
        fail(why);
        return;
      }
      pending_query failed = std::move(queue_.front());
      queue_.pop_front();
      pg_result r;
      r.error = why;
      failed.done(std::move(r));
      continue;
    }
    in_flight_ = true;
    current_ = pg_result{};
    current_.ok = true;
    flush();
  }
}

void pg_connection::flush() {
  const int r = PQflush(conn_);
  if (r < 0) {
    fail(trimmed(PQerrorMessage(conn_)));
    return;
  }
  if (r == 0 || writing_) return;
  writing_ = true;
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->writing_ = false;
                       if (self->state_ != state::connected) return;
                       if (ec) {
                         self->fail("waiting for the socket: " + ec.message());
                         return;
                       }
                       self->flush();
                       // PQflush may read input too: what it parsed waits for no further read.
                       if (self->state_ != state::connected) return;
                       self->drain_notifications();
                       if (self->state_ != state::connected) return;
                       self->drain_results();
                     });
}

void pg_connection::drain_results() {
  while (in_flight_ && state_ == state::connected && PQisBusy(conn_) == 0) {
    PGresult* res = PQgetResult(conn_);
    if (res == nullptr) {
      // The query is complete: hand it over, then send the next one.
      in_flight_ = false;
      pending_query done = std::move(queue_.front());
      queue_.pop_front();
      pg_result r = std::move(current_);
      done.done(std::move(r));
      pump();
      continue;
    }
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE) {
      if (current_.ok) {
        current_.rows.clear();
        const int rows = PQntuples(res);
        const int cols = PQnfields(res);
        current_.rows.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i) {
          std::vector<std::optional<std::string>> row;
          row.reserve(static_cast<std::size_t>(cols));
          for (int j = 0; j < cols; ++j) {
            if (PQgetisnull(res, i, j)) {
              row.emplace_back(std::nullopt);
            } else {
              row.emplace_back(std::string(PQgetvalue(res, i, j), static_cast<std::size_t>(PQgetlength(res, i, j))));
            }
          }
          current_.rows.push_back(std::move(row));
        }
      }
    } else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY && current_.ok) {
      current_.ok = false;
      current_.rows.clear();
      current_.error = trimmed(PQresultErrorMessage(res));
      const char* code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      current_.sqlstate = code ? code : "";
    }
    PQclear(res);
  }
}

void pg_connection::drain_notifications() {
  while (state_ == state::connected) {
    PGnotify* n = PQnotifies(conn_);
    if (n == nullptr) return;
    pg_notification note{n->relname ? n->relname : "", n->extra ? n->extra : "", n->be_pid};
    PQfreemem(n);
    if (cb_.on_notify) cb_.on_notify(std::move(note));
  }
}

void pg_connection::fail_queries(const std::string& why) {
  in_flight_ = false;
  std::deque<pending_query> failed;
  failed.swap(queue_);
  for (auto& q : failed) {
    pg_result r;
    r.error = why;
    q.done(std::move(r));
  }
}

void pg_connection::fail(std::string why) {
  if (state_ == state::closed) return;
  state_ = state::closed;
  connect_timer_.cancel();
  resolver_.cancel();
  release_socket();
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  fail_queries(why);
  if (cb_.on_closed) cb_.on_closed(std::move(why));
  cb_ = callbacks{};
}

void pg_connection::close() {
  if (state_ == state::closed) return;
  cb_ = callbacks{};
  fail("connection closed");
}

}  // namespace systask::detail
