// SPDX-License-Identifier: BSL-1.0
#pragma once

#include "pinned_view.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

namespace systask::detail {

struct task_entry;

/// The 128 bits of a canonical UUID text (8-4-4-4-12 hex digits, either case), or nullopt.
struct uuid_bits {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  bool operator==(const uuid_bits&) const = default;
};
std::optional<uuid_bits> parse_uuid(std::string_view text) noexcept;

/// Which task entry holds the run with a given uuid: what lets find_task read one entry instead
/// of scanning them all. An entry, not a record: entries live as long as the registry, so a
/// reader can never hold a dangling pointer, and the reader then finds the record in the
/// entry's view (a uuid whose record left the view meanwhile is simply not found there).
///
/// 64 shards by uuid; each an open-addressing table of (uuid, entry) slots. Lookups are
/// lock-free: pin the shard (one seq_cst increment, as pinned_view), probe, unpin. Writers (a
/// start, a record leaving its view) take their shard's mutex, shared with the other writers of
/// that shard only, never with a reader. A slot goes from empty to taken once and from taken
/// to removed once, and is never reused in place, so a probing reader never sees a key torn
/// between two uuids; removed slots are dropped when an insert rebuilds the table (which also
/// grows it), and the replaced table is freed once no reader is pinned (pinned_view).
class uuid_index {
 public:
  uuid_index() = default;
  uuid_index(const uuid_index&) = delete;
  uuid_index& operator=(const uuid_index&) = delete;

  /// Maps `uuid` to `entry`. Any thread; takes the shard's mutex; allocates when the table is
  /// rebuilt (throws std::bad_alloc, leaving the index unchanged). A uuid that does not parse
  /// (see parse_uuid) is not indexed.
  void insert(std::string_view uuid, task_entry* entry);
  /// Removes `uuid`'s mapping, if any. Any thread; takes the shard's mutex; never allocates.
  void erase(std::string_view uuid) noexcept;
  /// The entry `uuid` maps to, or null. Any thread; lock-free; never allocates.
  task_entry* find(std::string_view uuid) const noexcept;
  /// Uuids mapped now (a snapshot, for tests and diagnostics). Takes every shard's mutex.
  std::size_t size() const noexcept;

 private:
  struct slot {
    // 0 empty, 1 taken, 2 removed; the key and entry are written before `state` becomes 1
    // (release) and never change afterwards.
    std::atomic<std::uint8_t> state{0};
    std::atomic<std::uint64_t> hi{0};
    std::atomic<std::uint64_t> lo{0};
    std::atomic<task_entry*> entry{nullptr};
  };
  struct table {
    std::size_t mask = 0;
    std::unique_ptr<slot[]> slots;
  };
  // The view a shard publishes: its current table (null until the first insert).
  struct table_view {
    std::shared_ptr<table> t;
  };
  struct shard {
    pinned_view<table_view> view;
    std::mutex write_mutex;
    std::size_t taken = 0;    // taken slots in the current table (write_mutex)
    std::size_t removed = 0;  // removed slots in the current table (write_mutex)
  };
  static constexpr std::size_t shard_count = 64;

  static std::uint64_t mix(const uuid_bits& k) noexcept;
  // The shard's current table, kept alive by the copy (writers, under the shard's mutex).
  static std::shared_ptr<table> current_table(shard& s) noexcept;
  shard& shard_of(std::uint64_t h) const noexcept { return shards_[h & (shard_count - 1)]; }

  mutable std::array<shard, shard_count> shards_;
};

}  // namespace systask::detail
