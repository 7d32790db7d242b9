// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/attribute.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/run_ref.hpp>

#include <exception>
#include <initializer_list>
#include <memory>
#include <string_view>

namespace systask {

namespace detail {
struct run_record;
class registry_state;
struct run_access;
}  // namespace detail

/// The handle of one run in progress. Movable, not copyable. Every method is thread-safe,
/// never blocks and never throws; appending a message is lock-free.
///
/// A handle destroyed before `finish` or `fail` ends its run as `error` with a message that
/// says so, so no run is left "running" forever and a provider's sync lock is always released.
/// An empty handle (default-constructed, moved-from, or a provider sync that was skipped
/// because another holds the lock) tests false and ignores every call.
///
/// A handle may outlive its registry and the registry's execution context. Once the registry
/// is destroyed the run records nothing more: `log` returns false, `finish` and `fail` return
/// `unknown` and `finished()` is true.
class run {
 public:
  run() noexcept = default;
  run(run&&) noexcept = default;
  run& operator=(run&& other) noexcept;
  run(const run&) = delete;
  run& operator=(const run&) = delete;
  ~run();

  explicit operator bool() const noexcept { return record_ != nullptr; }

  /// Appends one message, rendered to its final JSON once, here. Returns false when the handle
  /// is empty or the run already finished (the message is not recorded). Lock-free; does not
  /// allocate in the steady state (see docs/engine.md for the exact conditions).
  bool log(log_level level, std::string_view logger, std::string_view event,
           std::initializer_list<attribute> attrs = {}) noexcept {
    return log(level, logger, event, attributes{attrs.begin(), attrs.size()});
  }
  bool log(log_level level, std::string_view logger, std::string_view event, attributes attrs) noexcept;

  /// Shorthands with the task's name as logger.
  bool info(std::string_view event, std::initializer_list<attribute> attrs = {}) noexcept;
  bool warning(std::string_view event, std::initializer_list<attribute> attrs = {}) noexcept;
  bool error(std::string_view event, std::initializer_list<attribute> attrs = {}) noexcept;

  /// Ends the run with `status` (after the task's status policy). The first finish wins; later
  /// calls change nothing. Returns the run's final status (`unknown` for an empty handle).
  task_status finish(task_status status) noexcept;

  /// Ends the run as `error` with an `error`-level message holding the exception's text.
  task_status fail(std::exception_ptr e) noexcept;

  /// Ends the run as `error` with the message `reason` (e.g. "cancelled").
  task_status fail(std::string_view reason) noexcept;

  /// True when calls can no longer change the run: it finished, its registry is gone, or the
  /// handle is empty (there is nothing to finish).
  bool finished() const noexcept;
  std::string_view uuid() const noexcept;
  std::string_view name() const noexcept;
  std::string_view uid() const noexcept;

  /// A copyable reference that can log into this run (but not finish it), still valid after
  /// this handle moves; see `run_ref`. Empty for an empty handle. Any thread; no allocation.
  run_ref ref() const noexcept { return run_ref(record_, registry_); }

 private:
  friend class detail::registry_state;  // the only place runs are made
  friend struct detail::run_access;     // tests read the record behind a handle
  run(std::shared_ptr<detail::run_record> record, std::shared_ptr<detail::registry_state> registry) noexcept
      : record_(std::move(record)), registry_(std::move(registry)) {}
  void abandon() noexcept;

  std::shared_ptr<detail::run_record> record_;
  std::shared_ptr<detail::registry_state> registry_;
};

}  // namespace systask
