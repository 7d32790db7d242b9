// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/json_escape.hpp>

#include "json_check.hpp"
#include "render_buffer.hpp"

#include <systask/engine/limits.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace {

using systask::test::parses_as_json;

// The escaper scans 16 bytes at a time, then 8, and checks each tail with an overlapping load:
// compare it with a byte-at-a-time reference for every length up to 48 and every position of
// each kind of byte that needs work (and of a valid two-byte character, copied through).
TEST(JsonEscape, MatchesAByteAtATimeReferenceAtEveryLengthAndPosition) {
  const auto reference = [](std::string_view in) {
    std::string out;
    for (const char ch : in) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else out += ch;  // printable ASCII and the bytes of the valid "é"
    }
    return out;
  };
  const std::string specials[] = {"\"", "\\", "\n", "\t", std::string(1, '\x01'), std::string(1, '\x1f'), "\xc3\xa9"};
  char out[512];
  for (std::size_t len = 0; len <= 48; ++len) {
    std::string plain;
    for (std::size_t k = 0; k < len; ++k) plain += static_cast<char>('a' + k % 26);
    const std::size_t plain_written = systask::detail::write_escaped(plain, out, sizeof out, nullptr);
    ASSERT_EQ(std::string(out, plain_written), plain) << "length " << len;
    for (const auto& special : specials) {
      for (std::size_t at = 0; at < len; ++at) {
        const std::string text = plain.substr(0, at) + special + plain.substr(at);
        const std::size_t n = systask::detail::write_escaped(text, out, sizeof out, nullptr);
        ASSERT_EQ(std::string(out, n), reference(text)) << "length " << text.size() << ", special at " << at;
      }
    }
  }
}

TEST(JsonString, QuotesEscapesRepairsAndNeverCuts) {
  std::string out = "[";
  systask::append_json_string(out, "a\"b\\c\n\x01\xc3\xa9");
  EXPECT_EQ(out, "[\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
  out.clear();
  systask::append_json_string(out, "x\xff" "y");  // invalid byte -> U+FFFD
  EXPECT_EQ(out, "\"x\xef\xbf\xbdy\"");
  out.clear();
  systask::append_json_string(out, "");
  EXPECT_EQ(out, "\"\"");
  // The worst case: every byte a control character, far beyond any message cap.
  const std::string controls(20000, '\x01');
  out.clear();
  systask::append_json_string(out, controls);
  EXPECT_EQ(out.size(), 2 + 6 * controls.size());
  EXPECT_TRUE(parses_as_json(out));
}

TEST(SafeText, RecognisesValidUtf8) {
  EXPECT_TRUE(systask::is_valid_utf8(""));
  EXPECT_TRUE(systask::is_valid_utf8("caf\xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(systask::is_valid_utf8("\xC0\xAF"));
  EXPECT_FALSE(systask::is_valid_utf8("\xED\xA0\x80"));
  EXPECT_FALSE(systask::is_valid_utf8("ok\xE2\x82"));
}

TEST(SafeText, RepairsAndCuts) {
  EXPECT_EQ(systask::make_safe_text("plain", 10), "plain");
  EXPECT_EQ(systask::make_safe_text("a\xFF", 10), "a\xEF\xBF\xBD");
  const std::string marker = systask::limits::truncation_marker;
  EXPECT_EQ(systask::make_safe_text(std::string(100, 'n'), 20), std::string(20 - marker.size(), 'n') + marker);
  EXPECT_EQ(systask::make_safe_text(std::string(20, 'n'), 20), std::string(20, 'n'));
}

}  // namespace
