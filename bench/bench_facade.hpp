// SPDX-License-Identifier: BSL-1.0
#pragma once

// The facade every benchmark measures: one token ("bench") with every permission, so that the
// request path is the one a fully privileged client takes.

#include <systask/api/facade.hpp>
#include <systask/engine/registry.hpp>

#include <memory>

namespace systask::bench {

/// The token to send as `Authorization: Bearer bench`.
inline constexpr const char* bench_token = "bench";

inline std::unique_ptr<systask::api::facade> make_bench_facade(systask::registry& reg) {
  auto tokens = std::make_shared<systask::api::static_tokens>();
  tokens->add(bench_token, {"bench", systask::api::all_permissions});
  systask::api::facade_options options;
  options.tokens = tokens;
  return std::make_unique<systask::api::facade>(reg, options);
}

}  // namespace systask::bench
