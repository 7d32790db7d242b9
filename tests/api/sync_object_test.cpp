// SPDX-License-Identifier: BSL-1.0
#include <systask/api/facade.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace systask;
using systask::test::api_fixture;
using systask::test::matches_schema;

constexpr std::string_view path = "/api/v3/providers/scim/3/sync/object/";

struct sync_object_api : ::testing::Test, api_fixture {
  sync_object_api() {
    reg.register_provider("scim", 3, "Acme SCIM");
    auto options = make_options();
    options.sync_object_handlers["scim"] = [this](const api::sync_object_request& req, api::sync_object_log& log) {
      seen.push_back(req);
      if (req.sync_object_id == "boom") throw std::runtime_error("SCIM endpoint answered 503");
      log.log(log_level::info, "SCIM Provider@authentik.core.models.User", "Synced user",
              {{"obj", req.sync_object_id}, {"dry_run", req.override_dry_run}});
    };
    facade_ = api::facade(reg, options);
  }
  std::vector<api::sync_object_request> seen;
};

TEST_F(sync_object_api, HandlerMessagesComeBackAsLogEvents) {
  const auto res = post(path, R"({"sync_object_model":"authentik.core.models.User","sync_object_id":"42","override_dry_run":true})");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body,
            R"({"messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"info",)"
            R"("logger":"SCIM Provider@authentik.core.models.User","event":"Synced user",)"
            R"("attributes":{"obj":"42","dry_run":true}}]})");
  EXPECT_TRUE(matches_schema(res.body, "SyncObjectResult"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].provider.id, 3);
  EXPECT_EQ(seen[0].sync_object_model, "authentik.core.models.User");
  EXPECT_TRUE(seen[0].override_dry_run);
}

TEST_F(sync_object_api, HandlerExceptionBecomesAnErrorEvent) {
  const auto res = post(path, R"({"sync_object_model":"authentik.core.models.Group","sync_object_id":"boom"})");
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(matches_schema(res.body, "SyncObjectResult"));
  EXPECT_NE(res.body.find(R"("log_level":"error","logger":"systask","event":"SCIM endpoint answered 503")"),
            std::string::npos)
      << res.body;
}

TEST_F(sync_object_api, NoHandlerForTheKindIsReportedInTheMessages) {
  reg.register_provider("microsoft_entra", 2, "Acme Entra");
  const auto res = post("/api/v3/providers/microsoft_entra/2/sync/object/",
                        R"({"sync_object_model":"authentik.core.models.User","sync_object_id":"1"})");
  EXPECT_EQ(res.status, 200);
  EXPECT_NE(res.body.find("No sync-object handler is registered"), std::string::npos);
}

TEST_F(sync_object_api, BadBodiesAreValidationErrors) {
  struct {
    std::string_view body;
    std::string_view expected;
  } cases[] = {
      {"", R"({"non_field_errors":["JSON parse error - The document is empty."]})"},
      {"{", R"({"non_field_errors":["JSON parse error - Missing a name for object member."]})"},
      {R"({"a":1} x)", R"({"non_field_errors":["JSON parse error - The document root must not be followed by other values."]})"},
      {"[1,2]", R"({"non_field_errors":["Invalid data. Expected a dictionary."]})"},
      {"\"\xff\"", R"({"non_field_errors":["JSON parse error - Invalid encoding in string."]})"},
      {"{}", R"({"sync_object_model":["This field is required."],"sync_object_id":["This field is required."]})"},
      {R"({"sync_object_model":"authentik.core.models.Token","sync_object_id":"1"})",
       R"({"sync_object_model":["\"authentik.core.models.Token\" is not a valid choice."]})"},
      {R"({"sync_object_model":"authentik.core.models.User","sync_object_id":7})",
       R"({"sync_object_id":["Not a valid string."]})"},
      {R"({"sync_object_model":"authentik.core.models.User","sync_object_id":""})",
       R"({"sync_object_id":["This field may not be blank."]})"},
      {R"({"sync_object_model":"authentik.core.models.User","sync_object_id":"1","override_dry_run":"yes"})",
       R"({"override_dry_run":["Must be a valid boolean."]})"},
  };
  for (const auto& c : cases) {
    const auto res = post(path, c.body);
    EXPECT_EQ(res.status, 400) << c.body;
    EXPECT_EQ(res.body, c.expected) << c.body;
    EXPECT_TRUE(matches_schema(res.body, "ValidationError"));
  }
  EXPECT_TRUE(seen.empty()) << "the handler never ran";
}

TEST_F(sync_object_api, NeedsSyncObjectPermissionAndAKnownProvider) {
  const std::string body = R"({"sync_object_model":"authentik.core.models.User","sync_object_id":"1"})";
  EXPECT_EQ(post(path, body, "viewer-token").status, 403);
  EXPECT_EQ(post("/api/v3/providers/scim/4/sync/object/", body).status, 404);
  EXPECT_EQ(post("/api/v3/providers/scim/4/sync/object/", "garbage").status, 404) << "lookup before validation";
}

}  // namespace
