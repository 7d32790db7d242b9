// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/current_run.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/run_ref.hpp>

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace systask {

/// An spdlog sink that turns each message into a message of a systask run (target
/// `systask::spdlog`). The logger's name becomes the message's `logger` (the run's task name
/// when the logger has none), the formatted payload its `event`, and when the call site is
/// known (SPDLOG_LOGGER_CALL / SPDLOG_INFO...) `file` and `line` its attributes. Levels:
/// trace and debug -> debug, info -> info, warn -> warning, err -> error, critical ->
/// critical; a message at level `off` is dropped. The pattern and formatter are ignored: a
/// run stores structured messages, not formatted lines.
///
/// Two ways to pick the run:
/// - `spdlog_sink()`: the run that is current on the logging thread (`current_run()`, set by
///   `run_scope` and by `async_run` at each resumption of its body). For synchronous loggers
///   only: an `async_logger` calls its sinks on spdlog's pool thread, where no run is current,
///   so its messages are all counted as `unrouted()`.
/// - `spdlog_sink(run.ref())`: always that run; the pattern for async loggers (a logger per
///   run, with this sink). Messages that reach it after the run finished are refused and
///   counted (`refused()`): deliver them before finishing (docs/integration.md).
///
/// `log` never throws, never blocks and does not allocate in the steady state (it appends
/// through the run's lock-free path); messages that go nowhere are only counted. Every method
/// is thread-safe, so the sink needs no mutex of spdlog's.
class spdlog_sink final : public ::spdlog::sinks::sink {
 public:
  /// Routes each message to the run current on the thread that calls the sink.
  spdlog_sink() noexcept = default;
  /// Routes every message to `run`.
  explicit spdlog_sink(run_ref run) noexcept : fixed_(std::move(run)) {}

  /// Appends `msg` to the run (see the class comment). Any thread; noexcept.
  void log(const ::spdlog::details::log_msg& msg) noexcept override;
  /// Messages are in the run when `log` returns, so there is nothing to flush; counts the call
  /// (see `flush_and_wait`).
  void flush() noexcept override;
  /// Ignored: nothing is formatted.
  void set_pattern(const std::string& pattern) override;
  /// Ignored: nothing is formatted.
  void set_formatter(std::unique_ptr<::spdlog::formatter> sink_formatter) override;

  /// Flushes `logger` and waits (polling, at most `timeout`) until this sink has been flushed
  /// by it. For an async logger whose thread pool has one worker thread (spdlog's default),
  /// the flush is queued behind the messages logged before it, so when it returns true every
  /// one of them has reached the run. spdlog 1.10's `async_logger::flush()` only queues the
  /// flush and returns (it waits from spdlog 1.14 on). Blocks the caller; never call it from
  /// inside a sink or from spdlog's pool thread. Returns false on timeout.
  bool flush_and_wait(::spdlog::logger& logger, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// The systask level of an spdlog level; nullopt for `off`. No allocation.
  static std::optional<log_level> map_level(::spdlog::level::level_enum level) noexcept;

  /// Messages appended to a run. Lock-free.
  std::uint64_t routed() const noexcept { return routed_.load(std::memory_order_relaxed); }
  /// Messages that found no run: no run was current on the logging thread. Lock-free.
  std::uint64_t unrouted() const noexcept { return unrouted_.load(std::memory_order_relaxed); }
  /// Messages the run refused: it had finished or its registry was gone. A message lost to a
  /// full ring is accepted and counted by the run (its `messages_dropped()`), so it is in
  /// `routed()`. Lock-free.
  std::uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }
  /// Calls of `flush()` so far. Lock-free.
  std::uint64_t flushes() const noexcept { return flushes_.load(std::memory_order_acquire); }

 private:
  std::optional<run_ref> fixed_;
  std::atomic<std::uint64_t> routed_{0};
  std::atomic<std::uint64_t> unrouted_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> flushes_{0};
};

}  // namespace systask
