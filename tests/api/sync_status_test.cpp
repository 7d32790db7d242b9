// SPDX-License-Identifier: BSL-1.0
#include <systask/api/facade.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::api_fixture;
using systask::test::mask_uuids;
using systask::test::matches_schema;

constexpr std::string_view status_path = "/api/v3/providers/google_workspace/1/sync/status/";

struct sync_status_api : ::testing::Test, api_fixture {
  sync_status_api() { reg.register_provider("google_workspace", 1, "Acme Google Workspace"); }

  void sync(task_status s) {
    run r = reg.start(reg.sync_spec("google_workspace", 1));
    r.log(log_level::warning, "Google Workspace Provider@authentik.core.models.User", "Failed to sync user alice",
          {{"obj", "alice"}, {"attempt", 3}});
    clock->advance(1500ms);
    r.finish(s);
  }
};

TEST_F(sync_status_api, GoldenBodyAfterOneSync) {
  sync(task_status::warning);
  const auto res = get(status_path);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(mask_uuids(res.body),
            R"({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"google_workspace_sync",)"
            R"("full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace",)"
            R"("description":"Run full sync for provider \"Acme Google Workspace\"",)"
            R"("start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z",)"
            R"("duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z",)"
            R"("log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User",)"
            R"("event":"Failed to sync user alice","attributes":{"obj":"alice","attempt":3}}],)"
            R"("expires":"2024-07-29T21:51:29.500000Z","expiring":true}],"last_sync_status":"warning"})");
  EXPECT_TRUE(matches_schema(res.body, "SyncStatus"));
}

TEST_F(sync_status_api, GoldenBodyBeforeAnySync) {
  const auto res = get(status_path);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"is_running":false,"tasks":[]})");
  EXPECT_TRUE(matches_schema(res.body, "SyncStatus"));
}

TEST_F(sync_status_api, LastSuccessfulSyncAndDoneAfterASuccess) {
  sync(task_status::successful);
  const auto res = get(status_path);
  EXPECT_NE(res.body.find(R"(,"last_successful_sync":"2024-07-29T15:51:29.500000Z","last_sync_status":"done"})"),
            std::string::npos)
      << res.body;
  EXPECT_TRUE(matches_schema(res.body, "SyncStatus"));
}

TEST_F(sync_status_api, RunningSyncWithAndWithoutIncludeRunning) {
  run r = reg.start(reg.sync_spec("google_workspace", 1));
  r.info("page 1 of 20");
  clock->advance(250ms);
  auto res = get(status_path);
  EXPECT_EQ(res.body, R"({"is_running":true,"tasks":[],"last_sync_status":"running"})");
  res = get(std::string(status_path) + "?include_running=true");
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(matches_schema(res.body, "SyncStatus"));
  EXPECT_NE(res.body.find(R"("finish_timestamp":"2024-07-29T15:51:28.250000Z","duration":0.25,"status":"unknown",)"),
            std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find(R"("expires":null,"expiring":false})"), std::string::npos) << res.body;
  r.finish(task_status::successful);
}

TEST_F(sync_status_api, WithoutViewSystemtaskTheTasksAreEmptyNotAnError) {
  sync(task_status::successful);
  const auto res = get(status_path, "provider-only-token");
  EXPECT_EQ(res.status, 200);
  EXPECT_NE(res.body.find(R"("tasks":[])"), std::string::npos) << res.body;
}

TEST_F(sync_status_api, BadIncludeRunningIsAValidationError) {
  const auto res = get(std::string(status_path) + "?include_running=maybe");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, R"({"include_running":["Must be a valid boolean."]})");
  EXPECT_TRUE(matches_schema(res.body, "ValidationError"));
}

TEST_F(sync_status_api, EveryProviderKindIsServed) {
  reg.register_provider("microsoft_entra", 2, "Acme Entra");
  reg.register_provider("scim", 3, "Acme SCIM");
  EXPECT_EQ(get("/api/v3/providers/microsoft_entra/2/sync/status/").status, 200);
  EXPECT_EQ(get("/api/v3/providers/scim/3/sync/status/").status, 200);
  EXPECT_EQ(get("/api/v3/providers/scim/2/sync/status/").status, 404) << "id 2 is an Entra provider";
}

TEST_F(sync_status_api, UnknownOrMalformedIdsAreNotFound) {
  for (const char* id : {"2", "0", "-1", "abc", "1.0", "01x", "9223372036854775808", "99999999999999999999", "%32"}) {
    const auto res = get("/api/v3/providers/google_workspace/" + std::string(id) + "/sync/status/");
    EXPECT_EQ(res.status, 404) << id;
    EXPECT_EQ(res.body, R"({"detail":"Not found.","code":"not_found"})") << id;
  }
  EXPECT_EQ(get("/api/v3/providers/google_workspace/9223372036854775807/sync/status/").status, 404);
  EXPECT_EQ(get("/api/v3/providers/google_workspace/01/sync/status/").status, 200) << "leading zeros are a number";
  EXPECT_EQ(get("/api/v3/providers/google_workspace/%31/sync/status/").status, 200) << "escapes are decoded first";
}

}  // namespace
