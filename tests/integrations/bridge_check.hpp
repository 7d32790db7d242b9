// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test helper for the logging bridges: the messages of a task's only record, parsed, so that
// a test can check them one by one.

#include <systask/engine.hpp>

#include "json_check.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace systask::test {

struct logged {
  std::string level, logger, event;
  std::optional<std::string> file;
  std::optional<int> line;
};

// "<prefix><n>", built without `"literal" + std::string`, on which g++ 12 warns falsely
// (-Wrestrict, GCC bug 105329).
inline std::string numbered(std::string_view prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// The event the threaded tests log: "t<thread> m<index>".
inline std::string event_of(int thread, int index) {
  std::string s = numbered("t", thread);
  s += ' ';
  s += numbered("m", index);
  return s;
}

inline std::vector<logged> messages_of(const registry& reg, std::string_view name) {
  const auto recs = reg.tasks(name, "", true);
  EXPECT_EQ(recs.size(), 1u) << name;
  std::vector<logged> out;
  if (recs.empty()) return out;
  std::string json;
  recs[0].write_messages_json(json);
  const auto doc = parse(json);
  for (const auto& m : doc.GetArray()) {
    logged l{m["log_level"].GetString(), m["logger"].GetString(), m["event"].GetString(), {}, {}};
    const auto& attrs = m["attributes"];
    if (attrs.HasMember("file")) l.file = attrs["file"].GetString();
    if (attrs.HasMember("line")) l.line = attrs["line"].GetInt();
    out.push_back(std::move(l));
  }
  return out;
}

// The threaded tests' check: the run "thread_<t>" of each thread t holds exactly `per_thread`
// messages, event_of(t, i) in order, at level `level_of(i)`, and from logger `logger_of(t)` when
// that is given.
inline void expect_each_thread_in_its_own_run(const registry& reg, int threads, int per_thread,
                                              const std::function<std::string(int)>& level_of,
                                              const std::function<std::string(int)>& logger_of = {}) {
  for (int t = 0; t < threads; ++t) {
    const auto got = messages_of(reg, numbered("thread_", t));
    ASSERT_EQ(got.size(), static_cast<std::size_t>(per_thread)) << t;
    for (int i = 0; i < per_thread; ++i) {
      const auto& m = got[static_cast<std::size_t>(i)];
      ASSERT_EQ(m.event, event_of(t, i));
      ASSERT_EQ(m.level, level_of(i));
      if (logger_of) {
        ASSERT_EQ(m.logger, logger_of(t));
      }
    }
  }
}

}  // namespace systask::test
