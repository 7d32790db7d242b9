// SPDX-License-Identifier: BSL-1.0
// systask's own provider list (`/api/v3/systask/providers/`) and authentik 2025's schedule routes
// (`/api/v3/tasks/schedules/...`) over a scheduler with a manual clock: bodies validated against
// the schema, filters, pause/resume and send as the scheduler sees them, errors, permissions.

#include <systask/engine/schedule.hpp>

#include "api_fixture.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/redirect_error.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using namespace systask;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using test::matches_schema;

scheduler_options quiet() {
  scheduler_options o;
  o.clock_check = std::chrono::hours(1);  // check_now() does the timer's work
  return o;
}

api::facade_options options_with(scheduler* s) {
  auto o = test::api_fixture::make_options();
  o.schedules = s;
  return o;
}

// Three providers, a crontab schedule for the Google Workspace sync (whose body waits until the
// test opens it), an interval schedule for the SCIM sync, and a paused cleanup without provider.
struct schedules_api : ::testing::Test, test::engine_fixture {
  schedules_api() : sched(reg, quiet()), api(reg, options_with(&sched)) {
    reg.register_provider("google_workspace", 1, "Acme Google Workspace");
    reg.register_provider("microsoft_entra", 2, "Acme Entra");
    reg.register_provider("scim", 3, "Acme SCIM");
    schedule_spec g;
    g.run = reg.sync_spec("google_workspace", 1, "Run full sync for Acme Google Workspace");
    g.identifier = "google_workspace_sync:1";
    g.crontab = "3 */4 * * *";
    g.body = [this](run& r) -> asio::awaitable<task_status> {
      r.warning("Object failed", {{"obj", "alice"}});
      boost::system::error_code ec;
      co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return task_status::warning;
    };
    google = sched.add(std::move(g)).id;
    schedule_spec s;
    s.run = reg.sync_spec("scim", 3);
    s.interval = 30s;
    s.body = [](run& r) -> asio::awaitable<task_status> {
      r.info("Synced 3 users");
      co_return task_status::successful;
    };
    scim = sched.add(std::move(s)).id;
    schedule_spec c;
    c.run = {.name = "directory_cleanup", .uid = "", .description = "", .provider = std::nullopt};
    c.identifier = "directory_cleanup";
    c.interval = 3600s;
    c.paused = true;
    c.body = [](run&) -> asio::awaitable<task_status> { co_return task_status::successful; };
    cleanup = sched.add(std::move(c)).id;
  }
  ~schedules_api() override {
    gate.cancel();
    poll();
  }

  api::response call(std::string_view method, std::string_view target, std::string_view token = "admin-token",
                     std::string_view body = {}) {
    auth = std::string("Bearer ") + std::string(token);
    api::request req = api::request::from_target(method, target);
    req.headers.emplace_back("Authorization", auth);
    req.body = body;
    return api.handle(req);
  }
  api::response get(std::string_view target, std::string_view token = "admin-token") {
    return call("GET", target, token);
  }
  std::string schedule_path(const std::string& id, std::string_view rest = "") {
    return "/api/v3/tasks/schedules/" + id + "/" + std::string(rest);
  }

  asio::steady_timer gate{io, asio::steady_timer::time_point::max()};
  scheduler sched;
  api::facade api;
  std::string auth, google, scim, cleanup;
};

