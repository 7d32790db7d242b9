// SPDX-License-Identifier: BSL-1.0
#pragma once

// One HTTP/1.1 connection over a TCP socket or Beast's in-memory test stream: the server's
// sessions and the testing library's (api/http/testing) are this one template. Private to the
// adapter.

#include <systask/http/server.hpp>

#include "request_reader.hpp"

#include <systask/engine/render.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace systask::http::detail {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;

/// What every session shares with whoever created it (the server, or one in-memory test
/// connection): the facade, the options, and the stop and detach flags. Sessions hold it by
/// shared_ptr, so the options stay readable however long a session lives; the facade is the
/// host's and is reached only while `detached` is false.
struct connection_host {
  connection_host(const api::facade& f, server_options o) : facade(&f), options(std::move(o)) {}
  virtual ~connection_host() = default;
  connection_host(const connection_host&) = delete;
  connection_host& operator=(const connection_host&) = delete;

  /// Called once from each session's destructor.
  virtual void session_closed() noexcept {}

  const api::facade* facade;
  const server_options options;
  /// Set by stop and by detach: responses say `Connection: close`, no further request is read.
  std::atomic<bool> stopping{false};
  /// Set when the server object is destroyed: the facade and the access log are never called
  /// again (checked on each session's strand before every call).
  std::atomic<bool> detached{false};
};

/// What the server needs to shut a session down without knowing its stream type.
class session_base {
 public:
  virtual ~session_base() = default;
  /// Closes the connection if idle; otherwise lets the response in progress finish, then closes.
  /// Any thread: the work is posted to the session's strand.
  virtual void shutdown() = 0;
};

// The transport difference between a TCP socket and an in-memory test stream, found by what the
// stream offers, so that this header never names a test type: a socket is shut down for
// sending first (the client reads the end of the last response, then EOF), and its close
// reports errors through an error code instead of throwing.
template <class Stream>
void close_stream(Stream& s) {
  if constexpr (requires(beast::error_code& ec) { s.shutdown(net::socket_base::shutdown_send, ec); }) {
    beast::error_code ec;
    s.shutdown(net::socket_base::shutdown_send, ec);
    s.close(ec);
  } else {
    s.close();
  }
}

/// `{"detail":...,"code":...}`, escaped by the engine's one JSON string writer, as every body is.
inline std::string error_body(std::string_view detail, std::string_view code) {
  std::string body = "{\"detail\":";
  append_json_string(body, detail);
  body += ",\"code\":";
  append_json_string(body, code);
  body += '}';
  return body;
}

