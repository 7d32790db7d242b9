// SPDX-License-Identifier: BSL-1.0
// authentik 2025's task routes (`/api/v3/tasks/tasks/...`, `/api/v3/tasks/workers`) and HEAD on
// every GET route: bodies validated against the schema, aggregated status as authentik computes
// it, filters, retry, status counts, errors and permissions.

#include "api_fixture.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <string>
#include <vector>

namespace {

using namespace systask;
using namespace std::chrono_literals;
using test::api_fixture;
using test::mask_uuids;
using test::matches_schema;

// Runs of every outcome: a Google Workspace sync with a warning, a SCIM sync with info only, a
// cleanup without messages, an import that failed with an error message, a report finished as
// `error` with only an info message, a run that lost messages, a placeholder, and a running
// Entra sync.
struct tasks_2025_api : ::testing::Test, api_fixture {
  tasks_2025_api() {
    reg.register_provider("google_workspace", 1, "Acme Google Workspace");
    reg.register_provider("microsoft_entra", 2, "Acme Entra");
    reg.register_provider("scim", 3, "Acme SCIM");
    google = finished(reg.sync_spec("google_workspace", 1), task_status::warning, [](run& r) {
      r.warning("Failed to sync user", {{"obj", "alice"}});
      r.info("done");
    });
    scim = finished(reg.sync_spec("scim", 3), task_status::successful, [](run& r) { r.info("Synced 3 users"); });
    cleanup = finished({.name = "cleanup", .uid = "", .description = "Clean up"}, task_status::successful, [](run&) {});
    import = finished({.name = "import", .uid = "ldap", .description = ""}, task_status::error,
                      [](run& r) { r.error("connection refused"); });
    report = finished({.name = "report", .uid = "", .description = ""}, task_status::error, [](run& r) { r.info("x"); });
    task_options small;
    small.max_messages = 1;
    reg.configure_task("chatty", small);
    chatty = finished({.name = "chatty", .uid = "", .description = ""}, task_status::successful, [](run& r) {
      r.info("one");
      r.info("two");
    });
    reg.prefill({.name = "nightly", .uid = "", .description = "Never ran"});
    clock->advance(1s);  // so that no two runs share an mtime
    running.emplace(reg.start(reg.sync_spec("microsoft_entra", 2)));
    running->info("page 1 of 20");
    entra = std::string(running->uuid());
    clock->advance(250ms);
  }
  ~tasks_2025_api() override { running->finish(task_status::successful); }

  template <class Body>
  std::string finished(const run_spec& spec, task_status status, Body body) {
    run r = reg.start(spec);
    body(r);
    clock->advance(1s);
    r.finish(status);
    return std::string(r.uuid());
  }
  // The actor names of a list, in order.
  std::string actors(std::string_view query) {
    const auto res = get("/api/v3/tasks/tasks/?" + std::string(query));
    EXPECT_EQ(res.status, 200) << query << ": " << res.body;
    EXPECT_TRUE(matches_schema(res.body, "PaginatedTaskList"));
    std::string out;
    for (std::size_t at = 0; (at = res.body.find("\"actor_name\":\"", at)) != std::string::npos;) {
      at += 14;
      out += res.body.substr(at, res.body.find('"', at) - at) + " ";
    }
    return out;
  }
  std::string aggregated(const std::string& uuid) {
    const auto res = get("/api/v3/tasks/tasks/" + uuid + "/");
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_TRUE(matches_schema(res.body, "Task"));
    const auto at = res.body.find("\"aggregated_status\":\"") + 21;
    return res.body.substr(at, res.body.find('"', at) - at);
  }

