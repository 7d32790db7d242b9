// SPDX-License-Identifier: BSL-1.0
// The crontab dialect: parsing (croniter 1.3.5's grammar, with what systask leaves out refused
// by name) and the search for the next matching minute.

#include <systask/engine/crontab.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <vector>

namespace systask {

namespace {

struct field_def {
  const char* name;
  int min;
  int max;  // croniter's RANGES: the day of week goes to 7 (Sunday again)
};
constexpr std::array<field_def, 5> fields{{{"minute", 0, 59},
                                           {"hour", 0, 23},
                                           {"day-of-month", 1, 31},
                                           {"month", 1, 12},
                                           {"day-of-week", 0, 7}}};
enum field_index : std::size_t { minute_field, hour_field, day_field, month_field, weekday_field };

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct alias {
  std::string_view name;
  std::string_view expression;
};
constexpr std::array<alias, 7> aliases{{{"@midnight", "0 0 * * *"},
                                        {"@hourly", "0 * * * *"},
                                        {"@daily", "0 0 * * *"},
                                        {"@weekly", "0 0 * * 0"},
                                        {"@monthly", "0 0 1 * *"},
                                        {"@yearly", "0 0 1 1 *"},
                                        {"@annually", "0 0 1 1 *"}}};

// Python's str.split() separators within ASCII (croniter splits the fields with it).
constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || (c >= '\x1c' && c <= '\x1f');
}
constexpr bool is_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
// Digits to a number, saturated: every value above the fields' ranges behaves the same.
constexpr long digits_value(std::string_view s) noexcept {
  long v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
    if (v > 1'000'000) return 1'000'000;
  }
  return v;
}

std::string quoted_expression(std::string_view expr) {
  constexpr std::size_t cap = 128;  // the message names the expression; a huge one is cut
  std::string out = "\"";
  out.append(expr.substr(0, cap));
  if (expr.size() > cap) out += "...";
  out += '"';
  return out;
}

