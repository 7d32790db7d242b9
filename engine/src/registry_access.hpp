#pragma once

#include "registry_state.hpp"

#include <cstdint>

namespace systask::detail {

/// The internals that tests read (not part of the API): what the deferred reclamation passes
/// did. Call on the thread that runs the registry's executor, or after it stopped.
struct registry_access {
  static registry_state& state(const registry& r) noexcept { return *r.state_; }
  static std::uint64_t deferred_passes(const registry_state& s) noexcept { return s.deferred_passes_; }
  static std::uint64_t deferred_entries_visited(const registry_state& s) noexcept {
    return s.deferred_entries_visited_;
  }
};

/// The record behind a run handle (null for an empty handle), for tests that must read a run's
/// exact counts after finishing it.
struct run_access {
  static const std::shared_ptr<run_record>& record(const run& r) noexcept { return r.record_; }
};

}  // namespace systask::detail
