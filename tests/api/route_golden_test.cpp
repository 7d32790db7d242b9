// SPDX-License-Identifier: BSL-1.0
// Every route of the facade and every way a path can miss one, answered byte for byte: status,
// content type, extra headers and body (uuids masked). The expected answers were written down
// from the facade at main 47b62fa, before routing and body writing were rewritten for speed, so
// that any change to which route a path names, or to a body's bytes, fails here.

#include <systask/api/facade.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::api_fixture;
using systask::test::mask_uuids;

struct route_golden : ::testing::Test, api_fixture {
  route_golden() {
    reg.register_provider("google_workspace", 1, "Acme \"Google\" Workspace");
    reg.register_provider("microsoft_entra", 2, "Acme Entra");
    reg.register_provider("scim", 3, "Acme SCIM");
    auto options = make_options();
    options.sync_object_handlers["scim"] = [](const api::sync_object_request& req, api::sync_object_log& log) {
      log.log(log_level::info, "SCIM Provider@authentik.core.models.User", "Synced user",
              {{"obj", req.sync_object_id}, {"dry_run", req.override_dry_run}});
    };
    facade_ = api::facade(reg, options);

    {
      run r = reg.start(reg.sync_spec("google_workspace", 1));
      r.log(log_level::warning, "Google Workspace Provider@authentik.core.models.User", "Failed to sync user \"alice\"",
            {{"obj", "alice"}, {"attempt", 3}, {"ids", array{1, 2u, "three", array{4}, object{{"pk", 7}}}},
             {"ratio", 0.25}, {"ok", false}, {"none", nullptr}, {"text", "tab\there, caf\xc3\xa9, \x01"}});
      clock->advance(1500ms);
      r.info("done");
      r.finish(task_status::warning);
    }
    {
      run r = reg.start(reg.sync_spec("scim", 3));
      clock->advance(250ms);
      r.finish(task_status::successful);
    }
    {
      run r = reg.start({.name = "cleanup", .uid = "", .description = "Clean up"});
      clock->advance(1s);
      r.error("disk full");
      r.finish(task_status::error);
      cleanup_uuid = std::string(r.uuid());
    }
    reg.prefill({.name = "nightly_import", .uid = "", .description = "Import"});
    running.emplace(reg.start(reg.sync_spec("microsoft_entra", 2)));
    running->info("page 1 of 20");
    clock->advance(250ms);
    reg.set_runner("cleanup", [](const run_spec&) {});
  }
  ~route_golden() override { running->finish(task_status::successful); }

  // One line per answer: status, content type, extra headers; then the body.
  std::string answer(std::string_view method, std::string target, std::string_view token, std::string_view body) {
    for (std::size_t at; (at = target.find("{cleanup}")) != std::string::npos;) {
      target.replace(at, 9, cleanup_uuid);
    }
    const api::response res = call(method, target, token, body);
    std::string out = std::to_string(res.status) + " " + res.content_type;
    for (const auto& [name, value] : res.headers) out += " | " + name + ": " + value;
    // /metrics is another part's text (tests/api/metrics_test.cpp): only its routing is pinned here.
    if (target.starts_with("/metrics") && res.status == 200) return out + "\n<metrics text>";
    return out + "\n" + mask_uuids(res.body);
  }

  std::string cleanup_uuid;
  std::optional<run> running;
};

struct exchange {
  std::string_view method;
  std::string_view target;  // {cleanup} stands for the cleanup task's uuid
  std::string_view token;
  std::string_view body;
  std::string_view expected;
};