class parser {
 public:
  explicit parser(std::string_view original) : original_(original) {}
  // The lower-cased copy the fields are read from: a token quoted in a message is shown as
  // the caller wrote it.
  void read_from(std::string_view lowered) noexcept { lowered_ = lowered; }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("systask: crontab " + quoted_expression(original_) + ": " + what);
  }
  [[noreturn]] void fail_token(std::size_t field, std::string_view token, const std::string& what) const {
    if (token.data() >= lowered_.data() && token.data() + token.size() <= lowered_.data() + lowered_.size() &&
        lowered_.size() == original_.size()) {
      token = original_.substr(static_cast<std::size_t>(token.data() - lowered_.data()), token.size());
    }
    fail(std::string(fields[field].name) + " field: \"" + std::string(token) + "\" " + what);
  }

  // A number or a name of the field, as croniter reads one end of a range or a single value;
  // `converted` is the value's text as croniter compares it (a name becomes its number).
  long value(std::size_t field, std::string_view element, std::string_view text, bool* converted_is_zero = nullptr) const {
    if (is_digits(text)) {
      if (converted_is_zero) *converted_is_zero = text == "0";
      return digits_value(text);
    }
    long v = -1;
    if (field == month_field) {
      for (std::size_t i = 0; i < month_names.size(); ++i) {
        if (text == month_names[i]) v = static_cast<long>(i) + 1;
      }
    } else if (field == weekday_field) {
      for (std::size_t i = 0; i < weekday_names.size(); ++i) {
        if (text == weekday_names[i]) v = static_cast<long>(i);
      }
    }
    if (v < 0) {
      if (field == month_field) fail_token(field, element, "is not a number or a month name (jan..dec)");
      if (field == weekday_field) fail_token(field, element, "is not a number or a weekday name (sun..sat)");
      fail_token(field, element, "is not a number");
    }
    if (converted_is_zero) *converted_is_zero = v == 0;
    return v;
  }

  // Adds one value to the field's set after croniter's checks on a single value.
  void add(std::size_t field, std::string_view element, long v, std::uint64_t& set) const {
    if (field == weekday_field && v == 7) v = 0;  // Sunday
    if (v < fields[field].min || v > fields[field].max) {
      fail_token(field, element, "is out of range " + std::to_string(fields[field].min) + "-" +
                                     std::to_string(fields[field].max));
    }
    set |= std::uint64_t{1} << v;
  }

  void range(std::size_t field, std::string_view element, std::string_view low_text, std::string_view high_text,
             std::string_view step_text, std::uint64_t& set) const {
    const long low = value(field, element, low_text);
    bool high_is_zero = false;
    long high = value(field, element, high_text, &high_is_zero);
    if (low > high) {
      // croniter reads a weekday range that ends on Sunday written as 0 (`5-0`, `fri-sun`) as
      // ending on 7.
      if (field == weekday_field && high_is_zero) {
        high = 7;
      } else {
        fail_token(field, element, "is a reversed range");
      }
    }
    if (std::max(low, high) > fields[field].max) {
      fail_token(field, element, "is out of range " + std::to_string(fields[field].min) + "-" +
                                     std::to_string(fields[field].max));
    }
    const long step = digits_value(step_text);
    if (step == 0) fail_token(field, element, "has a step of 0");
    for (long v = low; v <= high; v += step) add(field, element, v, set);
  }

  void element(std::size_t field, std::string_view e, std::uint64_t& set) const {
    if (e.empty()) fail_token(field, e, "is empty (a list needs a value between its commas)");
    // What this dialect leaves out on purpose; croniter accepts some of it.
    if (e.find('#') != std::string_view::npos) {
      fail_token(field, e, "uses '#' (nth weekday of the month), which is not supported");
    }
    if (e.find('?') != std::string_view::npos) fail_token(field, e, "uses '?', which is not supported");
    if (e.front() == 'h' || e.front() == 'r') {
      fail_token(field, e, "uses H or R (hashed or random values), which are not supported");
    }
    if ((field == day_field || field == weekday_field) && (e.front() == 'l' || e.find("-l") != std::string_view::npos)) {
      fail_token(field, e, "uses L (last day or weekday of the month), which is not supported");
    }
    const auto slash = e.rfind('/');
    const auto dash = e.find('-');
    if (e.size() > 2 && e[0] == '*' && e[1] == '/') {
      // `*/S` is `min-max/S`.
      const std::string_view step = e.substr(2);
      if (!is_digits(step)) fail_token(field, e, "needs a number after '/'");
      range(field, e, std::to_string(fields[field].min), std::to_string(fields[field].max), step, set);
    } else if (dash != std::string_view::npos && dash > 0) {
      // `A-B` or `A-B/S`: A has no '-', B has neither '-' nor '/', S is digits.
      const std::string_view low = e.substr(0, dash);
      const std::string_view rest = e.substr(dash + 1);
      const auto rest_slash = rest.find('/');
      const std::string_view high = rest.substr(0, rest_slash);
      const std::string_view step = rest_slash == std::string_view::npos ? "1" : rest.substr(rest_slash + 1);
      if (high.empty() || high.find('-') != std::string_view::npos || !is_digits(step)) {
        fail_token(field, e, "is not a valid range (A-B or A-B/S)");
      }
      if (low.find('/') != std::string_view::npos || low == "*") fail_token(field, e, "is not a valid range (A-B or A-B/S)");
      range(field, e, low, high, step, set);
    } else if (slash != std::string_view::npos && slash > 0 && slash + 1 < e.size()) {
      // `A/S` is `A-max/S`.
      const std::string_view low = e.substr(0, slash);
      const std::string_view step = e.substr(slash + 1);
      if (!is_digits(step) || low.find('/') != std::string_view::npos || low == "*") {
        fail_token(field, e, "is not a valid step (A/S or */S)");
      }
      range(field, e, low, std::to_string(fields[field].max), step, set);
    } else if (e.front() == '-') {
      fail_token(field, e, "is negative");
    } else if (e == "*") {
      for (long v = fields[field].min; v <= fields[field].max; ++v) add(field, e, v, set);
    } else {
      add(field, e, value(field, e, e), set);
    }
  }

  std::uint64_t field(std::size_t index, std::string_view text) const {
    std::uint64_t set = 0;
    std::size_t begin = 0;
    while (true) {
      const auto comma = text.find(',', begin);
      element(index, text.substr(begin, comma == std::string_view::npos ? std::string_view::npos : comma - begin), set);
      if (comma == std::string_view::npos) break;
      begin = comma + 1;
    }
    return set;
  }

 private:
  std::string_view original_;
  std::string_view lowered_;
};

constexpr std::uint64_t bits(int from, int to) noexcept {  // bits from..to set
  return ((to >= 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (to + 1)) - 1)) & ~((std::uint64_t{1} << from) - 1);
}

constexpr unsigned days_in_month(int year, unsigned month) noexcept {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

// The lowest set bit of `set` at or above `from`, or -1.
int next_bit(std::uint64_t set, int from) noexcept {
  if (from >= 64) return -1;
  const std::uint64_t rest = set & ~((std::uint64_t{1} << from) - 1);
  return rest == 0 ? -1 : std::countr_zero(rest);
}

}  // namespace

