#pragma once

// Buffer-level rendering used on the append path: everything writes into caller-provided
// memory, never allocates, and never writes past the limit it is given.

#include <systask/engine/attribute.hpp>
#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>

#include <cstddef>
#include <string_view>

namespace systask::detail {

/// Appends the JSON-escaped, UTF-8-repaired content of `in` (without quotes) at `out`, writing
/// at most `budget` bytes (budget must be >= the marker's length). When it does not all fit,
/// writes the longest whole-character prefix that leaves room for the truncation marker, then
/// the marker, and sets `*cut`. Returns the bytes written.
std::size_t write_escaped(std::string_view in, char* out, std::size_t budget, bool* cut) noexcept;

/// Renders a full LogEvent into `out` (at least `limits::message_bytes` long); returns its length.
std::size_t render_message(char* out, wall_time timestamp, log_level level, std::string_view logger,
                           std::string_view event, attributes attrs) noexcept;

}  // namespace systask::detail
