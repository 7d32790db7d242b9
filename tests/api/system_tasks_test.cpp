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
using systask::test::parse;

struct tasks_api : ::testing::Test, api_fixture {
  std::string start_finish(const std::string& name, const std::string& uid, task_status s, std::string description = {}) {
    run r = reg.start({.name = name, .uid = uid, .description = std::move(description)});
    std::string uuid(r.uuid());
    clock->advance(1s);
    r.finish(s);
    return uuid;
  }
  std::vector<std::string> names_in(const std::string& body) {
    auto doc = parse(body);
    std::vector<std::string> out;
    for (const auto& t : doc["results"].GetArray()) {
      out.push_back(std::string(t["full_name"].GetString()) + "/" + t["status"].GetString());
    }
    return out;
  }
};

TEST_F(tasks_api, ListGoldenBody) {
  start_finish("cleanup", "", task_status::successful, "Clean up");
  const auto res = get("/api/v3/events/system_tasks/");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(mask_uuids(res.body),
            R"({"pagination":{"next":0,"previous":0,"count":1,"current":1,"total_pages":1,"start_index":1,"end_index":1},)"
            R"("results":[{"uuid":"<uuid>","name":"cleanup","full_name":"cleanup","description":"Clean up",)"
            R"("start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.000000Z",)"
            R"("duration":1.0,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.000000Z",)"
            R"("expiring":true}]})");
  EXPECT_TRUE(matches_schema(res.body, "PaginatedSystemTaskList"));
}

TEST_F(tasks_api, EmptyListIsOnePageOfNothing) {
  const auto res = get("/api/v3/events/system_tasks/");
  EXPECT_EQ(res.body,
            R"({"pagination":{"next":0,"previous":0,"count":0,"current":1,"total_pages":1,"start_index":0,"end_index":0},)"
            R"("results":[]})");
  EXPECT_TRUE(matches_schema(res.body, "PaginatedSystemTaskList"));
  EXPECT_EQ(get("/api/v3/events/system_tasks/?page=2").status, 404);
}

TEST_F(tasks_api, DefaultOrderIsNameUidStatusThenNewestFirst) {
  start_finish("b", "2", task_status::error);
  start_finish("a", "", task_status::successful);
  start_finish("b", "1", task_status::warning);
  start_finish("a", "x", task_status::error);
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/").body),
            (std::vector<std::string>{"a/successful", "a:x/error", "b:1/warning", "b:2/error"}));
}

TEST_F(tasks_api, FiltersAndSearch) {
  start_finish("google_workspace_sync", "acme", task_status::error, "Full sync");
  start_finish("scim_sync", "acme", task_status::successful);
  start_finish("cleanup", "", task_status::successful, "Remove STALE objects");
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?name=scim_sync").body),
            (std::vector<std::string>{"scim_sync:acme/successful"}));
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?uid=acme&status=error").body),
            (std::vector<std::string>{"google_workspace_sync:acme/error"}));
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?search=stale").body),
            (std::vector<std::string>{"cleanup/successful"}));
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?search=ERR").body),
            (std::vector<std::string>{"google_workspace_sync:acme/error"}))
      << "search covers the status";
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?search=acme&ordering=-name").body),
            (std::vector<std::string>{"scim_sync:acme/successful", "google_workspace_sync:acme/error"}));
}

TEST_F(tasks_api, OrderingByEveryFieldAndSeveral) {
  task_options o;
  o.history_depth = 5;
  reg.configure_task("t", o);
  for (int i = 0; i < 3; ++i) {
    run r = reg.start({.name = "t", .uid = std::to_string(i)});
    clock->advance(std::chrono::seconds(3 - i));
    r.finish(task_status::successful);
  }
  for (const char* field : {"name", "uid", "status", "start_timestamp", "finish_timestamp", "duration"}) {
    for (const char* sign : {"", "-"}) {
      const auto res = get(std::string("/api/v3/events/system_tasks/?ordering=") + sign + field);
      EXPECT_EQ(res.status, 200) << field;
      EXPECT_TRUE(matches_schema(res.body, "PaginatedSystemTaskList"));
    }
  }
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?ordering=duration").body),
            (std::vector<std::string>{"t:2/successful", "t:1/successful", "t:0/successful"}));
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?ordering=-start_timestamp").body),
            (std::vector<std::string>{"t:2/successful", "t:1/successful", "t:0/successful"}));
  EXPECT_EQ(names_in(get("/api/v3/events/system_tasks/?ordering=name,-uid").body),
            (std::vector<std::string>{"t:2/successful", "t:1/successful", "t:0/successful"}));
}

