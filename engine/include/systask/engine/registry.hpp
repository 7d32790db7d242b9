// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/cluster_lock.hpp>
#include <systask/engine/errc.hpp>
#include <systask/engine/observer.hpp>
#include <systask/engine/options.hpp>
#include <systask/engine/record.hpp>
#include <systask/engine/run.hpp>
#include <systask/engine/slugify.hpp>
#include <systask/engine/store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace systask {

namespace detail {
class registry_state;
struct registry_access;
struct cluster_start;
}  // namespace detail

/// What to start: the task's name, its optional uid and a description. A spec with a provider
/// (see `registry::sync_spec`) starts that provider's sync and holds its sync lock.
struct run_spec {
  std::string name{};                      ///< task name, non-empty, e.g. "google_workspace_sync"
  std::string uid{};                       ///< instance discriminator; "" for none
  std::string description{};               ///< human description; may be ""
  std::optional<provider_ref> provider{};  ///< set: a provider sync, subject to its sync lock
};

/// A registered provider and the names of its sync task.
struct provider_info {
  std::string kind;
  std::int64_t id = 0;
  std::string name;       ///< display name
  std::string task_name;  ///< `<kind>_sync`
  std::string uid;        ///< slug of the display name
};

/// Everything the sync-status endpoint shows for one provider, read at one instant.
struct provider_status {
  provider_info provider;
  bool is_running = false;                      ///< a run of this provider's sync holds its lock
  std::vector<task_record> tasks;               ///< running first (if asked), then finished, newest first
  std::optional<wall_time> last_successful_sync;  ///< finish of the last successful run, ever
  std::optional<sync_outcome> last_sync_status;   ///< outcome of the last finished run (or `running`)
};

/// Upper bounds (seconds) of the duration histogram buckets; a final +Inf bucket follows.
inline constexpr std::array<double, 11> duration_buckets{0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600};

/// Cumulative counters of one task key (name, uid), for metrics. "Ever" means since the
/// registry was made: `restore` brings records back, not counts.
struct task_counters {
  std::string name;
  std::string uid;
  std::array<std::uint64_t, 4> finished_by_status{};  ///< indexed by task_status
  std::array<std::uint64_t, duration_buckets.size() + 1> duration_histogram{};  ///< per bucket, not cumulative
  double duration_sum = 0;
  std::uint64_t running = 0;               ///< runs in progress now, in this process
  std::uint64_t running_elsewhere = 0;     ///< runs in progress on other replicas, shown here (registry::mirror)
  std::uint64_t retained_runs = 0;         ///< finished, unexpired records held now
  std::uint64_t retained_messages = 0;     ///< messages held by those records and the running runs
  std::uint64_t dropped_messages = 0;      ///< messages lost to full rings, ever
  /// Messages of finished runs by log_level (indexed by it), ever: each run's retained messages,
  /// tallied once, when it finishes (dropped ones are in `dropped_messages`; the loss marker is
  /// not a message). Running runs' messages are not in it yet.
  std::array<std::uint64_t, 8> messages_by_level{};
  /// Finish of the task key's last successful run (kept after its record expires; restored
  /// from the images `restore` was given). nullopt: none known.
  std::optional<wall_time> last_success;
};

/// One provider's state for metrics, read at one instant.
struct provider_summary {
  provider_info provider;
  bool sync_running = false;  ///< a run of its sync holds its sync lock (sync_status().is_running)
  std::optional<wall_time> last_successful_sync;
  std::optional<sync_outcome> last_sync_status;  ///< of the last finished sync (never `running`)
};

