// SPDX-License-Identifier: BSL-1.0
// Expiry: the queue of deadlines and the timer on the registry's strand that drops expired
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
      try {
        self->deadlines_.push({when, e});
      } catch (...) {
        // The record is still hidden from every read once it expires; its memory waits for the
        // next expiry pass of its entry.
        self->report_background_error("expiry: a deadline could not be queued", std::current_exception());
        return;
      }
      // Re-arm for an earlier deadline, and also when the armed one has already passed on the
      // wall clock: the clock stepped forward after the timer's steady wait was computed, and
      // the timer would fire late.
      if (when < self->armed_for_ || self->armed_for_ <= self->clock.wall_now()) self->arm_timer();
    });
  });
}

void registry_state::schedule_expiries(std::vector<deadline> due) {
  if (due.empty()) return;
  auto batch = std::make_shared<std::vector<deadline>>(std::move(due));
  with_executor([&](strand_type& strand, const registry::executor_type&) {
    boost::asio::post(strand, [self = shared_from_this(), batch] {
      if (self->stopped_) return;
      wall_time earliest = wall_time::max();
      for (const deadline& d : *batch) {
        try {
          self->deadlines_.push(d);
        } catch (...) {
          self->report_background_error("expiry: a deadline could not be queued", std::current_exception());
          break;
        }
        earliest = std::min(earliest, d.when);
      }
      if (earliest < self->armed_for_ || self->armed_for_ <= self->clock.wall_now()) self->arm_timer();
    });
  });
}

void registry_state::arm_timer(std::chrono::nanoseconds min_wait) noexcept {
  cancel_timer();
  armed_for_ = wall_time::max();
  if (stopped_ || deadlines_.empty()) return;
  const wall_time when = deadlines_.top().when;
  const auto wait = std::max<wall_time::duration>(when - clock.wall_now(), min_wait);
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

void registry_state::reclaim_expired_now() noexcept {
  const wall_time now = clock.wall_now();
  // Each due entry is handled as it is popped, without collecting them first: a growing list
  // would reach the allocator's large-request path, which is slow with many live runs (see
  // docs/PERFORMANCE.md). An entry scheduled more than once finds nothing left to drop the
  // second time, and allocates nothing then.
  while (!deadlines_.empty() && deadlines_.top().when <= now) {
    const deadline due = deadlines_.top();
    try {
      drop_expired(*due.entry, now);
    } catch (...) {
      // Out of memory copying the view: the expired records stay hidden from every read. The
      // deadline stays queued and the pass is retried a second later rather than at once.
      report_background_error("expiry: expired records could not be dropped", std::current_exception());
      arm_timer(std::chrono::seconds(1));
      return;
    }
    // Popped only now: drop_expired never touches the queue (new deadlines are posted), so the
    // earliest is still the one just handled.
    deadlines_.pop();
  }
  arm_timer();
  deliver_expired(now);
}

void registry_state::drop_expired(task_entry& entry, wall_time now) {
  view_change change;
  update_view(entry, [&](const task_view& current) -> std::optional<task_view> {
    change = {};
    task_view next = settle_finished(current, entry.options.load(std::memory_order_acquire)->history_depth, change);
    const auto expired = static_cast<std::size_t>(
        std::count_if(next.finished.begin(), next.finished.end(), [&](const auto& r) { return r->expired_at(now); }));
    if (expired == 0 && change.moved == 0) return std::nullopt;
    for (const auto& r : next.finished) {
      if (r->expired_at(now)) change.removed.push_back(r);
    }
    std::erase_if(next.finished, [&](const auto& r) { return r->expired_at(now); });
    return next;
  });
  account(entry, change);
}

void registry_state::cancel_timer() noexcept {
  if (auto t = timer_.lock()) {
    try {
      t->cancel();
    } catch (...) {
      // The pending wait then completes at its deadline and finds the registry stopped or the
      // deadline re-checked; nothing is lost.
      report_background_error("expiry: the timer could not be cancelled", std::current_exception());
    }
  }
}

void registry_state::shutdown() noexcept {
  stopped_ = true;
  cancel_timer();
  deadlines_ = {};
}

}  // namespace systask::detail
