// SPDX-License-Identifier: BSL-1.0
#pragma once

#include "concurrent_index.hpp"
#include "deadline_queue.hpp"
#include "executor_link.hpp"
#include "finish_index.hpp"
#include "observer_queue.hpp"
#include "pinned_view.hpp"
#include "run_record.hpp"
#include "uuid_index.hpp"

#include <systask/engine/errc.hpp>
#include <systask/engine/registry.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace systask::detail {

/// Raises `a` to `v` if `v` is larger (never lowers it) and returns the larger of the two: a
/// value many threads publish and that must never go backwards. Lock-free.
template <class T>
T raise_to(std::atomic<T>& a, T v, std::memory_order order) noexcept {
  T prev = a.load(std::memory_order_relaxed);
  while (prev < v && !a.compare_exchange_weak(prev, v, order, std::memory_order_relaxed)) {
  }
  return std::max(prev, v);
}

struct provider_state;

/// The runs of one task key at one instant. Immutable once published; replaced whole
/// (copy-on-write) by start, finish and expiry.
struct task_view {
  std::vector<std::shared_ptr<run_record>> running;          // live records, in start order
  std::vector<std::shared_ptr<const record_core>> finished;  // frozen records (see run_record::frozen), newest first
  // Runs of this task running on another replica, as last mirrored (registry::mirror): frozen
  // records in phase `running`, shown with include_running; an image of the same run replaces
  // one. Never holds a lock here and never expires: the other replica's finish, or the mark of
  // its interruption, ends it. Carried over by every view update (settle_finished).
  std::vector<std::shared_ptr<const record_core>> elsewhere;
};

/// One task key (name, uid). Lives as long as the registry state.
struct task_entry {
  task_entry(std::string key_, std::string name_, std::string uid_, const task_options* options_)
      : key_text(std::move(key_)), name(std::move(name_)), uid(std::move(uid_)), options(options_) {}

  std::string_view key() const noexcept { return key_text; }

  const std::string key_text;
  const std::string name;
  const std::string uid;
  std::atomic<const task_options*> options;
  // The provider whose sync runs this task, set once by register_provider (providers are never
  // removed, and two may not share a task). Lets trigger() keep the provider link directly.
  std::atomic<provider_state*> provider{nullptr};

  // Readers pin the entry while they copy pointers out of the current view; a replaced view is
  // retired and freed only once nobody is pinned (see pinned_view, registry_state::try_reclaim).
  pinned_view<task_view> views;
  // On the registry's list of entries whose retired views wait for their readers to leave.
  std::atomic<bool> reclaim_queued{false};
  task_entry* next_pending_reclaim = nullptr;

  // Cumulative counters (metrics), written by finishers.
  alignas(64) std::atomic<std::uint64_t> finished_by_status[4]{};
  std::atomic<std::uint64_t> histogram[duration_buckets.size() + 1]{};
  std::atomic<double> duration_sum{0};
  // Drops of finished runs (release add by finish; see registry::counters).
  std::atomic<std::uint64_t> dropped_messages{0};
  // The largest dropped total reported so far, so that the reported counter never goes down.
  std::atomic<std::uint64_t> dropped_reported{0};
  // Retained messages of finished runs by log_level, tallied when each is packed (finish).
  std::atomic<std::uint64_t> messages_by_level[8]{};
  // Finish of the last successful run (microseconds since the epoch), or `no_success`.
  static constexpr std::int64_t no_success = INT64_MIN;
  std::atomic<std::int64_t> last_success_us{no_success};
  /// Raises last_success_us to `us` if it is later. Any thread; lock-free.
  void note_success(std::int64_t us) noexcept { raise_to(last_success_us, us, std::memory_order_relaxed); }

  /// Reports `computed` (a dropped total that may lag the truth, never exceed it) as a value
  /// that never goes down. Any thread; lock-free.
  std::uint64_t report_dropped(std::uint64_t computed) noexcept {
    return raise_to(dropped_reported, computed, std::memory_order_relaxed);
  }
};

/// What a view update did to the records it moved or removed, for the registry's accounting
/// once the update is installed (`registry_state::account`).
struct view_change {
  std::size_t moved = 0;                                   // finished runs moved out of `running`
  std::vector<std::shared_ptr<const record_core>> removed;  // records that left the view
  std::vector<wall_time> expiries;                         // deadlines of the records moved into `finished`
};

