// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/render.hpp>

#include "json_check.hpp"
#include "render_buffer.hpp"

#include <systask/engine/limits.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

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

// The stored form keeps microseconds; expanding it must not convert them back to nanoseconds,
// which overflows within a microsecond of wall_time::min() (review fc91bd2, R17).
TEST(Render, StoredTimesAtBothEndsOfSystemClockExpandWithoutOverflow) {
  const auto timestamp_of = [](systask::wall_time t) {
    const std::string got = render_log_event(t, log_level::info, "L", "e");
    EXPECT_TRUE(parses_as_json(got)) << got;
    return std::string(systask::test::parse(got)["timestamp"].GetString());
  };
  EXPECT_EQ(timestamp_of(systask::wall_time::min()), "1677-09-21T00:12:43.145224Z");
  EXPECT_EQ(timestamp_of(systask::wall_time::min() + nanoseconds{500}), "1677-09-21T00:12:43.145224Z");
  EXPECT_EQ(timestamp_of(systask::wall_time::max()), "2262-04-11T23:47:16.854775Z");
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

std::string compact_of(systask::wall_time t, log_level level, std::string_view logger, std::string_view event,
                       std::initializer_list<attribute> attrs = {}) {
  char buf[systask::limits::message_bytes];
  return std::string(buf, systask::detail::render_compact(buf, t, level, logger, event,
                                                           systask::attributes{attrs.begin(), attrs.size()}));
}

// The compact format is a storage format (stores persist it): its layout is pinned here, with
// its version. A change that makes this test fail must bump compact_message_format_version.
TEST(CompactFormat, Version1LayoutIsPinned) {
  EXPECT_EQ(systask::compact_message_format_version, 1u);
  const std::string c = compact_of(systask::wall_time{microseconds{0x0000010203040506}}, log_level::error, "lg", "ev",
                                   {{"k", 1}});
  const std::string expected = std::string("\x06\x05\x04\x03\x02\x01\x00\x00", 8) +  // microseconds, little-endian
                               std::string("\x02", 1) +                                  // log_level::error
                               std::string("\x02\x00\x02\x00", 4) +                     // logger and event lengths
                               "lgev" R"({"k":1})";
  EXPECT_EQ(c, expected);
}

TEST(CompactFormat, EveryRenderedMessageIsWellFormedAndExpandsToWhatIsServed) {
  const std::string evil(20'000, '\x01');
  const std::string big(900, 'z');
  struct sample {
    log_level level;
    std::string logger, event;
  };
  std::vector<std::string> compacts;
  for (int l = 0; l < 8; ++l) compacts.push_back(compact_of(t0, static_cast<log_level>(l), "L", "level"));
  compacts.push_back(compact_of(t0, log_level::info, "", ""));
  compacts.push_back(compact_of(t0, log_level::info, evil, evil, {{evil, evil}, {"n", NAN}, {"i", -1}}));
  compacts.push_back(compact_of(t0, log_level::info, "bad\xFF", "caf\xC3 \xED\xA0\x80", {{"k\xC0", "v\xF5"}}));
  compacts.push_back(compact_of(t0, log_level::info, "nul", std::string_view("a\0b", 3)));
  compacts.push_back(compact_of(t0, log_level::info, "cut", "e", {{"a", big}, {"b", big}, {"c", big}, {"d", big},
                                                                  {"e", big}, {"f", big}}));
  compacts.push_back(compact_of(t0, log_level::info, "deep", "e",
                                {{"d2", systask::object{{"d3", systask::object{{"d4", systask::object{{"d5", systask::object{{"d6", systask::object{{"d7", systask::object{{"d8", systask::object{{"d9", systask::object{{"d10", 1}}}}}}}}}}}}}}}}},
                                 {"arr", systask::array{1, -2, 3.5, 1e300, "s", true, false, nullptr}}}));
  for (const auto& c : compacts) {
    EXPECT_EQ(systask::compact_message_error(c), "") << c;
    std::string expanded;
    systask::expand_compact_message(expanded, c);
    std::string reference;
    systask::detail::expand_message(reference, c.data(), c.size());
    EXPECT_EQ(expanded, reference);
    EXPECT_TRUE(parses_as_json(expanded)) << expanded;
  }
}

TEST(CompactFormat, MalformedBytesAreRefusedWithAReasonAndNeverExpanded) {
  const std::string good = compact_of(t0, log_level::info, "logger", "event", {{"k", "v"}});
  auto with_attrs = [&](std::string_view attrs) { return good.substr(0, good.size() - 9) + std::string(attrs); };
  ASSERT_EQ(with_attrs(R"({"k":"v"})"), good);
  auto with_event = [&](std::string_view event) {
    std::string c = good.substr(0, 13) + "logger" + std::string(event) + R"({"k":"v"})";
    const auto len = static_cast<std::uint16_t>(event.size());
    std::memcpy(c.data() + 11, &len, 2);
    return c;
  };
  ASSERT_EQ(with_event("event"), good);
  std::string bad_level = good;
  bad_level[8] = 8;
  std::string long_lengths = good;
  long_lengths[9] = 100;
  const std::vector<std::pair<std::string, std::string_view>> cases = {
      {good.substr(0, 12), "shorter than"},
      {std::string(systask::limits::message_bytes + 1, 'x'), "longer than"},
      {bad_level, "not a log level"},
      {long_lengths, "run past the end"},
      {with_event("a\"b"), "event is not"},
      {with_event("a\x01b"), "event is not"},
      {with_event("a\\qb"), "event is not"},
      {with_event("a\\u12"), "event is not"},
      {with_event("a\\u12G4"), "event is not"},
      {with_event("a\xFF"), "event is not"},
      {with_event("a\\"), "event is not"},
      {with_attrs("[]"), "attributes"},
      {with_attrs("{"), "attributes"},
      {with_attrs("{}x"), "attributes"},
      {with_attrs(R"({"a":})"), "attributes"},
      {with_attrs(R"({"a":01})"), "attributes"},
      {with_attrs(R"({"a":1.})"), "attributes"},
      {with_attrs(R"({"a": 1})"), "attributes"},
      {with_attrs(R"({"a":tru})"), "attributes"},
      {with_attrs(R"({"a":"\xFF"})"), "attributes"},
      {with_attrs(R"({"a":[1,]})"), "attributes"},
      {with_attrs(std::string(100, '[')), "attributes"},
      {with_attrs(""), "attributes"},
  };
  for (const auto& [bytes, reason] : cases) {
    const std::string_view error = systask::compact_message_error(bytes);
    EXPECT_NE(error.find(reason), std::string_view::npos) << "got \"" << error << "\" for " << bytes;
    std::string out = "unchanged";
    EXPECT_THROW(systask::expand_compact_message(out, bytes), std::invalid_argument);
    EXPECT_EQ(out, "unchanged");
  }
  EXPECT_EQ(systask::compact_message_error(with_attrs(R"({"a":{"b":[1,-0.5e-3,"x\\u00e9",null]},"c":true})")), "");
}

TEST(Enums, NamesComeFromDescribe) {
  EXPECT_EQ(systask::to_string(systask::task_status::successful), "successful");
  EXPECT_EQ(systask::to_string(log_level::warn), "warn");
  EXPECT_EQ(systask::from_string<systask::task_status>("error"), systask::task_status::error);
  EXPECT_EQ(systask::from_string<systask::task_status>("bogus"), std::nullopt);
}

}  // namespace