  std::string google, scim, cleanup, import, report, chatty, entra;
  std::optional<run> running;
};

TEST_F(tasks_2025_api, TaskIsARunAsAuthentik2025SeesIt) {
  auto res = get("/api/v3/tasks/tasks/" + google + "/", "viewer-token");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(matches_schema(res.body, "Task"));
  EXPECT_EQ(res.body,
            R"({"message_id":")" + google +
                R"(","queue_name":"default","actor_name":"google_workspace_sync","state":"done",)"
                R"("mtime":"2024-07-29T15:51:29.000000Z","retries":0,"eta":null,)"
                R"("rel_obj_app_label":"authentik_providers_google_workspace","rel_obj_model":"googleworkspaceprovider",)"
                R"("rel_obj_id":"1","uid":"acme-google-workspace","logs":[)"
                R"({"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"google_workspace_sync",)"
                R"("event":"Failed to sync user","attributes":{"obj":"alice"}},)"
                R"({"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"info","logger":"google_workspace_sync",)"
                R"("event":"done","attributes":{}}],"previous_logs":[],"aggregated_status":"warning",)"
                R"("description":"Run full sync for provider \"Acme Google Workspace\""})");
  // A run of no provider: empty labels, null id; an empty description is null.
  res = get("/api/v3/tasks/tasks/" + import + "/");
  EXPECT_TRUE(matches_schema(res.body, "Task"));
  EXPECT_NE(res.body.find(R"("rel_obj_app_label":"","rel_obj_model":"","rel_obj_id":null,"uid":"ldap",)"),
            std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find(R"("description":null})"), std::string::npos) << res.body;
  // A running run: state running, mtime its start.
  res = get("/api/v3/tasks/tasks/" + entra + "/");
  EXPECT_TRUE(matches_schema(res.body, "Task"));
  EXPECT_NE(res.body.find(R"("state":"running","mtime":"2024-07-29T15:51:35.000000Z",)"), std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find(R"("aggregated_status":"running")"), std::string::npos);
}

TEST_F(tasks_2025_api, AggregatedStatusIsTheWorstMessageLevelRaisedToTheRunsStatus) {
  EXPECT_EQ(aggregated(google), "warning");
  EXPECT_EQ(aggregated(scim), "info") << "a clean sync that logged info is `info`, as in authentik";
  EXPECT_EQ(aggregated(cleanup), "done") << "no message";
  EXPECT_EQ(aggregated(import), "error");
  EXPECT_EQ(aggregated(report), "error") << "finished as error without an error message";
  EXPECT_EQ(aggregated(chatty), "warning") << "the loss marker served in its logs is a warning";
  EXPECT_EQ(aggregated(entra), "running");
}

TEST_F(tasks_2025_api, ListHoldsEveryRunNewestFirstButNoPlaceholder) {
  EXPECT_EQ(actors(""),
            "microsoft_entra_sync chatty report import cleanup scim_sync google_workspace_sync ");
  const auto res = get("/api/v3/tasks/tasks/?page_size=2&page=2");
  EXPECT_TRUE(matches_schema(res.body, "PaginatedTaskList"));
  EXPECT_NE(res.body.find(R"({"pagination":{"next":3,"previous":1,"count":7,"current":2,"total_pages":4,)"
                          R"("start_index":3,"end_index":4},"results":[)"),
            std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find(R"(],"autocomplete":{}})"), std::string::npos);
}