template <class Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
 public:
  session(Stream stream, std::shared_ptr<connection_host> host, std::string peer)
      : stream_(std::move(stream)),
        host_(std::move(host)),
        options_(host_->options),
        peer_(std::move(peer)),
        timer_(stream_.get_executor()),
        buffer_(options_.max_header_bytes + options_.max_body_bytes + options_.max_pipeline_bytes) {}

  ~session() override { host_->session_closed(); }

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, this->shared_from_this()));
  }

  void shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stopping_ = true;
      if (self->reading_) self->close();  // idle: nothing in flight to finish
    });
  }

 private:
  bool stopping() const noexcept { return stopping_ || host_->stopping.load(std::memory_order_acquire); }
  bool detached() const noexcept { return host_->detached.load(std::memory_order_acquire); }

  void do_read() {
    if (stopping() || closed_) return close();
    parser_.emplace(request_);
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser_->body_limit(options_.max_body_bytes);
    set_deadline(options_.read_timeout);
    reading_ = true;
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    // The client went away (before or in the middle of a request) or was too slow: just close.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == net::error::eof ||
        ec == net::error::operation_aborted || closed_) {
      return close();
    }
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      return reply_error(431, "Request header fields too large.", "header_too_large");
    }
    if (ec == bhttp::error::body_limit) return reply_error(413, "Request body too large.", "body_too_large");
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return reply_error(400, "Malformed HTTP request.", "bad_request");
    }
    if (ec) return close();  // connection reset, out of memory and the like
    handle();
  }

  void handle() {
    // The server object is gone: its host may have destroyed the facade already.
    if (detached()) return close();
    started_ = std::chrono::steady_clock::now();
    note_request_line();
    api::response out;
    const bhttp::verb verb = request_.verb();
    if ((verb == bhttp::verb::get || verb == bhttp::verb::head) && path_ == options_.health_path) {
      out.content_type.clear();
      if (verb == bhttp::verb::head) out.head_content_length = 0;
    } else {
      // Views into request_: the facade copies nothing it does not keep. The header vector
      // keeps its capacity from request to request.
      const api::request split = api::request::from_target(request_.method(), request_.target());
      facade_request_.method = split.method;
      facade_request_.path = split.path;
      facade_request_.query = split.query;
      facade_request_.headers.clear();
      for (std::size_t i = 0; i < request_.field_count(); ++i) facade_request_.headers.push_back(request_.field(i));
      facade_request_.body = request_.body();
      out = host_->facade->handle(facade_request_);
    }
    // Read the stop flags after the facade returned: a stop during a slow request still tells
    // the client that this connection closes.
    respond(std::move(out), parser_->keep_alive() && !stopping());
  }

  // The access log's method and path (query left out): views into request_, which stays as it
  // is until the next request is read, after the log line is written.
  void note_request_line() noexcept {
    if (!request_.has_request_line()) {
      method_ = path_ = {};
      return;
    }
    method_ = request_.method();
    path_ = request_.target().substr(0, request_.target().find('?'));
  }

  void reply_error(unsigned status, std::string_view detail, std::string_view code) {
    started_ = std::chrono::steady_clock::now();
    // The request line may have been parsed even when the headers were refused (a body over the
    // limit is refused on its Content-Length): log what is known, "" otherwise.
    note_request_line();
    api::response out;
    out.status = static_cast<int>(status);
    out.body = error_body(detail, code);
    respond(std::move(out), false);  // the rest of the stream cannot be trusted
  }

  // Writes the response's head into one reused string and sends it with the body as two
  // buffers. The bytes are those Beast's serializer wrote for the response this session used
  // to build (http_golden pins them): the status line, Content-Type, the facade's headers,
  // Server, `Connection: close` when the connection closes, then Content-Length (a HEAD's is
  // the GET body's length). One change from Beast's bytes, per RFC 9110 8.6: a 1xx, 204 or 304
  // carries neither a Content-Length (Beast wrote `Content-Length: 0`) nor a body. No response
  // object (one allocation per field), and no serializer iterating over a concatenation of
  // buffer sequences (a tenth of the server thread's time under load;
  // docs/PERFORMANCE-analysis.md, target 9).
  void respond(api::response out, bool keep_alive) {
    status_ = static_cast<unsigned>(out.status);
    keep_alive_ = keep_alive;
    body_ = std::move(out.body);
    head_.clear();
    head_ += "HTTP/1.1 ";
    head_ += std::to_string(status_);
    head_ += ' ';
    head_ += bhttp::obsolete_reason(bhttp::int_to_status(status_));
    head_ += "\r\n";
    const auto field = [&](std::string_view name, std::string_view value) {
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    };
    if (!out.content_type.empty()) field("Content-Type", out.content_type);
    for (const auto& [name, value] : out.headers) field(name, value);
    field("Server", "systask");
    if (!keep_alive_) field("Connection", "close");
    const bool bodiless = status_ / 100 == 1 || status_ == 204 || status_ == 304;
    // Such a response ends at its head: a body sent after it would be read as the next response.
    if (bodiless) body_.clear();
    if (out.head_content_length) {
      body_.clear();  // the facade left it empty; the head still says how long the GET's is
      field("Content-Length", std::to_string(*out.head_content_length));
    } else if (!bodiless) {
      field("Content-Length", std::to_string(body_.size()));
    }
    head_ += "\r\n";
    set_deadline(options_.write_timeout);
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
    net::async_write(stream_, buffers, beast::bind_front_handler(&session::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    log_access();
    if (ec || !keep_alive_) return close();
    do_read();
  }

  void log_access() {
    if (!options_.access_log || detached()) return;
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_).count();
    std::string line = "{\"method\":";
    append_json_string(line, method_);
    line += ",\"path\":";
    append_json_string(line, path_);
    line += ",\"status\":" + std::to_string(status_) + ",\"bytes\":" + std::to_string(body_.size()) +
            ",\"us\":" + std::to_string(us) + ",\"peer\":";
    append_json_string(line, peer_);
    line += "}\n";
    options_.access_log(line);
    method_ = path_ = {};
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    close_stream(stream_);
    timer_.cancel();
  }

  // Deadlines: one timer per connection, armed lazily. Each read of a request and each write of
  // a response moves deadline_; while the deadline only moves later, the timer is not touched
  // (Beast's basic_stream armed and cancelled a timer around every read and write: two more
  // completions per request, a tenth of the server thread's user time under load). When the
  // timer fires before the deadline it re-arms for it; at or after it, the connection is
  // closed, which ends the read or write in progress with operation_aborted. A deadline earlier
  // than the timer's (a write_timeout shorter than read_timeout) re-arms at once. The operation
  // in progress is the one the deadline was set for: it moves only when the next one starts.
  void set_deadline(std::chrono::milliseconds d) {
    using clock = std::chrono::steady_clock;
    const clock::time_point now = clock::now();
    // Saturated, as Asio's expires_after is: a timeout of milliseconds::max() means never.
    deadline_ = d >= std::chrono::duration_cast<std::chrono::milliseconds>(clock::time_point::max() - now)
                    ? clock::time_point::max()
                    : now + d;
    if (timer_waits_ == 0 || deadline_ < timer_.expiry()) arm_timer();
  }

  void arm_timer() {
    timer_.expires_at(deadline_);  // a wait in progress completes with operation_aborted
    ++timer_waits_;
    timer_.async_wait(beast::bind_front_handler(&session::on_timer, this->shared_from_this()));
  }

  // The last wait to complete decides, whatever its error: on a multi-threaded executor a wait
  // cancelled by a re-arm may complete after the newer one, and then nothing else is armed.
  void on_timer(beast::error_code) {
    --timer_waits_;
    if (closed_ || timer_waits_ > 0) return;
    if (std::chrono::steady_clock::now() < deadline_) return arm_timer();
    close();  // too slow: the pending read or write completes with operation_aborted
  }

  Stream stream_;
  std::shared_ptr<connection_host> host_;
  const server_options& options_;  // host_->options, alive as long as host_
  const std::string peer_;
  // The connection's deadline (set_deadline).
  net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>,
                            typename Stream::executor_type>
      timer_;
  std::chrono::steady_clock::time_point deadline_;
  int timer_waits_ = 0;  // waits started and not yet completed (a re-arm leaves one cancelled)
  beast::flat_buffer buffer_;
  // The request being read or answered: parsed into request_, whose storage the connection
  // keeps, and handed to the facade as views (facade_request_, whose vector is kept too).
  request_text request_;
  std::optional<request_reader> parser_;
  api::request facade_request_;
  // The response being written (respond).
  unsigned status_ = 0;
  bool keep_alive_ = false;
  std::string head_;
  std::string body_;
  std::chrono::steady_clock::time_point started_;
  std::string_view method_, path_;  // the access log's, views into request_
  bool reading_ = false;
  bool stopping_ = false;
  bool closed_ = false;
};

}  // namespace systask::http::detail
