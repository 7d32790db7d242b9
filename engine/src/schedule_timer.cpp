// SPDX-License-Identifier: BSL-1.0
// The scheduler's timer work, on its strand: which schedules are due, the fires and the runs
// they start (through async_run), and the bookkeeping when a run ends.

#include "schedule_state.hpp"

#include <systask/engine/async_run.hpp>
#include <systask/engine/errc.hpp>
#include <systask/engine/timestamp.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace systask::detail {

namespace {

// Counting the crontab times that a late fire stands for stops here (a clock step of years
// over `* * * * *` would otherwise take a while); the message then says "at least".
constexpr std::uint64_t missed_count_limit = 10'000;

// Clears the schedule's current run once the body is over, also when the body's coroutine is
// destroyed unfinished (with its execution context): the pointer must never outlive the run.
class current_run_guard {
 public:
  current_run_guard(std::shared_ptr<scheduler_state> s, std::shared_ptr<schedule_entry> e, const run* r) noexcept
      : s_(std::move(s)), e_(std::move(e)), r_(r) {}
  ~current_run_guard() {
    std::lock_guard lock(s_->mutex);
    if (e_->current == r_) e_->current = nullptr;
  }
  current_run_guard(const current_run_guard&) = delete;
  current_run_guard& operator=(const current_run_guard&) = delete;

 private:
  std::shared_ptr<scheduler_state> s_;
  std::shared_ptr<schedule_entry> e_;
  const run* r_;
};

// The body async_run executes for a schedule: the bookkeeping of the start, the note of what
// this fire stands for, then the schedule's own body.
boost::asio::awaitable<task_status> scheduled_body(std::shared_ptr<scheduler_state> s, std::shared_ptr<schedule_entry> e,
                                                   std::shared_ptr<schedule_launch> l, fire_note note, run& r) {
  if (s->destroyed.load(std::memory_order_acquire)) {
    // The host may already have destroyed what the body uses.
    throw std::runtime_error("The scheduler was destroyed before this run began");
  }
  s->run_started(*e, *l, r);
  const current_run_guard guard(s, e, &r);
  if (note.missed > 0) {
    const std::string event = (note.missed_capped ? "At least " : "") + std::to_string(note.missed) +
                              (note.missed == 1 ? " scheduled start was" : " scheduled starts were") +
                              " missed (the wall clock stepped forward, or the scheduler woke late); this run stands "
                              "for them";
    if (note.for_time) {
      const std::string scheduled_for = format_timestamp(*note.for_time);
      r.warning(event, {{"missed", note.missed}, {"schedule", e->id}, {"scheduled_for", scheduled_for}});
    } else {
      r.warning(event, {{"missed", note.missed}, {"schedule", e->id}});
    }
  }
  co_return co_await e->body(r);
}

template <class T>
void erase_one(std::vector<T>& v, const T& x) {
  const auto it = std::find(v.begin(), v.end(), x);
  if (it != v.end()) v.erase(it);
}

}  // namespace

void scheduler_state::tick() noexcept {
  std::vector<std::pair<std::shared_ptr<schedule_entry>, fire_note>> due;
  std::optional<std::chrono::nanoseconds> wait;
  try {
    std::lock_guard lock(mutex);
    if (stopped || shut_down_) return;
    const wall_time now = clock->wall_now();
    const mono_time mono = clock->mono_now();
    auto earliest = [&](std::chrono::nanoseconds w) {
      if (!wait || w < *wait) wait = w;
    };
    bool any_cron = false;
    for (const auto& e : entries) {
      if (e->paused) continue;
      if (e->cron) {
        any_cron = true;
        if (e->next_run <= now) {
          // Fire once, for the latest time that has passed; the earlier ones were missed.
          fire_note note;
          wall_time latest = e->next_run;
          try {
            while (true) {
              const wall_time next = e->cron->next_after(latest);
              if (next > now) break;
              if (note.missed == missed_count_limit) {
                note.missed_capped = true;
                latest = now;  // stands for every time up to now
                break;
              }
              latest = next;
              ++note.missed;
            }
          } catch (const std::overflow_error&) {
            // No later time within the clock's range: `latest` is the last one.
          }
          note.for_time = latest;
          e->last_fired = latest;
          e->next_run = cron_next(*e, now);
          due.emplace_back(e, note);
        } else {
          // Recomputed every time: a step backwards brings the next run closer again, but never
          // to a time this schedule has already fired for.
          e->next_run = cron_next(*e, now);
        }
        if (e->next_run != wall_time::max()) earliest(e->next_run - now);
      } else {
        if (e->next_due <= mono) {
          fire_note note;
          const auto step = std::chrono::duration_cast<mono_time::duration>(e->interval);
          note.missed = static_cast<std::uint64_t>((mono - e->next_due) / step);
          e->next_due += step * static_cast<mono_time::duration::rep>(note.missed + 1);
          due.emplace_back(e, note);
        }
        earliest(e->next_due - mono);
      }
    }
    // The steady timer does not see a wall-clock step forward: look again within clock_check.
    if (any_cron) earliest(options.clock_check);
  } catch (...) {
    report_background_error("scheduler: a timer pass failed", std::current_exception());
    wait = std::chrono::seconds(1);  // retry; what was due stays due
  }
  arm(wait);
  for (const auto& [e, note] : due) fire(e, note);
}

