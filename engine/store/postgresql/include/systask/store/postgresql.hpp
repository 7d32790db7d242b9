// SPDX-License-Identifier: BSL-1.0
#pragma once

// systask::store_postgresql: replicas of a host sharing one PostgreSQL database (docs/store.md,
// "Replicas (PostgreSQL)"). Part 1: the cluster sync lock. No libpq header here: libpq is used
// in the library only.

#include <systask/engine/cluster_lock.hpp>
#include <systask/engine/record.hpp>
#include <systask/engine/run_ref.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace systask {

/// How much a PostgreSQL backend's log line matters.
enum class pg_log_level : unsigned char { info, warning, error };

/// The host's log hook for a PostgreSQL backend's state changes and failures: a level and a
/// sentence. Called on the backend's strand; must not throw (what it throws is caught and
/// dropped) and should not block.
using pg_log = std::function<void(pg_log_level level, std::string_view message)>;

/// Told that a provider's cluster sync lock was lost while a run held it (its connection dropped:
/// the server released the lock, and another replica may start the same sync). `holder` is the
/// run the lease was attached to (empty if none was attached yet); the run already has a
/// `warning` saying so. Called on the lock's strand; must not throw and should not block.
using pg_lock_lost = std::function<void(const provider_ref& provider, const run_ref& holder)>;

/// Options of a pg_cluster_lock. Plain struct; every field but `conninfo` has its default.
struct pg_cluster_lock_options {
  /// libpq connection string (key=value or postgresql:// URI) of a *direct* connection: never a
  /// transaction-pooling PgBouncer, which loses session locks. keepalives_idle=10
  /// keepalives_interval=5 keepalives_count=3 are added unless set. A host name is resolved
  /// with Asio (never by libpq, whose resolver blocks); a list of several hosts needs hostaddr.
  std::string conninfo;
  /// Separates the locks and notifications of several systask hosts sharing one database: lock
  /// names are "systask/<namespace>/providers/<kind>/<id>", the channel is "systask_<namespace>".
  /// 1 .. 55 bytes (PostgreSQL's 63-byte identifiers), no NUL.
  std::string lock_namespace = "default";
  /// How often the locks other sessions hold are read from pg_locks (the safety net for holders
  /// that die without a NOTIFY, e.g. kill -9). 10 ms .. 1 h.
  std::chrono::milliseconds poll_interval{500};
  /// While the database is unreachable, a provider sync runs with this replica's local lock
  /// only (acquired, with a warning saying so) instead of not starting (unavailable).
  bool local_only_when_unavailable = false;
  /// A connection attempt that takes longer fails (and is retried with backoff). 10 ms .. 10 min.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Reconnection backoff: the first wait, doubled after each failure up to `reconnect_max`,
  /// with up to 25% random jitter. 1 ms .. `reconnect_max`; `reconnect_max` up to 1 h.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{30'000};
  /// This replica's name in the notifications it sends (a skipped request names it). Empty:
  /// "<host name>-<pid>". 1 .. 128 bytes, no ':' or NUL.
  std::string replica_name;
  /// The host's log hook; empty: nothing is logged (state stays visible through `stats`).
  pg_log on_log{};
  /// The lock-lost signal (see pg_lock_lost); empty: the run's warning only.
  pg_lock_lost on_lock_lost{};
};

/// Options out of range, or a connection string libpq cannot parse.
class pg_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Upper bounds (seconds) of the buckets of pg_cluster_lock_stats::wait_histogram; a final
/// +Inf bucket follows. A loopback round trip is about 0.1 ms, a LAN one about 0.5 ms.
inline constexpr std::array<double, 12> pg_lock_wait_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                 0.05,   0.1,   0.25,   0.5,   1,    2.5};

/// A pg_cluster_lock's counters (cumulative since construction).
struct pg_cluster_lock_stats {
  bool connected = false;        ///< the lock connection is up now
  std::uint64_t connects = 0;    ///< connections established (the first one and reconnections)
  std::uint64_t acquired = 0;    ///< acquire answers `acquired` (local-only ones included)
  std::uint64_t held_elsewhere = 0;  ///< acquire answers `held_elsewhere`
  std::uint64_t unavailable = 0;     ///< acquire answers `unavailable`
  std::uint64_t locks_lost = 0;      ///< held locks lost with their connection
  std::uint64_t polls = 0;           ///< pg_locks reads completed
  /// How long each `async_acquire` waited for its answer (from the call to the handler), per
  /// bucket of pg_lock_wait_buckets (not cumulative; the last is +Inf), whatever the answer.
  std::array<std::uint64_t, pg_lock_wait_buckets.size() + 1> wait_histogram{};
  double wait_seconds_sum = 0;       ///< the sum of those waits
};