/// The next view's lists built from `current`: every run in `running` whose phase is finished
/// leaves it for `finished` (newest first, oldest finish handled first), honouring its
/// keep_on_success, the history depth and the prefilled placeholder, exactly as its own finish
/// would have. Every view update goes through it, so a run left in `running` by a finish whose
/// update failed (out of memory) is moved by the next update of its entry, by any thread.
task_view settle_finished(const task_view& current, std::size_t depth, view_change& change);

/// A registered provider. Its sync lock is held by the run of this provider that is in its
/// task entry's running list with its message ring still open. Taking it is the view update
/// that makes the run visible; releasing it is the close of the run's ring at finish, so it
/// ends exactly when the run stops accepting messages (see registry_state::start).
struct provider_state {
  provider_state(std::string key_, provider_info info_, task_entry* entry_)
      : key_text(std::move(key_)), info(std::move(info_)), entry(entry_) {}
  std::string_view key() const noexcept { return key_text; }

  const std::string key_text;
  const provider_info info;
  task_entry* const entry;
  static constexpr std::int64_t none = INT64_MIN;
  std::atomic<std::int64_t> last_success_us{none};  // wall time of the latest successful finish

  // Syncs are numbered in the order they take the lock. The lock is released when a sync's ring
  // closes, before its outcome is published, so the next sync may start, and even finish, in
  // between: the outcome is tagged with the sync's number and a late publisher never replaces a
  // later sync's outcome. Restored outcomes carry number 0, older than any sync of this process.
  std::atomic<std::uint64_t> syncs_started{0};

  /// Raises the last successful sync to `us` (never lowers it). Any thread.
  void note_success(std::int64_t us) noexcept { raise_to(last_success_us, us, std::memory_order_acq_rel); }
  /// Publishes the outcome of sync number `sync` unless a later sync's is there. Any thread.
  void note_outcome(std::uint64_t sync, sync_outcome outcome) noexcept {
    const std::int64_t tagged = static_cast<std::int64_t>(sync << 8 | static_cast<std::uint64_t>(outcome));
    std::int64_t prev = last_outcome_tagged.load(std::memory_order_relaxed);
    while ((prev < 0 || static_cast<std::uint64_t>(prev) >> 8 < sync) &&
           !last_outcome_tagged.compare_exchange_weak(prev, tagged, std::memory_order_acq_rel)) {
    }
  }
  /// Notes when this process's latest sync finished (microseconds since the epoch), to weigh
  /// its outcome against mirrored ones. Any thread.
  void note_local_finish(std::int64_t us) noexcept { raise_to(local_finish_us, us, std::memory_order_acq_rel); }
  /// Publishes the outcome of another replica's sync that finished at `us` (registry::mirror)
  /// unless a later mirrored one is there. Any thread.
  void note_mirrored_outcome(std::int64_t us, sync_outcome outcome) noexcept {
    const std::int64_t ms = std::max<std::int64_t>(us / 1000, 0);
    raise_to(mirrored_outcome_tagged, ms << 8 | static_cast<std::int64_t>(outcome), std::memory_order_acq_rel);
  }
  /// The latest finished sync's outcome, or -1 when none finished: this process's latest, or
  /// another replica's when that one finished later (by the recording replicas' clocks). Any
  /// thread.
  int last_outcome() const noexcept {
    const std::int64_t local = last_outcome_tagged.load(std::memory_order_acquire);
    const std::int64_t mirrored = mirrored_outcome_tagged.load(std::memory_order_acquire);
    if (mirrored < 0) return local < 0 ? -1 : static_cast<int>(local & 0xff);
    const std::int64_t local_finish = local_finish_us.load(std::memory_order_acquire);
    // A restored outcome (no sync finished here) is older than any mirrored one.
    if (local >= 0 && local_finish != none && local_finish / 1000 >= (mirrored >> 8)) return static_cast<int>(local & 0xff);
    return static_cast<int>(mirrored & 0xff);
  }

 private:
  std::atomic<std::int64_t> last_outcome_tagged{-1};  // (sync number << 8) | sync_outcome, or -1
  std::atomic<std::int64_t> local_finish_us{none};    // finish of this process's latest sync
  std::atomic<std::int64_t> mirrored_outcome_tagged{-1};  // (finish ms << 8) | sync_outcome, or -1
};

/// A finished sync's outcome (`last_sync_status`) from its status and the levels of its
/// messages (bit i: a message of log_level i was logged).
sync_outcome outcome_of(task_status s, std::uint32_t levels) noexcept;

/// Pins an entry's view for the duration of a read (see pinned_view).
class entry_pin : public pinned_view<task_view>::pin {
 public:
  explicit entry_pin(const task_entry& e) noexcept : pin(e.views) {}
};

struct registry_access;

