// SPDX-License-Identifier: BSL-1.0
#pragma once

// Text safety: UTF-8 validation and repair, and the JSON string escaper that every stored
// message and every API body goes through (engine/src/json_escape.cpp).

#include <cstddef>
#include <string>
#include <string_view>

namespace systask {

/// Whether `text` is valid UTF-8 (RFC 3629: no overlong forms, surrogates or code points above
/// U+10FFFF). Any thread; no allocation.
bool is_valid_utf8(std::string_view text) noexcept;

/// Returns `text` with invalid UTF-8 replaced by U+FFFD (one per maximal invalid subpart, as
/// WHATWG and Unicode's "best practice" do) and cut at `max_bytes` on a character boundary,
/// ending in `limits::truncation_marker` when cut. Used for names, uids and descriptions. Any
/// thread; allocates the returned string.
std::string make_safe_text(std::string_view text, std::size_t max_bytes);

/// Appends `text` to `out` as a JSON string, quotes included, escaped as messages are (`\"`,
/// `\\`, `\n`-style short escapes, other controls as lowercase `\u00xx`) with invalid UTF-8
/// replaced by U+FFFD. Never cut. Any thread; allocates only by growing `out`.
///
/// Public because the layers above the engine need it, not because tracking tasks does:
/// systask::api writes every string of every body with it, so that bodies and stored messages
/// are escaped by one implementation. A host may use it, but it is a JSON utility, not part of
/// the task-tracking API (docs/architecture.md, "Rendering").
void append_json_string(std::string& out, std::string_view text);

}  // namespace systask
