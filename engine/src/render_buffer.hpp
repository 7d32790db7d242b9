// SPDX-License-Identifier: BSL-1.0
#pragma once

// Buffer-level rendering shared by the append path and the snapshot path, one section per unit.
// The append side (write_escaped, render_compact) writes into caller-provided memory, never
// allocates and never writes past the limit it is given; the read side (expand_message) appends
// to a string. The public, allocating forms are in <systask/engine/render.hpp>.

#include <systask/engine/attribute.hpp>
#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace systask::detail {

// --- json_escape.cpp ------------------------------------------------------------------------

/// Appends the JSON-escaped, UTF-8-repaired content of `in` (without quotes) at `out`, writing
/// at most `budget` bytes (budget must be >= the marker's length). When it does not all fit,
/// writes the longest whole-character prefix that leaves room for the truncation marker, then
/// the marker, and sets `*cut`. Returns the bytes written. Any thread; no allocation.
std::size_t write_escaped(std::string_view in, char* out, std::size_t budget, bool* cut) noexcept;

// --- timestamp.cpp --------------------------------------------------------------------------

/// `format_timestamp` for a time given as microseconds since the epoch, the unit messages are
/// stored in. Its range (about +-292,000 years) is wider than what four-digit years can show, so
/// times before 0000-01-01 or after 9999-12-31T23:59:59.999999 are clamped to those instants.
/// Writes exactly `timestamp_length` bytes. Any thread; no allocation.
void format_timestamp_us(std::int64_t microseconds_since_epoch, char* out) noexcept;

// --- message_codec.cpp ----------------------------------------------------------------------

/// The stored form of a message (the *compact* form; a storage format, versioned by
/// `compact_message_format_version` in render.hpp and documented in docs/engine.md): the
/// LogEvent without its constant keys. Layout, integers little-endian:
/// [8 bytes: microseconds since the epoch][1: log_level][2: logger bytes][2: event bytes]
/// [logger, escaped][event, escaped][attributes object, JSON]. About 100 bytes shorter than the
/// JSON, so that a typical message fits a ring slot's inline bytes; `expand_message` turns it
/// back into the LogEvent JSON (what `render_log_event` returns). `out` must hold
/// `limits::message_bytes`. Any thread; no allocation.
std::size_t render_compact(char* out, wall_time timestamp, log_level level, std::string_view logger,
                           std::string_view event, attributes attrs) noexcept;
inline constexpr std::size_t compact_header_bytes = 13;
inline constexpr std::size_t compact_level_offset = 8;

/// Appends the LogEvent JSON of a stored (compact) message to `out`. Any thread; allocates only
/// by growing `out`.
void expand_message(std::string& out, const char* stored, std::size_t length);

}  // namespace systask::detail