TEST_F(schedules_api, ProviderListNamesEveryProviderWithItsStateAndSchedule) {
  auto res = get("/api/v3/systask/providers/", "provider-only-token");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(matches_schema(res.body, "ProviderList"));
  EXPECT_EQ(res.body,
            R"({"results":[)"
            R"({"kind":"google_workspace","id":1,"name":"Acme Google Workspace","sync_task":"google_workspace_sync",)"
            R"("uid":"acme-google-workspace","rel_obj_app_label":"authentik_providers_google_workspace",)"
            R"("rel_obj_model":"googleworkspaceprovider","is_running":false,"last_sync_status":null,"last_sync":null,)"
            R"("last_successful_sync":null,"schedule_id":")" +
                google +
                R"("},)"
                R"({"kind":"microsoft_entra","id":2,"name":"Acme Entra","sync_task":"microsoft_entra_sync",)"
                R"("uid":"acme-entra","rel_obj_app_label":"authentik_providers_microsoft_entra",)"
                R"("rel_obj_model":"microsoftentraprovider","is_running":false,"last_sync_status":null,)"
                R"("last_sync":null,"last_successful_sync":null,"schedule_id":null},)"
                R"({"kind":"scim","id":3,"name":"Acme SCIM","sync_task":"scim_sync","uid":"acme-scim",)"
                R"("rel_obj_app_label":"authentik_providers_scim","rel_obj_model":"scimprovider","is_running":false,)"
                R"("last_sync_status":null,"last_sync":null,"last_successful_sync":null,"schedule_id":")" +
                scim + R"("}]})");

  // A running sync shows as running; a finished one gives its status and times.
  ASSERT_TRUE(sched.send_now(google));
  ASSERT_TRUE(sched.send_now(scim));
  clock->advance(2s);
  poll();
  res = get("/api/v3/systask/providers/");
  EXPECT_TRUE(matches_schema(res.body, "ProviderList"));
  EXPECT_NE(res.body.find(R"("sync_task":"google_workspace_sync","uid":"acme-google-workspace",)"
                          R"("rel_obj_app_label":"authentik_providers_google_workspace",)"
                          R"("rel_obj_model":"googleworkspaceprovider","is_running":true,"last_sync_status":null,)"),
            std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find(R"("is_running":false,"last_sync_status":"info","last_sync":"2024-07-29T15:51:30.000000Z",)"
                          R"("last_successful_sync":"2024-07-29T15:51:30.000000Z","schedule_id":")" +
                          scim),
            std::string::npos)
      << res.body;

  EXPECT_EQ(get("/api/v3/systask/providers/", "nothing-token").status, 403);
}

TEST_F(schedules_api, ProviderListWithoutSchedulerHasNoScheduleIds) {
  api::facade plain(reg, test::api_fixture::make_options());
  api::request req = api::request::from_target("GET", "/api/v3/systask/providers/");
  req.headers.emplace_back("Authorization", "Bearer admin-token");
  const auto res = plain.handle(req);
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(matches_schema(res.body, "ProviderList"));
  EXPECT_EQ(res.body.find(R"("schedule_id":")"), std::string::npos) << res.body;
}

TEST_F(schedules_api, ScheduleListShowsEveryScheduleAsAuthentik2025Does) {
  const auto res = get("/api/v3/tasks/schedules/", "viewer-token");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(matches_schema(res.body, "PaginatedScheduleList"));
  const std::string expected =
      R"({"pagination":{"next":0,"previous":0,"count":3,"current":1,"total_pages":1,"start_index":1,"end_index":3},)"
      R"("results":[{"id":")" +
      google +
      R"(","identifier":"google_workspace_sync:1","uid":"acme-google-workspace",)"
      R"("actor_name":"google_workspace_sync","rel_obj_app_label":"authentik_providers_google_workspace",)"
      R"("rel_obj_model":"googleworkspaceprovider","rel_obj_id":"1","crontab":"3 */4 * * *","paused":false,)"
      R"("next_run":"2024-07-29T16:03:00.000000Z","description":"Run full sync for Acme Google Workspace",)"
      R"("last_task_status":null,"interval":0},)"
      R"({"id":")" +
      scim +
      R"(","identifier":null,"uid":"acme-scim","actor_name":"scim_sync",)"
      R"("rel_obj_app_label":"authentik_providers_scim","rel_obj_model":"scimprovider","rel_obj_id":"3",)"
      R"("crontab":"","paused":false,"next_run":"2024-07-29T15:51:58.000000Z",)"
      R"("description":"Run full sync for provider \"Acme SCIM\"",)"
      R"("last_task_status":null,"interval":30},)"
      R"({"id":")" +
      cleanup +
      R"(","identifier":"directory_cleanup","uid":"","actor_name":"directory_cleanup","rel_obj_app_label":"",)"
      R"("rel_obj_model":"","rel_obj_id":null,"crontab":"","paused":true,"next_run":"2024-07-29T16:51:28.000000Z",)"
      R"("description":null,"last_task_status":null,"interval":3600}],"autocomplete":{}})";
  EXPECT_EQ(res.body, expected);
}

