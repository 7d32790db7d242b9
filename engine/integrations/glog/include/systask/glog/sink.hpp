// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/current_run.hpp>
#include <systask/engine/enums.hpp>

#include <glog/logging.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace systask {

/// A glog sink that turns each `LOG(...)` made while a run is current on the logging thread
/// (`current_run()`: a `run_scope`, or `async_run` at each resumption of its body) into a
/// message of that run (target `systask::glog`). Register it with `google::AddLogSink(&sink)`
/// and unregister it with `google::RemoveLogSink(&sink)` before destroying it.
///
/// The message text becomes the `event`, the sink's logger name (glog has no logger names)
/// the `logger`, and the call site the attributes `file` (the path glog was given, `__FILE__`)
/// and `line`. Levels: INFO (and VLOG) -> info, WARNING -> warning, ERROR -> error, FATAL ->
/// critical (glog aborts the process after its sinks ran). A message with no current run is
/// counted (`unrouted()`) and goes nowhere.
///
/// glog calls `send` on the thread that ran the `LOG` line, with glog's own mutexes held; it
/// never throws, never blocks and never logs through glog (which would deadlock).
class glog_sink final : public google::LogSink {
 public:
  /// `logger` names the messages' logger; may throw std::bad_alloc (the copy).
  explicit glog_sink(std::string logger = "glog");

  using google::LogSink::send;  // the deprecated std::tm overload stays glog's
  /// Appends one message to the current run. Called by glog; noexcept.
  void send(google::LogSeverity severity, const char* full_filename, const char* base_filename, int line,
            const google::LogMessageTime& time, const char* message, std::size_t message_len) noexcept override;

  /// The systask level of a glog severity; nullopt outside INFO..FATAL. No allocation.
  static std::optional<log_level> map_level(google::LogSeverity severity) noexcept;

  /// Messages appended to a run. Lock-free.
  std::uint64_t routed() const noexcept { return routed_.load(std::memory_order_relaxed); }
  /// Messages logged with no current run. Lock-free.
  std::uint64_t unrouted() const noexcept { return unrouted_.load(std::memory_order_relaxed); }
  /// Messages the current run refused (it had finished, or its registry was gone). Lock-free.
  std::uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }

 private:
  const std::string logger_;
  std::atomic<std::uint64_t> routed_{0};
  std::atomic<std::uint64_t> unrouted_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace systask
