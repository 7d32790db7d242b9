// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/run_ref.hpp>

#include <systask/engine/run.hpp>

#include "registry_state.hpp"

namespace systask {

// Both are locked for the call only: the record holds the ring, the registry state the clock
// and the append path. weak_ptr::lock is lock-free and never allocates.
bool run_ref::log(log_level level, std::string_view logger, std::string_view event, attributes attrs) const noexcept {
  const auto record = record_.lock();
  if (!record) return false;
  const auto registry = registry_.lock();
  return registry && registry->append(*record, level, logger, event, attrs);
}

bool run_ref::log_as_task(log_level level, std::string_view event, attributes attrs) const noexcept {
  const auto record = record_.lock();
  if (!record) return false;
  const auto registry = registry_.lock();
  return registry && registry->append(*record, level, record->name, event, attrs);
}

bool run_ref::finished() const noexcept {
  const auto record = record_.lock();
  if (!record || record->is_finished()) return true;
  const auto registry = registry_.lock();
  return !registry || registry->registry_gone();
}

bool run_ref::refers_to(const run& r) const noexcept { return *this == r.ref(); }

}  // namespace systask
