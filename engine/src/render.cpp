#include <systask/engine/render.hpp>

#include "render_buffer.hpp"

#include <systask/engine/limits.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace systask {
namespace {

constexpr std::size_t marker_length = sizeof(limits::truncation_marker) - 1;
constexpr char replacement_char[] = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(unsigned char c, unsigned char lo = 0x80, unsigned char hi = 0xBF) noexcept {
  return c >= lo && c <= hi;
}

// Length of the valid UTF-8 sequence at `p` (1..4), or 0 with `*skip` set to the length of
// the maximal invalid subpart to replace with one U+FFFD.
std::size_t utf8_sequence(const unsigned char* p, std::size_t avail, std::size_t* skip) noexcept {
  const unsigned char b0 = p[0];
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
    need = 2;
  } else if (b0 == 0xED) {
    need = 2, hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 == 0xF0) {
    need = 3, lo = 0x90;  // no overlong forms
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    need = 3;
  } else if (b0 == 0xF4) {
    need = 3, hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *skip = 1;
    return 0;
  }
  for (std::size_t k = 1; k <= need; ++k) {
    const bool ok = k < avail && (k == 1 ? is_continuation(p[k], lo, hi) : is_continuation(p[k]));
    if (!ok) {
      *skip = k;
      return 0;
    }
  }
  return need + 1;
}

constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// True when none of the 8 bytes of `w` needs work when escaping: no byte >= 0x80 (UTF-8 to
// check), < 0x20 (control), '"' or '\\'. Bit tricks on the whole word (SWAR), so the common
// printable-ASCII text is scanned eight bytes per step instead of one.
inline bool plain_ascii_word(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  if (w & highs) return false;
  const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;  // valid because no high bits
  const std::uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
  const std::uint64_t quote = (q - ones) & ~q & highs, backslash = (b - ones) & ~b & highs;
  return (below_space | quote | backslash) == 0;
}

// The end of the run of printable ASCII (no control byte, quote, backslash or byte >= 0x80)
// that starts at `i`: 16 bytes per step (SSE2), then 8 (SWAR). The tail is checked with one
// load that overlaps bytes already checked, never by assembling a partial word in memory: a
// word built from narrow stores and read back wide stalls on store forwarding (it was 38% of
// the escaper's time in perf).
inline std::size_t plain_ascii_run_end(const unsigned char* p, std::size_t i, std::size_t n) noexcept {
#if defined(__SSE2__)
  if (n - i >= 16) {
    // A signed `< 0x20` also catches bytes >= 0x80 (negative as int8).
    const auto special = [](const unsigned char* at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      return static_cast<unsigned>(_mm_movemask_epi8(
          _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                       _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))))));
    };
    for (; i + 16 <= n; i += 16) {
      if (const unsigned mask = special(p + i)) return i + static_cast<std::size_t>(__builtin_ctz(mask));
    }
    if (i == n) return n;
    const unsigned mask = special(p + n - 16) >> (i - (n - 16));  // drop the bytes already checked
    return mask ? i + static_cast<std::size_t>(__builtin_ctz(mask)) : n;
  }
#endif
  const auto word_at = [p](std::size_t at) {
    std::uint64_t w;
    std::memcpy(&w, p + at, 8);
    return w;
  };
  if (n - i >= 8) {
    for (; i + 8 <= n; i += 8) {
      if (!plain_ascii_word(word_at(i))) break;
    }
    if (i + 8 > n && (i == n || plain_ascii_word(word_at(n - 8)))) return n;
  }
  while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\') ++i;
  return i;
}

// Two decimal digits per table lookup: a timestamp is 10 pairs, so formatting one costs ten
// small divisions instead of twenty (format_timestamp was 17% of a small status body).
constexpr char digit_pairs[] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
    "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
inline void put2(char* out, unsigned value) noexcept { std::memcpy(out, digit_pairs + 2 * value, 2); }

}  // namespace

void format_timestamp(wall_time t, char* out) noexcept {
  using namespace std::chrono;
  constexpr std::int64_t min_us = days_from_civil(0, 1, 1) * 86'400'000'000LL;
  constexpr std::int64_t max_us = (days_from_civil(10000, 1, 1) * 86'400'000'000LL) - 1;
  std::int64_t us = floor<microseconds>(t.time_since_epoch()).count();
  us = std::clamp(us, min_us, max_us);
  std::int64_t days = us / 86'400'000'000LL;
  std::int64_t rem = us % 86'400'000'000LL;
  if (rem < 0) {
    rem += 86'400'000'000LL;
    --days;
  }
  // The date changes once a day: bodies format many timestamps of the same day, so each thread
  // keeps the last day's "YYYY-MM-DD" and only formats the time of day.
  struct day_cache {
    std::int64_t days = std::numeric_limits<std::int64_t>::min();
    char date[10];
  };
  thread_local day_cache cache;
  if (days != cache.days) {
    // civil_from_days (H. Hinnant), valid for the clamped range.
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const auto year = static_cast<unsigned>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));  // 0..9999
    put2(cache.date, year / 100);
    put2(cache.date + 2, year % 100);
    cache.date[4] = '-';
    put2(cache.date + 5, m);
    cache.date[7] = '-';
    put2(cache.date + 8, d);
    cache.days = days;
  }
  std::memcpy(out, cache.date, 10);
  const auto secs = static_cast<unsigned>(rem / 1'000'000);
  const auto micros = static_cast<unsigned>(rem % 1'000'000);
  out[10] = 'T';
  put2(out + 11, static_cast<unsigned>(secs / 3600));
  out[13] = ':';
  put2(out + 14, static_cast<unsigned>((secs / 60) % 60));
  out[16] = ':';
  put2(out + 17, static_cast<unsigned>(secs % 60));
  out[19] = '.';
  put2(out + 20, micros / 10000);
  put2(out + 22, (micros / 100) % 100);
  put2(out + 24, micros % 100);
  out[26] = 'Z';
}

