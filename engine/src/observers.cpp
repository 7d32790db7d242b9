// SPDX-License-Identifier: BSL-1.0
// Observers: the bounded queue of run events between start/finish and the registry's strand,
// and the delivery on the strand.

#include "registry_state.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace systask::detail {

namespace {
// Events delivered per turn on the strand before the rest is posted again, so that a long
// backlog does not hold the strand (expiry, reclamation) for its whole length.
constexpr std::size_t delivery_batch = 1024;
}  // namespace

void registry_state::add_observer(std::shared_ptr<run_observer> observer) {
  if (!observer) throw std::invalid_argument("systask: add_observer needs an observer");
  std::lock_guard lock(observers_mutex_);
  if (!event_queue_) {
    event_queue_ = std::make_unique<mpsc_queue<observer_event>>(options.observer_queue_capacity);
    events_.store(event_queue_.get(), std::memory_order_release);
  }
  auto next = std::make_shared<observer_list>(observers_ ? *observers_ : observer_list{});
  next->push_back(std::move(observer));
  observers_ = std::move(next);
  observing_.store(true, std::memory_order_release);
}

bool registry_state::remove_observer(const std::shared_ptr<run_observer>& observer) {
  std::lock_guard lock(observers_mutex_);
  if (!observers_) return false;
  auto it = std::find(observers_->begin(), observers_->end(), observer);
  if (it == observers_->end()) return false;
  auto next = std::make_shared<observer_list>(*observers_);
  next->erase(next->begin() + (it - observers_->begin()));
  if (next->empty()) {
    observers_.reset();
    observing_.store(false, std::memory_order_release);
  } else {
    observers_ = std::move(next);
  }
  return true;
}

dropped_events registry_state::observer_events_dropped() const noexcept {
  return dropped_events{events_dropped_[0].load(std::memory_order_relaxed),
                        events_dropped_[1].load(std::memory_order_relaxed)};
}

void registry_state::enqueue_event(event_kind kind, std::shared_ptr<const record_core> record) noexcept {
  // Set before observing_ (release); a producer that sees observing_ but not the queue yet
  // raced the first add_observer, and its event predates the observer.
  mpsc_queue<observer_event>* queue = events_.load(std::memory_order_acquire);
  if (!queue || registry_gone()) return;
  observer_event event{kind, std::move(record)};
  if (!queue->try_push(event)) {
    events_dropped_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  // Also after a drop: the observers are told of it (on_dropped) by the next delivery.
  schedule_delivery();
}

void registry_state::schedule_delivery() noexcept {
  // One delivery pending at a time. The delivery clears the flag with an acquire exchange
  // before it pops, so an event pushed by a producer that found the flag set (and so did not
  // post) is seen by that delivery: the producer's exchange is a release that the delivery's
  // exchange reads (or a later one in the same release sequence).
  if (delivery_pending_.exchange(true, std::memory_order_acq_rel)) return;
  const bool posted = with_executor([&](strand_type& strand, const registry::executor_type&) {
    boost::asio::post(strand, [self = shared_from_this()] { self->deliver_events(delivery_batch); });
  });
  // Detached (the events are dropped with the state) or out of memory (the next event retries).
  if (!posted) delivery_pending_.store(false, std::memory_order_release);
}

void registry_state::deliver_events(std::size_t limit) noexcept {
  delivery_pending_.exchange(false, std::memory_order_acq_rel);
  mpsc_queue<observer_event>* queue = events_.load(std::memory_order_acquire);
  if (!queue) return;
  std::shared_ptr<const observer_list> list;
  {
    std::lock_guard lock(observers_mutex_);
    list = observers_;
  }
  // Once the registry is gone (or stopped), queued events are dropped unheard: the host may be
  // tearing its observers down.
  const bool deliver = list && !registry_gone() && !stopped_;

  auto each = [&](const char* what, auto&& call) {
    for (const auto& o : *list) {
      try {
        call(*o);
      } catch (...) {
        report_background_error(what, std::current_exception());
      }
    }
  };
  auto tell_drops = [&] {
    const dropped_events now = observer_events_dropped();
    const dropped_events news{now.started - drops_told_[0], now.finished - drops_told_[1]};
    if (news.total() == 0) return;
    drops_told_[0] = now.started;
    drops_told_[1] = now.finished;
    if (deliver) each("an observer's on_dropped threw", [&](run_observer& o) { o.on_dropped(news); });
  };

  std::size_t delivered = 0;
  for (;;) {
    tell_drops();  // before the next event, as the drops happened before it was queued
    if (delivered == limit) {
      schedule_delivery();  // the rest in another turn of the strand
      return;
    }
    std::optional<observer_event> e = queue->try_pop();
    if (!e) return;
    ++delivered;
    if (!deliver || registry_gone()) continue;  // gone meanwhile: at most the call in progress completes
    const task_record view(std::move(e->record), clock.wall_now(), clock.mono_now());
    if (e->kind == event_kind::started) {
      each("an observer's on_started threw", [&](run_observer& o) { o.on_started(view); });
    } else {
      each("an observer's on_finished threw", [&](run_observer& o) { o.on_finished(view); });
    }
  }
}

void registry_state::deliver_expired(wall_time now) noexcept {
  if (!observing()) return;
  // Every event queued before the pass first (a producer still between its claim and its
  // publication is behind the pass, like an event queued after it).
  deliver_events(std::numeric_limits<std::size_t>::max());
  std::shared_ptr<const observer_list> list;
  {
    std::lock_guard lock(observers_mutex_);
    list = observers_;
  }
  if (!list || registry_gone() || stopped_) return;
  for (const auto& o : *list) {
    try {
      o->on_expired(now);
    } catch (...) {
      report_background_error("an observer's on_expired threw", std::current_exception());
    }
  }
}

}  // namespace systask::detail