/// The registry of runs: start runs, read their records, expire them. Thread-safe: every method
/// may be called from any thread. Reads never block writers and are never blocked by them;
/// appends (on `run`) are lock-free. Expired records are reclaimed by a timer on the executor
/// given at construction, armed for the earliest deadline.
///
/// Teardown: the registry, its execution context, its run handles and its task records may be
/// destroyed in any order (but not the context while a thread runs it: Asio's rule). Once the
/// registry is destroyed, its runs record nothing more: `log` returns false, `finish` and
/// `fail` return `unknown`, `finished()` is true; task records stay readable. Once the context
/// is destroyed (or shut down) first, the registry keeps recording and serving reads, but does
/// nothing more on the executor: no expiry timer (expired records are still hidden from every
/// read; their memory is freed with the registry), `trigger` returns false, `reclaim_expired`
/// does nothing, and `async_run` must not be called.
class registry {
 public:
  using executor_type = boost::asio::any_io_executor;
  /// Called on the registry's executor to re-run a task (see `set_runner`, `trigger`).
  using runner = std::function<void(const run_spec&)>;

  /// A registry whose timers and runners run on `executor`.
  explicit registry(const executor_type& executor, registry_options options = {});
  /// A registry on the execution context's executor.
  template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, boost::asio::execution_context&>
  explicit registry(ExecutionContext& context, registry_options options = {})
      : registry(executor_type(context.get_executor()), std::move(options)) {}
  /// Stops the registry's runs from recording and cancels its timers. Waits only for a post to
  /// the executor that another thread has in progress.
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  executor_type get_executor() const noexcept;
  const registry_options& options() const noexcept;

  /// Sets the options of task `name` (runs started later use them). Throws std::invalid_argument
  /// for an empty name or out-of-range options. Takes a short lock shared with other
  /// configuration calls only.
  void configure_task(std::string_view name, const task_options& options);

  /// Starts a run. Throws std::invalid_argument for an empty name, an unregistered provider, or
  /// a name or uid that is not the provider's. A spec naming a provider's sync task and uid is
  /// that provider's sync, with or without `.provider`. For a provider sync whose lock another
  /// run holds, nothing starts: the handle is empty and the running sync gets an `info` message
  /// that a sync request was skipped. With a cluster lock attached (`set_cluster_lock`), a
  /// provider sync must start through `async_run`, which waits for the cluster lock: `start`
  /// throws std::logic_error for it rather than sync without that lock.
  run start(const run_spec& spec);
  /// What `start(spec)` would refuse, as an error code: `errc::invalid_spec` (an empty task
  /// name, or a name or uid that is not the provider's) or `errc::unknown_provider`; empty when
  /// `start` would accept the spec. Lock-free; may throw std::bad_alloc (the lookup key).
  boost::system::error_code check_spec(const run_spec& spec) const;

  /// Registers a task that has not run yet: it shows one `unknown` record with the message
  /// "Task has not been run yet." until its first run finishes. No effect if it has records.
  void prefill(const run_spec& spec);

  /// Registers a provider; its sync task is `<kind>_sync` with uid = `slugify(display_name)`
  /// (authentik's uid; "" when nothing survives; cut to `limits::name_bytes` if longer). The name
  /// is stored as `make_safe_text(display_name, limits::name_bytes)`. Idempotent for the same
  /// name; throws std::invalid_argument for an empty kind, a kind that is not valid UTF-8 or is
  /// longer than `limits::name_bytes` - 5 bytes, an id outside 1..2^63-1, an id already
  /// registered under another name, or a name whose slug another provider of the kind already
  /// has (the two would share one sync task). Takes a mutex shared with other registrations.
  provider_info register_provider(std::string_view kind, std::int64_t id, std::string_view display_name);
  /// The provider whose sync `spec` starts (by `.provider`, or by the task name and uid of its
  /// sync task); nullopt for a spec that is no provider's sync, or that `check_spec` refuses.
  /// Lock-free; may throw std::bad_alloc.
  std::optional<provider_ref> sync_provider(const run_spec& spec) const;
  /// The provider registered as (kind, id), if any. Lock-free.
  std::optional<provider_info> find_provider(std::string_view kind, std::int64_t id) const;
  /// The spec that starts the provider's sync. Throws std::out_of_range for an unknown provider.
  run_spec sync_spec(std::string_view kind, std::int64_t id, std::string description = {}) const;

