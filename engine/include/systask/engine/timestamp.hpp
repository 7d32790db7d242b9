// SPDX-License-Identifier: BSL-1.0
#pragma once

// RFC 3339 timestamps as the wire contract writes them (engine/src/timestamp.cpp).

#include <systask/engine/clock.hpp>

#include <cstddef>
#include <string>

namespace systask {

/// Length of an RFC 3339 UTC timestamp with microseconds: `2024-07-29T15:51:28.071123Z`.
inline constexpr std::size_t timestamp_length = 27;

/// Writes `t` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` into `out` (exactly `timestamp_length` bytes,
/// no terminator). Sub-microsecond parts are truncated, not rounded; times before year 0 or
/// after 9999 are clamped to the first or last representable microsecond. Any thread; no allocation.
void format_timestamp(wall_time t, char* out) noexcept;

/// `format_timestamp` into a new string. Any thread; allocates the returned string.
std::string format_timestamp(wall_time t);

}  // namespace systask
