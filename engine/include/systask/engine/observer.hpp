// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/clock.hpp>
#include <systask/engine/record.hpp>

#include <cstdint>

namespace systask {

/// Events an observer did not hear of because the registry's observer queue was full, by kind.
struct dropped_events {
  std::uint64_t started = 0;   ///< `on_started` calls missed
  std::uint64_t finished = 0;  ///< `on_finished` calls missed
  std::uint64_t total() const noexcept { return started + finished; }
};

/// Told of what happens to a registry's runs (a store, an exporter, a finish hook): subclass it
/// and override what you need (every member does nothing by default), then
/// `registry::add_observer`.
///
/// Delivery: on the registry's strand (so never two calls at once, and never on the thread that
/// started, logged to or finished the run), in the order of the events: a run's `on_started`
/// comes before its `on_finished`. `start` and `finish` put each event into a bounded lock-free
/// queue (`registry_options::observer_queue_capacity`) and never wait for an observer; when the
/// queue is full the event is dropped and counted, and observers get `on_dropped` before the
/// next event they are given (so an observer can keep exact counts). A slow observer therefore
/// costs events, never memory or the hosts' threads. An observer that throws is contained: the
/// exception is counted and passed to `registry_options::on_background_error`, and delivery goes
/// on. Runs that `prefill` or `restore` put in the registry produce no events.
class run_observer {
 public:
  virtual ~run_observer() = default;

  /// A run started. `run` is a view taken when the event is delivered, so a run that has
  /// finished meanwhile is shown finished.
  virtual void on_started(const task_record& run) { (void)run; }
  /// A run finished; `run` shows it finished, with its messages (`for_each_message`).
  virtual void on_finished(const task_record& run) { (void)run; }
  /// The registry's expiry pass ran at `now`: records whose `expires` <= now are gone from the
  /// registry (a store purges its copies). Comes after every event queued before the pass.
  virtual void on_expired(wall_time now) { (void)now; }
  /// Events dropped (queue full) since the last `on_dropped`; `dropped.total() > 0`.
  virtual void on_dropped(const dropped_events& dropped) { (void)dropped; }

 protected:
  run_observer() = default;
  run_observer(const run_observer&) = default;
  run_observer& operator=(const run_observer&) = default;
};

}  // namespace systask
