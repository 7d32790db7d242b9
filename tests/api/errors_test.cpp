// SPDX-License-Identifier: BSL-1.0
#include <systask/api/facade.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using namespace systask;
using systask::test::api_fixture;
using systask::test::matches_schema;

constexpr std::string_view not_authenticated =
    R"({"detail":"Authentication credentials were not provided.","code":"not_authenticated"})";
constexpr std::string_view permission_denied =
    R"({"detail":"You do not have permission to perform this action.","code":"permission_denied"})";
constexpr std::string_view not_found = R"({"detail":"Not found.","code":"not_found"})";

struct errors_api : ::testing::Test, api_fixture {
  errors_api() { reg.register_provider("scim", 3, "Acme SCIM"); }
};

TEST_F(errors_api, MissingMalformedOrUnknownTokensAre403NotAuthenticated) {
  for (const char* header : {"", "Bearer", "Bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer wrong-token",
                             "Bearer admin-token extra", "Token admin-token", "Bearer admin-toke", "Bearer admin-tokenX"}) {
    api::request req = api::request::from_target("GET", "/api/v3/providers/scim/3/sync/status/");
    if (*header) req.headers.emplace_back("Authorization", header);
    const auto res = facade_.handle(req);
    EXPECT_EQ(res.status, 403) << header;
    EXPECT_EQ(res.body, not_authenticated) << header;
    EXPECT_TRUE(matches_schema(res.body, "GenericError"));
  }
  api::request req = api::request::from_target("GET", "/api/v3/providers/scim/3/sync/status/");
  req.headers.emplace_back("AUTHORIZATION", "bearer admin-token");
  EXPECT_EQ(facade_.handle(req).status, 200) << "header name and scheme are case-insensitive";
}

TEST_F(errors_api, NoTokenBeatsABadId) {
  for (const char* target : {"/api/v3/providers/scim/abc/sync/status/", "/api/v3/providers/scim/999/sync/status/",
                             "/api/v3/events/system_tasks/not-a-uuid/"}) {
    const auto res = get(target, "");
    EXPECT_EQ(res.status, 403) << target;
    EXPECT_EQ(res.body, not_authenticated);
  }
}

TEST_F(errors_api, NoPermissionBeatsAnUnknownUuidOrProvider) {
  auto res = get("/api/v3/events/system_tasks/00000000-0000-4000-8000-000000000000/", "nothing-token");
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(res.body, permission_denied);
  res = get("/api/v3/providers/scim/999/sync/status/", "nothing-token");
  EXPECT_EQ(res.body, permission_denied);
  res = post("/api/v3/events/system_tasks/not-a-uuid/run/", "", "viewer-token");
  EXPECT_EQ(res.body, permission_denied) << "run needs run_task";
  res = get("/api/v3/events/system_tasks/", "provider-only-token");
  EXPECT_EQ(res.body, permission_denied) << "the list needs view_systemtask";
  res = get("/api/v3/events/system_tasks/?status=bogus", "nothing-token");
  EXPECT_EQ(res.body, permission_denied) << "permission before validation";
}

TEST_F(errors_api, NoTokenAtAllConfiguredRefusesEveryApiCall) {
  api::facade bare(reg, api::facade_options{});
  api::request req = api::request::from_target("GET", "/api/v3/events/system_tasks/");
  req.headers.emplace_back("Authorization", "Bearer anything");
  EXPECT_EQ(bare.handle(req).status, 403);
}

TEST_F(errors_api, UnknownPathsAre404) {
  for (const char* target :
       {"/", "/api/v3/", "/api/v3/events/", "/api/v3/providers/ldap/1/sync/status/",
        "/api/v3/providers/scim/3/sync/status", "/api/v3/providers/scim/3/sync/statuses/",
        "/api/v3/providers/scim/3/sync/status/extra/", "/api/v3//providers/scim/3/sync/status/",
        "/api/v3/providers/scim/3/sync/../sync/status/", "/api/v3/providers/scim/3/sync/%2e%2e/status/",
        "/api/v3/providers/scim/3/sync/%2fstatus/", "/api/v3/providers/scim/3/sync/%zz/",
        "/api/v2/events/system_tasks/", "/metrics/", "/api/v3/events/system_tasks/x/run/extra/"}) {
    const auto res = get(target);
    EXPECT_EQ(res.status, 404) << target;
    EXPECT_EQ(res.body, not_found) << target;
  }
}

TEST_F(errors_api, KnownPathWithAnotherMethodIs405WithAllow) {
  auto res = call("DELETE", "/api/v3/providers/scim/3/sync/status/");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.body, R"({"detail":"Method \"DELETE\" not allowed.","code":"method_not_allowed"})");
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"Allow", "GET"}));
  EXPECT_TRUE(matches_schema(res.body, "GenericError"));
  res = call("GET", "/api/v3/providers/scim/3/sync/object/");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers[0].second, "POST");
  EXPECT_EQ(call("PUT", "/api/v3/events/system_tasks/").status, 405);
  EXPECT_EQ(call("DELETE", "/api/v3/providers/scim/3/sync/status/", "").status, 403) << "authentication first";
}

TEST_F(errors_api, EchoedInputIsRepairedToValidUtf8) {
  // Found by fuzz_facade: the 405 detail echoed a method with invalid UTF-8 as raw bytes.
  auto res = call("G\xb7T", "/api/v3/events/system_tasks/");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.body, "{\"detail\":\"Method \\\"G\xEF\xBF\xBDT\\\" not allowed.\",\"code\":\"method_not_allowed\"}");
  EXPECT_TRUE(matches_schema(res.body, "GenericError"));
  res = get("/api/v3/events/system_tasks/?status=%ff%00x");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "{\"status\":[\"Select a valid choice. \xEF\xBF\xBD\\u0000x is not one of the available choices.\"]}");
  EXPECT_TRUE(matches_schema(res.body, "ValidationError"));
}

TEST_F(errors_api, MetricsNeedATokenUnlessTheHostMakesThemPublic) {
  EXPECT_FALSE(api::facade_options{}.metrics_public);
  auto res = get("/metrics", "");
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(res.body, not_authenticated);
  res = get("/metrics", "nothing-token");
  EXPECT_EQ(res.status, 200) << "any principal, whatever its permissions";
  EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(call("POST", "/metrics").status, 405);

  auto options = make_options();
  options.metrics_public = true;
  api::facade open(reg, options);
  EXPECT_EQ(open.handle(api::request::from_target("GET", "/metrics")).status, 200);
  EXPECT_EQ(open.handle(api::request::from_target("POST", "/metrics")).status, 405);
}

}  // namespace
