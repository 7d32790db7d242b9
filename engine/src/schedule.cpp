// SPDX-License-Identifier: BSL-1.0
// The scheduler's public API: schedules added, found, paused, sent and removed from any thread,
// under the scheduler's mutex; the timer's work is in schedule_timer.cpp.

#include <systask/engine/schedule.hpp>

#include "schedule_state.hpp"
#include "uuid.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <stdexcept>

namespace systask {

using detail::schedule_entry;
using detail::scheduler_state;

namespace {

constexpr std::chrono::seconds max_interval = std::chrono::hours(24 * 366);

}  // namespace

namespace detail {

scheduler_state::scheduler_state(registry& r, scheduler_options o)
    : executor_link(r.get_executor(), r.options().on_background_error),
      reg(r),
      options(o),
      clock(r.options().clock) {}

std::shared_ptr<schedule_entry> scheduler_state::find_locked(std::string_view id) const {
  for (const auto& e : entries) {
    if (e->id == id) return e;
  }
  return nullptr;
}

wall_time scheduler_state::cron_next(const schedule_entry& e, wall_time now) noexcept {
  try {
    return e.cron->next_after(e.last_fired && *e.last_fired > now ? *e.last_fired : now);
  } catch (...) {
    return wall_time::max();  // beyond the clock's range: never
  }
}

mono_time scheduler_state::interval_next(const schedule_entry& e, mono_time mono) noexcept {
  if (e.next_due > mono) return e.next_due;
  const auto step = std::chrono::duration_cast<mono_time::duration>(e.interval);
  return e.next_due + step * ((mono - e.next_due) / step + 1);
}

schedule_info scheduler_state::info_locked(const schedule_entry& e, wall_time now, mono_time mono) const {
  schedule_info i;
  i.id = e.id;
  i.identifier = e.identifier;
  i.run = e.run;
  i.crontab = e.cron ? e.cron->expression() : std::string();
  i.interval = e.interval;
  i.paused = e.paused;
  if (e.cron) {
    // Due and not yet fired: the timer is about to fire it; otherwise what the timer computes.
    i.next_run = !e.paused && e.next_run <= now ? e.next_run : cron_next(e, now);
  } else {
    const mono_time due = e.paused ? interval_next(e, mono) : e.next_due;
    i.next_run = now + std::chrono::duration_cast<wall_time::duration>(due - mono);
  }
  i.running = !e.launches.empty();
  i.last_run = e.last_run;
  i.last_start_error = e.last_start_error;
  i.last_skipped = e.last_skipped;
  i.fired = e.fired;
  i.sent = e.sent;
  i.started = e.started;
  i.skipped = e.skipped;
  i.missed = e.missed;
  return i;
}

void scheduler_state::request_tick() noexcept {
  with_executor([&](strand_type& strand, const registry::executor_type&) {
    boost::asio::post(strand, [self = shared_from_this()] { self->tick(); });
  });
}

}  // namespace detail

scheduler::scheduler(registry& reg, scheduler_options options) {
  if (options.clock_check < std::chrono::milliseconds(1)) {
    throw std::invalid_argument("systask: scheduler_options::clock_check must be at least 1 ms");
  }
  state_ = std::make_shared<scheduler_state>(reg, options);
  // Detached when the context shuts down, so nothing the state does later (a run ending, a
  // handler's destructor) touches the dead context.
  detail::executor_link::detach_with_context(state_);
}

scheduler::~scheduler() {
  stop();
  state_->destroyed.store(true, std::memory_order_release);
  { std::lock_guard wait_for_callback(state_->callback_mutex); }
  // Cancel the pending timer on the strand (so that io_context::run can return), then cut the
  // link: handlers already queued still run (they hold the state) and find it stopped.
  state_->with_executor([&](scheduler_state::strand_type& strand, const registry::executor_type&) {
    boost::asio::post(strand, [s = state_] { s->shutdown(); });
  });
  state_->detach_executor();
}

schedule_info scheduler::add(schedule_spec spec) {
  if (!spec.body) throw std::invalid_argument("systask: a schedule needs a body");
  auto e = std::make_shared<schedule_entry>();
  if (!spec.crontab.empty()) {
    if (spec.interval.count() != 0) {
      throw std::invalid_argument("systask: a schedule takes a crontab or an interval, not both");
    }
    e->cron.emplace(spec.crontab);
  } else if (spec.interval < std::chrono::seconds(1) || spec.interval > max_interval) {
    throw std::invalid_argument("systask: a schedule needs a crontab or an interval from 1 s to 366 days, not " +
                                std::to_string(spec.interval.count()) + " s");
  }
  if (const boost::system::error_code ec = state_->reg.check_spec(spec.run)) {
    throw std::invalid_argument("systask: the schedule's run_spec is refused: " + ec.message());
  }
  e->id = detail::make_uuid_v4();
  e->identifier = std::move(spec.identifier);
  e->provider_sync = spec.run.provider.has_value();
  e->run = std::move(spec.run);
  e->body = std::move(spec.body);
  e->on_done = std::move(spec.on_done);
  e->interval = spec.interval;
  e->paused = spec.paused;
  schedule_info info;
  {
    std::lock_guard lock(state_->mutex);
    if (!e->identifier.empty()) {
      for (const auto& other : state_->entries) {
        if (other->identifier == e->identifier) {
          throw std::invalid_argument("systask: another schedule has the identifier \"" + e->identifier + "\"");
        }
      }
    }
    const wall_time now = state_->clock->wall_now();
    const mono_time mono = state_->clock->mono_now();
    if (e->cron) {
      e->next_run = scheduler_state::cron_next(*e, now);
    } else {
      e->next_due = mono + std::chrono::duration_cast<mono_time::duration>(e->interval);
    }
    info = state_->info_locked(*e, now, mono);
    state_->entries.push_back(e);
  }
  state_->request_tick();
  return info;
}

bool scheduler::remove(std::string_view id) {
  {
    std::lock_guard lock(state_->mutex);
    const auto it = std::find_if(state_->entries.begin(), state_->entries.end(),
                                 [&](const auto& e) { return e->id == id; });
    if (it == state_->entries.end()) return false;
    (*it)->removed = true;
    state_->entries.erase(it);
  }
  state_->request_tick();
  return true;
}

std::vector<schedule_info> scheduler::list() const {
  std::lock_guard lock(state_->mutex);
  const wall_time now = state_->clock->wall_now();
  const mono_time mono = state_->clock->mono_now();
  std::vector<schedule_info> out;
  out.reserve(state_->entries.size());
  for (const auto& e : state_->entries) out.push_back(state_->info_locked(*e, now, mono));
  return out;
}

std::optional<schedule_info> scheduler::find(std::string_view id) const {
  std::lock_guard lock(state_->mutex);
  const auto e = state_->find_locked(id);
  if (!e) return std::nullopt;
  return state_->info_locked(*e, state_->clock->wall_now(), state_->clock->mono_now());
}

std::optional<schedule_info> scheduler::find_identifier(std::string_view identifier) const {
  if (identifier.empty()) return std::nullopt;
  std::lock_guard lock(state_->mutex);
  for (const auto& e : state_->entries) {
    if (e->identifier == identifier) {
      return state_->info_locked(*e, state_->clock->wall_now(), state_->clock->mono_now());
    }
  }
  return std::nullopt;
}

bool scheduler::set_paused(std::string_view id, bool paused) {
  {
    std::lock_guard lock(state_->mutex);
    const auto e = state_->find_locked(id);
    if (!e) return false;
    if (e->paused == paused) return true;
    e->paused = paused;
    if (!paused) {
      // The times that passed while paused are neither fired nor missed.
      if (e->cron) {
        e->next_run = scheduler_state::cron_next(*e, state_->clock->wall_now());
      } else {
        e->next_due = scheduler_state::interval_next(*e, state_->clock->mono_now());
      }
    }
  }
  state_->request_tick();
  return true;
}

bool scheduler::send_now(std::string_view id) {
  std::shared_ptr<schedule_entry> e;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopped) return false;
    e = state_->find_locked(id);
    if (!e) return false;
  }
  return state_->with_executor([&](scheduler_state::strand_type& strand, const registry::executor_type&) {
    boost::asio::post(strand, [s = state_, e] {
      detail::fire_note note;
      note.sent = true;
      s->fire(e, note);
    });
  });
}

void scheduler::stop() {
  std::vector<std::shared_ptr<detail::schedule_launch>> launches;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopped) return;
    state_->stopped = true;
    launches = state_->launches;
  }
  state_->with_executor([&](scheduler_state::strand_type& strand, const registry::executor_type& ex) {
    boost::asio::post(strand, [s = state_] { s->shutdown(); });
    // Emitted from a handler on the runs' own executor: async_run's coroutine forwards the
    // cancellation to that executor with a dispatch, which then runs inline instead of leaving
    // a queued emission that points into this signal. The handler keeps the launch (and so the
    // signal) alive until it has run.
    for (auto& l : launches) {
      boost::asio::post(ex, [l] { l->signal.emit(boost::asio::cancellation_type::terminal); });
    }
  });
}

void scheduler::check_now() { state_->request_tick(); }

std::uint64_t scheduler::background_errors() const noexcept {
  return state_->background_errors();
}

registry::executor_type scheduler::get_executor() const noexcept { return state_->executor; }

}  // namespace systask
