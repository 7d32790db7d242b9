// SPDX-License-Identifier: BSL-1.0
// libFuzzer: a request (method, path, query, headers, body) carved from the input -> facade.
// The status must be one the contract allows, and the body valid JSON matching the contract's
// schema for that status.

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <boost/asio/io_context.hpp>
#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#ifndef SYSTASK_SCHEMA_PATH
#error "SYSTASK_SCHEMA_PATH must name the contract's schema"
#endif

namespace {

struct world {
  boost::asio::io_context io;
  std::shared_ptr<systask::manual_clock> clock = std::make_shared<systask::manual_clock>();
  systask::registry reg{io, systask::registry_options{{}, clock}};
  std::unique_ptr<systask::api::facade> api;
  std::map<std::string, std::unique_ptr<rapidjson::SchemaDocument>> schemas;
  std::vector<std::string> uuids;

  world() {
    reg.register_provider("google_workspace", 1, "Acme Google Workspace");
    reg.register_provider("scim", 3, "Acme SCIM");
    for (int i = 0; i < 5; ++i) {
      systask::run r = reg.start(i % 2 ? reg.sync_spec("scim", 3) : systask::run_spec{.name = "cleanup", .uid = std::to_string(i)});
      uuids.emplace_back(r.uuid());
      r.log(systask::log_level::warning, "L", "message \xff", {{"n", i}, {"d", 0.5}});
      r.finish(static_cast<systask::task_status>(i % 4));
    }
    auto tokens = std::make_shared<systask::api::static_tokens>();
    tokens->add("admin", {"admin", systask::api::permissions::all()});
    tokens->add("viewer", {"viewer", systask::api::permission::view_provider});
    systask::api::facade_options o;
    o.tokens = tokens;
    o.sync_object_handlers["scim"] = [](const systask::api::sync_object_request& req, systask::api::sync_object_log& log) {
      log.log(systask::log_level::info, "SCIM", req.sync_object_id, {{"dry", req.override_dry_run}});
    };
    api = std::make_unique<systask::api::facade>(reg, o);
    std::ifstream in(SYSTASK_SCHEMA_PATH);
    std::stringstream text;
    text << in.rdbuf();
    for (const char* def : {"SyncStatus", "SystemTask", "PaginatedSystemTaskList", "SyncObjectResult", "GenericError",
                            "ValidationError", "Task", "PaginatedTaskList", "GlobalTaskStatus", "WorkerList",
                            "PaginatedScheduleList", "Schedule", "ProviderList"}) {
      rapidjson::Document d;
      d.Parse(text.str().c_str());
      d.AddMember("$ref", rapidjson::Value((std::string("#/definitions/") + def).c_str(), d.GetAllocator()),
                  d.GetAllocator());
      schemas[def] = std::make_unique<rapidjson::SchemaDocument>(d);
    }
  }
};

std::string_view take(const std::uint8_t*& p, std::size_t& n, char sep) {
  const auto* start = reinterpret_cast<const char*>(p);
  const void* hit = std::memchr(p, sep, n);
  const std::size_t len = hit ? static_cast<const std::uint8_t*>(hit) - p : n;
  p += len + (hit ? 1 : 0);
  n -= len + (hit ? 1 : 0);
  return {start, len};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world w;
  // Input: method \n path \n query \n token \n body
  systask::api::request req;
  req.method = take(data, size, '\n');
  std::string path(take(data, size, '\n'));
  // Let the fuzzer name real uuids with "{U<digit>}".
  if (auto at = path.find("{U"); at != std::string::npos && at + 3 < path.size()) {
    path.replace(at, 4, w.uuids[static_cast<unsigned char>(path[at + 2]) % w.uuids.size()]);
  }
  req.path = path;
  req.query = take(data, size, '\n');
  const std::string auth = "Bearer " + std::string(take(data, size, '\n'));
  req.headers.emplace_back("Authorization", auth);
  req.body = {reinterpret_cast<const char*>(data), size};

  auto res = w.api->handle(req);
  if (req.method == "HEAD") {
    // The GET's answer without its body (RFC 9110 9.3.2): same status, the GET body's length.
    if (!res.body.empty()) std::abort();
    systask::api::request get = req;
    get.method = "GET";
    auto got = w.api->handle(get);
    if (got.status != res.status || got.headers != res.headers) std::abort();
    const bool bodiless = res.status == 204 || res.status == 304;
    if (bodiless && res.head_content_length) std::abort();
    // A route without GET answers HEAD with a 405 of its own ("Method \"HEAD\" not allowed.").
    if (!bodiless && res.status != 405 && res.head_content_length != got.body.size()) std::abort();
    if (!bodiless && !res.head_content_length) std::abort();
    res = std::move(got);
  } else if (res.head_content_length) {
    std::abort();  // set for HEAD only
  }
  if (req.path == "/ui" || req.path.starts_with("/ui/")) {
    // The status page's files (HTML, CSS, JS; a redirect; a 304): not JSON, not in the schema.
    static const std::set<int> page = {200, 301, 304, 404, 405};
    if (!page.count(res.status)) std::abort();
    return 0;
  }
  static const std::set<int> allowed = {200, 204, 400, 403, 404, 405, 500};
  if (!allowed.count(res.status)) std::abort();
  if (res.status == 204) {
    if (!res.body.empty()) std::abort();
    return 0;
  }
  if (req.path == "/metrics" && res.status == 200) return 0;
  const char* def = "GenericError";
  if (res.status == 400) {
    def = "ValidationError";
  } else if (res.status == 200 && (path.starts_with("/api/v3/tasks/") || path.starts_with("/api/v3/systask/"))) {
    if (path == "/api/v3/tasks/tasks/") def = "PaginatedTaskList";
    else if (path == "/api/v3/tasks/tasks/status/") def = "GlobalTaskStatus";
    else if (path == "/api/v3/tasks/workers") def = "WorkerList";
    else if (path == "/api/v3/tasks/schedules/") def = "PaginatedScheduleList";
    else if (path == "/api/v3/systask/providers/") def = "ProviderList";
    else if (path.starts_with("/api/v3/tasks/schedules/")) def = "Schedule";
    else def = "Task";
  } else if (res.status == 200) {
    if (path.ends_with("/sync/status/")) def = "SyncStatus";
    else if (path.ends_with("/sync/object/")) def = "SyncObjectResult";
    else if (path == "/api/v3/events/system_tasks/") def = "PaginatedSystemTaskList";
    else def = "SystemTask";
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(res.body.c_str(), res.body.size());
  if (doc.HasParseError()) std::abort();
  rapidjson::SchemaValidator v(*w.schemas[def]);
  if (!doc.Accept(v)) std::abort();
  return 0;
}
