// SPDX-License-Identifier: BSL-1.0
// The crontab dialect on fixed examples: authentik's expressions, croniter's subtleties, and the
// errors (naming the field and the token). The comparison with croniter itself over generated
// expressions is the CTest crontab_reference (tests/engine/crontab_reference.py).

#include <systask/engine/crontab.hpp>

#include <systask/engine/timestamp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono;
using systask::crontab;
using systask::wall_time;

wall_time at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return wall_time{sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s}};
}

std::vector<std::string> next_n(const crontab& c, wall_time from, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    from = c.next_after(from);
    out.push_back(systask::format_timestamp(from).substr(0, 16));  // YYYY-MM-DDTHH:MM
  }
  return out;
}

std::string error_of(const std::string& expr) {
  try {
    crontab c(expr);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Crontab, AuthentikHourlyStepStartsAtTheMinuteEveryFourHours) {
  const crontab c("3 */4 * * *");
  EXPECT_EQ(next_n(c, at(2025, 10, 1, 5, 0), 4),
            (std::vector<std::string>{"2025-10-01T08:03", "2025-10-01T12:03", "2025-10-01T16:03", "2025-10-01T20:03"}));
}

TEST(Crontab, NextIsStrictlyAfterEvenOnAMatchingMinute) {
  const crontab c("*/5 * * * *");
  EXPECT_EQ(c.next_after(at(2025, 1, 1, 10, 5)), at(2025, 1, 1, 10, 10));
  EXPECT_EQ(c.next_after(at(2025, 1, 1, 10, 4, 59) + microseconds(999'999)), at(2025, 1, 1, 10, 5));
  EXPECT_TRUE(c.matches(at(2025, 1, 1, 10, 5, 30)));
  EXPECT_FALSE(c.matches(at(2025, 1, 1, 10, 6)));
}

TEST(Crontab, NamesAnyCaseAndSundayAsZeroOrSeven) {
  const crontab names("0 9 * JAN-Mar mon-FRI");
  const crontab numbers("0 9 * 1-3 1-5");
  const crontab sunday0("0 0 * * 0"), sunday7("0 0 * * 7"), sun("0 0 * * sun");
  const wall_time from = at(2026, 2, 26, 10);
  EXPECT_EQ(next_n(names, from, 6), next_n(numbers, from, 6));
  EXPECT_EQ(next_n(sunday0, from, 4), next_n(sunday7, from, 4));
  EXPECT_EQ(next_n(sunday0, from, 4), next_n(sun, from, 4));
  EXPECT_EQ(next_n(sunday0, from, 1), std::vector<std::string>{"2026-03-01T00:00"});  // a Sunday
}

TEST(Crontab, WeekdayRangeMayEndOnSundayWrittenAsZero) {
  // croniter reads `5-0` and `fri-sun` as Friday to Sunday.
  const crontab a("0 12 * * 5-0"), b("0 12 * * fri-sun"), c("0 12 * * 5,6,0");
  const wall_time from = at(2026, 3, 2);
  EXPECT_EQ(next_n(a, from, 6), next_n(c, from, 6));
  EXPECT_EQ(next_n(b, from, 6), next_n(c, from, 6));
}

TEST(Crontab, BothDayFieldsRestrictedMatchEitherDay) {
  // The 13th of the month or any Friday (vixie cron and croniter).
  const crontab c("0 0 13 * fri");
  EXPECT_EQ(next_n(c, at(2026, 3, 1), 4),
            (std::vector<std::string>{"2026-03-06T00:00", "2026-03-13T00:00", "2026-03-20T00:00", "2026-03-27T00:00"}));
  EXPECT_EQ(next_n(c, at(2026, 4, 1), 3),
            (std::vector<std::string>{"2026-04-03T00:00", "2026-04-10T00:00", "2026-04-13T00:00"}));
}

TEST(Crontab, StepInDayOfMonthIsARestrictionAsInCroniter) {
  // `*/2` restricts the day of month (unlike vixie cron, where a field starting with `*` does
  // not): with a weekday also restricted, a day matches if either does.
  const crontab c("0 0 */10 * mon");
  EXPECT_EQ(next_n(c, at(2026, 3, 1), 5), (std::vector<std::string>{"2026-03-02T00:00", "2026-03-09T00:00",
                                                                    "2026-03-11T00:00", "2026-03-16T00:00",
                                                                    "2026-03-21T00:00"}));
}

TEST(Crontab, AFieldCoveringItsRangeIsUnrestrictedHoweverSpelled) {
  // `1-31` covers every day: only Mondays match (a restriction on one day field only).
  const crontab full("0 0 1-31 * mon"), star("0 0 * * mon");
  EXPECT_EQ(next_n(full, at(2026, 3, 1), 5), next_n(star, at(2026, 3, 1), 5));
  const crontab every_weekday("0 0 13 * 0-7"), thirteenth("0 0 13 * *");
  EXPECT_EQ(next_n(every_weekday, at(2026, 3, 1), 3), next_n(thirteenth, at(2026, 3, 1), 3));
}

TEST(Crontab, FebruaryTheTwentyNinthOnlyInLeapYears) {
  const crontab c("0 0 29 2 *");
  EXPECT_EQ(next_n(c, at(2097, 1, 1), 2), (std::vector<std::string>{"2104-02-29T00:00", "2108-02-29T00:00"}));
}

TEST(Crontab, EndOfFebruaryDoesNotSkipTheFirstOfMarch) {
  // croniter 1.3.5 jumps from February 15th to March 2nd here and fires first on March 30th;
  // systask fires on March 1st (docs/engine.md, "Where systask differs from croniter").
  const crontab c("0 0 1,30 * *");
  EXPECT_EQ(next_n(c, at(2023, 2, 15), 3),
            (std::vector<std::string>{"2023-03-01T00:00", "2023-03-30T00:00", "2023-04-01T00:00"}));
}

TEST(Crontab, StepFromAStartRunsToTheFieldsEnd) {
  const crontab c("50/4 22/1 * * *");  // minutes 50, 54, 58 of hours 22 and 23
  EXPECT_EQ(next_n(c, at(2026, 1, 1, 22), 7),
            (std::vector<std::string>{"2026-01-01T22:50", "2026-01-01T22:54", "2026-01-01T22:58", "2026-01-01T23:50",
                                      "2026-01-01T23:54", "2026-01-01T23:58", "2026-01-02T22:50"}));
}

TEST(Crontab, AliasesAreWholeExpressionsInAnyCase) {
  EXPECT_EQ(next_n(crontab("@Daily"), at(2026, 1, 1, 1), 1), std::vector<std::string>{"2026-01-02T00:00"});
  EXPECT_EQ(next_n(crontab("@hourly"), at(2026, 1, 1, 1, 30), 1), std::vector<std::string>{"2026-01-01T02:00"});
  EXPECT_EQ(next_n(crontab("@weekly"), at(2026, 3, 2), 1), std::vector<std::string>{"2026-03-08T00:00"});
  EXPECT_EQ(next_n(crontab("@yearly"), at(2026, 3, 2), 1), std::vector<std::string>{"2027-01-01T00:00"});
  EXPECT_EQ(crontab("@Daily").expression(), "@Daily");
}

TEST(Crontab, FieldsMaySeparateWithAnyPythonWhitespace) {
  const crontab c("0\t0  *\x1c* *\r");
  EXPECT_EQ(next_n(c, at(2026, 1, 1, 1), 1), std::vector<std::string>{"2026-01-02T00:00"});
}

TEST(Crontab, ErrorsNameTheFieldAndTheTokenAsWritten) {
  EXPECT_EQ(error_of("61 * * * *"), "systask: crontab \"61 * * * *\": minute field: \"61\" is out of range 0-59");
  EXPECT_EQ(error_of("* 0-24 * * *"),
            "systask: crontab \"* 0-24 * * *\": hour field: \"0-24\" is out of range 0-23");
  EXPECT_EQ(error_of("0 0 * * Monday"),
            "systask: crontab \"0 0 * * Monday\": day-of-week field: \"Monday\" is not a number or a weekday name (sun..sat)");
  EXPECT_EQ(error_of("0 0 * Feb-Jan *"), "systask: crontab \"0 0 * Feb-Jan *\": month field: \"Feb-Jan\" is a reversed range");
  EXPECT_EQ(error_of("*/0 * * * *"), "systask: crontab \"*/0 * * * *\": minute field: \"*/0\" has a step of 0");
  EXPECT_EQ(error_of("1,,2 * * * *"),
            "systask: crontab \"1,,2 * * * *\": minute field: \"\" is empty (a list needs a value between its commas)");
  EXPECT_EQ(error_of("* * * *"),
            "systask: crontab \"* * * *\": needs 5 fields (minute hour day-of-month month day-of-week), not 4");
  EXPECT_EQ(error_of("0 0 0 * *"), "systask: crontab \"0 0 0 * *\": day-of-month field: \"0\" is out of range 1-31");
}

TEST(Crontab, WhatTheDialectLeavesOutIsRefusedAsNotSupported) {
  for (const char* expr : {"0 0 L * *", "0 0 15-L * *", "0 0 * * 5#2", "0 0 * * L5", "0 0 ? * *", "H * * * *",
                           "R * * * *", "* * * * * 30"}) {
    const std::string e = error_of(expr);
    EXPECT_NE(e.find("not supported"), std::string::npos) << expr << ": " << e;
  }
  EXPECT_EQ(error_of("0 0 L * *"),
            "systask: crontab \"0 0 L * *\": day-of-month field: \"L\" uses L (last day or weekday of the month), "
            "which is not supported");
}

TEST(Crontab, AnExpressionThatNeverFiresIsRefused) {
  EXPECT_NE(error_of("0 0 30 2 *").find("day-of-month field: \"30\" never occurs in the selected months"), std::string::npos);
  EXPECT_NE(error_of("0 0 31 4,6,9,11 *").find("never occurs"), std::string::npos);
  // croniter refuses this one when asked for a time, though Mondays alone would match.
  EXPECT_NE(error_of("0 0 31 apr mon").find("never occurs"), std::string::npos);
  EXPECT_NO_THROW(crontab("0 0 31 4,5 *"));
}

TEST(Crontab, NonAsciiIsRefused) {
  EXPECT_NE(error_of("0 0 * * *\xc2\xa0").find("not ASCII"), std::string::npos);
}

TEST(Crontab, ALongExpressionIsCutInTheMessage) {
  const std::string expr(300, '1');
  const std::string e = error_of(expr);
  EXPECT_LT(e.size(), 300u);
  EXPECT_NE(e.find("...\""), std::string::npos);
}

TEST(Crontab, NextBeyondTheClocksRangeThrowsOverflow) {
  const crontab c("0 0 1 1 *");
  EXPECT_THROW(c.next_after(wall_time::max() - hours(24 * 50)), std::overflow_error);  // after 2262-01-01
  EXPECT_NO_THROW(c.next_after(at(2261, 6, 1)));
}

}  // namespace
