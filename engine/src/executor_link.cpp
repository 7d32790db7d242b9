// SPDX-License-Identifier: BSL-1.0
// Teardown of a registry's or a scheduler's link to its execution context, and the context
// service that cuts every link when the context shuts down.

#include "executor_link.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

#include <algorithm>
#include <thread>

namespace systask::detail {

void executor_link::detach_executor() noexcept {
  users_.fetch_or(detached_bit, std::memory_order_acq_rel);
  // Each user is one post or one timer creation: a short wait, and only at teardown.
  while ((users_.load(std::memory_order_acquire) & ~detached_bit) != 0) std::this_thread::yield();
  if (!strand_dropped_.exchange(true, std::memory_order_acq_rel)) strand_.reset();
}

void executor_link::report_background_error(std::string_view what, std::exception_ptr error) noexcept {
  background_errors_.fetch_add(1, std::memory_order_relaxed);
  if (!on_background_error_) return;
  try {
    on_background_error_(what, std::move(error));
  } catch (...) {
    // The hook must not throw; if it does, the failure stays contained here.
  }
}

void executor_link::detach_with_context(const std::shared_ptr<executor_link>& link) {
  boost::asio::execution_context& context = boost::asio::query(link->executor, boost::asio::execution::context);
  boost::asio::use_service<executor_link_service>(context).attach(link);
}

boost::asio::execution_context::id executor_link_service::id;

executor_link_service::executor_link_service(boost::asio::execution_context& context)
    : boost::asio::execution_context::service(context) {}

void executor_link_service::attach(const std::shared_ptr<executor_link>& link) {
  {
    std::lock_guard lock(mutex_);
    if (!shut_down_) {
      std::erase_if(links_, [](const std::weak_ptr<executor_link>& w) { return w.expired(); });
      links_.push_back(link);
      return;
    }
  }
  link->detach_executor();
}

void executor_link_service::shutdown() {
  std::vector<std::weak_ptr<executor_link>> links;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    links.swap(links_);
  }
  // Newest first, as the context shuts its services down: a scheduler before its registry.
  for (auto w = links.rbegin(); w != links.rend(); ++w) {
    if (auto s = w->lock()) s->detach_executor();
  }
}

}  // namespace systask::detail
