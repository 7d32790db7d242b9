// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/slugify.hpp>

#include "slug_table.hpp"
#include "utf8.hpp"

#include <algorithm>
#include <iterator>

namespace systask {
namespace {

namespace table = detail::slug_table;

constexpr bool ranges_sorted_and_disjoint() {
  for (std::size_t i = 0; i < std::size(table::ranges); ++i) {
    const auto& r = table::ranges[i];
    if (r.count == 0 || r.length == 0 || (r.stride != 0 && r.stride != r.length)) return false;
    if (std::size_t{r.offset} + (r.count - 1u) * r.stride + r.length > sizeof(table::text) - 1) return false;
    if (i > 0 && table::ranges[i - 1].first + table::ranges[i - 1].count > r.first) return false;
  }
  return true;
}
// The binary search below relies on this, and an edited table must not read past its text.
static_assert(ranges_sorted_and_disjoint(), "slug_table.hpp: regenerate it with scripts/gen-slug-table.py");

// The ASCII characters that NFKD leaves from the non-ASCII code point `cp` ("" for most).
std::string_view ascii_of(char32_t cp) noexcept {
  const auto* end = std::end(table::ranges);
  const auto* it = std::upper_bound(std::begin(table::ranges), end, cp,
                                    [](char32_t c, const table::range& r) { return c < r.first; });
  if (it == std::begin(table::ranges)) return {};
  --it;
  const char32_t k = cp - it->first;
  if (k >= it->count) return {};
  return {table::text + it->offset + k * it->stride, it->length};
}

// Python's `\s` for str patterns is Unicode whitespace; its ASCII members include the
// information separators 0x1C-0x1F, which C's isspace does not count.
constexpr bool is_space(unsigned char c) noexcept {
  return (c >= '\t' && c <= '\r') || c == ' ' || (c >= 0x1C && c <= 0x1F);
}
constexpr bool is_word(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Django's steps after the ASCII projection, fused into one pass: lower-case, keep word
// characters, delete everything else except whitespace and '-', and write each run of those
// (after the deletions) as one '-'. The ends are stripped by the caller.
void put(std::string& out, unsigned char c) {
  if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
  if (is_word(c)) {
    out.push_back(static_cast<char>(c));
  } else if ((is_space(c) || c == '-') && (out.empty() || out.back() != '-')) {
    out.push_back('-');
  }
}

}  // namespace

std::string slugify(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  std::size_t i = 0;
  while (i < name.size()) {
    if (p[i] < 0x80) {
      put(out, p[i++]);
      continue;
    }
    const detail::utf8_step step = detail::decode_utf8(p + i, name.size() - i);
    i += step.length;
    // U+FFFD (also what an invalid subpart decodes to) has no ASCII: it is dropped.
    for (const char c : ascii_of(step.code_point)) put(out, static_cast<unsigned char>(c));
  }
  // Django strips '-' and '_' from both ends; a run like "_-_" there goes whole.
  const std::size_t first = out.find_first_not_of("-_");
  if (first == std::string::npos) return {};
  out.erase(out.find_last_not_of("-_") + 1);
  out.erase(0, first);
  return out;
}

}  // namespace systask
