#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace systask {

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

}  // namespace systask
