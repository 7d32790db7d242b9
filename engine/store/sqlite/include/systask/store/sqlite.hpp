// SPDX-License-Identifier: BSL-1.0
#pragma once

// systask::sqlite_store: the registry's history in a SQLite file, so that it survives a restart
// (docs/store.md). No SQLite header here: the C API is used in the library only.

#include <systask/engine/registry.hpp>
#include <systask/engine/store.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace systask {

/// How hard SQLite pushes each committed batch to the disk (PRAGMA synchronous, in WAL mode).
enum class sqlite_synchronous : unsigned char {
  normal,  ///< survives a crash of the process; a power loss may lose the last batches
  full,    ///< also survives a power loss, at the cost of an fsync per batch
};

/// Told of the store's failures and state changes (the host's log hook): the state the store is
/// in now and a sentence saying what happened. Called on the store's thread, or on the thread
/// that constructs or closes the store; must not throw (what it throws is caught and dropped).
using sqlite_store_log = std::function<void(store_state state, std::string_view message)>;

/// Options of a sqlite_store. Plain struct; every field but `path` has its default.
struct sqlite_store_options {
  /// The database file (created if missing). The process lock is the file `path + ".lock"`.
  std::string path;
  /// PRAGMA synchronous: `normal` (default) or `full` (docs/store.md: what survives what).
  sqlite_synchronous synchronous = sqlite_synchronous::normal;
  /// How often the store thread commits a batch: finished runs, provider state, and the new
  /// messages of running runs. A run that finished at least this long before a crash is in
  /// the file. 1 ms .. 1 h.
  std::chrono::milliseconds flush_interval{1000};
  /// Finished runs waiting to be written, at most (a full queue drops the newest and counts it).
  /// 1 .. 16,777,216.
  std::size_t queue_capacity = 65'536;
  /// Expired rows deleted per transaction (the rest in the next one), 1 .. 1,000,000.
  std::size_t purge_batch = 1000;
  /// After a failed write, the store waits this long before it tries again, doubling up to
  /// `retry_backoff_max` while the failures go on. 1 ms .. `retry_backoff_max`.
  std::chrono::milliseconds retry_backoff_min{100};
  /// The longest wait between two attempts, 1 ms .. 1 h.
  std::chrono::milliseconds retry_backoff_max{30'000};
  /// How long `close` (and the destructor) tries to write what is pending before it gives up
  /// (what is left is counted as dropped). 0 .. 1 h.
  std::chrono::milliseconds close_timeout{5'000};
  /// How long a write waits for a lock another connection holds (e.g. `sqlite3 .backup`) before
  /// it fails and is retried with backoff (PRAGMA busy_timeout). 0 .. 1 min.
  std::chrono::milliseconds busy_timeout{5'000};
  /// Write the new messages of running runs every `flush_interval`, so that a crash keeps them
  /// (the run is restored as interrupted, with those messages). false: finished runs only.
  bool flush_running = true;
  /// The host's log hook for failures and state changes; empty: they are only counted.
  sqlite_store_log on_log{};
};

/// A store that cannot be used at all: the options are out of range, or another process (or
/// another store in this one) holds the database file.
class sqlite_store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The registry's history in a SQLite file (docs/store.md).
///
/// Construction (blocking, on the caller's thread, before the host serves): takes the process
/// lock (flock on `path + ".lock"`), opens the file, migrates the schema (PRAGMA user_version,
/// one BEGIN IMMEDIATE transaction), marks the runs left running by a previous process as
/// interrupted, restores the unexpired runs and the providers' state into `reg`
/// (`registry::restore`: configure the tasks and register the providers first), then adds
/// itself as an observer of `reg`, attaches its status to `reg`'s metrics and starts its
/// thread. A file that cannot be used (corrupt, not a database, unreadable) is reported and
/// left untouched: the store runs memory-only (state `disabled`). A file written by a newer
/// schema, or a read-only file, is loaded and never written (state `read_only`).
///
/// Afterwards one thread writes, every `flush_interval`, the runs that finished, the
/// providers' last success and outcome, and the new messages of running runs, in one
/// transaction, idempotently (runs by uuid, messages by (run, seq)); it purges expired rows in
/// bounded batches when the registry's expiry pass runs. Failed writes are retried with
/// backoff; the hosts' threads never wait for the store.
///
/// Destroy (or `close`) the store before the registry.
class sqlite_store {
 public:
  /// Opens the store (see above). Throws sqlite_store_error for options out of range or a
  /// database file another process holds (the message names the file and the holder's pid),
  /// std::system_error when the lock file cannot be created, std::bad_alloc.
  sqlite_store(registry& reg, sqlite_store_options options);
  /// `close()`.
  ~sqlite_store();
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  /// Stops observing the registry, writes what is pending (at most `close_timeout`; what is
  /// left is counted as dropped), stops the thread, closes the file and releases the lock.
  /// Idempotent. Blocking; never throws.
  void close() noexcept;

  /// The store's counters (any thread; no blocking beyond a short lock; never throws).
  store_stats stats() const noexcept;

  /// What the start-up restore did (empty when the file could not be read).
  const restore_report& restored() const noexcept;

  /// Asks the store thread to write now and waits until a write attempt that began after the
  /// call has ended, at most `limit`. Returns whether that attempt succeeded (false also on
  /// timeout, and for a store that does not write). For tests and for a host that wants a
  /// checkpoint; the store writes on its own every `flush_interval`. Events the registry has
  /// not delivered yet (they wait on its strand) are not covered.
  bool flush(std::chrono::milliseconds limit = std::chrono::seconds(10)) noexcept;

  /// The database file's path.
  const std::string& path() const noexcept;

  struct impl;  ///< private (src/sqlite_store.cpp)

 private:
  std::shared_ptr<impl> impl_;
};

/// The schema version this library writes (PRAGMA user_version).
inline constexpr int sqlite_schema_version = 1;

}  // namespace systask
