// The HTTP/1.1 adapter over the facade: the only translation unit that includes Beast.

#include <systask/http/server.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace systask::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Transport differences between a real socket and Beast's in-memory test stream.
void set_deadline(beast::tcp_stream& s, std::chrono::milliseconds d) { s.expires_after(d); }
void set_deadline(beast::test::stream&, std::chrono::milliseconds) {}
void close_stream(beast::tcp_stream& s) {
  beast::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
  s.close();
}
void close_stream(beast::test::stream& s) { s.close(); }

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c >= 0x7f) {
      // Paths are ASCII on the wire; anything else is shown escaped, never raw.
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

std::string error_body(std::string_view detail, std::string_view code) {
  std::string body = "{\"detail\":";
  append_json_string(body, detail);
  body += ",\"code\":";
  append_json_string(body, code);
  body += '}';
  return body;
}

}  // namespace

// What every session needs from the server: the facade, the options, and the count of open
// connections (null for serve_bytes).
class session_base {
 public:
  virtual ~session_base() = default;
  virtual void shutdown() = 0;
};

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(net::any_io_executor ex, const api::facade& f, server_options o)
      : executor(std::move(ex)), facade(f), options(std::move(o)), strand(executor), acceptor(strand) {}

  void start();
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void stop(std::function<void()> on_stopped);
  void session_closed();
  void fire_stopped();

  net::any_io_executor executor;
  const api::facade& facade;
  const server_options options;
  net::strand<net::any_io_executor> strand;  // the acceptor's
  tcp::acceptor acceptor;
  unsigned short bound_port = 0;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // sessions and on_stopped
  std::vector<std::weak_ptr<session_base>> sessions;
  std::function<void()> on_stopped;
};

namespace {

template <class Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
 public:
  session(Stream stream, std::shared_ptr<server::impl> server, const api::facade& facade,
          const server_options& options, std::string peer)
      : stream_(std::move(stream)),
        server_(std::move(server)),
        facade_(facade),
        options_(options),
        peer_(std::move(peer)),
        buffer_(options.max_header_bytes + options.max_body_bytes + options.max_pipeline_bytes) {}

  ~session() override {
    if (server_) server_->session_closed();
  }

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
  void do_read() {
    if (stopping_ || closed_) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser_->body_limit(options_.max_body_bytes);
    set_deadline(stream_, options_.read_timeout);
    reading_ = true;
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    // The client went away (before or in the middle of a request) or was too slow: just close.
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == beast::error::timeout || closed_) {
      return close();
    }
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      return reply_error(431, "Request header fields too large.", "header_too_large");
    }
    if (ec == bhttp::error::body_limit) return reply_error(413, "Request body too large.", "body_too_large");
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return reply_error(400, "Malformed HTTP request.", "bad_request");
    }
    if (ec) return close();  // connection reset and the like
    handle(parser_->get());
  }

  void handle(const bhttp::request<bhttp::string_body>& req) {
    started_ = std::chrono::steady_clock::now();
    method_ = std::string(req.method_string());
    path_ = std::string(req.target().substr(0, req.target().find('?')));
    res_ = {};
    res_.version(11);
    if (req.method() == bhttp::verb::get && path_ == options_.health_path) {
      res_.result(bhttp::status::ok);
    } else {
      api::request r = api::request::from_target(req.method_string(), req.target());
      for (const auto& field : req) r.headers.emplace_back(field.name_string(), field.value());
      r.body = req.body();
      api::response out = facade_.handle(r);
      res_.result(static_cast<unsigned>(out.status));
      if (!out.content_type.empty()) res_.set(bhttp::field::content_type, out.content_type);
      for (const auto& [name, value] : out.headers) res_.set(name, value);
      res_.body() = std::move(out.body);
    }
    res_.set(bhttp::field::server, "systask");
    res_.keep_alive(req.keep_alive() && !stopping_);
    res_.prepare_payload();
    do_write();
  }

  void reply_error(unsigned status, std::string_view detail, std::string_view code) {
    started_ = std::chrono::steady_clock::now();
    if (parser_ && parser_->is_header_done()) {
      method_ = std::string(parser_->get().method_string());
      path_ = std::string(parser_->get().target().substr(0, parser_->get().target().find('?')));
    }
    res_ = {};
    res_.version(11);
    res_.result(status);
    res_.set(bhttp::field::content_type, "application/json; charset=utf-8");
    res_.set(bhttp::field::server, "systask");
    res_.body() = error_body(detail, code);
    res_.keep_alive(false);  // the rest of the stream cannot be trusted
    res_.prepare_payload();
    do_write();
  }

  void do_write() {
    set_deadline(stream_, options_.write_timeout);
    bhttp::async_write(stream_, res_, beast::bind_front_handler(&session::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    log_access();
    if (ec || !res_.keep_alive()) return close();
    do_read();
  }

  void log_access() {
    if (!options_.access_log) return;
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_).count();
    std::string line = "{\"method\":";
    append_json_string(line, method_);
    line += ",\"path\":";
    append_json_string(line, path_);
    line += ",\"status\":" + std::to_string(res_.result_int()) + ",\"bytes\":" + std::to_string(res_.body().size()) +
            ",\"us\":" + std::to_string(us) + ",\"peer\":";
    append_json_string(line, peer_);
    line += "}\n";
    options_.access_log(line);
    method_.clear();
    path_.clear();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    close_stream(stream_);
  }

  Stream stream_;
  std::shared_ptr<server::impl> server_;
  const api::facade& facade_;
  const server_options& options_;
  const std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  std::chrono::steady_clock::time_point started_;
  std::string method_, path_;
  bool reading_ = false;
  bool stopping_ = false;
  bool closed_ = false;
};

}  // namespace