TEST_F(tasks_2025_api, ListFiltersAsAuthentiksTaskViewSet) {
  EXPECT_EQ(actors("state=running"), "microsoft_entra_sync ");
  EXPECT_EQ(actors("state=rejected"), "") << "no run is rejected (docs/api.md)";
  EXPECT_EQ(actors("state=done&ordering=actor_name"),
            "chatty cleanup google_workspace_sync import report scim_sync ");
  EXPECT_EQ(actors("aggregated_status=error&ordering=actor_name"), "import report ");
  EXPECT_EQ(actors("aggregated_status=info"), "scim_sync ");
  EXPECT_EQ(actors("actor_name=cleanup"), "cleanup ");
  EXPECT_EQ(actors("queue_name=default&ordering=actor_name&page_size=1"), "chatty ");
  EXPECT_EQ(actors("queue_name=other"), "");
  EXPECT_EQ(actors("rel_obj_id=3"), "scim_sync ");
  EXPECT_EQ(actors("rel_obj_content_type__app_label=authentik_providers_microsoft_entra"), "microsoft_entra_sync ");
  EXPECT_EQ(actors("rel_obj_content_type__model=googleworkspaceprovider"), "google_workspace_sync ");
  EXPECT_EQ(actors("rel_obj_id__isnull=false&ordering=mtime"), "google_workspace_sync scim_sync microsoft_entra_sync ");
  EXPECT_EQ(actors("search=LDAP"), "import ") << "uid";
  EXPECT_EQ(actors("search=clean"), "cleanup ");
  EXPECT_EQ(actors("search=" + scim.substr(0, 8)), "scim_sync ") << "message id";
  EXPECT_EQ(actors("ordering=-aggregated_status,actor_name&page_size=3"), "chatty google_workspace_sync microsoft_entra_sync ")
      << "by name, descending: warning, running, info, error, done";

  auto res = get("/api/v3/tasks/tasks/?state=finished&aggregated_status=bad&ordering=name&rel_obj_id__isnull=x");
  EXPECT_EQ(res.status, 400);
  EXPECT_TRUE(matches_schema(res.body, "ValidationError"));
  EXPECT_EQ(res.body, R"({"state":["Select a valid choice. finished is not one of the available choices."],)"
                      R"("aggregated_status":["Select a valid choice. bad is not one of the available choices."],)"
                      R"("rel_obj_id__isnull":["Select a valid choice. x is not one of the available choices."],)"
                      R"("ordering":["Invalid ordering field: name."]})");
  res = get("/api/v3/tasks/tasks/?page=9");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, R"({"detail":"Invalid page.","code":"not_found"})");
}

TEST_F(tasks_2025_api, RetrieveAnswers404ForWhatIsNotARun) {
  for (const char* id : {"00000000-0000-4000-8000-000000000000", "not-a-uuid", "status2"}) {
    const auto res = get(std::string("/api/v3/tasks/tasks/") + id + "/");
    EXPECT_EQ(res.status, 404) << id;
    EXPECT_EQ(res.body, R"({"detail":"Not found.","code":"not_found"})");
  }
  const auto placeholder = reg.tasks("nightly", "").at(0);
  EXPECT_EQ(get("/api/v3/tasks/tasks/" + std::string(placeholder.uuid()) + "/").status, 404)
      << "a task that never ran is not a run";
  EXPECT_EQ(get("/api/v3/tasks/tasks/" + google + "/", "provider-only-token").status, 403);
  EXPECT_EQ(get("/api/v3/tasks/tasks/", "provider-only-token").status, 403);
}

TEST_F(tasks_2025_api, RetryRunsTheTasksRunnerAndAnswers204) {
  std::vector<run_spec> asked;
  reg.set_runner("import", [&](const run_spec& s) { asked.push_back(s); });
  auto res = post("/api/v3/tasks/tasks/" + import + "/retry/", "");
  EXPECT_EQ(res.status, 204);
  EXPECT_TRUE(res.body.empty());
  EXPECT_TRUE(res.content_type.empty());
  poll();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].name, "import");
  EXPECT_EQ(asked[0].uid, "ldap");

  res = post("/api/v3/tasks/tasks/" + cleanup + "/retry/", "");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, R"({"detail":"No runner is registered for task \"cleanup\".","code":"no_runner"})");
  EXPECT_EQ(post("/api/v3/tasks/tasks/" + import + "/retry/", "", "viewer-token").status, 403);
  EXPECT_EQ(post("/api/v3/tasks/tasks/00000000-0000-4000-8000-000000000000/retry/", "").status, 404);
  EXPECT_EQ(get("/api/v3/tasks/tasks/" + import + "/retry/").status, 405);
  poll();
  EXPECT_EQ(asked.size(), 1u) << "refused requests run nothing";
}

