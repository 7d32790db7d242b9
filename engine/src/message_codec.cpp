// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/render.hpp>

#include "render_buffer.hpp"

#include <systask/engine/limits.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace systask {

namespace detail {
namespace {

constexpr std::size_t marker_length = sizeof(limits::truncation_marker) - 1;

// Writes attribute values with a byte limit and a depth limit. Whatever does not fit is left
// out whole (and counted), so the output is always complete JSON.
class attribute_writer {
 public:
  attribute_writer(char* out, std::size_t limit) noexcept : out_(out), limit_(limit) {}

  std::size_t size() const noexcept { return w_; }
  std::size_t omitted() const noexcept { return omitted_; }

  bool put(std::string_view s) noexcept {
    if (w_ + s.size() > limit_) return false;
    std::memcpy(out_ + w_, s.data(), s.size());
    w_ += s.size();
    return true;
  }

  bool string(std::string_view s, std::size_t cap) noexcept {
    // Always keep room for the quotes and a truncation marker, so a cut is visible.
    if (w_ + 2 + marker_length > limit_) return false;
    out_[w_++] = '"';
    const std::size_t room = std::min(cap, limit_ - w_ - 1);
    w_ += write_escaped(s, out_ + w_, room, nullptr);
    out_[w_++] = '"';
    return true;
  }

  bool value(const attribute_value& v, std::size_t depth) noexcept {
    using k = attribute_value::kind;
    char num[32];
    switch (v.type()) {
      case k::null: return put("null");
      case k::boolean: return put(v.as_bool() ? "true" : "false");
      case k::integer: return put({num, static_cast<std::size_t>(std::to_chars(num, num + 32, v.as_int()).ptr - num)});
      case k::unsigned_integer:
        return put({num, static_cast<std::size_t>(std::to_chars(num, num + 32, v.as_uint()).ptr - num)});
      case k::floating:
        if (!std::isfinite(v.as_double())) return put("null");
        return put({num, static_cast<std::size_t>(std::to_chars(num, num + 32, v.as_double()).ptr - num)});
      case k::string: return string(v.as_string(), limits::attribute_string_bytes);
      case k::array:
        if (depth >= limits::attribute_depth) return depth_limited();
        return container('[', ']', v.as_array(), depth + 1, [&](const attribute_value& item, std::size_t d) {
          return value(item, d);
        });
      case k::object:
        if (depth >= limits::attribute_depth) return depth_limited();
        return object(v.as_object(), depth + 1);
    }
    return false;
  }

  bool object(std::span<const attribute> members, std::size_t depth) noexcept {
    return container('{', '}', members, depth, [&](const attribute& m, std::size_t d) {
      return string(m.key, limits::attribute_key_bytes) && put(":") && value(m.value, d);
    });
  }

  // Shrinks the usable limit, e.g. to keep room for a closing member.
  void reserve(std::size_t n) noexcept { limit_ -= n; }
  void release(std::size_t n) noexcept { limit_ += n; }

 private:
  bool depth_limited() noexcept {
    ++omitted_;
    return string("\xE2\x80\xA6(depth limit)", limits::attribute_string_bytes);
  }

  template <class Item, class WriteItem>
  bool container(char open, char close, std::span<const Item> items, std::size_t depth, WriteItem write_item) noexcept {
    if (w_ + 2 > limit_) return false;
    out_[w_++] = open;
    --limit_;  // room for the closing bracket
    bool first = true;
    for (const Item& item : items) {
      const std::size_t mark = w_;
      const std::size_t omitted_before = omitted_;
      if ((first || put(",")) && write_item(item, depth)) {
        first = false;
      } else {
        w_ = mark;
        omitted_ = omitted_before + 1;
      }
    }
    ++limit_;
    out_[w_++] = close;
    return true;
  }