/// The providers' sync locks shared by the replicas of a host through PostgreSQL session
/// advisory locks (`registry::set_cluster_lock`; docs/store.md, "Replicas (PostgreSQL)").
///
/// One dedicated connection (never pooled) holds this replica's locks and listens on
/// "systask_<namespace>". A provider's key is the first 8 bytes of the SHA-256 of its lock name,
/// read as a signed little-endian integer (django-pglock's derivation, as authentik's; see
/// `pg_lock_key`). `async_acquire` answers a key leased here from memory ("held by this
/// replica": a session's advisory locks are re-entrant, so it never asks the server twice), else
/// runs `pg_try_advisory_lock`; when another session holds the key it also notifies the holder,
/// whose replica records the skipped request on its running sync. A released lease is unlocked
/// on the strand. `held_elsewhere` reads a snapshot of the keys other sessions hold, refreshed
/// on each lock notification and every `poll_interval` from pg_locks; while disconnected it
/// answers what it last knew.
///
/// The connection drops: each held lock's run gets a warning, `on_lock_lost` is called, and the
/// lock reconnects with backoff and takes the held keys again (a second warning when another
/// replica took one meanwhile). While disconnected, `async_acquire` answers `unavailable`
/// (or `acquired` with a warning, `local_only_when_unavailable`); also before the first
/// connection is up (`connected()`).
///
/// Construction never blocks (the connection is made on the strand). Destroy it before the
/// execution context; leases may outlive it (their release is then a no-op: closing the
/// connection released the server's locks).
class pg_cluster_lock final : public cluster_sync_lock {
 public:
  /// Starts connecting on a strand of `executor`. Throws pg_error for options out of range or a
  /// conninfo libpq cannot parse, std::bad_alloc.
  pg_cluster_lock(boost::asio::any_io_executor executor, pg_cluster_lock_options options);
  /// Closes the connection (queued on the strand; what is pending answers `unavailable`).
  ~pg_cluster_lock() override;
  pg_cluster_lock(const pg_cluster_lock&) = delete;
  pg_cluster_lock& operator=(const pg_cluster_lock&) = delete;

  /// See cluster_sync_lock::async_acquire. Allocates (the request is posted to the strand).
  void async_acquire(const provider_ref& provider, acquire_handler done) override;
  /// See cluster_sync_lock::held_elsewhere: hashes the lock name on the caller's stack and
  /// searches the last snapshot of the keys other sessions hold. Lock-free (two atomic
  /// increments and a binary search), never allocates.
  bool held_elsewhere(std::string_view kind, std::int64_t id) const noexcept override;

  /// Whether the lock connection is up now. Any thread; lock-free.
  bool connected() const noexcept;
  /// The counters. Any thread; lock-free.
  pg_cluster_lock_stats stats() const noexcept;
  /// The server process id of the lock connection (0 while disconnected): a test or an operator
  /// can find it in pg_stat_activity. Any thread; lock-free.
  int backend_pid() const noexcept;
  /// The options in use (replica_name filled in).
  const pg_cluster_lock_options& options() const noexcept;

  struct impl;  ///< private (src/pg_cluster_lock.cpp)

 private:
  std::shared_ptr<impl> impl_;
};

/// The advisory lock key of a lock name: the first 8 bytes of its SHA-256, read as a signed
/// little-endian integer (django-pglock's `_cast_lock_id`). Never throws or allocates.
std::int64_t pg_lock_key(std::string_view lock_name) noexcept;
/// The key of provider (kind, id)'s sync lock in `lock_namespace`: the key of
/// "systask/<lock_namespace>/providers/<kind>/<id>". Never throws or allocates.
std::int64_t pg_provider_lock_key(std::string_view lock_namespace, std::string_view kind, std::int64_t id) noexcept;

}  // namespace systask