/// Everything a registry owns; shared by the registry, its run handles and pending handlers.
///
/// Teardown: the state may outlive both the registry object and the execution context (a run
/// handle or a task record keeps it); everything it does on the executor goes through its
/// executor_link (`with_executor`), which ~registry and the context's shutdown detach.
class registry_state : public executor_link, public std::enable_shared_from_this<registry_state> {
 public:
  registry_state(registry::executor_type executor, registry_options options);
  const registry_options options;
  const clock_source& clock;

  concurrent_index<task_entry> tasks;
  concurrent_index<provider_state> providers;
  uuid_index uuids;  // run uuid -> its task entry (find_task)
  finish_index by_finish;  // finished records by (status, finish time): list_tasks_by_finish

  task_entry& entry_for(std::string_view name, std::string_view uid);
  provider_state* find_provider(std::string_view kind, std::int64_t id) const;
  static std::string task_key(std::string_view name, std::string_view uid);
  static std::string provider_key(std::string_view kind, std::int64_t id);

  /// What start(spec) would refuse, without throwing (0: nothing); sets *provider to the
  /// provider the spec names, if registered. Lock-free; allocates (the lookup key).
  errc check_spec(const run_spec& spec, provider_state** provider = nullptr) const;
  /// The provider whose sync `spec` starts, if any (registry::sync_provider).
  provider_state* sync_provider(const run_spec& spec) const;
  /// `cluster_checked`: the caller (async_run) holds the provider's cluster lock already, or
  /// none is attached; otherwise a provider sync with a cluster lock attached is refused.
  run start(const run_spec& spec, bool cluster_checked = false);
  void prefill(const run_spec& spec);
  task_status finish(run_record& record, task_status requested, std::string_view failure) noexcept;
  /// `mirror`: registry::mirror (running images accepted, mirrored records replaced); otherwise
  /// registry::restore.
  restore_report restore(std::vector<run_image> runs, std::vector<provider_image> provider_images, bool mirror = false);
  /// registry::forget_mirrored.
  std::size_t forget_mirrored(const std::vector<std::string>& uuids);
  /// What stands for a finished run in the view: its frozen form, or the live record itself.
  static std::shared_ptr<const record_core> standing_record(run_record& record) noexcept;
  /// Whether `r` holds its provider's sync lock (see provider_state).
  static bool holds_lock(const run_record& r, const provider_state* p) noexcept {
    return r.provider == p && !r.ring.closed();
  }
  bool append(run_record& record, log_level level, std::string_view logger, std::string_view event,
              attributes attrs) noexcept;

  /// Replaces the entry's view with `make_next(current)` (-> std::optional<task_view>; nullopt:
  /// leave it), then frees the replaced view or schedules its reclamation. Lock-free.
  /// An update that changes the finished records is noted in `by_finish` after it is installed,
  /// and the entry stays pinned until then, so the records it removed outlive the note (see
  /// finish_index::try_query).
  template <class MakeNext>
  bool update_view(task_entry& entry, MakeNext&& make_next) {
    bool finished_changed = false;
    {
      entry_pin pin(entry);
      const bool replaced = entry.views.replace([&](const task_view& current) {
        std::optional<task_view> next = make_next(current);
        finished_changed = next && next->finished != current.finished;
        return next;
      });
      if (!replaced) return false;
      if (finished_changed) by_finish.note_change(entry);
    }
    try_reclaim(entry);
    return true;
  }
  /// Frees the entry's retired views if no reader is pinned; otherwise schedules a retry.
  void try_reclaim(task_entry& entry) noexcept;
  /// The accounting of an installed view update: records held, the uuid index and expiry
  /// deadlines.
  void account(task_entry& entry, const view_change& change) noexcept;

  // Expiry, on the strand. Background work never throws into the host's io_context::run():
  // failures are caught and go to report_background_error.
  void schedule_expiry(task_entry& entry, wall_time when) noexcept;
  struct deadline {
    wall_time when;
    task_entry* entry;
  };
  /// Many deadlines in one post (restore). Allocates; throws std::bad_alloc.
  void schedule_expiries(std::vector<deadline> due);
  void reclaim_expired_now() noexcept;                  // strand only
  void drop_expired(task_entry& entry, wall_time now);  // strand only; throws std::bad_alloc
  void shutdown() noexcept;                             // strand only

  // Configuration (rare; a mutex among configuration calls only).
  const task_options* options_for(std::string_view name);
  void configure(std::string_view name, const task_options& options);
  std::mutex config_mutex;
  std::map<std::string, const task_options*, std::less<>> configured;
  std::vector<std::unique_ptr<task_options>> options_store;