TEST_F(route_golden, EveryRouteAndEveryMissAnswersByteForByteAsBefore) {
  const std::vector<exchange> exchanges = {
      {"GET", "/api/v3/providers/google_workspace/1/sync/status/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"google_workspace_sync","full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace","description":"Run full sync for provider \"Acme \"Google\" Workspace\"","start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z","duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user \"alice\"","attributes":{"obj":"alice","attempt":3,"ids":[1,2,"three",[4],{"pk":7}],"ratio":0.25,"ok":false,"none":null,"text":"tab\there, café, \u0001"}},{"timestamp":"2024-07-29T15:51:29.500000Z","log_level":"info","logger":"google_workspace_sync","event":"done","attributes":{}}],"expires":"2024-07-29T21:51:29.500000Z","expiring":true}],"last_sync_status":"warning"})x"},
      {"GET", "/api/v3/providers/google_workspace/1/sync/status/?include_running=true", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"google_workspace_sync","full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace","description":"Run full sync for provider \"Acme \"Google\" Workspace\"","start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z","duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user \"alice\"","attributes":{"obj":"alice","attempt":3,"ids":[1,2,"three",[4],{"pk":7}],"ratio":0.25,"ok":false,"none":null,"text":"tab\there, café, \u0001"}},{"timestamp":"2024-07-29T15:51:29.500000Z","log_level":"info","logger":"google_workspace_sync","event":"done","attributes":{}}],"expires":"2024-07-29T21:51:29.500000Z","expiring":true}],"last_sync_status":"warning"})x"},
      {"GET", "/api/v3/providers/microsoft_entra/2/sync/status/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":true,"tasks":[],"last_sync_status":"running"})x"},
      {"GET", "/api/v3/providers/microsoft_entra/2/sync/status/?include_running=true", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":true,"tasks":[{"uuid":"<uuid>","name":"microsoft_entra_sync","full_name":"microsoft_entra_sync:acme-entra","uid":"acme-entra","description":"Run full sync for provider \"Acme Entra\"","start_timestamp":"2024-07-29T15:51:30.750000Z","finish_timestamp":"2024-07-29T15:51:31.000000Z","duration":0.25,"status":"unknown","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"info","logger":"microsoft_entra_sync","event":"page 1 of 20","attributes":{}}],"expires":null,"expiring":false}],"last_sync_status":"running"})x"},
      {"GET", "/api/v3/providers/microsoft_entra/2/sync/status/?include_running=1&include_running=0", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":true,"tasks":[],"last_sync_status":"running"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/?include_running=maybe", "admin-token", "",
       "400 application/json; charset=utf-8\n"
       R"x({"include_running":["Must be a valid boolean."]})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/?include_running", "admin-token", "",
       "400 application/json; charset=utf-8\n"
       R"x({"include_running":["Must be a valid boolean."]})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/?&&x=%ZZ&", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}],"last_successful_sync":"2024-07-29T15:51:29.750000Z","last_sync_status":"done"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/", "viewer-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}],"last_successful_sync":"2024-07-29T15:51:29.750000Z","last_sync_status":"done"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/", "provider-only-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[],"last_successful_sync":"2024-07-29T15:51:29.750000Z","last_sync_status":"done"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/", "nothing-token", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"You do not have permission to perform this action.","code":"permission_denied"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/", "", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"Authentication credentials were not provided.","code":"not_authenticated"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/", "unknown-token", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"Authentication credentials were not provided.","code":"not_authenticated"})x"},
      {"GET", "/api/v3/providers/scim/abc/sync/status/", "", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"Authentication credentials were not provided.","code":"not_authenticated"})x"},
      {"GET", "/api/v3/providers/scim/4/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/2/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/0/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/03/sync/status/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}],"last_successful_sync":"2024-07-29T15:51:29.750000Z","last_sync_status":"done"})x"},
      {"GET", "/api/v3/providers/scim/%33/sync/status/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}],"last_successful_sync":"2024-07-29T15:51:29.750000Z","last_sync_status":"done"})x"},
      {"GET", "/api/v3/providers/%73cim/3/sync/status/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}],"last_successful_sync":"2024-07-29T15:51:29.750000Z","last_sync_status":"done"})x"},
      {"GET", "/api/v3/%70roviders/scim/3/%73ync/%73tatus/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"is_running":false,"tasks":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}],"last_successful_sync":"2024-07-29T15:51:29.750000Z","last_sync_status":"done"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/%73tatus%2F/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status%2F", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/%2F3/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/%2e/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/%zz/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/%3/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3%/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status//", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim//3/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/./sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/../sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/%2E%2E/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/status/extra/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/ldap/3/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/SCIM/3/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/other/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/providers/scim/3/async/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/Providers/scim/3/sync/status/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"POST", "/api/v3/providers/scim/3/sync/status/", "admin-token", "",
       "405 application/json; charset=utf-8 | Allow: GET\n"
       R"x({"detail":"Method \"POST\" not allowed.","code":"method_not_allowed"})x"},
      // HEAD is the GET without its body (issue 14; it was a 405 before).
      {"HEAD", "/api/v3/providers/scim/3/sync/status/", "admin-token", "",
       "200 application/json; charset=utf-8\n"},
      {"get", "/api/v3/providers/scim/3/sync/status/", "admin-token", "",
       "405 application/json; charset=utf-8 | Allow: GET\n"
       R"x({"detail":"Method \"get\" not allowed.","code":"method_not_allowed"})x"},
      {"POST", "/api/v3/providers/scim/3/sync/status/", "nothing-token", "",
       "405 application/json; charset=utf-8 | Allow: GET\n"
       R"x({"detail":"Method \"POST\" not allowed.","code":"method_not_allowed"})x"},
      {"POST", "/api/v3/providers/scim/3/sync/object/", "admin-token", R"x({"sync_object_model":"authentik.core.models.User","sync_object_id":"42","override_dry_run":true})x",
       "200 application/json; charset=utf-8\n"
       R"x({"messages":[{"timestamp":"2024-07-29T15:51:31.000000Z","log_level":"info","logger":"SCIM Provider@authentik.core.models.User","event":"Synced user","attributes":{"obj":"42","dry_run":true}}]})x"},
      {"POST", "/api/v3/providers/scim/3/sync/object/?x=1", "admin-token", R"x({"sync_object_model":"authentik.core.models.Group","sync_object_id":"7"})x",
       "200 application/json; charset=utf-8\n"
       R"x({"messages":[{"timestamp":"2024-07-29T15:51:31.000000Z","log_level":"info","logger":"SCIM Provider@authentik.core.models.User","event":"Synced user","attributes":{"obj":"7","dry_run":false}}]})x"},
      {"POST", "/api/v3/providers/microsoft_entra/2/sync/object/", "admin-token", R"x({"sync_object_model":"authentik.core.models.User","sync_object_id":"1"})x",
       "200 application/json; charset=utf-8\n"
       R"x({"messages":[{"timestamp":"2024-07-29T15:51:31.000000Z","log_level":"error","logger":"systask","event":"No sync-object handler is registered for this provider kind","attributes":{"kind":"microsoft_entra"}}]})x"},
      {"POST", "/api/v3/providers/scim/3/sync/object/", "admin-token", "{}",
       "400 application/json; charset=utf-8\n"
       R"x({"sync_object_model":["This field is required."],"sync_object_id":["This field is required."]})x"},
      {"POST", "/api/v3/providers/scim/3/sync/object/", "admin-token", "[1]",
       "400 application/json; charset=utf-8\n"
       R"x({"non_field_errors":["Invalid data. Expected a dictionary."]})x"},
      {"POST", "/api/v3/providers/scim/3/sync/object/", "admin-token", "{",
       "400 application/json; charset=utf-8\n"
       R"x({"non_field_errors":["JSON parse error - Missing a name for object member."]})x"},
      {"POST", "/api/v3/providers/scim/4/sync/object/", "admin-token", "garbage",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"POST", "/api/v3/providers/scim/3/sync/object/", "viewer-token", "{}",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"You do not have permission to perform this action.","code":"permission_denied"})x"},
      {"GET", "/api/v3/providers/scim/3/sync/object/", "admin-token", "",
       "405 application/json; charset=utf-8 | Allow: POST\n"
       R"x({"detail":"Method \"GET\" not allowed.","code":"method_not_allowed"})x"},
      {"PUT", "/api/v3/providers/scim/3/sync/object/", "admin-token", "{}",
       "405 application/json; charset=utf-8 | Allow: POST\n"
       R"x({"detail":"Method \"PUT\" not allowed.","code":"method_not_allowed"})x"},
      {"GET", "/api/v3/events/system_tasks/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"pagination":{"next":0,"previous":0,"count":4,"current":1,"total_pages":1,"start_index":1,"end_index":4},"results":[{"uuid":"<uuid>","name":"cleanup","full_name":"cleanup","description":"Clean up","start_timestamp":"2024-07-29T15:51:29.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":1.0,"status":"error","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"error","logger":"cleanup","event":"disk full","attributes":{}}],"expires":"2024-07-29T21:51:30.750000Z","expiring":true},{"uuid":"<uuid>","name":"google_workspace_sync","full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace","description":"Run full sync for provider \"Acme \"Google\" Workspace\"","start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z","duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user \"alice\"","attributes":{"obj":"alice","attempt":3,"ids":[1,2,"three",[4],{"pk":7}],"ratio":0.25,"ok":false,"none":null,"text":"tab\there, café, \u0001"}},{"timestamp":"2024-07-29T15:51:29.500000Z","log_level":"info","logger":"google_workspace_sync","event":"done","attributes":{}}],"expires":"2024-07-29T21:51:29.500000Z","expiring":true},{"uuid":"<uuid>","name":"nightly_import","full_name":"nightly_import","description":"Import","start_timestamp":"2024-07-29T15:51:30.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":0.0,"status":"unknown","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"info","logger":"nightly_import","event":"Task has not been run yet.","attributes":{}}],"expires":null,"expiring":false},{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}]})x"},
      {"GET", "/api/v3/events/system_tasks/?ordering=-start_timestamp&page_size=2&page=2", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"pagination":{"next":0,"previous":1,"count":4,"current":2,"total_pages":2,"start_index":3,"end_index":4},"results":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true},{"uuid":"<uuid>","name":"google_workspace_sync","full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace","description":"Run full sync for provider \"Acme \"Google\" Workspace\"","start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z","duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user \"alice\"","attributes":{"obj":"alice","attempt":3,"ids":[1,2,"three",[4],{"pk":7}],"ratio":0.25,"ok":false,"none":null,"text":"tab\there, café, \u0001"}},{"timestamp":"2024-07-29T15:51:29.500000Z","log_level":"info","logger":"google_workspace_sync","event":"done","attributes":{}}],"expires":"2024-07-29T21:51:29.500000Z","expiring":true}]})x"},
      {"GET", "/api/v3/events/system_tasks/?name=scim_sync", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"pagination":{"next":0,"previous":0,"count":1,"current":1,"total_pages":1,"start_index":1,"end_index":1},"results":[{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}]})x"},
      {"GET", "/api/v3/events/system_tasks/?search=FULL%20sync", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"pagination":{"next":0,"previous":0,"count":2,"current":1,"total_pages":1,"start_index":1,"end_index":2},"results":[{"uuid":"<uuid>","name":"google_workspace_sync","full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace","description":"Run full sync for provider \"Acme \"Google\" Workspace\"","start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z","duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user \"alice\"","attributes":{"obj":"alice","attempt":3,"ids":[1,2,"three",[4],{"pk":7}],"ratio":0.25,"ok":false,"none":null,"text":"tab\there, café, \u0001"}},{"timestamp":"2024-07-29T15:51:29.500000Z","log_level":"info","logger":"google_workspace_sync","event":"done","attributes":{}}],"expires":"2024-07-29T21:51:29.500000Z","expiring":true},{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}]})x"},
      {"GET", "/api/v3/events/system_tasks/?status=error&uid=", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"pagination":{"next":0,"previous":0,"count":1,"current":1,"total_pages":1,"start_index":1,"end_index":1},"results":[{"uuid":"<uuid>","name":"cleanup","full_name":"cleanup","description":"Clean up","start_timestamp":"2024-07-29T15:51:29.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":1.0,"status":"error","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"error","logger":"cleanup","event":"disk full","attributes":{}}],"expires":"2024-07-29T21:51:30.750000Z","expiring":true}]})x"},
      {"GET", "/api/v3/events/system_tasks/?ordering=bogus", "admin-token", "",
       "400 application/json; charset=utf-8\n"
       R"x({"ordering":["Invalid ordering field: bogus."]})x"},
      {"GET", "/api/v3/events/system_tasks/?page=9", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Invalid page.","code":"not_found"})x"},
      {"GET", "/api/v3/events/system_tasks/?page_size=0", "admin-token", "",
       "400 application/json; charset=utf-8\n"
       R"x({"page_size":["Ensure this value is greater than or equal to 1."]})x"},
      {"GET", "/api/v3/events/system_tasks/", "viewer-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"pagination":{"next":0,"previous":0,"count":4,"current":1,"total_pages":1,"start_index":1,"end_index":4},"results":[{"uuid":"<uuid>","name":"cleanup","full_name":"cleanup","description":"Clean up","start_timestamp":"2024-07-29T15:51:29.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":1.0,"status":"error","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"error","logger":"cleanup","event":"disk full","attributes":{}}],"expires":"2024-07-29T21:51:30.750000Z","expiring":true},{"uuid":"<uuid>","name":"google_workspace_sync","full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace","description":"Run full sync for provider \"Acme \"Google\" Workspace\"","start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z","duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user \"alice\"","attributes":{"obj":"alice","attempt":3,"ids":[1,2,"three",[4],{"pk":7}],"ratio":0.25,"ok":false,"none":null,"text":"tab\there, café, \u0001"}},{"timestamp":"2024-07-29T15:51:29.500000Z","log_level":"info","logger":"google_workspace_sync","event":"done","attributes":{}}],"expires":"2024-07-29T21:51:29.500000Z","expiring":true},{"uuid":"<uuid>","name":"nightly_import","full_name":"nightly_import","description":"Import","start_timestamp":"2024-07-29T15:51:30.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":0.0,"status":"unknown","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"info","logger":"nightly_import","event":"Task has not been run yet.","attributes":{}}],"expires":null,"expiring":false},{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}]})x"},
      {"GET", "/api/v3/events/system_tasks/", "provider-only-token", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"You do not have permission to perform this action.","code":"permission_denied"})x"},
      {"POST", "/api/v3/events/system_tasks/", "admin-token", "",
       "405 application/json; charset=utf-8 | Allow: GET\n"
       R"x({"detail":"Method \"POST\" not allowed.","code":"method_not_allowed"})x"},
      {"DELETE", "/api/v3/events/system_tasks/", "nothing-token", "",
       "405 application/json; charset=utf-8 | Allow: GET\n"
       R"x({"detail":"Method \"DELETE\" not allowed.","code":"method_not_allowed"})x"},
      {"GET", "/api/v3/events/system_tasks", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/events/system_tasks//", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/events/%73ystem_tasks/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"pagination":{"next":0,"previous":0,"count":4,"current":1,"total_pages":1,"start_index":1,"end_index":4},"results":[{"uuid":"<uuid>","name":"cleanup","full_name":"cleanup","description":"Clean up","start_timestamp":"2024-07-29T15:51:29.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":1.0,"status":"error","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"error","logger":"cleanup","event":"disk full","attributes":{}}],"expires":"2024-07-29T21:51:30.750000Z","expiring":true},{"uuid":"<uuid>","name":"google_workspace_sync","full_name":"google_workspace_sync:acme-google-workspace","uid":"acme-google-workspace","description":"Run full sync for provider \"Acme \"Google\" Workspace\"","start_timestamp":"2024-07-29T15:51:28.000000Z","finish_timestamp":"2024-07-29T15:51:29.500000Z","duration":1.5,"status":"warning","messages":[{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"Google Workspace Provider@authentik.core.models.User","event":"Failed to sync user \"alice\"","attributes":{"obj":"alice","attempt":3,"ids":[1,2,"three",[4],{"pk":7}],"ratio":0.25,"ok":false,"none":null,"text":"tab\there, café, \u0001"}},{"timestamp":"2024-07-29T15:51:29.500000Z","log_level":"info","logger":"google_workspace_sync","event":"done","attributes":{}}],"expires":"2024-07-29T21:51:29.500000Z","expiring":true},{"uuid":"<uuid>","name":"nightly_import","full_name":"nightly_import","description":"Import","start_timestamp":"2024-07-29T15:51:30.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":0.0,"status":"unknown","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"info","logger":"nightly_import","event":"Task has not been run yet.","attributes":{}}],"expires":null,"expiring":false},{"uuid":"<uuid>","name":"scim_sync","full_name":"scim_sync:acme-scim","uid":"acme-scim","description":"Run full sync for provider \"Acme SCIM\"","start_timestamp":"2024-07-29T15:51:29.500000Z","finish_timestamp":"2024-07-29T15:51:29.750000Z","duration":0.25,"status":"successful","messages":[],"expires":"2024-07-29T21:51:29.750000Z","expiring":true}]})x"},
      {"GET", "/api/v3/events/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/events/system_tasks/{cleanup}/", "admin-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"uuid":"<uuid>","name":"cleanup","full_name":"cleanup","description":"Clean up","start_timestamp":"2024-07-29T15:51:29.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":1.0,"status":"error","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"error","logger":"cleanup","event":"disk full","attributes":{}}],"expires":"2024-07-29T21:51:30.750000Z","expiring":true})x"},
      {"GET", "/api/v3/events/system_tasks/{cleanup}/?x=1", "viewer-token", "",
       "200 application/json; charset=utf-8\n"
       R"x({"uuid":"<uuid>","name":"cleanup","full_name":"cleanup","description":"Clean up","start_timestamp":"2024-07-29T15:51:29.750000Z","finish_timestamp":"2024-07-29T15:51:30.750000Z","duration":1.0,"status":"error","messages":[{"timestamp":"2024-07-29T15:51:30.750000Z","log_level":"error","logger":"cleanup","event":"disk full","attributes":{}}],"expires":"2024-07-29T21:51:30.750000Z","expiring":true})x"},
      {"GET", "/api/v3/events/system_tasks/{cleanup}/", "provider-only-token", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"You do not have permission to perform this action.","code":"permission_denied"})x"},
      {"GET", "/api/v3/events/system_tasks/00000000-0000-4000-8000-000000000000/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/events/system_tasks/not-a-uuid/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/events/system_tasks/%7B%7D/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/events/system_tasks/{cleanup}", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"POST", "/api/v3/events/system_tasks/{cleanup}/", "admin-token", "",
       "405 application/json; charset=utf-8 | Allow: GET\n"
       R"x({"detail":"Method \"POST\" not allowed.","code":"method_not_allowed"})x"},
      {"GET", "/api/v3/events/system_tasks/{cleanup}/run/", "admin-token", "",
       "405 application/json; charset=utf-8 | Allow: POST\n"
       R"x({"detail":"Method \"GET\" not allowed.","code":"method_not_allowed"})x"},
      {"POST", "/api/v3/events/system_tasks/{cleanup}/run/", "viewer-token", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"You do not have permission to perform this action.","code":"permission_denied"})x"},
      {"POST", "/api/v3/events/system_tasks/00000000-0000-4000-8000-000000000000/run/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"POST", "/api/v3/events/system_tasks/{cleanup}/run/x/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"POST", "/api/v3/events/system_tasks/{cleanup}/run/", "admin-token", "",
       "204 \n"},
      {"GET", "/metrics", "", "",
       "403 application/json; charset=utf-8\n"
       R"x({"detail":"Authentication credentials were not provided.","code":"not_authenticated"})x"},
      {"POST", "/metrics", "admin-token", "",
       "405 application/json; charset=utf-8 | Allow: GET\n"
       R"x({"detail":"Method \"POST\" not allowed.","code":"method_not_allowed"})x"},
      {"GET", "/metrics/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/metrics?x=1", "nothing-token", "",
       "200 text/plain; version=0.0.4; charset=utf-8\n"
       "<metrics text>"},
      {"GET", "/api/v3/a/b/c/d/e/f/g/h/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/a/b/c/d/e/f/%zz/h/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v3", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/api/v2/events/system_tasks/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "api/v3/events/system_tasks/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
      {"GET", "//api/v3/events/system_tasks/", "admin-token", "",
       "404 application/json; charset=utf-8\n"
       R"x({"detail":"Not found.","code":"not_found"})x"},
  };
  ASSERT_FALSE(exchanges.empty());
  for (const auto& e : exchanges) {
    EXPECT_EQ(answer(e.method, std::string(e.target), e.token, e.body), e.expected)
        << e.method << " " << e.target << " (token " << e.token << ")";
  }
}

}  // namespace