  char* out_;
  std::size_t limit_;
  std::size_t w_ = 0;
  std::size_t omitted_ = 0;
};

std::size_t put_literal(char* out, std::string_view s) noexcept {
  std::memcpy(out, s.data(), s.size());
  return s.size();
}

}  // namespace

// The compact form is a storage format (render.hpp, compact_message_format_version): its
// integers are written in host byte order, which is little-endian on every platform systask is
// built for. A big-endian port must convert here and in expand_message.
static_assert(std::endian::native == std::endian::little, "the compact message format is little-endian");

std::size_t render_compact(char* out, wall_time timestamp, log_level level, std::string_view logger,
                           std::string_view event, attributes attrs) noexcept {
  const std::int64_t us = std::chrono::floor<std::chrono::microseconds>(timestamp.time_since_epoch()).count();
  std::memcpy(out, &us, 8);
  out[8] = static_cast<char>(level);
  std::size_t w = compact_header_bytes;
  const auto logger_len = static_cast<std::uint16_t>(write_escaped(logger, out + w, limits::logger_bytes, nullptr));
  w += logger_len;
  const auto event_len = static_cast<std::uint16_t>(write_escaped(event, out + w, limits::event_bytes, nullptr));
  w += event_len;
  std::memcpy(out + 9, &logger_len, 2);
  std::memcpy(out + 11, &event_len, 2);

  constexpr std::string_view truncated_key = ",\"systask_truncated\":";
  constexpr std::size_t reserve = truncated_key.size() + 20;
  attribute_writer aw(out + w, limits::attributes_bytes);
  aw.reserve(reserve);
  aw.object(attrs, 1);
  aw.release(reserve);
  std::size_t n = aw.size();
  if (aw.omitted() > 0) {
    // Reopen the object to add the count of what was left out.
    --n;
    if (n > 1) n += put_literal(out + w + n, truncated_key);
    else n += put_literal(out + w + n, truncated_key.substr(1));
    char num[24];
    const auto len = static_cast<std::size_t>(std::to_chars(num, num + 24, aw.omitted()).ptr - num);
    n += put_literal(out + w + n, {num, len});
    out[w + n++] = '}';
  }
  return w + n;
}

void expand_message(std::string& out, const char* stored, std::size_t length) {
  std::int64_t us = 0;
  std::uint16_t logger_len = 0, event_len = 0;
  std::memcpy(&us, stored, 8);
  std::memcpy(&logger_len, stored + 9, 2);
  std::memcpy(&event_len, stored + 11, 2);
  const auto level = static_cast<log_level>(static_cast<unsigned char>(stored[8]));
  const char* logger = stored + compact_header_bytes;
  const char* event = logger + logger_len;
  const char* attrs = event + event_len;
  const std::size_t attrs_len = length - compact_header_bytes - logger_len - event_len;

  char ts[timestamp_length];
  // Formatted from the stored microseconds as they are: converting them back to a wall_time
  // would overflow within a microsecond of wall_time::min() (nanosecond ticks).
  format_timestamp_us(us, ts);
  const std::string_view level_name = to_string(level);
  const std::size_t start = out.size();
  out.resize(start + 14 + timestamp_length + 15 + level_name.size() + 12 + logger_len + 11 + event_len + 15 +
             attrs_len + 1);
  char* p = out.data() + start;
  auto put = [&](const char* s, std::size_t n) {
    std::memcpy(p, s, n);
    p += n;
  };
  put("{\"timestamp\":\"", 14);
  put(ts, timestamp_length);
  put("\",\"log_level\":\"", 15);
  put(level_name.data(), level_name.size());
  put("\",\"logger\":\"", 12);
  put(logger, logger_len);
  put("\",\"event\":\"", 11);
  put(event, event_len);
  put("\",\"attributes\":", 15);
  put(attrs, attrs_len);
  *p = '}';
}

namespace {

// Checks JSON text as the compact form's attributes hold it (RFC 8259 grammar, strings in
// valid UTF-8, nesting bounded), so that a message read back from a store can never make a
// served body invalid JSON. Recursive descent over a buffer; no allocation.
class json_checker {
 public:
  explicit json_checker(std::string_view text) noexcept : p_(text.data()), end_(text.data() + text.size()) {}

  bool whole_object() noexcept {
    if (!object(0)) return false;
    return p_ == end_;
  }

 private:
  // The engine writes at most limits::attribute_depth levels; anything much deeper is not ours.
  static constexpr int max_depth = 64;

