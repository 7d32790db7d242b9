// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/registry.hpp>
#include <systask/engine/run.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace systask {

namespace detail {
class scheduler_state;
}  // namespace detail

/// The work of one run of a schedule. The scheduler starts the run (through `async_run`, on the
/// registry's executor) and calls this with it; the returned status finishes the run, an
/// exception ends it as `error` with the exception's text, a cancellation (`scheduler::stop`)
/// as `error` with the message "cancelled". Called once per run, possibly on several threads
/// at once for different schedules when the registry's executor has several threads, never
/// for a second run of one schedule before the first has ended (no overlap). The scheduler
/// keeps the callable alive until the run has ended (also after `remove`), so a coroutine
/// lambda may use its captures.
using schedule_body = std::function<boost::asio::awaitable<task_status>(run&)>;

/// Told that an attempt to run a schedule has ended, with `async_run`'s completion values: an
/// empty error_code and the run's status when the body ran; `errc::sync_already_running` when a
/// provider sync was skipped because another run holds its lock (nothing started);
/// `errc::sync_running_elsewhere` when another replica holds its cluster lock (also a skip);
/// `asio::error::operation_aborted` when `scheduler::stop` cancelled it; another error when the
/// run could not start. Called on the scheduler's strand; must not throw (an exception is
/// caught and reported to `registry_options::on_background_error`). It must not destroy the
/// scheduler that calls it (the destructor waits for callbacks in progress: from inside one it
/// would wait for itself); post the destruction to another handler instead.
using schedule_done = std::function<void(boost::system::error_code, task_status)>;

/// What `scheduler::add` takes: a plain struct, every field defaulted.
struct schedule_spec {
  /// What each fire starts: task name, uid, description, and the provider for a provider sync
  /// (`registry::sync_spec`). Checked with `registry::check_spec` when added.
  run_spec run{};
  /// The work of each run; must not be empty.
  schedule_body body{};
  /// When to fire: a 5-field crontab expression, UTC (see `crontab`); "" for an interval schedule.
  std::string crontab{};
  /// With `crontab` "": the time between fires, as elapsed time (1 s .. 366 days). Must be 0
  /// when `crontab` is set.
  std::chrono::seconds interval{0};
  /// A stable name chosen by the host (authentik's schedule `identifier`), unique within the
  /// scheduler; "" for none.
  std::string identifier{};
  /// Added paused: it fires only through `send_now` until `set_paused(id, false)`.
  bool paused = false;
  /// Optional: told when each attempt to run this schedule ends (see `schedule_done`).
  schedule_done on_done{};
};

/// The last run a schedule started.
struct schedule_run {
  std::string uuid;                         ///< the run's uuid (registry::find_task finds its record while retained)
  wall_time started{};                      ///< when it started
  std::optional<wall_time> finished{};      ///< when the scheduler saw it end; nullopt while it runs
  task_status status = task_status::unknown;  ///< how it ended; `unknown` while it runs
  bool cancelled = false;                   ///< it was ended by `scheduler::stop`
};

/// One schedule as seen at one instant (a copy: it does not change afterwards).
struct schedule_info {
  std::string id;                      ///< random UUID (v4), fixed for the schedule's life
  std::string identifier;              ///< as added; "" for none
  run_spec run;                        ///< what each fire starts
  std::string crontab;                 ///< the expression as added; "" for an interval schedule
  std::chrono::seconds interval{0};    ///< the interval; 0 for a crontab schedule
  bool paused = false;                 ///< paused schedules fire only through send_now
  /// The next time it fires on its cadence. For a paused schedule: when it would fire if it
  /// were resumed now. `wall_time::max()` if that is beyond the clock's range.
  wall_time next_run{};
  bool running = false;                ///< a run (or a start) of this schedule is in progress
  std::optional<schedule_run> last_run;  ///< the last run it started; nullopt before the first
  /// Why the last attempt did not start (empty when it started, was skipped, or none was made):
  /// e.g. `errc::unknown_provider`, `asio::error::no_memory`.
  boost::system::error_code last_start_error{};
  std::optional<wall_time> last_skipped{};  ///< the last time a fire or send was skipped (overlap)
  std::uint64_t fired = 0;    ///< fires on its cadence
  std::uint64_t sent = 0;     ///< `send_now` calls it took
  std::uint64_t started = 0;  ///< runs it started
  std::uint64_t skipped = 0;  ///< fires and sends skipped because a run was still going (here or, for a provider sync under a cluster lock, on another replica)
  std::uint64_t missed = 0;   ///< cadence times that passed without a fire of their own (see docs/engine.md)
};

/// Options of a scheduler. Plain struct; every field defaulted.
struct scheduler_options {
  /// While a crontab schedule is waiting, the timer wakes at least this often to re-read the
  /// wall clock, so a wall-clock step forward is noticed within it (the timer itself waits on
  /// the steady clock, which a step does not move). At least 1 ms.
  std::chrono::nanoseconds clock_check = std::chrono::seconds(10);
};

