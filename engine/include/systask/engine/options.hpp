// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string_view>

namespace systask {

/// How the engine keeps the runs of one task (by name). Every field has the default that
/// matches authentik's behaviour.
struct task_options {
  /// A retention that keeps finished runs forever: their `expires` is null (`expiring` false).
  static constexpr std::chrono::seconds never_expire = std::chrono::seconds::max();
  /// The longest finite retention: 100 years (3,155,760,000 s). Anything longer would overflow
  /// the nanosecond `wall_time` arithmetic; use `never_expire` instead.
  static constexpr std::chrono::seconds max_retention = std::chrono::seconds{100LL * 31'557'600};

  /// How long a finished run stays visible: `expires` = finish time + retention, in
  /// 0 .. `max_retention`, or `never_expire`.
  std::chrono::seconds retention = std::chrono::hours{6};
  /// false: a successful run removes the task's records instead of keeping one (authentik's
  /// `save_on_success=False`: the task is visible only when it did not succeed).
  bool keep_on_success = true;
  /// How the final status is decided (`explicit_status` = authentik 2024.10).
  status_policy policy = status_policy::explicit_status;
  /// Finished runs kept per (name, uid), newest first (1 = authentik's one record per task).
  std::size_t history_depth = 1;
  /// Messages kept per run, rounded up to a power of two (1 .. 1,048,576).
  std::size_t max_messages = 4096;
  /// What a run whose ring is full does with one more message.
  overflow_policy overflow = overflow_policy::overwrite_oldest;
};

/// Told of a failure in the registry's background work: what failed (a fixed description) and
/// the exception. See `registry_options::on_background_error`.
using background_error_handler = std::function<void(std::string_view what, std::exception_ptr error)>;

/// Options of a registry. Plain struct; every field defaulted.
struct registry_options {
  /// Options of every task that `registry::configure_task` did not configure.
  task_options default_task{};
  /// Where time comes from; `manual_clock` in tests. Never null.
  std::shared_ptr<const clock_source> clock = system_clocks();
  /// Called on the registry's executor when background work (expiry, reclamation, a runner
  /// queued by `trigger`) fails with an exception, which never reaches the host's
  /// `io_context::run()`. Each failure is also counted (`registry::background_errors`). Must not
  /// throw (an exception it throws is caught and dropped). Empty: failures are only counted.
  background_error_handler on_background_error{};
  /// Events (run started, run finished) that may wait for the observers at once
  /// (`registry::add_observer`), 1 .. 16,777,216, rounded up to a power of two. When it is full
  /// the newest event is dropped and counted. Allocated (about 32 bytes per event) when the
  /// first observer is added; a registry without observers allocates nothing for it.
  std::size_t observer_queue_capacity = 65'536;
};

}  // namespace systask
