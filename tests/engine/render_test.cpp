#include <systask/engine/render.hpp>

#include "json_check.hpp"
#include "render_buffer.hpp"

#include <systask/engine/limits.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <string>

namespace {

using namespace std::chrono;
using systask::attribute;
using systask::log_level;
using systask::render_log_event;
using systask::test::parses_as_json;

const systask::wall_time t0 = systask::wall_time{seconds{1'722'268'288}} + nanoseconds{71'123'999};
const std::string prefix = R"({"timestamp":"2024-07-29T15:51:28.071123Z","log_level":"warning","logger":"L","event":")";

std::string event_of(std::string_view text) { return render_log_event(t0, log_level::warning, "L", text); }
std::string expected_event(std::string_view escaped) {
  return prefix + std::string(escaped) + R"(","attributes":{}})";
}

TEST(Timestamp, TruncatesToMicroseconds) { EXPECT_EQ(systask::format_timestamp(t0), "2024-07-29T15:51:28.071123Z"); }

TEST(Timestamp, EpochAndBeforeEpoch) {
  EXPECT_EQ(systask::format_timestamp(systask::wall_time{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(systask::format_timestamp(systask::wall_time{} - nanoseconds{1}), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(systask::format_timestamp(systask::wall_time{} + days{11016}), "2000-02-29T00:00:00.000000Z");
}

TEST(Timestamp, ClampsToFourDigitYears) {
  EXPECT_EQ(systask::format_timestamp(systask::wall_time::max()), "2262-04-11T23:47:16.854775Z");
  EXPECT_EQ(systask::format_timestamp(systask::wall_time::min()), "1677-09-21T00:12:43.145224Z");
  const auto far = time_point_cast<microseconds>(sys_days{year{9999} / 12 / 31}) + hours{30};
  char buf[systask::timestamp_length];
  systask::format_timestamp(time_point_cast<systask::wall_time::duration>(sys_days{year{2000} / 1 / 1}), buf);
  EXPECT_EQ(std::string(buf, sizeof buf), "2000-01-01T00:00:00.000000Z");
  (void)far;  // beyond system_clock's range with nanosecond ticks; the clamp is covered by min/max above
}

TEST(Timestamp, MatchesGmtimeAcrossTheRange) {
  // 20,000 instants spread from 1677 to 2262 (the range of nanosecond system_clock), each
  // compared with the C library's gmtime_r and the microseconds printed by snprintf.
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const std::int64_t us = static_cast<std::int64_t>(x % 18'000'000'000'000'000ULL) - 9'000'000'000'000'000LL;
    const std::time_t secs = static_cast<std::time_t>(us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000);
    const auto micros = static_cast<int>(us - static_cast<std::int64_t>(secs) * 1'000'000);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&secs, &tm), nullptr);
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
    EXPECT_EQ(systask::format_timestamp(systask::wall_time{microseconds{us}}), want) << us;
    // The same day again (the thread's cached date), a second later or earlier within it.
    const std::int64_t next = us + (micros < 500'000 && tm.tm_hour < 23 ? 3'600'000'000LL : -1'000'000LL);
    const std::time_t next_secs = static_cast<std::time_t>(next >= 0 ? next / 1'000'000 : (next - 999'999) / 1'000'000);
    ASSERT_NE(gmtime_r(&next_secs, &tm), nullptr);
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(next - static_cast<std::int64_t>(next_secs) * 1'000'000));
    EXPECT_EQ(systask::format_timestamp(systask::wall_time{microseconds{next}}), want) << next;
  }
}

TEST(Render, GoldenMessageWithAttributes) {
  const std::string got = render_log_event(t0, log_level::warning, "Google Workspace Provider@authentik.core.models.User",
                                           "Failed to sync user alice",
                                           {{"obj", "alice"}, {"attempt", 3}, {"retry", true}, {"ratio", 0.5},
                                            {"none", nullptr}, {"ids", systask::array{1, 2u, "three"}},
                                            {"user", systask::object{{"pk", -7}}}});
  EXPECT_EQ(got,
            R"({"timestamp":"2024-07-29T15:51:28.071123Z","log_level":"warning",)"
            R"("logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user alice",)"
            R"("attributes":{"obj":"alice","attempt":3,"retry":true,"ratio":0.5,"none":null,"ids":[1,2,"three"],)"
            R"("user":{"pk":-7}}})");
  EXPECT_TRUE(parses_as_json(got));
}

TEST(Render, EveryLevelName) {
  for (auto level : {log_level::critical, log_level::exception, log_level::error, log_level::warn, log_level::warning,
                     log_level::info, log_level::debug, log_level::notset}) {
    const std::string got = render_log_event(t0, level, "L", "e");
    EXPECT_NE(got.find("\"log_level\":\"" + std::string(systask::to_string(level)) + "\""), std::string::npos);
    EXPECT_TRUE(parses_as_json(got));
  }
}

TEST(Render, EscapesControlCharactersQuotesAndBackslashes) {
  const std::string got = event_of(std::string("a\"b\\c\n\t\r\b\f\x01\x1f\x7f", 13));
  EXPECT_EQ(got, expected_event(R"(a\"b\\c\n\t\r\b\f\u0001\u001f)" "\x7f"));
  EXPECT_TRUE(parses_as_json(got));
}

// The escaper scans 16 bytes at a time, then 8, and checks each tail with an overlapping load:
// compare it with a byte-at-a-time reference for every length up to 48 and every position of
// each kind of byte that needs work (and of a valid two-byte character, copied through).
TEST(Render, EscapingMatchesAByteAtATimeReferenceAtEveryLengthAndPosition) {
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

TEST(Render, KeepsEmbeddedNulAsEscape) {
  const std::string got = event_of(std::string("a\0b", 3));
  EXPECT_EQ(got, expected_event(R"(a\u0000b)"));
}

TEST(Render, RepairsInvalidUtf8WithReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  // Lone continuation byte, invalid lead bytes, overlong encoding, surrogate, truncated sequence.
  EXPECT_EQ(event_of("a\x80z"), expected_event("a" + fffd + "z"));
  EXPECT_EQ(event_of("\xFF\xFE"), expected_event(fffd + fffd));
  EXPECT_EQ(event_of("\xC0\xAF"), expected_event(fffd + fffd));
  EXPECT_EQ(event_of("\xED\xA0\x80"), expected_event(fffd + fffd + fffd));
  EXPECT_EQ(event_of("ok\xE2\x82"), expected_event("ok" + fffd));
  EXPECT_EQ(event_of("\xF4\x90\x80\x80"), expected_event(fffd + fffd + fffd + fffd));
  // Valid multi-byte characters pass through untouched.
  EXPECT_EQ(event_of("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), expected_event("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  for (const char* s : {"a\x80z", "\xFF\xFE", "\xC0\xAF", "\xED\xA0\x80", "ok\xE2\x82"}) EXPECT_TRUE(parses_as_json(event_of(s)));
}

TEST(Render, NonFiniteNumbersBecomeNull) {
  const std::string got = render_log_event(t0, log_level::info, "L", "e",
                                           {{"nan", std::nan("")}, {"inf", std::numeric_limits<double>::infinity()},
                                            {"ninf", -std::numeric_limits<float>::infinity()}});
  EXPECT_NE(got.find(R"("attributes":{"nan":null,"inf":null,"ninf":null})"), std::string::npos) << got;
  EXPECT_TRUE(parses_as_json(got));
}

TEST(Render, IntegerExtremesAndShortestDoubles) {
  const std::string got = render_log_event(
      t0, log_level::info, "L", "e",
      {{"min", std::numeric_limits<std::int64_t>::min()}, {"umax", std::numeric_limits<std::uint64_t>::max()},
       {"tenth", 0.1}, {"negzero", -0.0}, {"big", 1e300}});
  EXPECT_NE(got.find(R"({"min":-9223372036854775808,"umax":18446744073709551615,"tenth":0.1,"negzero":-0,"big":1e+300})"),
            std::string::npos)
      << got;
  EXPECT_TRUE(parses_as_json(got));
}

TEST(Render, CutsOverlongEventAndMarksIt) {
  const std::string got = event_of(std::string(10'000, 'x'));
  const std::string marker = systask::limits::truncation_marker;
  const std::size_t kept = systask::limits::event_bytes - marker.size();
  EXPECT_EQ(got, expected_event(std::string(kept, 'x') + marker));
  EXPECT_TRUE(parses_as_json(got));
}

TEST(Render, CutNeverSplitsACharacterOrAnEscape) {
  // 4-byte characters and 6-byte escapes, so that the limit falls inside one.
  for (const std::string& unit : {std::string("\xF0\x9F\x98\x80"), std::string("\x01")}) {
    std::string text;
    for (int i = 0; i < 3000; ++i) text += unit;
    const std::string got = event_of(text);
    EXPECT_TRUE(parses_as_json(got));
    EXPECT_NE(got.find(std::string(systask::limits::truncation_marker) + "\",\"attributes\""), std::string::npos);
  }
}

TEST(Render, CutsOverlongLoggerAndAttributeStrings) {
  const std::string got = render_log_event(t0, log_level::info, std::string(1000, 'l'), "e",
                                           {{"s", std::string(5000, 's')}, {std::string(500, 'k'), 1}});
  EXPECT_TRUE(parses_as_json(got));
  auto doc = systask::test::parse(got);
  const std::string marker = systask::limits::truncation_marker;
  EXPECT_EQ(doc["logger"].GetStringLength(), systask::limits::logger_bytes);
  EXPECT_EQ(std::string(doc["attributes"]["s"].GetString()),
            std::string(systask::limits::attribute_string_bytes - marker.size(), 's') + marker);
  EXPECT_TRUE(doc["attributes"].HasMember((std::string(systask::limits::attribute_key_bytes - marker.size(), 'k') + marker).c_str()));
}

TEST(Render, ReplacesTooDeepValuesAndCountsThem) {
  // Depth 1 is the attributes object itself, so the object under d8 is at depth 8 (kept) and
  // the one under d9 would be at depth 9 (replaced).
  const std::string got = render_log_event(
      t0, log_level::info, "L", "e",
      {{"d2", systask::object{{"d3", systask::object{{"d4", systask::object{{"d5", systask::object{{"d6", systask::object{
                {"d7", systask::object{{"d8", systask::object{{"d9", systask::object{{"d10", 1}}}}}}}}}}}}}}}}}});
  EXPECT_TRUE(parses_as_json(got));
  EXPECT_NE(got.find(R"x({"d8":{"d9":"…(depth limit)"}}}}}}},"systask_truncated":1})x"), std::string::npos) << got;
}

TEST(Render, LeavesOutMembersBeyondTheAttributeBudgetAndCountsThem) {
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("key" + std::to_string(i));
  const std::string value(100, 'v');
  std::vector<attribute> attrs;
  for (const auto& k : keys) attrs.push_back({k, value});
  const std::string got = render_log_event(t0, log_level::info, "L", "e", systask::attributes{attrs});
  EXPECT_TRUE(parses_as_json(got));
  auto doc = systask::test::parse(got);
  const auto& a = doc["attributes"];
  ASSERT_TRUE(a.HasMember("systask_truncated"));
  const auto kept = a.MemberCount() - 1;
  EXPECT_EQ(kept + a["systask_truncated"].GetUint64(), 100u);
  EXPECT_GT(kept, 30u);
  EXPECT_LE(got.size(), systask::limits::message_bytes);
}

TEST(Render, WorstCaseInputStaysWithinTheMessageBound) {
  const std::string evil(20'000, '\x01');
  std::vector<attribute> attrs;
  for (int i = 0; i < 200; ++i) attrs.push_back({evil, evil});
  const std::string got = render_log_event(t0, log_level::critical, evil, evil, systask::attributes{attrs});
  EXPECT_TRUE(parses_as_json(got));
  EXPECT_LE(got.size(), systask::limits::message_bytes);
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

TEST(Enums, NamesComeFromDescribe) {
  EXPECT_EQ(systask::to_string(systask::task_status::successful), "successful");
  EXPECT_EQ(systask::to_string(log_level::warn), "warn");
  EXPECT_EQ(systask::from_string<systask::task_status>("error"), systask::task_status::error);
  EXPECT_EQ(systask::from_string<systask::task_status>("bogus"), std::nullopt);
}

}  // namespace