TEST_F(schedules_api, LastTaskStatusFollowsTheLastRun) {
  ASSERT_TRUE(sched.send_now(google));
  poll();
  auto res = get(schedule_path(google));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(matches_schema(res.body, "Schedule"));
  EXPECT_NE(res.body.find(R"("last_task_status":"running")"), std::string::npos) << res.body;
  gate.cancel();  // the body ends with `warning`
  poll();
  res = get(schedule_path(google));
  EXPECT_NE(res.body.find(R"("last_task_status":"warning")"), std::string::npos) << res.body;
  ASSERT_TRUE(sched.send_now(scim));
  poll();
  res = get(schedule_path(scim));
  EXPECT_TRUE(matches_schema(res.body, "Schedule"));
  EXPECT_NE(res.body.find(R"("last_task_status":"info")"), std::string::npos) << "worst message level: " << res.body;
  ASSERT_TRUE(sched.send_now(cleanup));
  poll();
  res = get(schedule_path(cleanup));
  EXPECT_NE(res.body.find(R"("last_task_status":"done")"), std::string::npos) << "no message: " << res.body;
}

TEST_F(schedules_api, ScheduleListFiltersOrdersAndPages) {
  auto ids_of = [&](std::string_view query) {
    const auto res = get("/api/v3/tasks/schedules/?" + std::string(query));
    EXPECT_EQ(res.status, 200) << query << ": " << res.body;
    EXPECT_TRUE(matches_schema(res.body, "PaginatedScheduleList"));
    // The schedules found, in the order of the body: g(oogle), s(cim), c(leanup).
    std::vector<std::pair<std::size_t, char>> found;
    for (const auto& id : {google, scim, cleanup}) {
      const auto at = res.body.find("\"id\":\"" + id + "\"");
      if (at != std::string::npos) found.emplace_back(at, id == google ? 'g' : id == scim ? 's' : 'c');
    }
    std::sort(found.begin(), found.end());
    std::string order;
    for (const auto& f : found) order.push_back(f.second);
    return order;
  };
  EXPECT_EQ(ids_of(""), "gsc");
  EXPECT_EQ(ids_of("paused=true"), "c");
  EXPECT_EQ(ids_of("paused=false"), "gs");
  EXPECT_EQ(ids_of("actor_name=scim_sync"), "s");
  EXPECT_EQ(ids_of("rel_obj_id=1"), "g");
  EXPECT_EQ(ids_of("rel_obj_id__isnull=true"), "c");
  EXPECT_EQ(ids_of("rel_obj_content_type__model=scimprovider"), "s");
  EXPECT_EQ(ids_of("rel_obj_content_type__app_label=authentik_providers_google_workspace"), "g");
  EXPECT_EQ(ids_of("search=CLEAN"), "c");
  EXPECT_EQ(ids_of("search=acme"), "gs") << "the description is searched";
  EXPECT_EQ(ids_of("search=workspace"), "g") << "the actor name is searched";
  EXPECT_EQ(ids_of("ordering=-next_run"), "cgs");
  EXPECT_EQ(ids_of("ordering=next_run"), "sgc");
  EXPECT_EQ(ids_of("ordering=actor_name"), "cgs");
  EXPECT_EQ(ids_of("page_size=2&page=2"), "c");

  auto res = get("/api/v3/tasks/schedules/?ordering=crontab&paused=maybe");
  EXPECT_EQ(res.status, 400);
  EXPECT_TRUE(matches_schema(res.body, "ValidationError"));
  EXPECT_EQ(res.body, R"({"paused":["Select a valid choice. maybe is not one of the available choices."],)"
                      R"("ordering":["Invalid ordering field: crontab."]})");
  res = get("/api/v3/tasks/schedules/?page=3&page_size=2");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, R"({"detail":"Invalid page.","code":"not_found"})");
}