  /// The provider's sync status; nullopt for an unknown provider. Costs O(this provider's runs
  /// and messages), not O(all runs). Lock-free.
  std::optional<provider_status> sync_status(std::string_view kind, std::int64_t id, bool include_running = false) const;
  /// Records of one task key: running ones first (if asked), then finished, newest first.
  std::vector<task_record> tasks(std::string_view name, std::string_view uid, bool include_running = false) const;
  /// What `list_tasks` keeps: a record matches when every field that is set matches it.
  struct task_filter {
    std::optional<std::string_view> name{};
    std::optional<std::string_view> uid{};
    std::optional<task_status> status{};
  };
  /// Every finished (or prefilled), unexpired record. Lock-free; O(all records).
  std::vector<task_record> list_tasks() const;
  /// The finished (or prefilled), unexpired records that match `filter`, in no particular
  /// order. Records are tested in place while their task key's view is pinned: only matching
  /// ones are copied out, and a name or uid filter skips other keys without pinning them.
  /// Lock-free; O(task keys + records of the keys visited).
  std::vector<task_record> list_tasks(const task_filter& filter) const;
  /// One page of a list and how long the whole list is.
  struct task_page {
    std::uint64_t total = 0;          ///< records that match, over every page
    std::vector<task_record> records;  ///< the page's records, in order
  };
  /// The finished (or prefilled), unexpired records with status `status` (every status when
  /// nullopt), ordered by finish time, newest first when `newest_first`, ties by uuid
  /// ascending: the ones at positions [offset, offset + limit) of that order, and how many
  /// there are in all. Answered from an index of finished records by (status, finish time),
  /// kept up to date by the finishes and expiries themselves at the cost of one counter
  /// increment each: O(matches + task keys changed since the index was last rebuilt) and
  /// O(limit) records copied, not O(all records); the reader that finds the index too far
  /// behind rebuilds it (O(all records), shared by the changes that made it necessary). A run
  /// whose finish has not returned yet may be missing. Lock-free; allocates; may throw
  /// std::bad_alloc.
  task_page list_tasks_by_finish(std::optional<task_status> status, bool newest_first, std::size_t offset,
                                 std::size_t limit) const;
  /// The record (finished or running) with this uuid, if visible. Lock-free; O(the runs of its
  /// task key), through an index of uuids. Never throws.
  std::optional<task_record> find_task(std::string_view uuid) const;
  /// Cumulative counters per task key, for metrics. Lock-free.
  std::vector<task_counters> counters() const;
  /// Every registered provider's state, for metrics. Lock-free; O(providers + their running runs).
  std::vector<provider_summary> providers() const;

  /// Registers the runner that re-runs task `name` (replacing any earlier one).
  void set_runner(std::string_view name, runner r);
  /// Queues the runner of `name` on the executor with a spec for (name, uid); false when no
  /// runner is registered for that name, or the execution context is gone (nothing is queued).
  bool trigger(std::string_view name, std::string_view uid);

  /// Earliest expiry among the records held now (nullopt: none expires). Lock-free.
  std::optional<wall_time> next_expiry() const;
  /// Reclaims expired records now, on the executor (the timer does this by itself; tests with a
  /// manual clock call it after advancing time). Does nothing once the execution context is gone.
  void reclaim_expired();
  /// Records held in memory, expired or not (reclaimed ones are gone). Lock-free.
  std::size_t records_held() const;
  /// Failures of background work so far (see `registry_options::on_background_error`).
  /// Lock-free.
  std::uint64_t background_errors() const noexcept;

  /// Adds an observer of this registry's runs (see run_observer): it hears of the events that
  /// happen from now on (and may hear of some queued just before). The first one allocates the
  /// event queue (`registry_options::observer_queue_capacity`). Throws std::invalid_argument
  /// for a null observer, std::bad_alloc. Takes a mutex shared with the observer calls below
  /// and with the delivery on the strand (never with start, log or finish).
  void add_observer(std::shared_ptr<run_observer> observer);
  /// Removes an observer added before; false if it was not there. A delivery in progress on the
  /// strand may still complete after this returns. Takes the same mutex.
  bool remove_observer(const std::shared_ptr<run_observer>& observer);
  /// Events dropped because the observer queue was full, ever, by kind. Lock-free.
  dropped_events observer_events_dropped() const noexcept;

