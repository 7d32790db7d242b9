// SPDX-License-Identifier: BSL-1.0
#pragma once

// UTF-8 decoding with the engine's repair policy: each maximal invalid subpart (Unicode's "best
// practice", as WHATWG decoders and Python's "replace" handler do it) counts as one U+FFFD.
// The one decoder of the engine: slugify, the JSON escaper and make_safe_text all step with it.

#include <cstddef>

namespace systask::detail {

/// U+FFFD, what an invalid subpart decodes to.
inline constexpr char32_t replacement_code_point = 0xFFFD;

/// One step of decoding: the code point and the bytes it took.
struct utf8_step {
  char32_t code_point;  ///< the scalar value, or `replacement_code_point` for an invalid subpart
  std::size_t length;   ///< bytes consumed, 1..4 (an invalid subpart is 1..3 bytes)
  bool valid = true;    ///< false for an invalid subpart (a well-formed U+FFFD is valid)
};

/// Decodes the character at `p` (`avail` >= 1 bytes readable) per RFC 3629: no overlong forms,
/// no surrogates, nothing above U+10FFFF. An invalid subpart never swallows an ASCII byte or the
/// lead byte of the next sequence. Any thread; no allocation.
inline utf8_step decode_utf8(const unsigned char* p, std::size_t avail) noexcept {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return {b0, 1};
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {replacement_code_point, 1, false};  // a continuation byte, C0, C1 or F5..FF
  }
  for (std::size_t k = 1; k <= need; ++k) {
    // Only the second byte has a narrowed range; later ones are any continuation byte.
    const unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (k >= avail || p[k] < min || p[k] > max) return {replacement_code_point, k, false};
    cp = (cp << 6) | (p[k] & 0x3Fu);
  }
  return {cp, need + 1};
}

}  // namespace systask::detail
