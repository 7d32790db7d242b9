#pragma once

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace systask {

class registry;

namespace detail {
struct run_record;
}

/// A consistent, read-only view of one run, taken at one instant. It keeps the run's record
/// alive while it exists, so it may be held and read after the run expires or the registry is
/// gone. A run that had finished when the view was taken is shown finished with all its finish
/// fields; one still running is shown with status `unknown`, the snapshot time as finish time
/// and the time elapsed so far as duration. Every method may be called from any thread.
class task_record {
 public:
  std::string_view uuid() const noexcept;
  std::string_view name() const noexcept;
  std::string_view uid() const noexcept;   ///< "" when the task has no uid
  std::string_view description() const noexcept;
  wall_time start_time() const noexcept;
  wall_time finish_time() const noexcept;  ///< the snapshot time while running
  double duration() const noexcept;        ///< seconds, monotonic, >= 0
  task_status status() const noexcept;     ///< `unknown` while running
  std::optional<wall_time> expires() const noexcept;  ///< nullopt: never expires
  bool expiring() const noexcept { return expires().has_value(); }
  bool running() const noexcept { return running_; }
  bool prefilled() const noexcept;          ///< the "has not been run yet" placeholder
  std::uint64_t messages_appended() const noexcept;
  std::uint64_t messages_dropped() const noexcept;

  /// Appends the run's messages as a JSON array (`[LogEvent, ...]`) to `out`: the stored
  /// fragments in append order, plus one `warning` LogEvent from logger `systask` where messages
  /// were dropped. Never blocks writers. Allocates only to grow `out`.
  void write_messages_json(std::string& out) const;


 private:
  friend class registry;  // the only place views are taken
  // `now` is the snapshot instant.
  task_record(std::shared_ptr<const detail::run_record> record, wall_time now_wall, mono_time now_mono) noexcept;

  std::shared_ptr<const detail::run_record> record_;
  bool running_;
  wall_time finish_;
  double duration_;
  task_status status_;
  std::optional<wall_time> expires_;
};

}  // namespace systask
