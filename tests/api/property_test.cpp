// SPDX-License-Identifier: BSL-1.0
// Property: for random registry contents and random requests, the facade always answers with a
// status the contract allows for that route, and a body that is valid JSON matching the
// contract's schema for that status.

#include <systask/api/facade.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

#include <random>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::api_fixture;
using systask::test::matches_schema;

std::string pick(std::mt19937& rng, std::initializer_list<const char*> options) {
  std::uniform_int_distribution<std::size_t> d(0, options.size() - 1);
  return *(options.begin() + d(rng));
}

std::string random_bytes(std::mt19937& rng, std::size_t max_len) {
  std::uniform_int_distribution<std::size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(rng), '\0');
  for (auto& c : s) c = static_cast<char>(byte(rng));
  return s;
}

// What a route answers on success, from the path alone (as a client would know it).
std::string_view success_definition(std::string_view path) {
  if (path.ends_with("/sync/status/")) return "SyncStatus";
  if (path.ends_with("/sync/object/")) return "SyncObjectResult";
  if (path == "/api/v3/events/system_tasks/") return "PaginatedSystemTaskList";
  return "SystemTask";
}

TEST(FacadeProperty, EveryAnswerIsAContractStatusWithASchemaValidBody) {
  api_fixture f;
  std::mt19937 rng(20261128);
  task_options o;
  o.history_depth = 3;
  o.max_messages = 8;
  f.reg.configure_task("google_workspace_sync", o);
  f.reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  f.reg.register_provider("microsoft_entra", 2, "Acme Entra");
  f.reg.register_provider("scim", 3, "Acme SCIM");
  std::vector<std::string> uuids;
  std::vector<run> running;
  for (int i = 0; i < 60; ++i) {
    const std::pair<const char*, int> providers[] = {{"google_workspace", 1}, {"microsoft_entra", 2}, {"scim", 3}};
    const auto [kind, id] = providers[rng() % 3];
    run r = i % 3 == 0 ? f.reg.start(f.reg.sync_spec(kind, id))
                       : f.reg.start({.name = random_bytes(rng, 12) + "x", .uid = random_bytes(rng, 6),
                                      .description = random_bytes(rng, 40)});
    if (!r) continue;
    uuids.emplace_back(r.uuid());
    for (unsigned m = rng() % 12; m > 0; --m) {
      r.log(static_cast<log_level>(rng() % 8), random_bytes(rng, 20), random_bytes(rng, 80),
            {{"n", static_cast<int>(rng())}, {random_bytes(rng, 5), random_bytes(rng, 10)},
             {"d", std::ldexp(1.0, static_cast<int>(rng() % 2000) - 1000)}, {"nan", std::nan("")}});
    }
    f.clock->advance(std::chrono::milliseconds(rng() % 5000));
    if (rng() % 5 == 0) {
      running.push_back(std::move(r));
    } else {
      r.finish(static_cast<task_status>(rng() % 4));
    }
  }
  f.reg.prefill({.name = "never_run"});
  f.clock->advance(5h);  // some records expire, some do not

  const std::vector<std::string> queries = {"", "?include_running=true", "?include_running=nope", "?page=2",
                                            "?page_size=2&page=3", "?ordering=-duration,name", "?ordering=x",
                                            "?status=error", "?status=zzz", "?search=%41", "?page=0", "?%zz=%"};
  const std::set<int> allowed = {200, 204, 400, 403, 404, 405, 500};
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string path;
    switch (rng() % 6) {
      case 0:
        path = "/api/v3/providers/" + pick(rng, {"google_workspace", "microsoft_entra", "scim", "ldap"}) + "/" +
               pick(rng, {"1", "2", "3", "0", "-1", "abc", "9223372036854775808", "%31"}) + "/sync/" +
               pick(rng, {"status", "object"}) + "/";
        break;
      case 1: path = "/api/v3/events/system_tasks/"; break;
      case 2:
        path = "/api/v3/events/system_tasks/" +
               (uuids.empty() || rng() % 4 == 0 ? random_bytes(rng, 40) : uuids[rng() % uuids.size()]) + "/";
        break;
      case 3: path = "/api/v3/events/system_tasks/" + uuids[rng() % uuids.size()] + "/run/"; break;
      case 4: path = "/metrics"; break;
      default: path = "/" + random_bytes(rng, 30); break;
    }
    const std::string target = path + queries[rng() % queries.size()];
    const std::string method = pick(rng, {"GET", "GET", "POST", "DELETE", "PUT", "PATCH"});
    const std::string token = pick(rng, {"admin-token", "viewer-token", "provider-only-token", "nothing-token", "",
                                         "bogus"});
    const std::string body = rng() % 3 == 0 ? random_bytes(rng, 60)
                                            : R"({"sync_object_model":"authentik.core.models.User","sync_object_id":"7"})";
    const auto res = f.call(method, target, token, body);
    ASSERT_TRUE(allowed.count(res.status)) << res.status << " for " << method << " " << target;
    if (res.status == 204) {
      EXPECT_TRUE(res.body.empty());
      continue;
    }
    if (path == "/metrics" && res.status == 200) continue;  // Prometheus text, tested elsewhere
    ASSERT_TRUE(matches_schema(res.body, systask::test::definition_for(res.status, success_definition(path))))
        << method << " " << target << " -> " << res.status;
    ++checked;
  }
  EXPECT_GT(checked, 2000);
  for (auto& r : running) r.finish(task_status::successful);
}

}  // namespace
