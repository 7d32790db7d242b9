// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/attribute.hpp>
#include <systask/engine/enums.hpp>

#include <initializer_list>
#include <memory>
#include <string_view>

namespace systask {

class run;

namespace detail {
struct run_record;
class registry_state;
}  // namespace detail

/// A copyable, non-owning reference to a run, for code that logs into a run it does not own:
/// the current run (`current_run()`), a logging bridge's sink, a Boost.Log attribute value.
///
/// It can only log. It cannot finish the run, and destroying it does nothing to the run (only
/// the owning `run` handle ends a run). It stays valid when the `run` handle it came from is
/// moved, and it keeps nothing alive: once the run has finished, or its registry or record is
/// gone, `log` returns false. Every method is thread-safe, never blocks and never throws;
/// copying it costs two atomic increments and never allocates.
class run_ref {
 public:
  /// Refers to no run: `log` returns false.
  run_ref() noexcept = default;

  /// True when it was made from a non-empty run handle (the run may have finished since).
  explicit operator bool() const noexcept {
    const std::weak_ptr<detail::run_record> empty;
    return record_.owner_before(empty) || empty.owner_before(record_);  // has a control block
  }

  /// Appends a message to the run, exactly like `run::log`. False when it refers to no run, or
  /// the run finished, or its registry is gone (the message is not recorded). Lock-free; does
  /// not allocate in the steady state.
  bool log(log_level level, std::string_view logger, std::string_view event,
           std::initializer_list<attribute> attrs = {}) const noexcept {
    return log(level, logger, event, attributes{attrs.begin(), attrs.size()});
  }
  bool log(log_level level, std::string_view logger, std::string_view event, attributes attrs) const noexcept;

  /// Like `log` with the run's task name as logger (the name is read from the run's record).
  bool log_as_task(log_level level, std::string_view event, attributes attrs = {}) const noexcept;

  /// True when a `log` now would be refused: no run, run finished, registry or record gone.
  bool finished() const noexcept;

  /// Whether two references (or a reference and a handle) name the same run. Any thread.
  friend bool operator==(const run_ref& a, const run_ref& b) noexcept {
    return !a.record_.owner_before(b.record_) && !b.record_.owner_before(a.record_);
  }
  bool refers_to(const run& r) const noexcept;

 private:
  friend class run;  // the only place references are made
  run_ref(const std::shared_ptr<detail::run_record>& record,
          const std::shared_ptr<detail::registry_state>& registry) noexcept
      : record_(record), registry_(registry) {}

  std::weak_ptr<detail::run_record> record_;
  std::weak_ptr<detail::registry_state> registry_;
};

}  // namespace systask