TEST_F(tasks_2025_api, StatusCountsRunsByAggregatedStatus) {
  const auto res = get("/api/v3/tasks/tasks/status/", "viewer-token");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(matches_schema(res.body, "GlobalTaskStatus"));
  EXPECT_EQ(res.body, R"({"queued":0,"consumed":0,"preprocess":0,"running":1,"postprocess":0,"rejected":0,)"
                      R"("done":1,"info":1,"warning":2,"error":2})");
  EXPECT_EQ(get("/api/v3/tasks/tasks/status/", "provider-only-token").status, 403);
  EXPECT_EQ(post("/api/v3/tasks/tasks/status/", "").status, 405);
}

TEST_F(tasks_2025_api, WorkersListsThisProcessWithItsVersion) {
  auto options = make_options();
  options.worker_id = "demo-host:42";
  api::facade named(reg, options);
  api::request req = api::request::from_target("GET", "/api/v3/tasks/workers");
  req.headers.emplace_back("Authorization", "Bearer viewer-token");
  auto res = named.handle(req);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(matches_schema(res.body, "WorkerList"));
  EXPECT_EQ(res.body, std::string(R"([{"worker_id":"demo-host:42","version":")") + version_string +
                          R"(","version_matching":true}])");

  res = get("/api/v3/tasks/workers");
  EXPECT_TRUE(matches_schema(res.body, "WorkerList"));
  EXPECT_NE(res.body.find(":" + std::to_string(::getpid()) + "\""), std::string::npos)
      << "the default names host and pid: " << res.body;
  EXPECT_EQ(get("/api/v3/tasks/workers/").status, 404) << "authentik's client calls it without the slash";
  EXPECT_EQ(get("/api/v3/tasks/workers", "provider-only-token").status, 403);
}

// Every GET route, as a client calls it.
std::vector<std::string> get_targets(const std::string& task) {
  return {"/api/v3/providers/scim/3/sync/status/",
          "/api/v3/events/system_tasks/",
          "/api/v3/events/system_tasks/" + task + "/",
          "/api/v3/systask/providers/",
          "/api/v3/tasks/schedules/",
          "/api/v3/tasks/tasks/?ordering=actor_name",
          "/api/v3/tasks/tasks/status/",
          "/api/v3/tasks/tasks/" + task + "/",
          "/api/v3/tasks/workers",
          "/metrics",
          // and answers that are not 200
          "/api/v3/tasks/tasks/?state=nope",
          "/api/v3/tasks/tasks/00000000-0000-4000-8000-000000000000/",
          "/api/v3/nothing/here/"};
}

TEST_F(tasks_2025_api, HeadAnswersEveryGetRouteWithTheGetsStatusAndHeadersAndNoBody) {
  for (const auto& target : get_targets(cleanup)) {
    for (const char* token : {"admin-token", "provider-only-token", ""}) {
      const auto g = call("GET", target, token);
      const auto h = call("HEAD", target, token);
      EXPECT_EQ(h.status, g.status) << target << " " << token;
      EXPECT_EQ(h.content_type, g.content_type) << target;
      EXPECT_EQ(h.headers, g.headers) << target;
      EXPECT_TRUE(h.body.empty()) << target;
      ASSERT_TRUE(h.head_content_length) << target;
      EXPECT_EQ(*h.head_content_length, g.body.size()) << target << " " << token;
      EXPECT_FALSE(g.head_content_length) << "only HEAD sets it: " << target;
    }
  }
  // A POST-only route is not a GET route: HEAD is a 405 there, still without a body.
  const auto h = call("HEAD", "/api/v3/tasks/tasks/" + cleanup + "/retry/");
  EXPECT_EQ(h.status, 405);
  ASSERT_EQ(h.headers.size(), 1u);
  EXPECT_EQ(h.headers[0].second, "POST");
  EXPECT_TRUE(h.body.empty());
}

}  // namespace
