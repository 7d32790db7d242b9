// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/timestamp.hpp>

#include "render_buffer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <string>

namespace {

using namespace std::chrono;

const systask::wall_time t0 = systask::wall_time{seconds{1'722'268'288}} + nanoseconds{71'123'999};

TEST(Timestamp, TruncatesToMicroseconds) { EXPECT_EQ(systask::format_timestamp(t0), "2024-07-29T15:51:28.071123Z"); }

TEST(Timestamp, EpochAndBeforeEpoch) {
  EXPECT_EQ(systask::format_timestamp(systask::wall_time{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(systask::format_timestamp(systask::wall_time{} - nanoseconds{1}), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(systask::format_timestamp(systask::wall_time{} + days{11016}), "2000-02-29T00:00:00.000000Z");
}

TEST(Timestamp, FormatsBothEndsOfSystemClock) {
  // With nanosecond ticks, system_clock spans 1677-09-21 to 2262-04-11: four-digit years.
  EXPECT_EQ(systask::format_timestamp(systask::wall_time::max()), "2262-04-11T23:47:16.854775Z");
  EXPECT_EQ(systask::format_timestamp(systask::wall_time::min()), "1677-09-21T00:12:43.145224Z");
  EXPECT_EQ(systask::format_timestamp(systask::wall_time::min() + nanoseconds{500}), "1677-09-21T00:12:43.145224Z");
  char buf[systask::timestamp_length];
  systask::format_timestamp(time_point_cast<systask::wall_time::duration>(sys_days{year{2000} / 1 / 1}), buf);
  EXPECT_EQ(std::string(buf, sizeof buf), "2000-01-01T00:00:00.000000Z");
}

// Stored times are microseconds (about +-292,000 years): beyond years 0..9999 they are clamped
// to the first or last instant a four-digit year can show. (Also what format_timestamp does
// where system_clock counts microseconds, as libc++'s does.)
TEST(Timestamp, ClampsToFourDigitYears) {
  const auto formatted = [](std::int64_t us) {
    char buf[systask::timestamp_length];
    systask::detail::format_timestamp_us(us, buf);
    return std::string(buf, sizeof buf);
  };
  const std::int64_t first = time_point_cast<microseconds>(sys_days{year{0} / 1 / 1}).time_since_epoch().count();
  const std::int64_t last = time_point_cast<microseconds>(sys_days{year{10000} / 1 / 1}).time_since_epoch().count() - 1;
  EXPECT_EQ(formatted(first), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatted(last), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(formatted(first - 1), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatted(std::numeric_limits<std::int64_t>::min()), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(formatted(last + 1), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(formatted(last + 30LL * 3'600'000'000LL), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(formatted(std::numeric_limits<std::int64_t>::max()), "9999-12-31T23:59:59.999999Z");
  // The thread's cached date follows the clamped day back to an ordinary one.
  EXPECT_EQ(formatted(time_point_cast<microseconds>(sys_days{year{2000} / 1 / 1}).time_since_epoch().count()),
            "2000-01-01T00:00:00.000000Z");
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

}  // namespace
