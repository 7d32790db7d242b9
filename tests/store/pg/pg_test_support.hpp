// SPDX-License-Identifier: BSL-1.0
#pragma once

// What the PostgreSQL tests share: one cluster per test binary (started on first use), an
// io_context on its own thread, and bounded polling.

#include "pg_cluster.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
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

/// A psql process on a session of its own, fed statements through a pipe: another client that
/// holds what it took (an advisory lock, a table lock in an open transaction) while idle, until
/// kill9() or destruction.
class psql_session {
 public:
  explicit psql_session(const pg_cluster& cluster) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[0], 0);
      ::close(fds[0]);
      ::close(fds[1]);
      const std::string psql = pg_cluster::bin_dir() + "/psql";
      const std::string port = std::to_string(cluster.port());
      ::execl(psql.c_str(), "psql", "-X", "-q", "-o", "/dev/null", "-h", "127.0.0.1", "-p", port.c_str(), "-U", "postgres",
              "-d", "postgres", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[0]);
    input_ = fds[1];
  }
  ~psql_session() {
    kill9();
    if (input_ >= 0) ::close(input_);
  }
  psql_session(const psql_session&) = delete;
  psql_session& operator=(const psql_session&) = delete;

  /// Whether the process started.
  bool started() const noexcept { return pid_ > 0 && input_ >= 0; }
  /// Sends SQL text (end each statement with ';'); does not wait for it to run.
  void send(const std::string& sql) {
    const std::string line = sql + "\n";
    (void)!::write(input_, line.data(), line.size());
  }
  /// Kills the process (its session ends with what it held), and reaps it.
  void kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int input_ = -1;
};

}  // namespace systask::testing
