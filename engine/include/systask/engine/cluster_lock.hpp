// SPDX-License-Identifier: BSL-1.0
#pragma once

// A provider sync lock shared by the replicas of a host (several processes or machines), so that
// no two replicas sync one provider at once and every replica's `is_running` sees a sync that
// any of them runs. The engine defines the interface only; a backend implements it
// (systask::pg_store with PostgreSQL session advisory locks, docs/store.md "Replicas").
// No database header here.

#include <systask/engine/record.hpp>
#include <systask/engine/run_ref.hpp>

#include <boost/describe/enum.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace systask {

/// What a cluster lock service answered to a request for a provider's sync lock.
enum class cluster_lock_status : unsigned char {
  acquired,         ///< the lock is this replica's until the lease is destroyed
  held_elsewhere,   ///< another holder has it (another replica, or this replica's other session)
  unavailable,      ///< the service cannot tell (database unreachable, ...): the sync must not start
};
BOOST_DESCRIBE_ENUM(cluster_lock_status, acquired, held_elsewhere, unavailable)

/// The holding of one provider's cluster sync lock. Destroying it releases the lock: queued to
/// the service, never blocking, from any thread.
class cluster_lock_lease {
 public:
  virtual ~cluster_lock_lease() = default;
  /// Names the run that holds the lock: should the lock be lost while held (its connection
  /// dropped, so that another replica may take it), the service appends a `warning` to this
  /// run and tells the host. Called once, right after the run started. Any thread; noexcept.
  virtual void attach(run_ref holder) noexcept = 0;

 protected:
  cluster_lock_lease() = default;
  cluster_lock_lease(const cluster_lock_lease&) = default;
  cluster_lock_lease& operator=(const cluster_lock_lease&) = default;
};

/// The answer to `cluster_sync_lock::async_acquire`.
struct cluster_lock_answer {
  cluster_lock_status status = cluster_lock_status::unavailable;
  /// Why the lock was not acquired, in a sentence ("" when it was); recorded by the registry.
  /// May also be set with `acquired` for a lock taken in a degraded mode the host opted into
  /// (e.g. local-only locking while the database is unreachable); recorded as a warning.
  std::string reason;
  std::shared_ptr<cluster_lock_lease> lease;  ///< set exactly when `status` is `acquired`
};

/// A provider sync lock shared across replicas (`registry::set_cluster_lock`).
class cluster_sync_lock {
 public:
  using acquire_handler = std::function<void(cluster_lock_answer)>;

  virtual ~cluster_sync_lock() = default;

  /// Tries to take `provider`'s lock without waiting for a holder: calls `done` exactly once,
  /// from any thread but never inline, with the answer. Never blocks the caller. A service that
  /// is destroyed first calls `done` with `unavailable`. May throw std::bad_alloc only.
  virtual void async_acquire(const provider_ref& provider, acquire_handler done) = 0;

  /// Whether, as last known, a holder other than this replica's leases has provider (kind, id)'s lock
  /// (within the service's staleness bound, see its docs). Read by every status and metrics
  /// read: lock-free, never blocks, never throws. Never takes the lock to find out.
  virtual bool held_elsewhere(std::string_view kind, std::int64_t id) const noexcept = 0;

 protected:
  cluster_sync_lock() = default;
  cluster_sync_lock(const cluster_sync_lock&) = default;
  cluster_sync_lock& operator=(const cluster_sync_lock&) = default;
};

}  // namespace systask
