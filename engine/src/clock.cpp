// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/clock.hpp>

namespace systask {
namespace {

class real_clocks final : public clock_source {
 public:
  wall_time wall_now() const noexcept override { return std::chrono::system_clock::now(); }
  mono_time mono_now() const noexcept override { return std::chrono::steady_clock::now(); }
};

}  // namespace

std::shared_ptr<const clock_source> system_clocks() {
  static const auto clocks = std::make_shared<const real_clocks>();
  return clocks;
}

}  // namespace systask
