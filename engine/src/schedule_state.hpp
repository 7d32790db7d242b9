// SPDX-License-Identifier: BSL-1.0
#pragma once

#include "executor_link.hpp"

#include <systask/engine/crontab.hpp>
#include <systask/engine/schedule.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace systask::detail {

/// One attempt to run a schedule, from the fire that queued it to async_run's completion.
struct schedule_launch {
  // The slot async_run's handler is bound to, so that stop() can cancel the run. Only touched
  // on the strand (bound at the launch) and, for an emission, by a handler on the registry's
  // executor that holds this launch (see scheduler_state::stop).
  boost::asio::cancellation_signal signal;
  std::string uuid;  // the run's, once it started (under the scheduler's mutex)
};

/// Why a fire happens, and what it stands for; logged in the run it starts.
struct fire_note {
  bool sent = false;              // send_now, not the cadence
  std::uint64_t missed = 0;       // cadence times that passed without a fire of their own
  bool missed_capped = false;     // at least `missed` (counting stopped there)
  std::optional<wall_time> for_time;  // the crontab time this fire stands for
};

/// A schedule. Fields above the line are fixed when it is added; the rest are under the
/// scheduler's mutex.
struct schedule_entry {
  std::string id;
  std::string identifier;
  run_spec run;
  schedule_body body;
  schedule_done on_done;
  std::optional<crontab> cron;
  std::chrono::seconds interval{0};
  bool provider_sync = false;  // run.provider is set: the registry's sync lock rules overlap

  // ---- under the scheduler's mutex
  bool removed = false;
  bool paused = false;
  wall_time next_run{};                 // crontab: the next time to fire
  std::optional<wall_time> last_fired;  // crontab: the latest time a fire stood for
  mono_time next_due{};                 // interval: when to fire, on the monotonic clock
  std::vector<std::shared_ptr<schedule_launch>> launches;  // attempts in progress
  systask::run* current = nullptr;        // the run in progress (not for provider syncs), for skip messages
  std::uint64_t pending_skips = 0;  // skips while the current attempt had not started its run yet
  std::optional<schedule_run> last_run;
  boost::system::error_code last_start_error;
  std::optional<wall_time> last_skipped;
  std::uint64_t fired = 0, sent = 0, started = 0, skipped = 0, missed = 0;
};

/// Everything a scheduler owns; shared by the scheduler, its pending handlers and its runs.
/// Teardown as registry_state's: everything done on the executor goes through its
/// executor_link (`with_executor`), which ~scheduler and the context's shutdown detach.
class scheduler_state : public executor_link, public std::enable_shared_from_this<scheduler_state> {
 public:
  scheduler_state(registry& reg, scheduler_options options);

  registry& reg;  // used only to start runs, never once the scheduler is destroyed
  const scheduler_options options;
  const std::shared_ptr<const clock_source> clock;

  mutable std::mutex mutex;
  std::vector<std::shared_ptr<schedule_entry>> entries;  // in the order added
  // Every attempt in progress, of removed schedules too, for stop().
  std::vector<std::shared_ptr<schedule_launch>> launches;
  bool stopped = false;
  std::atomic<bool> destroyed{false};  // ~scheduler has begun: no on_done, no body, no start
  // Held while an on_done runs, so that ~scheduler can wait for it (on_done uses host objects).
  std::mutex callback_mutex;

  // Helpers under the mutex.
  std::shared_ptr<schedule_entry> find_locked(std::string_view id) const;
  schedule_info info_locked(const schedule_entry& e, wall_time now, mono_time mono) const;
  // The next crontab time after both `now` and the last time fired (wall_time::max() if beyond
  // the clock's range).
  static wall_time cron_next(const schedule_entry& e, wall_time now) noexcept;
  // The first interval deadline after `mono`, keeping the schedule's phase.
  static mono_time interval_next(const schedule_entry& e, mono_time mono) noexcept;

  // Timer work, on the strand. Never throws into the host's io_context::run(): failures are
  // caught and reported.
  void tick() noexcept;
  void fire(const std::shared_ptr<schedule_entry>& e, const fire_note& note) noexcept;
  void run_started(schedule_entry& e, schedule_launch& l, run& r) noexcept;
  void run_done(const std::shared_ptr<schedule_entry>& e, const std::shared_ptr<schedule_launch>& l,
                boost::system::error_code ec, task_status status) noexcept;
  void shutdown() noexcept;

  /// Queues a tick on the strand (after a change). Any thread.
  void request_tick() noexcept;


 private:
  void arm(std::optional<std::chrono::nanoseconds> wait) noexcept;  // strand only
  void cancel_timer() noexcept;                                      // strand only

  std::weak_ptr<boost::asio::steady_timer> timer_;  // strand only
  bool shut_down_ = false;                          // strand only
};

}  // namespace systask::detail