crontab::crontab(std::string_view expression) : text_(expression) {
  parser p(expression);
  std::string lower;
  lower.reserve(expression.size());
  for (char c : expression) {
    if (static_cast<unsigned char>(c) >= 0x80) p.fail("contains a character that is not ASCII");
    lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  std::string_view text = lower;
  p.read_from(lower);
  for (const auto& a : aliases) {
    if (text == a.name) text = a.expression;
  }
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) parts.push_back(text.substr(start, i - start));
  }
  if (parts.size() == 6) p.fail("has 6 fields: a seconds field is not supported (5 fields: minute hour day-of-month month day-of-week)");
  if (parts.size() != 5) {
    p.fail("needs 5 fields (minute hour day-of-month month day-of-week), not " + std::to_string(parts.size()));
  }
  minutes_ = p.field(minute_field, parts[minute_field]);
  hours_ = static_cast<std::uint32_t>(p.field(hour_field, parts[hour_field]));
  days_ = static_cast<std::uint32_t>(p.field(day_field, parts[day_field]));
  months_ = static_cast<std::uint16_t>(p.field(month_field, parts[month_field]));
  weekdays_ = static_cast<std::uint8_t>(p.field(weekday_field, parts[weekday_field]));
  // A field is restricted when its values do not cover its range, however it is spelled.
  days_restricted_ = days_ != bits(1, 31);
  weekdays_restricted_ = weekdays_ != bits(0, 6);

  // A restricted day of month that no selected month holds never fires (croniter fails then
  // too, when asked for a time, even where the weekday alone could match).
  if (days_restricted_) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if ((months_ >> m & 1u) != 0 && (days_ & static_cast<std::uint32_t>(bits(1, static_cast<int>(days_in_month(2000, m))))) != 0) {
        possible = true;  // 2000 is a leap year: February counts its 29th
      }
    }
    if (!possible) {
      p.fail_token(day_field, parts[day_field], "never occurs in the selected months, so the expression never fires");
    }
  }
}

bool crontab::day_matches(unsigned month, unsigned day, unsigned weekday) const noexcept {
  if ((months_ >> month & 1u) == 0) return false;
  const bool dom = (days_ >> day & 1u) != 0;
  const bool dow = (weekdays_ >> weekday & 1u) != 0;
  if (days_restricted_ && weekdays_restricted_) return dom || dow;
  return dom && dow;
}

bool crontab::matches(wall_time t) const noexcept {
  using namespace std::chrono;
  const auto minute = floor<minutes>(t);
  const auto day = floor<days>(minute);
  const year_month_day ymd(day);
  const auto in_day = duration_cast<minutes>(minute - day).count();
  return day_matches(static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), weekday(day).c_encoding()) &&
         (hours_ >> (in_day / 60) & 1u) != 0 && (minutes_ >> (in_day % 60) & 1u) != 0;
}

wall_time crontab::next_after(wall_time t) const {
  using namespace std::chrono;
  // Whole seconds first: a nanosecond clock near its end would overflow in floor<minutes>.
  const auto first = floor<minutes>(floor<seconds>(t)) + minutes{1};
  sys_days day = floor<days>(first);
  long start = duration_cast<minutes>(first - day).count();  // minute of the day to start from
  // A valid expression matches within 8 years (February 29th across a century that is not a
  // leap year); the bound only guards the loop.
  for (int steps = 0; steps < 366 * 9; ++steps) {
    const year_month_day ymd(day);
    const unsigned month = static_cast<unsigned>(ymd.month());
    if ((months_ >> month & 1u) == 0) {
      day = sys_days(year_month_day(ymd.year() / ymd.month() / 1) + months{1});
      start = 0;
      continue;
    }
    if (day_matches(month, static_cast<unsigned>(ymd.day()), weekday(day).c_encoding())) {
      for (int h = next_bit(hours_, static_cast<int>(start / 60)); h >= 0; h = next_bit(hours_, h + 1)) {
        const int from = h == start / 60 ? static_cast<int>(start % 60) : 0;
        const int m = next_bit(minutes_, from);
        if (m < 0) continue;
        const auto found = sys_seconds(day) + hours{h} + minutes{m};
        if (found > floor<seconds>(wall_time::max())) {
          throw std::overflow_error("systask: crontab " + quoted_expression(text_) +
                                    ": the next time is beyond the clock's range");
        }
        return time_point_cast<wall_time::duration>(found);
      }
    }
    day += days{1};
    start = 0;
  }
  // Unreachable for an expression the constructor accepted.
  throw std::overflow_error("systask: crontab " + quoted_expression(text_) + ": no time matches");
}

}  // namespace systask
