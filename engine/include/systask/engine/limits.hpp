// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <cstddef>

namespace systask::limits {

// Caps applied when a message is rendered (sizes are of the rendered, escaped JSON text).
// A string that is cut ends with the marker below; an attribute tree that is cut gets a
// top-level member "systask_truncated" counting the values left out. See docs/engine.md.

/// Rendered bytes of a logger name.
inline constexpr std::size_t logger_bytes = 256;
/// Rendered bytes of a message's event text.
inline constexpr std::size_t event_bytes = 4096;
/// Rendered bytes of one attribute key.
inline constexpr std::size_t attribute_key_bytes = 128;
/// Rendered bytes of one attribute string value.
inline constexpr std::size_t attribute_string_bytes = 1024;
/// Rendered bytes of a whole attribute object (the value of "attributes").
inline constexpr std::size_t attributes_bytes = 4096;
/// Nesting depth of attributes; the top-level object is depth 1.
inline constexpr std::size_t attribute_depth = 8;
/// Rendered bytes of a task name, uid or description (made safe at start).
inline constexpr std::size_t name_bytes = 256;
inline constexpr std::size_t description_bytes = 1024;
/// Upper bound of one rendered LogEvent (all of the above plus keys and punctuation).
inline constexpr std::size_t message_bytes = 9216;

/// Appended to a string that was cut (U+2026 then a word, so a reader sees why).
inline constexpr char truncation_marker[] = "\xE2\x80\xA6(truncated)";

}  // namespace systask::limits