  bool value(int depth) noexcept {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  bool object(int depth) noexcept {
    if (depth >= max_depth || p_ == end_ || *p_ != '{') return false;
    ++p_;
    if (p_ != end_ && *p_ == '}') return ++p_, true;
    for (;;) {
      if (!string() || p_ == end_ || *p_++ != ':' || !value(depth + 1) || p_ == end_) return false;
      const char c = *p_++;
      if (c == '}') return true;
      if (c != ',') return false;
    }
  }

  bool array(int depth) noexcept {
    if (depth >= max_depth) return false;
    ++p_;
    if (p_ != end_ && *p_ == ']') return ++p_, true;
    for (;;) {
      if (!value(depth + 1) || p_ == end_) return false;
      const char c = *p_++;
      if (c == ']') return true;
      if (c != ',') return false;
    }
  }

  bool string() noexcept {
    if (p_ == end_ || *p_ != '"') return false;
    const char* const begin = ++p_;
    while (p_ != end_ && *p_ != '"') {
      if (*p_ == '\\') ++p_;  // the escape's character is checked below
      if (p_ != end_) ++p_;
    }
    if (p_ == end_) return false;
    const bool ok = compact_text_ok({begin, static_cast<std::size_t>(p_ - begin)});
    ++p_;
    return ok;
  }

  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool number() noexcept {
    auto digits = [&] {
      const char* start = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ != start;
    };
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    return true;
  }

 public:
  // The inside of a JSON string: valid UTF-8, no raw control character or quote, and only
  // JSON's escapes.
  static bool compact_text_ok(std::string_view s) noexcept {
    if (!is_valid_utf8(s)) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == '"') return false;
      if (c != '\\') continue;
      if (++i == s.size()) return false;
      switch (s[i]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
        case 'u':
          if (i + 4 >= s.size()) return false;
          for (int k = 1; k <= 4; ++k) {
            const char h = s[i + static_cast<std::size_t>(k)];
            if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return false;
          }
          i += 4;
          break;
        default: return false;
      }
    }
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

}  // namespace detail

std::string_view compact_message_error(std::string_view compact) noexcept {
  using detail::compact_header_bytes;
  if (compact.size() < compact_header_bytes) return "shorter than the 13-byte header";
  if (compact.size() > limits::message_bytes) return "longer than limits::message_bytes";
  const auto level = static_cast<unsigned char>(compact[detail::compact_level_offset]);
  if (level >= detail::enum_names<log_level>.size()) return "not a log level";
  std::uint16_t logger_len = 0, event_len = 0;
  std::memcpy(&logger_len, compact.data() + 9, 2);
  std::memcpy(&event_len, compact.data() + 11, 2);
  if (logger_len > limits::logger_bytes) return "the logger is longer than limits::logger_bytes";
  if (event_len > limits::event_bytes) return "the event is longer than limits::event_bytes";
  if (compact_header_bytes + std::size_t{logger_len} + event_len > compact.size()) {
    return "the logger and event lengths run past the end";
  }
  const std::string_view logger = compact.substr(compact_header_bytes, logger_len);
  const std::string_view event = compact.substr(compact_header_bytes + logger_len, event_len);
  const std::string_view attrs = compact.substr(compact_header_bytes + logger_len + event_len);
  if (!detail::json_checker::compact_text_ok(logger)) return "the logger is not escaped JSON text in UTF-8";
  if (!detail::json_checker::compact_text_ok(event)) return "the event is not escaped JSON text in UTF-8";
  if (!detail::json_checker(attrs).whole_object()) return "the attributes are not one JSON object";
  return {};
}

void expand_compact_message(std::string& out, std::string_view compact) {
  const std::string_view error = compact_message_error(compact);
  if (!error.empty()) throw std::invalid_argument("systask: not a compact message: " + std::string(error));
  detail::expand_message(out, compact.data(), compact.size());
}

std::string render_log_event(wall_time timestamp, log_level level, std::string_view logger, std::string_view event,
                             attributes attrs) {
  // One code path for what is stored and what is served: render compact, then expand.
  char compact[limits::message_bytes];
  const std::size_t n = detail::render_compact(compact, timestamp, level, logger, event, attrs);
  std::string out;
  out.reserve(n + 128);
  detail::expand_message(out, compact, n);
  return out;
}

}  // namespace systask
