// SPDX-License-Identifier: BSL-1.0
#pragma once

#include "pinned_view.hpp"
#include "uuid_index.hpp"

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace systask::detail {

struct task_entry;
struct record_core;
class registry_state;

/// The finished records of every task key in (status, finish time, uuid) order: what answers
/// the task list ordered by finish time (`registry::list_tasks_by_finish`) without visiting
/// every task key, as a database answers it from an index on (status, finish).
///
/// Two parts. A *snapshot*: the finished records of all entries, sorted, built by a reader
/// (a full pass over the entries) and published whole through a pinned_view; it holds raw
/// pointers that are only followed while the record's entry is pinned and the record is seen
/// in the entry's view. A *change log*: a ring of the entries whose finished records changed
/// (every view update that changes the `finished` list notes its entry after installing it),
/// numbered by one counter. A reader takes the snapshot, reads the entries noted since it was
/// built, reads those entries' current views directly and skips their snapshot items: the
/// answer is the snapshot corrected by what changed since.
///
/// Writers pay one fetch_add and one store per such update (a finish, an expiry pass, a
/// restore), never a sort and never a wait. A reader rebuilds the snapshot (O(records) plus a
/// sort) when the changes since it outgrow a fraction of it or the ring has wrapped past it,
/// so the rebuild cost is shared by the changes that made it necessary.
///
/// A view update whose note is still being written when a reader runs (the update's call has
/// not returned) may be missing from that reader's answer, as if the reader ran just before it.
class finish_index {
 public:
  /// Entries noted in the ring; a reader whose snapshot is further behind rebuilds it.
  static constexpr std::size_t log_capacity = 4096;

  finish_index();
  finish_index(const finish_index&) = delete;
  finish_index& operator=(const finish_index&) = delete;

  /// Notes that `entry`'s finished records changed (after the view update is installed). Any
  /// thread; lock-free; never allocates, never throws.
  void note_change(task_entry& entry) noexcept;

  /// One page of the finished, unexpired records matching `status` (all if nullopt), ordered
  /// by finish time (newest first if `newest_first`), ties by uuid ascending, and how many match
  /// in all. The records come out as owning pointers, in page order.
  struct page {
    std::uint64_t total = 0;
    std::vector<std::shared_ptr<const record_core>> records;
  };
  /// Any thread; lock-free (a reader whose page items changed under it retries, and after a few
  /// tries answers from a full pass). Allocates; may throw std::bad_alloc.
  page query(const registry_state& state, std::optional<task_status> status, bool newest_first, std::size_t offset,
             std::size_t limit) const;

  /// Snapshots built so far (tests: a rebuild happens when it should, and only then).
  std::uint64_t snapshots_built() const noexcept { return built_.load(std::memory_order_relaxed); }

 private:
  // One finished record as the snapshot saw it: the sort keys and where to find it again.
  struct item {
    wall_time finish;
    std::uint64_t uuid_hi = 0;
    std::uint64_t uuid_lo = 0;
    std::optional<wall_time> expires;
    task_entry* entry = nullptr;
    const record_core* record = nullptr;  // followed only with `entry` pinned (see above)
    task_status status = task_status::unknown;
  };
  struct snapshot {
    std::uint64_t start_seq = 0;  // the change counter when the build began
    std::vector<item> items;      // sorted by (status, finish, uuid)
  };
  using snapshot_ptr = std::shared_ptr<const snapshot>;

  snapshot_ptr current() const;
  snapshot_ptr rebuild(const registry_state& state) const;
  // Reads the entries noted in [from, to) into `out` (sorted, unique). False if the ring wrapped
  // past `from` meanwhile (some notes were overwritten).
  bool noted_between(std::uint64_t from, std::uint64_t to, std::vector<task_entry*>& out) const;
  std::optional<page> try_query(const registry_state& state, const snapshot& s, std::optional<task_status> status,
                                bool newest_first, std::size_t offset, std::size_t limit, bool& stale) const;
  page full_pass(const registry_state& state, std::optional<task_status> status, bool newest_first,
                 std::size_t offset, std::size_t limit) const;

  alignas(64) std::atomic<std::uint64_t> changes_{0};
  std::unique_ptr<std::atomic<task_entry*>[]> log_;
  mutable pinned_view<snapshot_ptr> snapshot_;
  mutable std::atomic<std::uint64_t> built_{0};
};

}  // namespace systask::detail