void server::impl::start() {
  const tcp::endpoint endpoint(net::ip::make_address(options.address), options.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  bound_port = acceptor.local_endpoint().port();
  net::dispatch(strand, [self = shared_from_this()] { self->do_accept(); });
}

void server::impl::do_accept() {
  if (stopping) return;
  acceptor.async_accept(net::make_strand(executor), beast::bind_front_handler(&impl::on_accept, shared_from_this()));
}

void server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopping) return;
  if (ec) {
    // Out of descriptors and the like: wait a little instead of spinning on the error.
    auto timer = std::make_shared<net::steady_timer>(strand, std::chrono::milliseconds(50));
    timer->async_wait([self = shared_from_this(), timer](beast::error_code) { self->do_accept(); });
    return;
  }
  if (open.load() >= options.max_connections) {
    beast::error_code ignored;
    socket.close(ignored);  // over the cap: refuse, keep serving the others
  } else {
    beast::error_code peer_ec;
    const auto remote = socket.remote_endpoint(peer_ec);
    std::string peer = peer_ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    open.fetch_add(1);
    auto s = std::make_shared<session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), shared_from_this(),
                                                          facade, options, std::move(peer));
    {
      std::lock_guard lock(mutex);
      if (sessions.size() > 64 && sessions.size() > 2 * open.load()) {
        std::erase_if(sessions, [](const auto& w) { return w.expired(); });
      }
      sessions.push_back(s);
    }
    s->run();
  }
  do_accept();
}

void server::impl::stop(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex);
    on_stopped = std::move(callback);
  }
  net::post(strand, [self = shared_from_this()] {
    self->stopping = true;
    beast::error_code ignored;
    self->acceptor.close(ignored);
    std::vector<std::shared_ptr<session_base>> live;
    {
      std::lock_guard lock(self->mutex);
      for (const auto& w : self->sessions) {
        if (auto s = w.lock()) live.push_back(std::move(s));
      }
    }
    for (const auto& s : live) s->shutdown();
    live.clear();
    if (self->open.load() == 0) self->fire_stopped();
  });
}

void server::impl::session_closed() {
  if (open.fetch_sub(1) == 1 && stopping) fire_stopped();
}

void server::impl::fire_stopped() {
  std::function<void()> callback;
  {
    std::lock_guard lock(mutex);
    callback = std::exchange(on_stopped, {});
  }
  if (callback) net::post(executor, std::move(callback));
}

server::server(net::any_io_executor executor, const api::facade& facade, server_options options)
    : impl_(std::make_shared<impl>(std::move(executor), facade, std::move(options))) {}

server::~server() {
  impl_->stopping = true;
  net::post(impl_->strand, [i = impl_] {
    beast::error_code ignored;
    i->acceptor.close(ignored);
  });
}

void server::start() { impl_->start(); }
unsigned short server::port() const noexcept { return impl_->bound_port; }
void server::stop(std::function<void()> on_stopped) { impl_->stop(std::move(on_stopped)); }
std::size_t server::connections() const noexcept { return impl_->open.load(); }

std::string serve_bytes(const api::facade& facade, std::string_view input, const server_options& options) {
  net::io_context ioc;
  beast::test::stream server_side(ioc), client(ioc);
  server_side.connect(client);
  server_side.append(input);
  server_side.close_remote();  // the client sends nothing more: EOF after `input`
  auto s = std::make_shared<session<beast::test::stream>>(std::move(server_side), nullptr, facade, options, "test");
  s->run();
  s.reset();
  ioc.run();
  return std::string(client.str());
}

}  // namespace systask::http
