// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/timestamp.hpp>

#include "render_buffer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>

namespace systask {
namespace {

constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Two decimal digits per table lookup: a timestamp is 10 pairs, so formatting one costs ten
// small divisions instead of twenty. Every message of every body is formatted at read time,
// so this is on the status path's critical loop.
constexpr char digit_pairs[] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
    "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
inline void put2(char* out, unsigned value) noexcept { std::memcpy(out, digit_pairs + 2 * value, 2); }

}  // namespace

namespace detail {

void format_timestamp_us(std::int64_t us, char* out) noexcept {
  // Four-digit years only: the date arithmetic below and the two-digit table assume 0..9999.
  constexpr std::int64_t min_us = days_from_civil(0, 1, 1) * 86'400'000'000LL;
  constexpr std::int64_t max_us = (days_from_civil(10000, 1, 1) * 86'400'000'000LL) - 1;
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

}  // namespace detail

void format_timestamp(wall_time t, char* out) noexcept {
  // Microseconds since the epoch fit any system_clock's range, so this never overflows.
  detail::format_timestamp_us(std::chrono::floor<std::chrono::microseconds>(t.time_since_epoch()).count(), out);
}

std::string format_timestamp(wall_time t) {
  std::string s(timestamp_length, '\0');
  format_timestamp(t, s.data());
  return s;
}

}  // namespace systask