TEST_F(schedules_api, PatchPausesAndResumesAsTheSchedulerSees) {
  auto res = call("PATCH", schedule_path(scim), "admin-token", R"({"paused":true})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(matches_schema(res.body, "Schedule"));
  EXPECT_NE(res.body.find(R"("paused":true)"), std::string::npos);
  EXPECT_TRUE(sched.find(scim)->paused);
  // What authentik's UI sends back: the whole object, with the cadence unchanged.
  res = call("PATCH", schedule_path(google), "admin-token", R"({"paused":true,"crontab":"3 */4 * * *","rel_obj_id":"1"})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_TRUE(sched.find(google)->paused);
  res = call("PATCH", schedule_path(scim), "admin-token", R"({"paused":false})");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_FALSE(sched.find(scim)->paused);
  res = call("PATCH", schedule_path(scim), "admin-token", "{}");
  EXPECT_EQ(res.status, 200) << "nothing to change";
  EXPECT_FALSE(sched.find(scim)->paused);
}

TEST_F(schedules_api, PatchRefusesWhatItCannotDoAndChangesNothing) {
  struct bad_case {
    const char* body;
    const char* answer;
  };
  const bad_case cases[] = {
      {"", R"({"non_field_errors":["JSON parse error - The document is empty."]})"},
      {"[true]", R"({"non_field_errors":["Invalid data. Expected a dictionary."]})"},
      {R"({"paused":"perhaps"})", R"({"paused":["Must be a valid boolean."]})"},
      {R"({"paused":2})", R"({"paused":["Must be a valid boolean."]})"},
      {R"({"paused":true,"crontab":"* * * * *"})",
       R"({"crontab":["systask does not change a schedule's cadence through the API; the host sets it."]})"},
      {R"({"paused":true,"rel_obj_id":"2"})", R"({"rel_obj_id":["systask does not change a schedule's related object."]})"},
  };
  for (const auto& c : cases) {
    const auto res = call("PATCH", schedule_path(google), "admin-token", c.body);
    EXPECT_EQ(res.status, 400) << c.body;
    EXPECT_EQ(res.body, c.answer) << c.body;
    EXPECT_TRUE(matches_schema(res.body, "ValidationError"));
    EXPECT_FALSE(sched.find(google)->paused) << "a refused request changes nothing: " << c.body;
  }
  EXPECT_EQ(call("PATCH", schedule_path("00000000-0000-4000-8000-000000000000"), "admin-token", R"({"paused":true})")
                .status,
            404);
  EXPECT_EQ(call("PATCH", schedule_path(google), "viewer-token", R"({"paused":true})").status, 403);
  EXPECT_FALSE(sched.find(google)->paused);
}

TEST_F(schedules_api, SendStartsARunNowAndAnswers204) {
  auto res = call("POST", schedule_path(cleanup, "send/"), "admin-token");
  EXPECT_EQ(res.status, 204);
  EXPECT_TRUE(res.body.empty());
  EXPECT_TRUE(res.content_type.empty());
  poll();
  const auto info = sched.find(cleanup);
  EXPECT_EQ(info->sent, 1u);
  ASSERT_TRUE(info->last_run);
  EXPECT_TRUE(info->paused) << "a paused schedule runs when sent, and stays paused";
  EXPECT_TRUE(reg.find_task(info->last_run->uuid));

  EXPECT_EQ(call("POST", schedule_path(cleanup, "send/"), "viewer-token").status, 403);
  EXPECT_EQ(call("POST", schedule_path("no-such-schedule", "send/"), "admin-token").status, 404);
  sched.stop();
  res = call("POST", schedule_path(cleanup, "send/"), "admin-token");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, R"({"detail":"The scheduler is stopped: the schedule cannot be sent.","code":"scheduler_stopped"})");
}

TEST_F(schedules_api, RetrieveAnswers404ForAnUnknownIdAndWithoutScheduler) {
  auto res = get(schedule_path("no-such-schedule"));
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, R"({"detail":"Not found.","code":"not_found"})");
  EXPECT_EQ(get(schedule_path(google), "provider-only-token").status, 403);

  api::facade plain(reg, test::api_fixture::make_options());
  // A named string: the request keeps views of the target, which a temporary would leave dangling.
  const std::string target = schedule_path(google);
  api::request req = api::request::from_target("GET", target);
  req.headers.emplace_back("Authorization", "Bearer admin-token");
  EXPECT_EQ(plain.handle(req).status, 404);
  req = api::request::from_target("GET", "/api/v3/tasks/schedules/");
  req.headers.emplace_back("Authorization", "Bearer admin-token");
  res = plain.handle(req);
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(matches_schema(res.body, "PaginatedScheduleList"));
  EXPECT_NE(res.body.find(R"("count":0)"), std::string::npos);
}

TEST_F(schedules_api, OtherMethodsAre405WithEveryMethodOfThePath) {
  auto res = call("PUT", schedule_path(google), "admin-token", R"({"crontab":"* * * * *"})");
  EXPECT_EQ(res.status, 405);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, PATCH"}));
  res = call("GET", schedule_path(google, "send/"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers[0].second, "POST");
  EXPECT_EQ(call("DELETE", "/api/v3/systask/providers/").status, 405);
  EXPECT_FALSE(sched.find(google)->paused);
}

}  // namespace
