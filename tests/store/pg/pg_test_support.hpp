// SPDX-License-Identifier: BSL-1.0
#pragma once

// What the PostgreSQL tests share: one cluster per test binary (started on first use), an
// io_context on its own thread, and bounded polling.

#include "pg_cluster.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <thread>

namespace systask::testing {

/// The binary's shared cluster (tests that stop or restart a server make their own).
inline pg_cluster& shared_cluster() {
  static std::unique_ptr<pg_cluster> cluster = std::make_unique<pg_cluster>();
  return *cluster;
}

/// An io_context run by one thread until destroyed.
class io_thread {
 public:
  io_thread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  /// Lets what was posted before run (e.g. a lock's shutdown), then stops the context (a
  /// registry's expiry timer would keep run() busy) and joins the thread.
  ~io_thread() {
    for (int i = 0; i < 3; ++i) {
      std::promise<void> turn;
      boost::asio::post(io_, [&] { turn.set_value(); });
      turn.get_future().wait();
    }
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& context() noexcept { return io_; }
  boost::asio::io_context::executor_type executor() noexcept { return io_.get_executor(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

/// Polls `done` every millisecond until it is true or `limit` passed; returns its last value.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace systask::testing
