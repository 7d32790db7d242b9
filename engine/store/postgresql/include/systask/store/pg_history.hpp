// SPDX-License-Identifier: BSL-1.0
#pragma once

// systask::pg_history: one history shared by the replicas of a host through PostgreSQL
// (docs/store.md, "Replicas"). Each replica writes its runs; every replica mirrors the others'
// finished runs into its registry, so that every replica's API serves the same history from
// memory. No libpq header here.

#include <systask/engine/registry.hpp>
#include <systask/engine/store.hpp>
#include <systask/store/postgresql.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace systask {

/// Told of the history's failures and state changes (the host's log hook). Called on the
/// registry's executor; must not throw (what it throws is caught and dropped).
using pg_history_log = std::function<void(store_state state, std::string_view message)>;

/// Options of a pg_history. Plain struct; every field but `conninfo` has its default.
struct pg_history_options {
  /// libpq connection string (key=value or postgresql:// URI); keepalives are added when unset.
  std::string conninfo;
  /// Replicas that share a namespace share one history; give the cluster lock the same
  /// `lock_namespace`. Rows, the channel ("systask_<name_space>", shared with the lock) and the
  /// liveness and maintenance locks are per namespace. 1 .. 55 bytes, no NUL.
  std::string name_space = "default";
  /// How often the finished runs waiting are written (one statement per batch of at most 128
  /// runs). Other replicas show a finished run about this long after it finished. 1 ms .. 1 min.
  std::chrono::milliseconds flush_interval{200};
  /// How often the whole mirror is compared with the database (notifications lost while
  /// disconnected, runs marked interrupted elsewhere). Also done at every (re)connect. 1 s .. 1 h.
  std::chrono::milliseconds resync_interval{60'000};
  /// How often the maintenance owner (one replica, elected by an advisory lock) marks the runs
  /// of dead replicas interrupted and purges expired rows. 10 ms .. 1 h.
  std::chrono::milliseconds maintenance_interval{1'000};
  /// How long a replica's liveness lock must stay gone before the maintenance owner marks its
  /// running runs interrupted: a replica whose connection drops and comes back within it (a
  /// server restart, a network blip) keeps its runs. Keep it above `retry_backoff_max` plus a
  /// connect, and the same on every replica (the owner's decides). 0 .. 1 h.
  std::chrono::milliseconds interrupt_grace{5'000};
  /// How long the database keeps a run marked interrupted (its process died before the
  /// finish), after which the maintenance owner purges it. 1 min .. 366 days.
  std::chrono::milliseconds interrupted_retention{std::chrono::hours(24)};
  /// Runs waiting to be written (starts and finishes), at most. When it is full, a start is
  /// dropped (only: no `running` row for that run), and a finish is kept aside (up to as many
  /// again; beyond, dropped and counted) and written once there is room: the whole run while
  /// the registry still holds it, else its end alone over the row last written (then counted in
  /// `dropped`: its later messages are not in the database). 1 .. 16,777,216.
  std::size_t queue_capacity = 65'536;
  /// Runs read per resync, newest finish first. 1 .. 1,000,000.
  std::size_t resync_limit = 10'000;
  /// Reconnect backoff: from `retry_backoff_min`, doubling up to `retry_backoff_max`, with up
  /// to 25% jitter. The maximum is short because a replica away longer than `interrupt_grace`
  /// has its running runs shown interrupted.
  std::chrono::milliseconds retry_backoff_min{100};
  std::chrono::milliseconds retry_backoff_max{2'000};
  /// The host's log hook; empty: failures are only counted.
  pg_history_log on_log{};
  /// This replica's cluster lock, if any: /metrics then shows its counters with the history's
  /// (`systask_store_lock_*{backend="postgresql"}`). Not needed for anything else.
  std::shared_ptr<const pg_cluster_lock> cluster_lock{};
};

/// One replica's share of the history in PostgreSQL (docs/store.md, "Replicas").
///
/// Construction does not block: it checks the options, adds an observer of `reg`, attaches its
/// status to `reg`'s metrics (backend "postgresql") and starts connecting on `reg`'s executor.
/// Once connected it migrates the schema (one transaction under a transaction-scoped advisory
/// lock; a newer schema makes it read-only and say so), holds this replica's liveness lock,
/// LISTENs, and mirrors every other replica's unexpired finished runs into `reg`
/// (`registry::restore`: register the providers first). From then on it writes this replica's
/// runs (a row when a run starts, the whole run when it finishes), idempotently (runs by uuid,
/// messages by (run, seq)), and mirrors what other replicas write within about a flush interval.
/// While the database is unreachable, recording goes on in memory, finished runs queue (up to
/// `queue_capacity`, the rest counted as dropped) and are written after the reconnect.
///
/// Destroy (or `close`) it before the registry.
class pg_history {
 public:
  /// Throws pg_error for options out of range or a connection string libpq cannot
  /// parse, std::invalid_argument when a store named "postgresql" is attached to `reg` already,
  /// std::bad_alloc.
  pg_history(registry& reg, pg_history_options options);
  /// `close()`.
  ~pg_history();
  pg_history(const pg_history&) = delete;
  pg_history& operator=(const pg_history&) = delete;

  /// Stops observing the registry and closes the connection; what has not been written yet is
  /// counted as dropped. Does not wait for the executor. Idempotent; never throws.
  void close() noexcept;

  /// Counters for /metrics (any thread; never blocks beyond a short lock; never throws). Beyond
  /// the common ones, `extra` holds: `connected` (1 while the history's connection is up and
  /// its first resync done), `mirror_stale_seconds` (0 while connected; else how long the mirror
  /// may have missed other replicas' runs), `mirrored_runs_total`, and with `cluster_lock`:
  /// `lock_connected`, `lock_acquired_total`, `lock_held_elsewhere_total`,
  /// `lock_unavailable_total`, `lock_lost_total`.
  store_stats stats() const noexcept;

  /// This replica's id (a UUID, new for every pg_history), as its rows record it.
  const std::string& replica_id() const noexcept;

  /// Waits until every finished run handed to the history before the call is written (or
  /// dropped), at most `limit`; true when nothing is pending. Blocking: never call it on a
  /// thread that runs the registry's executor (it would wait for itself).
  bool wait_written(std::chrono::milliseconds limit) const noexcept;

  /// Waits until the history is connected and has done its first full resync, at most
  /// `limit`. Blocking, with the same rule as `wait_written`.
  bool wait_ready(std::chrono::milliseconds limit) const noexcept;

  struct impl;  ///< private (src/pg_history.cpp)

 private:
  std::shared_ptr<impl> impl_;
};

/// The schema version this library writes (systask_meta.schema_version).
inline constexpr int pg_schema_version = 1;

}  // namespace systask
