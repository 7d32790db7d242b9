// SPDX-License-Identifier: BSL-1.0
// Teardown: a scheduler's link to its execution context, and what cuts it (the context's
// shutdown, or ~scheduler). Mirrors registry_service.cpp.

#include "schedule_service.hpp"

#include "schedule_state.hpp"

#include <algorithm>
#include <thread>

namespace systask::detail {

void scheduler_state::detach_executor() noexcept {
  users_.fetch_or(detached_bit, std::memory_order_acq_rel);
  // Each user is one post or one timer creation: a short wait, and only at teardown.
  while ((users_.load(std::memory_order_acquire) & ~detached_bit) != 0) std::this_thread::yield();
  if (!strand_dropped_.exchange(true, std::memory_order_acq_rel)) strand_.reset();
}

boost::asio::execution_context::id schedule_service::id;

schedule_service::schedule_service(boost::asio::execution_context& context)
    : boost::asio::execution_context::service(context) {}

void schedule_service::attach(const std::shared_ptr<scheduler_state>& state) {
  {
    std::lock_guard lock(mutex_);
    if (!shut_down_) {
      std::erase_if(states_, [](const std::weak_ptr<scheduler_state>& w) { return w.expired(); });
      states_.push_back(state);
      return;
    }
  }
  state->detach_executor();
}

void schedule_service::shutdown() {
  std::vector<std::weak_ptr<scheduler_state>> states;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    states.swap(states_);
  }
  for (const auto& w : states) {
    if (auto s = w.lock()) s->detach_executor();
  }
}

}  // namespace systask::detail
