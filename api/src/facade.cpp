// SPDX-License-Identifier: BSL-1.0
#include <systask/api/facade.hpp>

#include "query.hpp"
#include "json_body.hpp"
#include "responses.hpp"
#include "router.hpp"
#include "task_list.hpp"
#include "tasks_api.hpp"
#include "ui.hpp"

#include <systask/engine/render.hpp>

#include <rapidjson/document.h>

#include <unistd.h>

#include <array>
#include <limits>
#include <string>

namespace systask::api {

using namespace detail;

request request::from_target(std::string_view method, std::string_view target) {
  request r;
  r.method = method;
  const std::size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  return r;
}

namespace {
// ASCII only, as HTTP field names and auth schemes are; std::tolower would consult the locale
// per byte (it showed in the status path's profile).
constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
}  // namespace

std::string_view request::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers) {
    if (key.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < key.size() && same; ++i) same = ascii_lower(key[i]) == ascii_lower(name[i]);
    if (same) return value;
  }
  return {};
}

void sync_object_log::log(log_level level, std::string_view logger, std::string_view event,
                          std::initializer_list<attribute> attrs) {
  log(level, logger, event, attributes{attrs.begin(), attrs.size()});
}

void sync_object_log::log(log_level level, std::string_view logger, std::string_view event, attributes attrs) {
  events_.push_back(render_log_event(clock_->wall_now(), level, logger, event, attrs));
}

facade::facade(registry& reg, facade_options options) : registry_(&reg), options_(std::move(options)) {
  if (options_.worker_id.empty()) {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    options_.worker_id = std::string(host.data()) + ":" + std::to_string(::getpid());
  }
}

namespace {

// "Bearer <token>" -> token; "" for a missing or malformed header.
std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (ascii_lower(authorization[i]) != scheme[i]) return {};
  }
  std::string_view token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.find_first_of(" \t\r\n") != std::string_view::npos) return {};
  return token;
}

response sync_status(const registry& reg, const principal& who, const matched_route& m, const query_params& q) {
  if (!who.can(permission::view_provider)) return permission_denied();
  const auto id = parse_positive_id(m.id);
  if (!id) return not_found();
  // One registry lookup serves both the 404 and the body; an invalid include_running (400) is
  // reported only once the provider is known to exist, as the contract orders them.
  std::optional<bool> include_running = false;
  if (const auto* v = q.last("include_running")) include_running = parse_bool(*v);
  const auto st = reg.sync_status(m.kind, *id, include_running.value_or(false));
  if (!st) return not_found();
  if (!include_running) {
    validation_error e;
    e.add("include_running", "Must be a valid boolean.");
    return json_response(400, e);
  }
  sync_status_body body;
  body.is_running = st->is_running;
  // Without view_systemtask the caller sees whether a sync runs, not what it logged.
  if (who.can(permission::view_systemtask)) {
    for (const auto& t : st->tasks) body.tasks.push_back(to_wire(t));
  }
  if (st->last_successful_sync) body.last_successful_sync.value = timestamp{*st->last_successful_sync};
  if (st->last_sync_status) body.last_sync_status.value = *st->last_sync_status;
  return json_response(200, body);
}

response metrics_response(const registry& reg) {
  response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = render_metrics(reg);
  return r;
}

response task_list(const registry& reg, const principal& who, const query_params& q) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  validation_error errors;
  bool bad_page = false;
  const auto query = parse_task_list_query(q, errors, bad_page);
  if (!errors.empty()) return json_response(400, errors);
  if (bad_page) return invalid_page();
  // Ordered by finish time alone, filtered by status at most: the engine's index answers it,
  // without visiting every task key.
  if (!query.name && !query.uid && query.search.empty() && query.ordering.size() == 1 &&
      query.ordering.front().first == task_field::finish_timestamp) {
    // A page whose first record lies past any count a registry can hold is past the last page.
    if (query.page - 1 > (std::numeric_limits<std::size_t>::max() - query.page_size) / query.page_size) {
      return invalid_page();
    }
    const auto found = reg.list_tasks_by_finish(query.status, query.ordering.front().second,
                                                (query.page - 1) * query.page_size, query.page_size);
    const auto cut = paginate(found.total, query.page, query.page_size);
    if (!cut) return invalid_page();
    paginated_system_task_list page;
    page.results.reserve(found.records.size());
    for (const auto& r : found.records) page.results.push_back(to_wire(r));
    page.pagination = cut->block;
    return json_response(200, page);
  }
  // Otherwise the engine filters by name, uid and status in place; apply() does the rest
  // (search, ordering, the page).
  registry::task_filter filter;
  if (query.name) filter.name = *query.name;
  if (query.uid) filter.uid = *query.uid;
  filter.status = query.status;
  auto records = reg.list_tasks(filter);
  const auto page = apply(query, records);
  if (!page) return invalid_page();
  return json_response(200, *page);
}

response task_retrieve(const registry& reg, const principal& who, const matched_route& m) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  const auto uuid = parse_uuid(m.id);
  if (!uuid) return not_found();
  const auto record = reg.find_task(*uuid);
  if (!record) return not_found();
  return json_response(200, to_wire(*record));
}

