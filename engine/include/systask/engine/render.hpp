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

}  // namespace systask