/// Schedules over a registry: each one starts a run of its `run_spec` on a crontab cadence or
/// a fixed interval, through `async_run` on the registry's executor, with one Asio timer for all
/// of them, armed for the earliest next run, on a strand of that executor.
///
/// - Thread-safe: every method may be called from any thread (a mutex shared by the scheduler's
///   own calls; the timer's work runs on the strand and takes it briefly).
/// - No overlap: a fire or a send of a schedule whose previous run is still going starts
///   nothing and is recorded. For a provider sync the registry's sync lock decides (it also
///   refuses a sync started elsewhere) and appends its "skipped" message to the running sync;
///   for any other task the scheduler appends an `info` message to its running run.
/// - Wall clock: crontab times are wall-clock (UTC) instants; a step backwards never fires an
///   instant twice, a step forwards over several instants fires once with a `warning` message
///   counting the missed ones. Interval schedules measure elapsed time, which a wall-clock step
///   does not change. docs/engine.md ("Schedules") has the rules.
/// - Teardown in any order, like the registry, except that the registry must outlive the
///   scheduler and the runs it started (as for `async_run`). Once the registry's execution
///   context is shut down or destroyed the scheduler fires nothing more and `send_now` returns
///   false; reads still work.
class scheduler {
 public:
  /// A scheduler over `reg`, on a strand of `reg.get_executor()`, reading time from the
  /// registry's clock. Throws std::invalid_argument for a `clock_check` below 1 ms. Allocates.
  explicit scheduler(registry& reg, scheduler_options options = {});
  /// Stops the scheduler as `stop()` does (its runs in progress are cancelled) and cuts its link
  /// to the executor. Waits only for a timer action or a start that another thread has in progress.
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  /// Adds a schedule; returns it as added (with its id and first `next_run`). Throws
  /// std::invalid_argument for an empty body, a bad crontab (the parser's message), both or
  /// neither of crontab and interval, an interval outside 1 s .. 366 days, a `run` that
  /// `registry::check_spec` refuses, or an identifier another schedule has; std::bad_alloc.
  /// Nothing is added when it throws. Takes the scheduler's mutex; posts to its strand.
  schedule_info add(schedule_spec spec);

  /// Removes the schedule; false when there is none with this id. A run it started keeps going
  /// to its end (`stop` cancels runs). Takes the scheduler's mutex.
  bool remove(std::string_view id);

  /// Every schedule, in the order they were added. Takes the scheduler's mutex; allocates.
  std::vector<schedule_info> list() const;
  /// The schedule with this id, if any. Takes the scheduler's mutex; allocates.
  std::optional<schedule_info> find(std::string_view id) const;
  /// The schedule with this (non-empty) identifier, if any. Takes the scheduler's mutex; allocates.
  std::optional<schedule_info> find_identifier(std::string_view identifier) const;

  /// Pauses or resumes a schedule; false when there is none with this id. A resumed schedule
  /// fires at its next cadence time after now: the times that passed while it was paused are
  /// not fires, not missed. Takes the scheduler's mutex; posts to its strand.
  bool set_paused(std::string_view id, bool paused);

  /// Runs the schedule once at once, outside its cadence: `next_run` does not move, and a
  /// paused schedule runs too. Subject to the no-overlap rule (recorded as a skip). Returns
  /// false when there is none with this id, or the scheduler is stopped, or the executor is
  /// gone (nothing is queued). Takes the scheduler's mutex; posts to its strand.
  bool send_now(std::string_view id);

  /// Stops firing (the timer is cancelled; `send_now` returns false from now on) and cancels
  /// the runs this scheduler started that are still going (`terminal` cancellation, delivered
  /// through the registry's executor: a coroutine body sees `operation_aborted`; the run ends
  /// as `error` "cancelled"). Returns at once; the runs end on the executor. Irreversible;
  /// idempotent. As for any Asio cancellation, the runs' executor should be a strand (or a
  /// single-threaded context) so that it never runs at the same time as the run it cancels.
  /// A fire that was already starting its run when `stop` was called may still start it; that
  /// run then ends at once as `error` "cancelled" (or, when the scheduler is being destroyed,
  /// "The scheduler was destroyed before this run began"), so a provider's last sync status can
  /// read `error` after a stop. Known limitation: see docs/engine.md, Schedules.
  void stop();

  /// Runs the timer's work now, on the strand: fires what is due and re-arms the timer. The
  /// timer does this by itself; tests with a `manual_clock` call it after moving the clock.
  void check_now();

  /// Failures of the scheduler's background work so far (an `on_done` that threw, a start that
  /// could not be queued); each is also passed to `registry_options::on_background_error`.
  std::uint64_t background_errors() const noexcept;

  /// The registry's executor (the scheduler's strand is on it).
  registry::executor_type get_executor() const noexcept;

 private:
  std::shared_ptr<detail::scheduler_state> state_;
};

}  // namespace systask