TEST_F(tasks_api, OrderedByFinishTimeTheIndexedListIsTheGeneralOne) {
  // `ordering=-finish_timestamp` alone (with a status filter at most) is answered from the
  // engine's finish-time index; naming the field twice takes the general path, with the same
  // order. Both must give the same bodies, ties (same finish time) included.
  task_options o;
  o.history_depth = 3;
  reg.configure_task("t", o);
  for (int i = 0; i < 14; ++i) {
    start_finish("t", std::to_string(i % 5), i % 3 == 0 ? task_status::error : task_status::successful);
    if (i % 4 == 0) clock->advance(std::chrono::seconds(1));
  }
  for (const char* field : {"finish_timestamp", "-finish_timestamp"}) {
    for (const char* status : {"", "&status=error", "&status=successful", "&status=warning"}) {
      for (int page = 1; page <= 6; ++page) {
        const std::string rest = std::string(status) + "&page_size=2&page=" + std::to_string(page);
        const auto indexed = get(std::string("/api/v3/events/system_tasks/?ordering=") + field + rest);
        const auto general =
            get(std::string("/api/v3/events/system_tasks/?ordering=") + field + "," + field + rest);
        EXPECT_EQ(indexed.status, general.status) << field << rest;
        EXPECT_EQ(indexed.body, general.body) << field << rest;
      }
    }
  }
  EXPECT_EQ(get("/api/v3/events/system_tasks/?ordering=-finish_timestamp&page=9223372036854775807").status, 404);
}

TEST_F(tasks_api, PaginationWalksEveryRecordOnce) {
  for (int i = 0; i < 7; ++i) start_finish("t", std::to_string(i), task_status::successful);
  std::vector<std::string> seen;
  for (int page = 1; page <= 3; ++page) {
    const auto res = get("/api/v3/events/system_tasks/?page_size=3&page=" + std::to_string(page));
    ASSERT_EQ(res.status, 200);
    EXPECT_TRUE(matches_schema(res.body, "PaginatedSystemTaskList"));
    auto doc = parse(res.body);
    const auto& p = doc["pagination"];
    EXPECT_EQ(p["count"].GetUint64(), 7u);
    EXPECT_EQ(p["total_pages"].GetUint64(), 3u);
    EXPECT_EQ(p["current"].GetUint64(), static_cast<std::uint64_t>(page));
    EXPECT_EQ(p["next"].GetUint64(), page < 3 ? static_cast<std::uint64_t>(page + 1) : 0u);
    EXPECT_EQ(p["previous"].GetUint64(), static_cast<std::uint64_t>(page - 1));
    EXPECT_EQ(p["start_index"].GetUint64(), static_cast<std::uint64_t>((page - 1) * 3 + 1));
    EXPECT_EQ(p["end_index"].GetUint64(), std::min<std::uint64_t>(page * 3, 7));
    for (const auto& n : names_in(res.body)) seen.push_back(n);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 7u);
  auto res = get("/api/v3/events/system_tasks/?page_size=3&page=4");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, R"({"detail":"Invalid page.","code":"not_found"})");
  for (const char* bad : {"0", "-1", "x", ""}) {
    EXPECT_EQ(get(std::string("/api/v3/events/system_tasks/?page=") + bad).status, 404) << bad;
  }
}

