// SPDX-License-Identifier: BSL-1.0
// The HTTP/1.1 adapter over the facade: the server, its acceptor and its TCP sessions. With
// session.hpp, the only code of the production library that includes Beast.

#include <systask/http/server.hpp>

#include "session.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <mutex>
#include <utility>
#include <vector>

namespace systask::http {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct server::impl final : detail::connection_host, std::enable_shared_from_this<server::impl> {
  impl(net::any_io_executor ex, const api::facade& f, server_options o)
      : connection_host(f, std::move(o)), executor(std::move(ex)), strand(executor), acceptor(strand) {}

  void start();
  void do_accept();
  template <class Executor>
  bool accept_on();  // accepts on a strand of `Executor` if the server's executor is one
  template <class Socket>
  void on_accept(beast::error_code ec, Socket socket);
  void stop(std::function<void()> on_stopped);
  void detach() noexcept;
  void shut_down();  // strand only
  void session_closed() noexcept override;
  void fire_stopped() noexcept;

  net::any_io_executor executor;
  net::strand<net::any_io_executor> strand;  // the acceptor's
  tcp::acceptor acceptor;
  unsigned short bound_port = 0;
  std::atomic<std::size_t> open{0};
  // Set on the strand once stop's shutdown has closed the acceptor: on_stopped may fire only
  // after that (a session that closes between stop() and that moment must not fire it while
  // the port still accepts).
  std::atomic<bool> shut_down_done{false};
  std::mutex mutex;  // sessions and on_stopped
  std::vector<std::weak_ptr<detail::session_base>> sessions;
  std::function<void()> on_stopped;
};

void server::impl::start() {
  const tcp::endpoint endpoint(net::ip::make_address(options.address), options.port);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
  bound_port = acceptor.local_endpoint().port();
  net::dispatch(strand, [self = shared_from_this()] { self->do_accept(); });
}

// A session's socket, stream and handlers carry its strand's executor type. Over the usual
// executors (an io_context's, a thread_pool's) the strand is made on the concrete type: no
// `any_io_executor` in the session, so no type-erased executor copied, compared and allocated
// for on each read and write (docs/PERFORMANCE-analysis.md, target 9). Any other executor gets
// the type-erased one.
void server::impl::do_accept() {
  if (stopping) return;
  if (accept_on<net::io_context::executor_type>() || accept_on<net::thread_pool::executor_type>()) return;
  acceptor.async_accept(net::make_strand(executor),
                        beast::bind_front_handler(&impl::on_accept<tcp::socket>, shared_from_this()));
}

template <class Executor>
bool server::impl::accept_on() {
  const auto* concrete = executor.target<Executor>();
  if (!concrete) return false;
  using socket = typename tcp::socket::template rebind_executor<net::strand<Executor>>::other;
  acceptor.async_accept(net::make_strand(*concrete),
                        beast::bind_front_handler(&impl::on_accept<socket>, shared_from_this()));
  return true;
}

template <class Socket>
void server::impl::on_accept(beast::error_code ec, Socket socket) {
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
    auto s = std::make_shared<detail::session<Socket>>(std::move(socket), shared_from_this(), std::move(peer));
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

void server::impl::shut_down() {
  beast::error_code ignored;
  acceptor.close(ignored);
  std::vector<std::shared_ptr<detail::session_base>> live;
  {
    std::lock_guard lock(mutex);
    for (const auto& w : sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (const auto& s : live) s->shutdown();
}

void server::impl::stop(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex);
    if (callback && on_stopped) {
      on_stopped = [first = std::move(on_stopped), second = std::move(callback)] {
        first();
        second();
      };
    } else if (callback) {
      on_stopped = std::move(callback);
    }
  }
  // Set here, not on the strand: a response being produced right now already says
  // `Connection: close`.
  stopping = true;
  net::post(strand, [self = shared_from_this()] {
    self->shut_down();
    // With session_closed's fetch_sub then load, both seq_cst: at least one of the two sees the
    // other's write, so on_stopped fires (fire_stopped hands the callback out only once).
    self->shut_down_done = true;
    if (self->open.load() == 0) self->fire_stopped();
  });
}

void server::impl::detach() noexcept {
  detached = true;
  stopping = true;
  std::function<void()> dropped;
  {
    std::lock_guard lock(mutex);
    dropped = std::exchange(on_stopped, {});
  }
  try {
    net::post(strand, [self = shared_from_this()] { self->shut_down(); });
  } catch (...) {
    // Out of memory: the connections are not closed now, but `detached` already keeps them
    // away from the facade, and their deadlines close them.
  }
}

void server::impl::session_closed() noexcept {
  if (open.fetch_sub(1) == 1 && shut_down_done) fire_stopped();
}

void server::impl::fire_stopped() noexcept {
  if (detached) return;
  std::function<void()> callback;
  {
    std::lock_guard lock(mutex);
    callback = std::exchange(on_stopped, {});
  }
  if (!callback) return;
  try {
    // Checked again when it runs: the server object may be destroyed in between.
    net::post(executor, [self = shared_from_this(), callback = std::move(callback)] {
      if (!self->detached) callback();
    });
  } catch (...) {
    // Out of memory while posting: the host's callback cannot be queued; it is dropped.
  }
}

server::server(net::any_io_executor executor, const api::facade& facade, server_options options)
    : impl_(std::make_shared<impl>(std::move(executor), facade, std::move(options))) {}

server::~server() { impl_->detach(); }

void server::start() { impl_->start(); }
unsigned short server::port() const noexcept { return impl_->bound_port; }
void server::stop(std::function<void()> on_stopped) { impl_->stop(std::move(on_stopped)); }
std::size_t server::connections() const noexcept { return impl_->open.load(); }

}  // namespace systask::http
