// SPDX-License-Identifier: BSL-1.0
// Reads lines "SECONDS MICROSECONDS EXPRESSION" (a start time as Unix time, then a crontab
// expression) and prints, per line, "ok" and the next 20 fire times after the start as Unix
// seconds, or "error" and the parser's message. Used by tests/engine/crontab_reference.py.

#include <systask/engine/crontab.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  std::string out;
  while (std::getline(std::cin, line)) {
    const auto first = line.find(' ');
    const auto second = line.find(' ', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      std::fprintf(stderr, "crontab_tool: bad input line: %s\n", line.c_str());
      return 2;
    }
    const long long seconds = std::stoll(line.substr(0, first));
    const long long micros = std::stoll(line.substr(first + 1, second - first - 1));
    const std::string expression = line.substr(second + 1);
    out.clear();
    try {
      const systask::crontab c(expression);
      auto t = systask::wall_time{std::chrono::seconds{seconds} + std::chrono::microseconds{micros}};
      out = "ok";
      for (int i = 0; i < 20; ++i) {
        t = c.next_after(t);
        if (!c.matches(t)) {
          std::fprintf(stderr, "crontab_tool: next_after gave a time that matches() refuses: %s\n", expression.c_str());
          return 3;
        }
        out += ' ';
        out += std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
      }
    } catch (const std::invalid_argument& e) {
      out = std::string("error ") + e.what();
    } catch (const std::overflow_error& e) {
      out = std::string("overflow ") + e.what();
    }
    // Messages quote the expression, which may hold any byte but a newline (one per line).
    std::cout << out << '\n';
  }
  return 0;
}
