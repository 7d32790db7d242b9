// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/run.hpp>
#include <systask/engine/run_ref.hpp>

#include <atomic>

namespace systask {

namespace detail {

// The run of one async_run operation, filled in once when the run starts (on the registry's
// executor) and read by every thread that resumes the operation's coroutine (see run_executor).
class run_slot {
 public:
  run_slot() noexcept = default;
  explicit run_slot(run_ref r) noexcept : ref_(std::move(r)), ready_(true) {}
  run_slot(const run_slot&) = delete;
  run_slot& operator=(const run_slot&) = delete;

  // Once, before any reader can see it set. Any thread; noexcept.
  void set(run_ref r) noexcept {
    ref_ = std::move(r);
    ready_.store(true, std::memory_order_release);
  }
  // Once the operation is over: `get` returns an empty reference again, so that a completion
  // handler run inline at the operation's end does not see the finished run as current.
  void close() noexcept { closed_.store(true, std::memory_order_release); }
  // The run, or an empty reference before `set` and after `close`. Any thread; lock-free.
  run_ref get() const noexcept {
    return ready_.load(std::memory_order_acquire) && !closed_.load(std::memory_order_acquire) ? ref_ : run_ref{};
  }

 private:
  run_ref ref_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> closed_{false};
};

}  // namespace detail

/// The innermost run made current on this thread by a live `run_scope` (or by `async_run`
/// while it resumes its body here); an empty `run_ref` when there is none. Any thread; never
/// blocks, never allocates, never throws.
///
/// The thread-local behind it is defined once, in the engine library, so every shared library
/// and executable of a process sees the same current run.
run_ref current_run() noexcept;

/// Makes a run current on this thread for the scope's lifetime, then restores the run that was
/// current before (RAII; scopes nest). `run_scope(run_ref{})` makes "no run" current, hiding
/// an outer one.
///
/// A scope belongs to the thread that made it and must end in reverse order of creation, on
/// that thread. So it must not live across a `co_await` (the coroutine may resume on another
/// thread, and other handlers run on this one meanwhile): inside `async_run`, the run is
/// already current at every resumption of the body; elsewhere, wrap the coroutine's executor
/// in a `run_executor`. Never blocks, never allocates, never throws.
class run_scope {
 public:
  /// Makes `r` current; `r` may be moved or destroyed meanwhile (the scope holds a `run_ref`).
  explicit run_scope(const run& r) noexcept : run_scope(r.ref()) {}
  explicit run_scope(run_ref r) noexcept;
  /// Makes the run of `slot` current, read at each `current_run()` call, so a slot filled in
  /// while the scope is open is seen at once (async_run's executor uses it).
  explicit run_scope(const detail::run_slot& slot) noexcept;
  ~run_scope();
  run_scope(const run_scope&) = delete;
  run_scope& operator=(const run_scope&) = delete;

 private:
  friend run_ref current_run() noexcept;
  run_ref ref_;
  const detail::run_slot* slot_ = nullptr;
  const run_scope* previous_;
};

}  // namespace systask
