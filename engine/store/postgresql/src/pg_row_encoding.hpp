// SPDX-License-Identifier: BSL-1.0
#pragma once

// How pg_history encodes a run's fields in its rows: times as nanoseconds since the epoch,
// compact messages as hex for decode(..., 'hex'). Shared with bench/pg_bench.cpp, which writes
// the same rows one transaction per run as its baseline.

#include <systask/engine/clock.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace systask::detail {

inline std::int64_t pg_nanos(wall_time t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

inline wall_time pg_from_nanos(std::int64_t ns) {
  return wall_time{std::chrono::duration_cast<wall_time::duration>(std::chrono::nanoseconds{ns})};
}

inline std::string pg_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

/// The inverse of pg_hex for what PostgreSQL's encode(..., 'hex') returns (lower case).
inline std::string pg_unhex(std::string_view text) {
  auto value = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out += static_cast<char>((value(text[i]) << 4) | value(text[i + 1]));
  }
  return out;
}

}  // namespace systask::detail
