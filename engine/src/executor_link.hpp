// SPDX-License-Identifier: BSL-1.0
#pragma once

// A shared state's link to the host's execution context: its executor, a strand on it, and the
// teardown that cuts both. Registries and schedulers keep their state alive after the objects
// the host holds (a run handle, a pending handler, a task record keep it), possibly after the
// context itself is gone. So everything such a state does on the executor goes through
// `with_executor`, which refuses once the link is detached; `detach_executor` (called by the
// owner's destructor, and by the context's executor_link_service at shutdown) waits out the
// threads inside `with_executor` and drops the strand, so nothing touches a dead context.
// The link also reports what fails in that background work: counted, and passed to the host's
// `on_background_error` hook.

#include <systask/engine/registry.hpp>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace systask::detail {

class executor_link {
 public:
  using strand_type = boost::asio::strand<registry::executor_type>;

  executor_link(registry::executor_type ex, background_error_handler on_background_error)
      : executor(std::move(ex)), on_background_error_(std::move(on_background_error)), strand_(std::in_place, executor) {}
  executor_link(const executor_link&) = delete;
  executor_link& operator=(const executor_link&) = delete;

  const registry::executor_type executor;  // never used once detached (the context may be gone)

  /// Runs `use(strand, executor)` (to post or to create a timer) unless the link is detached.
  /// Returns false when detached or when `use` threw (then nothing was posted). Any thread;
  /// lock-free; never blocks.
  template <class Use>
  bool with_executor(Use&& use) noexcept {
    if (users_.fetch_add(1, std::memory_order_acquire) & detached_bit) {
      users_.fetch_sub(1, std::memory_order_release);
      return false;
    }
    bool done = true;
    try {
      use(*strand_, executor);
    } catch (...) {
      done = false;
    }
    users_.fetch_sub(1, std::memory_order_release);
    return done;
  }

  /// Stops every later `with_executor`, waits for the ones in progress (each a post or a timer
  /// creation) and drops the strand. Any thread but one inside `with_executor`; idempotent, also
  /// when the owner's destructor and the context's shutdown call it at once.
  void detach_executor() noexcept;

  /// Counts a failure of background work and tells the host's hook. Any thread. Never throws:
  /// an exception from the hook is dropped (the hook must not throw).
  void report_background_error(std::string_view what, std::exception_ptr error) noexcept;
  /// Failures reported so far. Any thread.
  std::uint64_t background_errors() const noexcept { return background_errors_.load(std::memory_order_relaxed); }

  /// Has the context's executor_link_service detach `link` when the context shuts down (at
  /// once if it already has). Any thread; allocates.
  static void detach_with_context(const std::shared_ptr<executor_link>& link);

 protected:
  ~executor_link() = default;

 private:
  const background_error_handler on_background_error_;
  std::atomic<std::uint64_t> background_errors_{0};

  static constexpr std::uint64_t detached_bit = 1ull << 63;
  // Threads inside with_executor (low bits) and the detached flag (top bit).
  std::atomic<std::uint64_t> users_{0};
  std::optional<strand_type> strand_;        // reset (only) by detach_executor, once no user is inside
  std::atomic<bool> strand_dropped_{false};  // one detach_executor resets strand_
};

/// Ties the links that use an execution context (registries' and schedulers' states) to that
/// context's lifetime: when the context shuts down (its destructor, or `shutdown()`), every link
/// still attached is detached, newest first.
class executor_link_service final : public boost::asio::execution_context::service {
 public:
  using key_type = executor_link_service;
  static boost::asio::execution_context::id id;

  explicit executor_link_service(boost::asio::execution_context& context);

  /// Attaches `link` (detached at once if the context has already shut down). Any thread;
  /// takes the service's mutex (registries and schedulers are created rarely). Allocates.
  void attach(const std::shared_ptr<executor_link>& link);

 private:
  void shutdown() override;

  std::mutex mutex_;
  // Weak: a state dies with its last owner, run handle or pending handler, and never calls
  // back into the service (which may already be gone by then).
  std::vector<std::weak_ptr<executor_link>> links_;
  bool shut_down_ = false;
};

}  // namespace systask::detail
