// Expiry: the heap of deadlines and the timer on the registry's strand that drops expired
// records from their views.

#include "registry_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>

namespace systask::detail {

void registry_state::schedule_expiry(task_entry& entry, wall_time when) noexcept {
  // When nothing can be posted (detached, or out of memory) the record still disappears from
  // every read when it expires; only its memory waits for a later reclamation of its entry.
  with_executor([&](strand_type& strand, const registry::executor_type&) {
    boost::asio::post(strand, [self = shared_from_this(), e = &entry, when] {
      if (self->stopped_) return;
      self->deadlines_.push({when, e});
      if (when < self->armed_for_) self->arm_timer();
    });
  });
}

void registry_state::arm_timer() {
  if (auto old = timer_.lock()) old->cancel();
  armed_for_ = wall_time::max();
  if (stopped_ || deadlines_.empty()) return;
  const wall_time when = deadlines_.top().when;
  const auto wait = std::max(when - clock.wall_now(), wall_time::duration::zero());
  with_executor([&](strand_type& strand, const registry::executor_type&) {
    auto timer = std::make_shared<boost::asio::steady_timer>(strand, std::chrono::ceil<std::chrono::nanoseconds>(wait));
    timer->async_wait([self = shared_from_this(), timer](const boost::system::error_code& ec) {
      if (ec == boost::asio::error::operation_aborted || self->stopped_) return;
      self->reclaim_expired_now();
    });
    timer_ = timer;
    armed_for_ = when;
  });
}

void registry_state::reclaim_expired_now() {
  const wall_time now = clock.wall_now();
  // Each due entry is handled as it is popped, without collecting them first: a growing list
  // would reach the allocator's large-request path, which is slow with many live runs (see
  // docs/PERFORMANCE.md). An entry scheduled more than once finds nothing left to drop the
  // second time, and allocates nothing then.
  while (!deadlines_.empty() && deadlines_.top().when <= now) {
    task_entry& e = *deadlines_.top().entry;
    deadlines_.pop();
    drop_expired(e, now);
  }
  armed_for_ = wall_time::max();
  arm_timer();
}

void registry_state::drop_expired(task_entry& entry, wall_time now) {
  view_change change;
  update_view(entry, [&](const task_view& current) -> std::optional<task_view> {
    change = {};
    task_view next = settle_finished(current, entry.options.load(std::memory_order_acquire)->history_depth, change);
    const auto expired = static_cast<std::size_t>(
        std::count_if(next.finished.begin(), next.finished.end(), [&](const auto& r) { return r->expired_at(now); }));
    if (expired == 0 && change.moved == 0) return std::nullopt;
    change.removed += expired;
    std::erase_if(next.finished, [&](const auto& r) { return r->expired_at(now); });
    return next;
  });
  account(entry, change);
}

void registry_state::shutdown() {
  stopped_ = true;
  if (auto t = timer_.lock()) t->cancel();
  deadlines_ = {};
}

}  // namespace systask::detail
