#pragma once

#include <systask/engine/attribute.hpp>
#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace systask {

/// Length of an RFC 3339 UTC timestamp with microseconds: `2024-07-29T15:51:28.071123Z`.
inline constexpr std::size_t timestamp_length = 27;

/// Writes `t` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` into `out` (exactly `timestamp_length` bytes,
/// no terminator). Sub-microsecond parts are truncated, not rounded; times before year 0 or
/// after 9999 are clamped to the first or last representable microsecond. Any thread; no allocation.
void format_timestamp(wall_time t, char* out) noexcept;

/// `format_timestamp` into a new string.
std::string format_timestamp(wall_time t);

/// Whether `text` is valid UTF-8 (RFC 3629: no overlong forms, surrogates or code points above
/// U+10FFFF). Any thread; no allocation.
bool is_valid_utf8(std::string_view text) noexcept;

/// Returns `text` with invalid UTF-8 replaced by U+FFFD (one per maximal invalid subpart, as
/// WHATWG and Unicode's "best practice" do) and cut at `max_bytes` on a character boundary,
/// ending in `limits::truncation_marker` when cut. Used for names, uids and descriptions.
std::string make_safe_text(std::string_view text, std::size_t max_bytes);

/// Appends `text` to `out` as a JSON string, quotes included, escaped as messages are (`\"`,
/// `\\`, `\n`-style short escapes, other controls as lowercase `\u00xx`) with invalid UTF-8
/// replaced by U+FFFD. Never cut. Used by the API for every string it writes.
void append_json_string(std::string& out, std::string_view text);

/// Renders one LogEvent exactly as it is stored and served:
/// `{"timestamp":...,"log_level":...,"logger":...,"event":...,"attributes":{...}}`, with the
/// repairs and caps of `systask/engine/limits.hpp` applied. Allocates the returned string.
std::string render_log_event(wall_time timestamp, log_level level, std::string_view logger, std::string_view event,
                             attributes attrs);
inline std::string render_log_event(wall_time timestamp, log_level level, std::string_view logger,
                                    std::string_view event, std::initializer_list<attribute> attrs = {}) {
  return render_log_event(timestamp, level, logger, event, attributes{attrs.begin(), attrs.size()});
}

}  // namespace systask
