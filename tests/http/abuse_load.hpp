// SPDX-License-Identifier: BSL-1.0
#pragma once

// The hostile load of the reliability issue, shared by the abuse test (which checks every answer
// and the memory held) and the abuse benchmark (which measures a normal client's latency under
// it): idle connections held open, a slowloris client, and a paced stream of abusive requests
// (oversized headers and bodies, malformed request lines, bad and missing tokens, ids at and
// beyond int64, non-UUIDs, path tricks), each with the status the contract gives it.

#include "http_client.hpp"
#include "resident_memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace systask::test {

struct abusive_request {
  std::string bytes;
  unsigned status;  // what the contract (or the adapter's documented limits) answers
};

// Built for a server with max_header_bytes and max_body_bytes of 4096 and the token "admin-token".
inline const std::vector<abusive_request>& abusive_requests() {
  static const std::vector<abusive_request> requests = {
      {"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n", 431},
      {"POST /api/v3/providers/google_workspace/1/sync/object/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n"
       "Content-Length: 100000\r\n\r\n" + std::string(5000, '{'), 413},
      {"GARBAGE\r\n\r\n", 400},
      {"GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\n\r\n", 403},
      {"GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n", 403},
      {"GET /api/v3/providers/google_workspace/1/sync/status/ HTTP/1.1\r\nAuthorization: Basic YTpi\r\n\r\n", 403},
      {"GET /api/v3/providers/google_workspace/9223372036854775807/sync/status/ HTTP/1.1\r\n"
       "Authorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/providers/google_workspace/9223372036854775808/sync/status/ HTTP/1.1\r\n"
       "Authorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/providers/google_workspace/-1/sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/events/system_tasks/not-a-uuid/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET /api/v3/providers/google_workspace/1/sync/../sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n",
       404},
      {"GET /api/v3/providers/google_workspace/1/sync/%2e%2e/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n",
       404},
      {"GET /api/v3//providers/google_workspace/1/sync/status/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
      {"GET //api/v3/events/system_tasks/ HTTP/1.1\r\nAuthorization: Bearer admin-token\r\n\r\n", 404},
  };
  return requests;
}

// Raises the soft descriptor limit as far as allowed and returns how many idle connections
// (each two descriptors in this process: client and server side) fit under it, at most `wanted`.
inline std::size_t idle_connections_allowed(std::size_t wanted) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 8192);
  setrlimit(RLIMIT_NOFILE, &lim);
  return std::min<std::size_t>(wanted, (lim.rlim_cur - 100) / 2);
}

class abuse_load {
 public:
  // Opens `idle_connections` that never send a byte, then starts a slowloris client (a header
  // line every 200 ms, never finishing) and an abuser sending `abusive_per_second` requests from
  // abusive_requests(), each on a new connection, checking every answer.
  abuse_load(unsigned short port, std::size_t idle_connections, int abusive_per_second = 100) : port_(port) {
    idle_.reserve(idle_connections);
    for (std::size_t i = 0; i < idle_connections; ++i) idle_.push_back(connect_loopback(ctx_, port));
    slowloris_ = std::thread([this] { run_slowloris(); });
    abuser_ = std::thread([this, abusive_per_second] { run_abuser(abusive_per_second); });
  }
  abuse_load(const abuse_load&) = delete;
  abuse_load& operator=(const abuse_load&) = delete;
  ~abuse_load() {
    stop_ = true;
    slowloris_.join();
    abuser_.join();
  }

  std::size_t idle_connections() const noexcept { return idle_.size(); }
  std::uint64_t abusive_sent() const noexcept { return sent_; }
  // Abusive requests whose answer differed from the expected status (0 = closed without one).
  std::uint64_t abusive_misanswered() const noexcept { return misanswered_; }

 private:
  void run_slowloris() {
    asio::io_context ctx;
    while (!stop_) {
      boost::system::error_code ec;
      tcp::socket s = connect_loopback(ctx, port_);
      asio::write(s, asio::buffer(std::string_view("GET / HTTP/1.1\r\n")), ec);
      for (int i = 0; i < 20 && !stop_ && !ec; ++i) {
        asio::write(s, asio::buffer(std::string_view("X-A: b\r\n")), ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }
  void run_abuser(int per_second) {
    asio::io_context ctx;
    const auto& requests = abusive_requests();
    const auto period = std::chrono::microseconds(1'000'000 / std::max(1, per_second));
    auto next = std::chrono::steady_clock::now();
    for (std::size_t i = 0; !stop_; ++i) {
      const auto& r = requests[i % requests.size()];
      tcp::socket s = connect_loopback(ctx, port_);
      if (exchange_raw(s, r.bytes) != r.status) ++misanswered_;
      ++sent_;
      next += period;
      std::this_thread::sleep_until(next);
    }
  }

  unsigned short port_;
  asio::io_context ctx_;
  std::vector<tcp::socket> idle_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> sent_{0}, misanswered_{0};
  std::thread slowloris_, abuser_;
};

}  // namespace systask::test
