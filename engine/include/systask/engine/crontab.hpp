// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/clock.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace systask {

/// A 5-field crontab expression (`minute hour day-of-month month day-of-week`), as authentik
/// writes them (`3 */4 * * *`, `*/5 * * * *`), evaluated in UTC. The dialect is croniter's
/// (Debian's python3-croniter 1.3.5, the reference the tests compare with):
/// - each field is a comma-separated list of `*`, `N`, `A-B`, `*/S`, `A-B/S` and `A/S` (= `A-max/S`);
///   month names `jan`..`dec` and weekday names `sun`..`sat` wherever a number goes, in any
///   case; weekday 0 and 7 are Sunday; a weekday range may end on Sunday (`fri-sun`, `5-0`);
/// - a field whose values cover its whole range is unrestricted whatever its spelling (`1-31`,
///   `*/1`, `0-7`); when both day fields are restricted a day matches if either does (vixie
///   cron and croniter; `*/2` in day-of-month is restricted, unlike vixie cron);
/// - the aliases `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`,
///   `@annually` (the whole expression, any case).
/// Refused with std::invalid_argument naming the field and the token: croniter's syntax
/// errors, plus what this dialect leaves out on purpose (`L`, `#`, `?`, `H`/`R`, a seconds
/// field), and an expression that can never fire (`0 0 30 2 *`; also `0 0 31 4 mon`, which
/// croniter refuses when asked for a time). docs/engine.md lists the rules and where systask
/// differs from croniter (one croniter defect around the end of February).
///
/// Immutable once built: every method may be called from any thread at once.
class crontab {
 public:
  /// Parses `expression`. Throws std::invalid_argument with a message naming the field and the
  /// token at fault; allocates (the stored text).
  explicit crontab(std::string_view expression);

  /// The first whole minute strictly after `t` that the expression matches (UTC). Any thread;
  /// no allocation. Throws std::overflow_error when that minute is beyond `wall_time`'s range
  /// (after the year 2262).
  wall_time next_after(wall_time t) const;

  /// Whether the minute that holds `t` matches. Any thread; no allocation.
  bool matches(wall_time t) const noexcept;

  /// The expression as given to the constructor.
  const std::string& expression() const noexcept { return text_; }

 private:
  bool day_matches(unsigned month, unsigned day, unsigned weekday) const noexcept;

  std::string text_;
  std::uint64_t minutes_ = 0;  // bit m: minute m
  std::uint32_t hours_ = 0;    // bit h: hour h
  std::uint32_t days_ = 0;     // bit d: day of month d (1..31)
  std::uint16_t months_ = 0;   // bit m: month m (1..12)
  std::uint8_t weekdays_ = 0;  // bit w: weekday w (0 = Sunday .. 6)
  bool days_restricted_ = false;
  bool weekdays_restricted_ = false;
};

}  // namespace systask
