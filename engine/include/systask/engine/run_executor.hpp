// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/current_run.hpp>

#include <boost/asio/execution/executor.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace systask {

/// An executor that runs every function it is given inside a `run_scope` of one run, on top
/// of an inner executor that does the actual scheduling. A coroutine spawned on it (or any
/// handler bound to it) sees that run as `current_run()` at every resumption, on whatever
/// thread of the inner executor resumes it. `async_run` spawns its coroutine on one, so a host
/// need not use it directly; it is public for hosts that want the same for work they post to
/// another executor (`run_executor(ex, current_run())`).
///
/// Properties (`query`, `require`, `prefer`) forward to the inner executor, so it converts to
/// `boost::asio::any_io_executor` whenever the inner one does, and it keeps the inner
/// executor's ordering: over a strand, everything it runs stays on the strand. Copying it
/// copies the inner executor and a shared pointer. Any thread.
template <class Inner>
class run_executor {
 public:
  using inner_executor_type = Inner;

  /// Makes `run` current for everything executed through `inner`. May throw std::bad_alloc.
  run_executor(Inner inner, run_ref run)
      : inner_(std::move(inner)), slot_(std::make_shared<const detail::run_slot>(std::move(run))) {}
  /// The run is read from `slot` each time (async_run fills it in when its run starts).
  run_executor(Inner inner, std::shared_ptr<const detail::run_slot> slot) noexcept
      : inner_(std::move(inner)), slot_(std::move(slot)) {}

  run_executor(const run_executor&) noexcept = default;
  run_executor(run_executor&&) noexcept = default;
  run_executor& operator=(const run_executor&) noexcept = default;
  run_executor& operator=(run_executor&&) noexcept = default;

  const Inner& get_inner_executor() const noexcept { return inner_; }
  /// The run this executor makes current (empty before async_run's run has started).
  run_ref current() const noexcept { return slot_->get(); }

  /// Executes `f` on the inner executor, inside a `run_scope` of this executor's run.
  template <class Function>
  void execute(Function&& f) const {
    inner_.execute(scoped<std::decay_t<Function>>{slot_, std::forward<Function>(f)});
  }

  template <class Property>
    requires boost::asio::can_query<const Inner&, const Property&>::value
  decltype(auto) query(const Property& p) const
      noexcept(boost::asio::is_nothrow_query<const Inner&, const Property&>::value) {
    return boost::asio::query(inner_, p);
  }

  template <class Property>
    requires boost::asio::can_require<const Inner&, const Property&>::value
  auto require(const Property& p) const {
    using result = std::decay_t<decltype(boost::asio::require(inner_, p))>;
    return run_executor<result>(boost::asio::require(inner_, p), slot_);
  }

  template <class Property>
    requires boost::asio::can_prefer<const Inner&, const Property&>::value
  auto prefer(const Property& p) const {
    using result = std::decay_t<decltype(boost::asio::prefer(inner_, p))>;
    return run_executor<result>(boost::asio::prefer(inner_, p), slot_);
  }

  friend bool operator==(const run_executor& a, const run_executor& b) noexcept {
    return a.slot_ == b.slot_ && a.inner_ == b.inner_;
  }
  friend bool operator!=(const run_executor& a, const run_executor& b) noexcept { return !(a == b); }

 private:
  template <class>
  friend class run_executor;

  template <class Function>
  struct scoped {
    std::shared_ptr<const detail::run_slot> slot;  // keeps the slot alive while `f` runs
    Function f;
    void operator()() {
      run_scope scope(*slot);
      std::move(f)();
    }
  };

  Inner inner_;
  std::shared_ptr<const detail::run_slot> slot_;
};

}  // namespace systask
