// SPDX-License-Identifier: BSL-1.0
// Teardown: a registry's link to its execution context, and what cuts it (the context's
// shutdown, or ~registry).

#include "registry_service.hpp"

#include "registry_state.hpp"

#include <algorithm>
#include <thread>

namespace systask::detail {

void registry_state::detach_executor() noexcept {
  users_.fetch_or(detached_bit, std::memory_order_acq_rel);
  // Each user is one post or one timer creation: a short wait, and only at teardown.
  while ((users_.load(std::memory_order_acquire) & ~detached_bit) != 0) std::this_thread::yield();
  if (!strand_dropped_.exchange(true, std::memory_order_acq_rel)) strand_.reset();
}

void registry_state::close_registry() noexcept {
  registry_gone_.store(true, std::memory_order_release);
  // Close the rings of the runs still going, so their handles' log calls return false without
  // the append path checking anything more.
  tasks.for_each([](task_entry& e) {
    entry_pin pin(e);
    for (const auto& r : pin.view().running) r->ring.close();
  });
}

boost::asio::execution_context::id registry_service::id;

registry_service::registry_service(boost::asio::execution_context& context)
    : boost::asio::execution_context::service(context) {}

void registry_service::attach(const std::shared_ptr<registry_state>& state) {
  {
    std::lock_guard lock(mutex_);
    if (!shut_down_) {
      std::erase_if(states_, [](const std::weak_ptr<registry_state>& w) { return w.expired(); });
      states_.push_back(state);
      return;
    }
  }
  state->detach_executor();
}

void registry_service::shutdown() {
  std::vector<std::weak_ptr<registry_state>> states;
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
