// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/json_escape.hpp>

#include "render_buffer.hpp"
#include "utf8.hpp"

#include <systask/engine/limits.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace systask {
namespace {

constexpr std::size_t marker_length = sizeof(limits::truncation_marker) - 1;
constexpr char replacement_char[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at `p` (1..4), or 0 with `*skip` set to the length of
// the maximal invalid subpart to replace with one U+FFFD.
std::size_t utf8_sequence(const unsigned char* p, std::size_t avail, std::size_t* skip) noexcept {
  const detail::utf8_step step = detail::decode_utf8(p, avail);
  if (step.valid) return step.length;
  *skip = step.length;
  return 0;
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
// word built from narrow stores and read back wide stalls on store forwarding.
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

}  // namespace

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
  // The usual text is whole and valid: one check and one copy, not a decode per character.
  if (text.size() <= max_bytes && is_valid_utf8(text)) return std::string(text);
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

}  // namespace detail
}  // namespace systask