  /// Fills the registry from a store's images, before it serves (see docs/engine.md,
  /// "Restore"). Each run image is checked on its own; a bad one (malformed, a duplicate uuid,
  /// an unknown provider, a task key that is not its provider's) is refused with a reason in
  /// the report and the others go on. Per task key, the images are applied oldest finish first
  /// as finishes would be (history depth, keep_on_success), merged with the records already
  /// held; expired ones are skipped. Providers (registered before) get their last success and
  /// outcome. No observer events. Throws only std::bad_alloc, and what it restored before that
  /// stays restored. Any thread; allocates.
  restore_report restore(std::vector<run_image> runs, std::vector<provider_image> providers = {});

  /// Shows runs that other replicas record (docs/store.md, "Replicas"), as `restore` does, and
  /// also: an image with `running` set is shown as running (`include_running`, `find_task`;
  /// never in `counters` or the list of finished runs, never holding a lock here) until an
  /// image of the same uuid replaces it; an image whose uuid is held by a mirrored record
  /// replaces it (a newer state of that run: running with more messages, finished, or finished
  /// after another replica marked it interrupted). A run recorded by this process, or put here
  /// by `restore`, is never replaced: such an image is refused. Throws only std::bad_alloc.
  /// Any thread; allocates.
  restore_report mirror(std::vector<run_image> runs, std::vector<provider_image> providers = {});
  /// Removes the mirrored records (running or finished) with these uuids, e.g. runs another
  /// replica no longer has; a uuid that names no mirrored record is skipped. Returns how many
  /// were removed. Any thread; allocates.
  std::size_t forget_mirrored(const std::vector<std::string>& uuids);

  /// Makes a store's status part of this registry's metrics (`store_stats`). Throws
  /// std::invalid_argument for a null store or when a store with the same backend name is
  /// attached already. Takes a mutex shared with the store calls below.
  void attach_store(std::shared_ptr<const store_status_source> store);
  /// Detaches a store; false if it was not attached.
  bool detach_store(const std::shared_ptr<const store_status_source>& store);
  /// The attached stores' counters, in the order they were attached. Allocates.
  std::vector<systask::store_stats> store_stats() const;

  /// Shares the providers' sync locks with other replicas (docs/store.md, "Replicas"): from
  /// now on `async_run` of a provider sync takes `lock`'s lock after the local one and before
  /// the body, and completes with `errc::sync_running_elsewhere` (nothing recorded here; the
  /// service tells the holder) or `errc::cluster_lock_unavailable` (a run recorded as `error`
  /// saying why) when it cannot; `start` refuses provider syncs; `is_running` is also true
  /// while `lock.held_elsewhere`. Once per registry, before provider syncs start. Throws
  /// std::invalid_argument for a null lock, std::logic_error when one is set already.
  void set_cluster_lock(std::shared_ptr<cluster_sync_lock> lock);
  /// The cluster lock set, or null. Lock-free.
  std::shared_ptr<cluster_sync_lock> cluster_lock() const noexcept;


 private:
  friend struct detail::registry_access;  // tests read the internals through it
  friend struct detail::cluster_start;    // async_run starts a sync once it holds the cluster lock
  std::shared_ptr<detail::registry_state> state_;
};

namespace detail {
/// async_run's way past `start`'s refusal of provider syncs under a cluster lock: it calls this
/// only while it holds the provider's cluster lock lease (or when no cluster lock is attached).
struct cluster_start {
  static run start(registry& reg, const run_spec& spec);
  /// Whether a run of this registry holds the provider's (local) sync lock now. Lock-free;
  /// may throw std::bad_alloc (the lookup key).
  static bool running_here(const registry& reg, const provider_ref& provider);
};
}  // namespace detail

}  // namespace systask
