// SPDX-License-Identifier: BSL-1.0
// View reclamation: freeing the task views that copy-on-write updates replaced, at once when
// no reader is pinned, otherwise from a deferred pass on the registry's strand.

#include "registry_state.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace systask::detail {

void registry_state::try_reclaim(task_entry& entry) noexcept {
  if (entry.views.try_reclaim() != pinned_view<task_view>::reclaim_result::readers_pinned) return;
  queue_for_deferred_reclaim(entry);
  schedule_deferred_reclaim();
}

void registry_state::queue_for_deferred_reclaim(task_entry& entry) noexcept {
  // Once on the list is enough: the pass clears the flag with an acquire exchange before it
  // frees, so it sees every batch retired by a thread that found the flag already set.
  if (entry.reclaim_queued.exchange(true, std::memory_order_acq_rel)) return;
  task_entry* head = pending_reclaim_.load(std::memory_order_relaxed);
  do {
    entry.next_pending_reclaim = head;
  } while (!pending_reclaim_.compare_exchange_weak(head, &entry, std::memory_order_seq_cst, std::memory_order_relaxed));
}

void registry_state::run_deferred_reclaim() noexcept {
  // seq_cst with the push and with schedule_deferred_reclaim's exchange: a thread that saw a
  // pass already pending pushed its entry before this pass takes the list.
  deferred_pending_.store(false, std::memory_order_seq_cst);
  task_entry* e = pending_reclaim_.exchange(nullptr, std::memory_order_seq_cst);
  ++deferred_passes_;
  while (e) {
    task_entry* next = e->next_pending_reclaim;
    e->reclaim_queued.exchange(false, std::memory_order_acq_rel);
    ++deferred_entries_visited_;
    try_reclaim(*e);  // queues it again if a reader is still pinned
    e = next;
  }
}

void registry_state::schedule_deferred_reclaim() noexcept {
  if (deferred_pending_.exchange(true, std::memory_order_seq_cst)) return;
  const bool scheduled = with_executor([&](strand_type& strand, const registry::executor_type&) {
    auto timer = std::make_shared<boost::asio::steady_timer>(strand, std::chrono::milliseconds(2));
    timer->async_wait([self = shared_from_this(), timer](const boost::system::error_code&) {
      self->run_deferred_reclaim();
    });
  });
  // Detached or out of memory: retried at the next update of any entry; the views left are
  // freed with their entry at the latest.
  if (!scheduled) deferred_pending_.store(false, std::memory_order_release);
}

}  // namespace systask::detail