response task_run(registry& reg, const principal& who, const matched_route& m) {
  if (!who.can(permission::run_task)) return permission_denied();
  const auto uuid = parse_uuid(m.id);
  if (!uuid) return not_found();
  const auto record = reg.find_task(*uuid);
  if (!record) return not_found();
  if (!reg.trigger(record->name(), record->uid())) {
    return error_response(500, "No runner is registered for task \"" + std::string(record->name()) + "\".",
                          "no_runner");
  }
  response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

response sync_object(const registry& reg, const facade_options& options, const principal& who, const matched_route& m,
                     std::string_view body) {
  if (!who.can(permission::sync_object)) return permission_denied();
  const auto id = parse_positive_id(m.id);
  const auto provider = id ? reg.find_provider(m.kind, *id) : std::nullopt;
  if (!provider) return not_found();

  rapidjson::Document doc;
  if (auto bad = parse_json_object(body, doc)) return std::move(*bad);
  validation_error errors;
  sync_object_request req{*provider, {}, {}, false};
  constexpr std::array<std::string_view, 2> models = {"authentik.core.models.User", "authentik.core.models.Group"};
  auto member = [&](const char* name) { return detail::member(doc, name); };
  if (const auto* v = member("sync_object_model"); !v || v->IsNull()) {
    errors.add("sync_object_model", "This field is required.");
  } else if (!v->IsString() || std::find(models.begin(), models.end(),
                                         std::string_view(v->GetString(), v->GetStringLength())) == models.end()) {
    const std::string shown = v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string("value");
    errors.add("sync_object_model", "\"" + shown + "\" is not a valid choice.");
  } else {
    req.sync_object_model.assign(v->GetString(), v->GetStringLength());
  }
  if (const auto* v = member("sync_object_id"); !v || v->IsNull()) {
    errors.add("sync_object_id", "This field is required.");
  } else if (!v->IsString()) {
    errors.add("sync_object_id", "Not a valid string.");
  } else if (v->GetStringLength() == 0) {
    errors.add("sync_object_id", "This field may not be blank.");
  } else {
    req.sync_object_id.assign(v->GetString(), v->GetStringLength());
  }
  if (const auto* v = member("override_dry_run")) {
    if (!v->IsBool()) {
      errors.add("override_dry_run", "Must be a valid boolean.");
    } else {
      req.override_dry_run = v->GetBool();
    }
  }
  if (!errors.empty()) return json_response(400, errors);

  sync_object_log log(*reg.options().clock);
  const auto handler = options.sync_object_handlers.find(m.kind);
  if (handler == options.sync_object_handlers.end() || !handler->second) {
    log.log(log_level::error, "systask", "No sync-object handler is registered for this provider kind",
            {{"kind", m.kind}});
  } else {
    try {
      handler->second(req, log);
    } catch (const std::exception& e) {
      log.log(log_level::error, "systask", e.what(), {{"sync_object_id", req.sync_object_id}});
    } catch (...) {
      log.log(log_level::error, "systask", "unknown exception", {{"sync_object_id", req.sync_object_id}});
    }
  }
  return json_response(200, sync_object_result{{&log.events()}});
}

}  // namespace

response facade::handle(const request& req) const noexcept {
  if (req.method != "HEAD") return answer(req);
  // HEAD: the GET's answer, status and headers, without its body (Django's rule).
  response r = answer(req);
  // A 304 (an If-None-Match that matched) has no body and may carry only the 200's length
  // (RFC 9110 8.6): better none than a 0 that contradicts it.
  if (r.status != 304 && r.status != 204 && r.status >= 200) r.head_content_length = r.body.size();
  r.body.clear();
  return r;
}

response facade::answer(const request& req) const noexcept {
  try {
    // The page's files need no token (docs/ui.md): answered before authentication.
    if (options_.ui) {
      if (auto page = serve_ui(req)) return std::move(*page);
    }
    path_segments segments;
    const auto m = match_route(req.method, req.path, segments);
    if (!m) return not_found();

    if (m->which == route::metrics && options_.metrics_public) {
      if (!m->method_allowed) return method_not_allowed(req.method, m->allow);
      return metrics_response(*registry_);
    }

    // 1. Authentication.
    const std::string_view token = bearer_token(req.header("authorization"));
    std::optional<principal> who;
    if (!token.empty() && options_.tokens) who = options_.tokens->authenticate(token);
    if (!who) return not_authenticated();

    // A known path with another method (after authentication, so probing needs a token).
    if (!m->method_allowed) return method_not_allowed(req.method, m->allow);

    // 2. Permission, 3. lookup and 4. validation happen in each route, in that order.
    const query_params q(req.query);
    switch (m->which) {
      case route::sync_status: return sync_status(*registry_, *who, *m, q);
      case route::sync_object: return sync_object(*registry_, options_, *who, *m, req.body);
      case route::task_list: return task_list(*registry_, *who, q);
      case route::task_retrieve: return task_retrieve(*registry_, *who, *m);
      case route::task_run: return task_run(*registry_, *who, *m);
      case route::metrics: return metrics_response(*registry_);
      case route::provider_list: return provider_list_route(*registry_, options_, *who);
      case route::schedule_list: return schedule_list_route(*registry_, options_, *who, q);
      case route::schedule_retrieve: return schedule_retrieve_route(*registry_, options_, *who, *m);
      case route::schedule_update: return schedule_update_route(*registry_, options_, *who, *m, req.body);
      case route::schedule_send: return schedule_send_route(options_, *who, *m);
      case route::tasks_list: return tasks_list_route(*registry_, *who, q);
      case route::tasks_status: return tasks_status_route(*registry_, *who);
      case route::tasks_retrieve: return tasks_retrieve_route(*registry_, *who, *m);
      case route::tasks_retry: return tasks_retry_route(*registry_, *who, *m);
      case route::workers_list: return workers_route(*who, options_.worker_id);
    }
    return not_found();
  } catch (...) {
    // Anything thrown above, out-of-memory included: a 500 that needs no memory of its own.
    return last_resort_error();
  }
}

}  // namespace systask::api
