// SPDX-License-Identifier: BSL-1.0
#pragma once

// Live progress of the provider syncs: a redrawn bar per provider on a terminal, plain lines
// otherwise. Workers update atomics; one timer draws.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

namespace demo {

struct provider_progress {
  const char* kind = "";
  std::atomic<long> done{0};
  std::atomic<long> total{0};
  std::atomic<long> warnings{0};
  std::atomic<std::int64_t> started_ns{0};
  std::atomic<int> state{0};  // 0 idle, 1 syncing, 2 finished, 3 failed

  void begin(long objects) {
    done = 0;
    warnings = 0;
    total = objects;
    started_ns = std::chrono::steady_clock::now().time_since_epoch().count();
    state = 1;
  }
};

class progress_display {
 public:
  /// `colour`: SGR colours on the status words (the caller decides: a terminal, no NO_COLOR,
  /// not TERM=dumb). Only used when `terminal`.
  progress_display(std::array<provider_progress, 3>& p, std::FILE* out, bool terminal, bool colour = false)
      : providers_(p), out_(out), terminal_(terminal), colour_(terminal && colour) {}

  /// Draws one frame: on a terminal the three lines are redrawn in place; otherwise one plain
  /// line per provider that is syncing, at most every few seconds.
  void draw() {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::string frame;
    if (terminal_ && drawn_) frame += "\x1b[3A";  // back to the first of our three lines
    for (auto& p : providers_) {
      const long done = p.done, total = p.total;
      const double secs = p.started_ns ? (now - p.started_ns) / 1e9 : 0;
      const double rate = secs > 0 ? done / secs : 0;
      const double eta = rate > 0 ? (total - done) / rate : 0;
      char line[256];
      if (terminal_) {
        const int width = 30;
        const int filled = total > 0 ? static_cast<int>(width * done / total) : 0;
        std::string bar(filled, '#');
        bar.resize(width, '.');
        static const char* const states[] = {"idle    ", "syncing ", "done    ", "FAILED  "};
        // Plain, cyan, green, red; the warning count yellow when there are any.
        static const char* const state_colours[] = {"", "\x1b[36m", "\x1b[32m", "\x1b[1;31m"};
        const int st = p.state.load();
        const long warnings = p.warnings.load();
        const char* on = colour_ ? state_colours[st] : "";
        const char* off = colour_ && *on ? "\x1b[0m" : "";
        const char* warn_on = colour_ && warnings > 0 ? "\x1b[33m" : "";
        const char* warn_off = *warn_on ? "\x1b[0m" : "";
        std::snprintf(line, sizeof line,
                      "\x1b[2K%-17s %s%s%s [%s] %5ld/%-5ld %7.0f obj/s  ETA %4.0fs  %swarnings %ld%s\n", p.kind, on,
                      states[st], off, bar.c_str(), done, total, rate, eta, warn_on, warnings, warn_off);
        frame += line;
      } else if (p.state == 1) {
        std::snprintf(line, sizeof line, "%s: %ld/%ld objects, %.0f obj/s, ETA %.0fs, %ld warnings\n", p.kind, done,
                      total, rate, eta, p.warnings.load());
        frame += line;
      }
    }
    drawn_ = true;
    std::fputs(frame.c_str(), out_);
    std::fflush(out_);
  }

  bool terminal() const noexcept { return terminal_; }

 private:
  std::array<provider_progress, 3>& providers_;
  std::FILE* out_;
  bool terminal_;
  bool colour_;
  bool drawn_ = false;
};

}  // namespace demo
