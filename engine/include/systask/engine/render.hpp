// SPDX-License-Identifier: BSL-1.0
#pragma once

// Rendering a message (LogEvent) as it is stored and served. Also includes the text-safety and
// timestamp headers, so <systask/engine/render.hpp> declares every renderer the engine offers.

#include <systask/engine/attribute.hpp>
#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/json_escape.hpp>
#include <systask/engine/timestamp.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace systask {

/// Renders one LogEvent exactly as it is stored and served:
/// `{"timestamp":...,"log_level":...,"logger":...,"event":...,"attributes":{...}}`, with the
/// repairs and caps of `systask/engine/limits.hpp` applied, through the same code as a stored
/// message (engine/src/message_codec.cpp). Any thread; allocates the returned string.
std::string render_log_event(wall_time timestamp, log_level level, std::string_view logger, std::string_view event,
                             attributes attrs);
inline std::string render_log_event(wall_time timestamp, log_level level, std::string_view logger,
                                    std::string_view event, std::initializer_list<attribute> attrs = {}) {
  return render_log_event(timestamp, level, logger, event, attributes{attrs.begin(), attrs.size()});
}

/// Version of the compact message format: the bytes `task_record::for_each_message` gives and
/// `run_image::messages` holds (a message without its constant JSON keys; the layout is in
/// docs/engine.md, "The compact message format"). A store that persists compact bytes records
/// this version beside them; a change of the layout changes the version, and a reader of
/// another version must not expand them.
inline constexpr unsigned compact_message_format_version = 1;

/// Why `compact` is not a well-formed compact message (of this format version), or "" when it
/// is: the header and lengths, the level, the escaped logger and event texts (valid UTF-8, JSON
/// string escapes only, within their caps) and the attributes (one JSON object). A well-formed
/// message always expands to valid JSON. Any thread; no allocation; never throws.
std::string_view compact_message_error(std::string_view compact) noexcept;

/// Appends the LogEvent JSON of one compact message to `out`: byte for byte what the engine
/// serves for that message. Throws std::invalid_argument (naming what is wrong) when
/// `compact_message_error(compact)` is not empty; `out` is then unchanged. Any thread;
/// allocates only by growing `out`.
void expand_compact_message(std::string& out, std::string_view compact);

}  // namespace systask