void scheduler_state::fire(const std::shared_ptr<schedule_entry>& e, const fire_note& note) noexcept {
  // Held while async_run is called, so that ~scheduler (which takes it in stop()) never returns
  // while a start that uses the registry is in progress.
  std::lock_guard lock(mutex);
  if (stopped || e->removed || destroyed.load(std::memory_order_acquire)) return;
  const wall_time now = clock->wall_now();
  if (note.sent) {
    ++e->sent;
  } else {
    ++e->fired;
  }
  e->missed += note.missed;
  // No overlap. A provider sync is left to the registry's sync lock, which also sees syncs
  // started elsewhere and leaves its own message on the running sync.
  if (!e->provider_sync && !e->launches.empty()) {
    ++e->skipped;
    e->last_skipped = now;
    if (e->current) {
      e->current->info(note.sent ? "A start requested now was skipped because this run is still running"
                                 : "A scheduled start was skipped because this run is still running",
                       {{"schedule", e->id}});
    } else {
      ++e->pending_skips;  // told to the run when it starts
    }
    return;
  }
  std::shared_ptr<schedule_launch> l;
  std::exception_ptr failure;
  bool queued = false;
  try {
    l = std::make_shared<schedule_launch>();
    e->launches.push_back(l);
    launches.push_back(l);
    queued = with_executor([&](strand_type& strand, const registry::executor_type&) {
      try {
        auto self = shared_from_this();
        async_run(reg, e->run, [self, e, l, note](run& r) { return scheduled_body(self, e, l, note, r); },
                  boost::asio::bind_cancellation_slot(
                      l->signal.slot(),
                      boost::asio::bind_executor(strand, [self, e, l](boost::system::error_code ec, task_status status) {
                        self->run_done(e, l, ec, status);
                      })));
      } catch (...) {
        failure = std::current_exception();
      }
    });
  } catch (...) {
    failure = std::current_exception();
  }
  if (queued && !failure) return;
  // Nothing was queued (out of memory, or the executor is gone): this attempt is over.
  if (l) {
    erase_one(e->launches, l);
    erase_one(launches, l);
  }
  e->last_start_error = failure ? start_error(failure) : make_error_code(boost::asio::error::shut_down);
  if (failure) report_background_error("scheduler: a run could not be queued", failure);
}

void scheduler_state::run_started(schedule_entry& e, schedule_launch& l, run& r) noexcept {
  std::lock_guard lock(mutex);
  ++e.started;
  e.last_start_error = {};
  try {
    l.uuid = r.uuid();
    schedule_run last;
    last.uuid = l.uuid;
    last.started = clock->wall_now();
    e.last_run = std::move(last);
  } catch (...) {
    // Out of memory: the run goes on; only the schedule's view of it is missing.
    report_background_error("scheduler: a run's start could not be recorded", std::current_exception());
  }
  if (!e.provider_sync) e.current = &r;
  if (e.pending_skips > 0) {
    r.info("A scheduled start was skipped because this run was still starting",
           {{"skipped", e.pending_skips}, {"schedule", e.id}});
    e.pending_skips = 0;
  }
}

void scheduler_state::run_done(const std::shared_ptr<schedule_entry>& e, const std::shared_ptr<schedule_launch>& l,
                               boost::system::error_code ec, task_status status) noexcept {
  schedule_done done;
  {
    std::lock_guard lock(mutex);
    erase_one(e->launches, l);
    erase_one(launches, l);
    const wall_time now = clock->wall_now();
    // Skipped: the provider's sync runs already, here or on another replica (cluster lock).
    if (ec == errc::sync_already_running || ec == errc::sync_running_elsewhere) {
      ++e->skipped;
      e->last_skipped = now;
    } else if (!l->uuid.empty()) {
      if (e->last_run && e->last_run->uuid == l->uuid) {
        e->last_run->finished = now;
        e->last_run->status = status;
        e->last_run->cancelled = ec == boost::asio::error::operation_aborted;
      }
    } else {
      if (ec && ec != boost::asio::error::operation_aborted) e->last_start_error = ec;
    }
    // Skips waiting for a run that has ended (or never started) are counted already, in
    // `skipped`; told to the next run they would describe a run that is not theirs.
    e->pending_skips = 0;
    try {
      done = e->on_done;
    } catch (...) {
      report_background_error("scheduler: on_done could not be copied", std::current_exception());
    }
  }
  if (!done) return;
  std::lock_guard callback(callback_mutex);
  if (destroyed.load(std::memory_order_acquire)) return;  // the host may have destroyed what it uses
  try {
    done(ec, status);
  } catch (...) {
    report_background_error("scheduler: a schedule's on_done threw", std::current_exception());
  }
}

void scheduler_state::arm(std::optional<std::chrono::nanoseconds> wait) noexcept {
  cancel_timer();
  if (!wait || shut_down_) return;
  std::exception_ptr failure;
  with_executor([&](strand_type& strand, const registry::executor_type&) {
    try {
      auto timer = std::make_shared<boost::asio::steady_timer>(strand, std::max(*wait, std::chrono::nanoseconds(0)));
      timer->async_wait([self = shared_from_this(), timer](const boost::system::error_code& ec) {
        if (ec == boost::asio::error::operation_aborted || self->shut_down_) return;
        self->tick();
      });
      timer_ = timer;
    } catch (...) {
      failure = std::current_exception();
    }
  });
  // Detached: nothing fires any more. Out of memory: the next change (or check_now) re-arms.
  if (failure) report_background_error("scheduler: the timer could not be armed", failure);
}

void scheduler_state::cancel_timer() noexcept {
  if (auto t = timer_.lock()) {
    try {
      t->cancel();
    } catch (...) {
      // The pending wait then completes at its deadline and re-checks; nothing is lost.
      report_background_error("scheduler: the timer could not be cancelled", std::current_exception());
    }
  }
}

void scheduler_state::shutdown() noexcept {
  shut_down_ = true;
  cancel_timer();
}

}  // namespace systask::detail
