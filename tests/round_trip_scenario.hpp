// SPDX-License-Identifier: BSL-1.0
#pragma once

// One scenario for the tests that take records through a "restart" and compare every body
// before and after (tests/api/restore_round_trip_test.cpp through run images,
// tests/store/sqlite_store_test.cpp through a SQLite file): runs of every kind the engine keeps
// (loss markers in both overflow policies, spills, repaired UTF-8, an attribute tree cut at the
// depth limit, provider syncs with their last success and status, an exception's text).

#include "api_fixture.hpp"

#include <systask/engine.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace systask::test {

/// The same configuration on both sides of the restart, as a host does it at start-up.
inline void configure_round_trip(registry& reg) {
  task_options oldest;
  oldest.max_messages = 4;
  oldest.history_depth = 3;
  reg.configure_task("oldest", oldest);
  task_options newest = oldest;
  newest.overflow = overflow_policy::drop_newest;
  reg.configure_task("newest", newest);
  task_options deep;
  deep.history_depth = 5;
  reg.configure_task("google_workspace_sync", deep);
  reg.register_provider("google_workspace", 1, "Acme Google");
  reg.register_provider("scim", 3, "Acme SCIM");
}

/// Records and finishes the scenario's runs in `before` (configured with configure_round_trip).
inline void record_every_kind_of_run(api_fixture& before) {
  using namespace std::chrono_literals;
  {
    run r = before.reg.start({.name = "oldest", .description = "overwrites"});
    for (int i = 0; i < 10; ++i) r.info("page", {{"n", i}});
    before.clock->advance(2s);
    r.finish(task_status::successful);
  }
  {
    run r = before.reg.start({.name = "newest", .description = "refuses"});
    for (int i = 0; i < 7; ++i) r.warning("page", {{"n", i}});
    before.clock->advance(3s);
    r.finish(task_status::warning);
  }
  // Named, not a temporary `std::string(700, 'l') + "..."`: g++ 12 warns falsely on that one
  // once it is inlined here (GCC bug 105329).
  std::string spilling(700, 'l');
  spilling += " long enough to spill";
  for (int k = 0; k < 3; ++k) {
    run r = before.reg.start(before.reg.sync_spec("google_workspace", 1));
    r.log(log_level::warning, "Google Workspace Provider@authentik.core.models.User", "Failed to sync user alice",
          {{"obj", "alice"}, {"attempt", k}, {"retry", true}, {"ratio", 0.25}, {"none", nullptr}});
    r.info(spilling);
    before.clock->advance(std::chrono::milliseconds(1234 + k));
    r.finish(k == 1 ? task_status::error : task_status::successful);
  }
  {
    run r = before.reg.start(before.reg.sync_spec("scim", 3, "caf\xC3\xA9 \xFF description"));
    r.log(log_level::error, "bad\xFFlogger", "broken \xE2\x82 text \xED\xA0\x80",
          {{"k\xC0", "v\xF5"}, {"big", std::string(3000, 'b')}, {"bigger", std::string(3000, 'c')}});
    // Nested deeper than the attribute depth limit: cut where the engine cuts it.
    r.info("deep", {{"a", systask::object{{"b", systask::object{{"c", systask::object{{"d", systask::object{{"e", systask::object{{"f", systask::object{{"g", systask::object{{"h", systask::object{{"i", 1}}}}}}}}}}}}}}}}}});
    before.clock->advance(500ms);
    r.fail("an exception's text");
  }
}

/// Every body a client could ask for about the scenario's runs (`uuids`: the runs to retrieve).
inline std::vector<std::string> round_trip_bodies(api_fixture& f, const std::vector<std::string>& uuids) {
  std::vector<std::string> out;
  auto add = [&](const std::string& target) {
    const auto res = f.get(target);
    out.push_back(target + " -> " + std::to_string(res.status) + " " + res.body);
  };
  add("/api/v3/providers/google_workspace/1/sync/status/");
  add("/api/v3/providers/scim/3/sync/status/");
  add("/api/v3/events/system_tasks/");
  add("/api/v3/events/system_tasks/?ordering=-finish_timestamp");
  add("/api/v3/events/system_tasks/?status=error");
  for (const auto& u : uuids) add("/api/v3/events/system_tasks/" + u + "/");
  return out;
}

}  // namespace systask::test