TEST_F(tasks_api, BadQueryValuesAreValidationErrorsNamingTheField) {
  struct {
    const char* query;
    const char* body;
  } cases[] = {
      {"status=bogus", R"({"status":["Select a valid choice. bogus is not one of the available choices."]})"},
      {"ordering=bogus", R"({"ordering":["Invalid ordering field: bogus."]})"},
      {"ordering=name,-nope", R"({"ordering":["Invalid ordering field: -nope."]})"},
      {"page_size=abc", R"({"page_size":["A valid integer is required."]})"},
      {"page_size=0", R"({"page_size":["Ensure this value is greater than or equal to 1."]})"},
      {"page_size=1001", R"({"page_size":["Ensure this value is less than or equal to 1000."]})"},
      {"page_size=99999999999999999999", R"({"page_size":["A valid integer is required."]})"},
      {"status=x&page_size=0",
       R"({"status":["Select a valid choice. x is not one of the available choices."],"page_size":["Ensure this value is greater than or equal to 1."]})"},
  };
  for (const auto& c : cases) {
    const auto res = get(std::string("/api/v3/events/system_tasks/?") + c.query);
    EXPECT_EQ(res.status, 400) << c.query;
    EXPECT_EQ(res.body, c.body) << c.query;
    EXPECT_TRUE(matches_schema(res.body, "ValidationError"));
  }
  EXPECT_EQ(get("/api/v3/events/system_tasks/?page_size=1000").status, 200);
  EXPECT_EQ(get("/api/v3/events/system_tasks/?unknown=1").status, 200) << "unknown parameters are ignored";
}

TEST_F(tasks_api, RetrieveByUuidInEitherCase) {
  const std::string uuid = start_finish("cleanup", "", task_status::successful);
  auto res = get("/api/v3/events/system_tasks/" + uuid + "/");
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(matches_schema(res.body, "SystemTask"));
  EXPECT_NE(res.body.find("\"uuid\":\"" + uuid + "\""), std::string::npos);
  std::string upper = uuid;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(get("/api/v3/events/system_tasks/" + upper + "/").status, 200);
  for (const char* bad : {"00000000-0000-4000-8000-000000000000", "not-a-uuid", "123",
                          "0000000000004000800000000000000000"}) {
    res = get(std::string("/api/v3/events/system_tasks/") + bad + "/");
    EXPECT_EQ(res.status, 404) << bad;
    EXPECT_TRUE(matches_schema(res.body, "GenericError"));
  }
}

TEST_F(tasks_api, RunRequeuesThroughTheRegisteredRunner) {
  const std::string uuid = start_finish("cleanup", "", task_status::error, "Clean up");
  auto res = post("/api/v3/events/system_tasks/" + uuid + "/run/", "");
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, R"({"detail":"No runner is registered for task \"cleanup\".","code":"no_runner"})");
  EXPECT_EQ(reg.tasks("cleanup", "").size(), 1u) << "nothing is deleted";

  int runs = 0;
  reg.set_runner("cleanup", [&](const run_spec& spec) {
    ++runs;
    reg.start(spec).finish(task_status::successful);
  });
  res = post("/api/v3/events/system_tasks/" + uuid + "/run/", "");
  EXPECT_EQ(res.status, 204);
  EXPECT_TRUE(res.body.empty());
  run_until([&] { return runs == 1; });
  EXPECT_EQ(reg.tasks("cleanup", "")[0].status(), task_status::successful);
  EXPECT_EQ(reg.tasks("cleanup", "")[0].description(), "Clean up");
  EXPECT_EQ(post("/api/v3/events/system_tasks/00000000-0000-4000-8000-000000000000/run/", "").status, 404);
}

TEST_F(tasks_api, PrefilledTaskIsListed) {
  reg.prefill({.name = "nightly_import", .uid = "", .description = "Import"});
  const auto res = get("/api/v3/events/system_tasks/");
  EXPECT_TRUE(matches_schema(res.body, "PaginatedSystemTaskList"));
  EXPECT_NE(res.body.find(R"("status":"unknown","messages":[{)"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find(R"("event":"Task has not been run yet.")"), std::string::npos);
  EXPECT_NE(res.body.find(R"("expires":null,"expiring":false)"), std::string::npos);
}

}  // namespace