void append_json_string(std::string& out, std::string_view text) {
  // At most 6 output bytes per input byte (a control byte becomes \u00xx; an invalid byte
  // becomes the 3-byte U+FFFD), so this budget never cuts.
  const std::size_t budget = 6 * text.size();
  const std::size_t at = out.size();
  out.resize(at + budget + 2);
  out[at] = '"';
  const std::size_t n = detail::write_escaped(text, out.data() + at + 1, budget, nullptr);
  out[at + 1 + n] = '"';
  out.resize(at + n + 2);
}

std::string format_timestamp(wall_time t) {
  std::string s(timestamp_length, '\0');
  format_timestamp(t, s.data());
  return s;
}

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    std::size_t skip = 0;
    const std::size_t len = utf8_sequence(p + i, text.size() - i, &skip);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string make_safe_text(std::string_view text, std::size_t max_bytes) {
  max_bytes = std::max(max_bytes, marker_length);
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t i = 0, safe = 0;
  while (i < text.size()) {
    std::size_t skip = 0;
    const std::size_t len = utf8_sequence(p + i, text.size() - i, &skip);
    const std::string_view piece = len ? text.substr(i, len) : std::string_view(replacement_char, 3);
    if (out.size() + piece.size() > max_bytes) {
      out.resize(safe);
      out += limits::truncation_marker;
      return out;
    }
    out += piece;
    if (out.size() + marker_length <= max_bytes) safe = out.size();
    i += len ? len : skip;
  }
  return out;
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

namespace detail {

std::size_t write_escaped(std::string_view in, char* out, std::size_t budget, bool* cut) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0, w = 0, safe = 0;
  char tmp[6];
  while (i < n) {
    // Fast path: a run of printable ASCII that needs no escaping.
    const std::size_t run = plain_ascii_run_end(p, i, n);
    if (run > i) {
      const std::size_t take = std::min(run - i, budget - w);
      std::memcpy(out + w, p + i, take);
      if (w + take + marker_length <= budget) {
        safe = w + take;
      } else if (w + marker_length <= budget) {
        safe = budget - marker_length;  // every ASCII byte is a character boundary
      }
      w += take;
      i += take;
      if (i < run) break;  // budget exhausted inside the run
      continue;
    }
    const char* piece = tmp;
    std::size_t piece_len = 0, consumed = 1;
    const unsigned char c = p[i];
    if (c < 0x80) {
      tmp[0] = '\\';
      piece_len = 2;
      switch (c) {
        case '"': tmp[1] = '"'; break;
        case '\\': tmp[1] = '\\'; break;
        case '\b': tmp[1] = 'b'; break;
        case '\f': tmp[1] = 'f'; break;
        case '\n': tmp[1] = 'n'; break;
        case '\r': tmp[1] = 'r'; break;
        case '\t': tmp[1] = 't'; break;
        default:
          tmp[1] = 'u', tmp[2] = '0', tmp[3] = '0', tmp[4] = hex[c >> 4], tmp[5] = hex[c & 15];
          piece_len = 6;
      }
    } else {
      std::size_t skip = 0;
      const std::size_t len = utf8_sequence(p + i, n - i, &skip);
      if (len) {
        piece = reinterpret_cast<const char*>(p + i);
        piece_len = consumed = len;
      } else {
        piece = replacement_char;
        piece_len = 3;
        consumed = skip;
      }
    }
    if (w + piece_len > budget) break;
    std::memcpy(out + w, piece, piece_len);
    w += piece_len;
    i += consumed;
    if (w + marker_length <= budget) safe = w;
  }
  if (i < n) {
    std::memcpy(out + safe, limits::truncation_marker, marker_length);
    if (cut) *cut = true;
    return safe + marker_length;
  }
  return w;
}

namespace {

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
  format_timestamp(wall_time{std::chrono::duration_cast<wall_time::duration>(std::chrono::microseconds{us})}, ts);
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

}  // namespace detail
}  // namespace systask
