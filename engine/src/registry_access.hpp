// SPDX-License-Identifier: BSL-1.0
#pragma once

#include "registry_state.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace systask::detail {

/// The internals that tests read (not part of the API): what the deferred reclamation passes
/// did. Call on the thread that runs the registry's executor, or after it stopped.
struct registry_access {
  static registry_state& state(const registry& r) noexcept { return *r.state_; }
  static std::uint64_t deferred_passes(const registry_state& s) noexcept { return s.deferred_passes_; }
  static std::uint64_t deferred_entries_visited(const registry_state& s) noexcept {
    return s.deferred_entries_visited_;
  }
  /// The deadline the expiry timer is armed for (wall_time::max(): none), and the time left on
  /// the timer itself (nullopt: no timer pending).
  static wall_time armed_for(const registry_state& s) noexcept { return s.armed_for_; }
  static std::optional<std::chrono::steady_clock::duration> timer_left(const registry_state& s) {
    const auto t = s.timer_.lock();
    if (!t) return std::nullopt;
    return t->expiry() - std::chrono::steady_clock::now();
  }
  /// A task_record of any record, live or frozen, as a read would take it now.
  static task_record view_of(const registry& r, std::shared_ptr<const record_core> record) {
    return task_record(std::move(record), r.state_->clock.wall_now(), r.state_->clock.mono_now());
  }
  /// Uuids in the registry's uuid index now.
  static std::size_t indexed_uuids(const registry& r) noexcept { return r.state_->uuids.size(); }
  /// Whether the observer event queue has been allocated.
  static bool has_event_queue(const registry& r) noexcept {
    return r.state_->events_.load(std::memory_order_acquire) != nullptr;
  }
};

/// The record behind a run handle (null for an empty handle), for tests that must read a run's
/// exact counts after finishing it.
struct run_access {
  static const std::shared_ptr<run_record>& record(const run& r) noexcept { return r.record_; }
};

}  // namespace systask::detail