  std::mutex runner_mutex;
  // Provider registrations (rare) serialize on it, so that checking a provider's task for
  // another provider and linking it are one step.
  std::mutex provider_mutex;
  std::map<std::string, registry::runner, std::less<>> runners;

  std::atomic<std::uint64_t> records_held{0};

  // Observers (observers.cpp). Start and finish call notify, which costs one relaxed load while
  // no observer is attached.
  enum class event_kind : unsigned char { started, finished };
  struct observer_event {
    event_kind kind = event_kind::started;
    std::shared_ptr<const record_core> record;
  };
  bool observing() const noexcept { return observing_.load(std::memory_order_relaxed); }
  /// Queues an event for the observers and makes sure a delivery is scheduled; counts it as
  /// dropped when the queue is full. Any thread; lock-free; never allocates (but the post of a
  /// delivery may). Call only when observing().
  void enqueue_event(event_kind kind, std::shared_ptr<const record_core> record) noexcept;
  void add_observer(std::shared_ptr<run_observer> observer);
  bool remove_observer(const std::shared_ptr<run_observer>& observer);
  dropped_events observer_events_dropped() const noexcept;
  /// Delivers the queued events to the observers (at most `limit`), then pending drops. Strand only.
  void deliver_events(std::size_t limit) noexcept;
  /// Tells the observers of an expiry pass, after the events queued before it. Strand only.
  void deliver_expired(wall_time now) noexcept;

  // Stores whose status /metrics shows (attach_store); a mutex among store calls only.
  mutable std::mutex stores_mutex;
  std::vector<std::shared_ptr<const store_status_source>> stores;

  // The cluster sync lock (set_cluster_lock): set once, never reset while the registry lives,
  // so a reader that sees the pointer may use the owner it was published with.
  std::shared_ptr<cluster_sync_lock> cluster_lock_owner;
  std::atomic<cluster_sync_lock*> cluster_lock{nullptr};
  /// Whether another replica holds `p`'s cluster lock (false without a cluster lock).
  bool held_elsewhere(const provider_state& p) const noexcept {
    const cluster_sync_lock* lock = cluster_lock.load(std::memory_order_acquire);
    return lock != nullptr && lock->held_elsewhere(p.info.kind, p.info.id);
  }


  /// Called by ~registry: runs of a destroyed registry record nothing more (log returns false,
  /// finish returns `unknown`). Any thread; idempotent.
  void close_registry() noexcept;
  bool registry_gone() const noexcept { return registry_gone_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> registry_gone_{false};

  void schedule_delivery() noexcept;
  using observer_list = std::vector<std::shared_ptr<run_observer>>;
  std::atomic<bool> observing_{false};  // some observer is attached
  std::mutex observers_mutex_;          // add/remove, and the strand taking the list
  std::shared_ptr<const observer_list> observers_;           // observers_mutex_
  std::unique_ptr<mpsc_queue<observer_event>> event_queue_;  // made once, under observers_mutex_
  std::atomic<mpsc_queue<observer_event>*> events_{nullptr};
  std::atomic<bool> delivery_pending_{false};
  std::atomic<std::uint64_t> events_dropped_[2]{};  // by event_kind
  std::uint64_t drops_told_[2]{};                   // strand only: drops reported through on_dropped

  // Arms the timer for the earliest deadline, waiting at least `min_wait`.
  void arm_timer(std::chrono::nanoseconds min_wait = {}) noexcept;  // strand only
  void cancel_timer() noexcept;  // strand only
  void queue_for_deferred_reclaim(task_entry& entry) noexcept;
  void schedule_deferred_reclaim() noexcept;
  void run_deferred_reclaim() noexcept;  // strand only

  deadline_queue<deadline> deadlines_;  // strand only
  std::weak_ptr<boost::asio::steady_timer> timer_;                                   // strand only
  wall_time armed_for_ = wall_time::max();                                           // strand only
  bool stopped_ = false;                                                             // strand only
  std::atomic<bool> deferred_pending_{false};
  // Entries with views retired under readers (an intrusive stack: pushed by any thread, taken
  // whole by the strand), so a deferred pass visits those and not every task.
  std::atomic<task_entry*> pending_reclaim_{nullptr};

  // What the deferred passes did (strand only), so tests can check that a pass visits the
  // queued entries and not every task. Read through registry_access.
  std::uint64_t deferred_passes_ = 0;
  std::uint64_t deferred_entries_visited_ = 0;
  friend struct registry_access;
};

}  // namespace systask::detail
