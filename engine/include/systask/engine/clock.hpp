// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

namespace systask {

using wall_time = std::chrono::system_clock::time_point;   ///< timestamps on the wire
using mono_time = std::chrono::steady_clock::time_point;   ///< durations and timer deadlines

/// Where the engine reads time. The wall clock stamps messages, starts and finishes; the
/// monotonic clock measures durations, so a wall-clock step never makes a duration negative.
/// Implementations must be thread-safe and must not block.
class clock_source {
 public:
  virtual ~clock_source() = default;
  /// Current wall-clock time. Any thread; must not block or throw.
  virtual wall_time wall_now() const noexcept = 0;
  /// Current monotonic time. Any thread; must not block or throw.
  virtual mono_time mono_now() const noexcept = 0;
};

/// The real clocks (`system_clock` and `steady_clock`); shared, never null.
std::shared_ptr<const clock_source> system_clocks();

/// A clock that moves only when told to, for tests that must never sleep. Both clocks start
/// where the constructor puts them and advance together.
class manual_clock final : public clock_source {
 public:
  /// Starts the wall clock at `wall_start` and the monotonic clock at an arbitrary origin.
  explicit manual_clock(wall_time wall_start = wall_time{std::chrono::seconds{1'722'268'288}}) noexcept
      : wall_ns_(wall_start.time_since_epoch().count()) {}

  wall_time wall_now() const noexcept override {
    return wall_time{wall_time::duration{wall_ns_.load(std::memory_order_acquire)}};
  }
  mono_time mono_now() const noexcept override {
    return mono_time{mono_time::duration{mono_ns_.load(std::memory_order_acquire)}};
  }

  /// Moves both clocks forward by `d`. Any thread.
  void advance(std::chrono::nanoseconds d) noexcept {
    wall_ns_.fetch_add(std::chrono::duration_cast<wall_time::duration>(d).count(), std::memory_order_acq_rel);
    mono_ns_.fetch_add(std::chrono::duration_cast<mono_time::duration>(d).count(), std::memory_order_acq_rel);
  }
  /// Sets the wall clock alone (a wall-clock step; durations are unaffected). Any thread.
  void set_wall(wall_time t) noexcept { wall_ns_.store(t.time_since_epoch().count(), std::memory_order_release); }

 private:
  std::atomic<wall_time::duration::rep> wall_ns_;
  std::atomic<mono_time::duration::rep> mono_ns_{1'000'000'000};
};

}  // namespace systask
