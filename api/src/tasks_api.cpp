// SPDX-License-Identifier: BSL-1.0
#include "tasks_api.hpp"

#include "json_body.hpp"
#include "responses.hpp"
#include "task_list.hpp"

#include <systask/engine/schedule.hpp>
#include <systask/engine/version.hpp>

#include <rapidjson/document.h>

#include <algorithm>
#include <string>
#include <unordered_set>

namespace systask::api {

content_type content_type_of(std::string_view kind) noexcept {
  // authentik's Django app labels (each provider app's AppConfig.label) and model names (the
  // model class name lower-cased, as Django's ContentType stores it).
  if (kind == "google_workspace") return {"authentik_providers_google_workspace", "googleworkspaceprovider"};
  if (kind == "microsoft_entra") return {"authentik_providers_microsoft_entra", "microsoftentraprovider"};
  if (kind == "scim") return {"authentik_providers_scim", "scimprovider"};
  return {"systask", kind};
}

namespace detail {

// `previous_logs`: always `[]`.
inline void write(json_writer& w, const empty_list&) {
  w.check(w.StartArray());
  w.check(w.EndArray());
}

namespace {

// The level byte of a compact message (docs/engine.md, "The compact message format").
constexpr std::size_t compact_level_offset = 8;

aggregated_status worse(aggregated_status a, aggregated_status b) noexcept {
  // done < info < warning < error, the order of the enum's last four values.
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

aggregated_status aggregated_of_level(log_level l) noexcept {
  switch (l) {
    case log_level::critical:
    case log_level::exception:
    case log_level::error: return aggregated_status::error;
    case log_level::warn:
    case log_level::warning: return aggregated_status::warning;
    case log_level::info: return aggregated_status::info;
    case log_level::debug:
    case log_level::notset: return aggregated_status::done;
  }
  return aggregated_status::done;
}

aggregated_status aggregated_of_status(task_status s) noexcept {
  switch (s) {
    case task_status::error: return aggregated_status::error;
    case task_status::warning: return aggregated_status::warning;
    case task_status::successful:
    case task_status::unknown: return aggregated_status::done;
  }
  return aggregated_status::done;
}

// A schedule's `last_task_status`: null before its first run, `running` while its last run
// goes, else the aggregated status of that run's record, or (once the record has expired) of
// the status the scheduler saw it end with.
std::optional<aggregated_status> last_task_status(const registry& reg, const schedule_info& s) {
  if (!s.last_run) return std::nullopt;
  if (!s.last_run->finished) return aggregated_status::running;
  if (const auto record = reg.find_task(s.last_run->uuid); record && !record->running()) return aggregated_of(*record);
  return aggregated_of_status(s.last_run->status);
}

schedule_2025 to_wire(const registry& reg, const schedule_info& s) {
  schedule_2025 out;
  out.id = s.id;
  if (!s.identifier.empty()) out.identifier = s.identifier;
  out.uid = s.run.uid;
  out.actor_name = s.run.name;
  if (s.run.provider) {
    const auto ct = content_type_of(s.run.provider->kind);
    out.rel_obj_app_label = ct.app_label;
    out.rel_obj_model = ct.model;
    out.rel_obj_id = std::to_string(s.run.provider->id);
  }
  out.crontab = s.crontab;
  out.paused = s.paused;
  out.next_run = {s.next_run};
  if (!s.run.description.empty()) out.description = s.run.description;
  out.last_task_status = last_task_status(reg, s);
  out.interval = s.interval.count();
  return out;
}

// Whether the schedule's wire form passes the list's filters (authentik's ScheduleViewSet
// filterset: actor_name, paused, rel_obj_content_type__app_label, rel_obj_content_type__model,
// rel_obj_id, rel_obj_id__isnull, and search over actor name, identifier and description).
struct schedule_filter {
  const std::string* actor_name = nullptr;
  std::optional<bool> paused;
  const std::string* app_label = nullptr;
  const std::string* model = nullptr;
  const std::string* rel_obj_id = nullptr;
  std::optional<bool> rel_obj_id_isnull;
  std::string search;  // folded to lower case
};

char fold(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool contains_folded(std::string_view haystack, std::string_view folded_needle) {
  if (folded_needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + folded_needle.size() <= haystack.size(); ++i) {
    std::size_t k = 0;
    while (k < folded_needle.size() && fold(haystack[i + k]) == folded_needle[k]) ++k;
    if (k == folded_needle.size()) return true;
  }
  return false;
}

bool passes(const schedule_filter& f, const schedule_2025& s) {
  if (f.actor_name && s.actor_name != *f.actor_name) return false;
  if (f.paused && s.paused != *f.paused) return false;
  if (f.app_label && s.rel_obj_app_label != *f.app_label) return false;
  if (f.model && s.rel_obj_model != *f.model) return false;
  if (f.rel_obj_id && s.rel_obj_id != *f.rel_obj_id) return false;
  if (f.rel_obj_id_isnull && s.rel_obj_id.has_value() == *f.rel_obj_id_isnull) return false;
  if (!f.search.empty() && !contains_folded(s.actor_name, f.search) &&
      !contains_folded(s.identifier.value_or(std::string()), f.search) &&
      !contains_folded(s.description.value_or(std::string()), f.search)) {
    return false;
  }
  return true;
}

// A boolean query parameter, DRF's words; a bad one is a 400 on `name`.
std::optional<bool> bool_param(const query_params& q, const char* name, validation_error& errors) {
  const auto* v = q.last(name);
  if (!v) return std::nullopt;
  const auto b = parse_bool(*v);
  if (!b) errors.add(name, "Select a valid choice. " + *v + " is not one of the available choices.");
  return b;
}

enum class schedule_field { actor_name, identifier, next_run, paused, rel_obj_id };
constexpr std::pair<std::string_view, schedule_field> schedule_ordering_fields[] = {
    {"actor_name", schedule_field::actor_name}, {"identifier", schedule_field::identifier},
    {"next_run", schedule_field::next_run},     {"paused", schedule_field::paused},
    {"rel_obj_id", schedule_field::rel_obj_id},
};

int compare(const schedule_2025& a, const schedule_2025& b, schedule_field f) {
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (f) {
    case schedule_field::actor_name: return cmp(a.actor_name, b.actor_name);
    case schedule_field::identifier: return cmp(a.identifier, b.identifier);
    case schedule_field::next_run: return cmp(a.next_run.value, b.next_run.value);
    case schedule_field::paused: return cmp(a.paused, b.paused);
    case schedule_field::rel_obj_id: return cmp(a.rel_obj_id, b.rel_obj_id);
  }
  return 0;
}

std::optional<schedule_info> find_schedule(const facade_options& options, std::string_view id) {
  if (!options.schedules) return std::nullopt;
  return options.schedules->find(id);
}

// One run of the task list with what its filters and ordering read, computed once.
struct task_row {
  const task_record* record = nullptr;
  task_state state = task_state::done;
  aggregated_status aggregated = aggregated_status::done;
  std::string app_label, model;
  std::optional<std::string> rel_obj_id;
};

// Every run a 2025 client sees: the running ones and the finished, unexpired ones, each once.
// The "has not been run yet" placeholders are not runs (authentik 2025 has no such rows).
std::vector<task_record> visible_runs(const registry& reg) {
  std::vector<task_record> running;
  for (const auto& c : reg.counters()) {
    if (c.running == 0 && c.running_elsewhere == 0) continue;
    for (auto& r : reg.tasks(c.name, c.uid, true)) {
      if (r.running()) running.push_back(std::move(r));
    }
  }
  // Read after the running ones: a run that finished in between is in both, and is kept finished.
  std::vector<task_record> out = reg.list_tasks();
  std::erase_if(out, [](const task_record& r) { return r.prefilled(); });
  std::unordered_set<std::string_view> finished;
  for (const auto& r : out) finished.insert(r.uuid());
  for (auto& r : running) {
    if (!finished.contains(r.uuid())) out.push_back(std::move(r));
  }
  return out;
}

task_row row_of(const task_record& r) {
  task_row row;
  row.record = &r;
  row.state = r.running() ? task_state::running : task_state::done;
  row.aggregated = aggregated_of(r);
  if (const auto p = r.provider()) {
    const auto ct = content_type_of(p->kind);
    row.app_label = ct.app_label;
    row.model = ct.model;
    row.rel_obj_id = std::to_string(p->id);
  }
  return row;
}

task_2025 to_wire(const task_row& row) {
  const task_record& r = *row.record;
  task_2025 t;
  t.message_id = r.uuid();
  t.actor_name = r.name();
  t.state = row.state;
  // A Dramatiq message's mtime moves with its state: the start while running, then the finish.
  t.mtime = {r.running() ? r.start_time() : r.finish_time()};
  t.rel_obj_app_label = row.app_label;
  t.rel_obj_model = row.model;
  t.rel_obj_id = row.rel_obj_id;
  t.uid = r.uid();
  t.logs = {&r};
  t.aggregated_status = row.aggregated;
  if (!r.description().empty()) t.description = r.description();
  return t;
}

enum class run_field { message_id, queue_name, actor_name, state, mtime, aggregated_status };
constexpr std::pair<std::string_view, run_field> task_ordering_fields[] = {
    {"message_id", run_field::message_id}, {"queue_name", run_field::queue_name},
    {"actor_name", run_field::actor_name}, {"state", run_field::state},
    {"mtime", run_field::mtime},           {"aggregated_status", run_field::aggregated_status},
};

wall_time mtime_of(const task_row& row) {
  return row.record->running() ? row.record->start_time() : row.record->finish_time();
}

int compare(const task_row& a, const task_row& b, run_field f) {
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (f) {
    case run_field::message_id: return cmp(a.record->uuid(), b.record->uuid());
    case run_field::queue_name: return 0;  // one queue
    case run_field::actor_name: return cmp(a.record->name(), b.record->name());
    // As the database orders these text columns: by their names.
    case run_field::state: return cmp(to_string(a.state), to_string(b.state));
    case run_field::mtime: return cmp(mtime_of(a), mtime_of(b));
    case run_field::aggregated_status: return cmp(to_string(a.aggregated), to_string(b.aggregated));
  }
  return 0;
}

}  // namespace

aggregated_status aggregated_of(const task_record& r) {
  if (r.running()) return aggregated_status::running;
  aggregated_status worst = aggregated_of_status(r.status());
  if (r.messages_dropped() > 0) worst = worse(worst, aggregated_status::warning);  // the loss marker
  r.for_each_message(0, [&](std::uint64_t, std::string_view compact) {
    if (compact.size() <= compact_level_offset) return;
    const auto level = static_cast<unsigned char>(compact[compact_level_offset]);
    if (level < 8) worst = worse(worst, aggregated_of_level(static_cast<log_level>(level)));
  });
  return worst;
}

response provider_list_route(const registry& reg, const facade_options& options, const principal& who) {
  if (!who.can(permission::view_provider)) return permission_denied();
  std::vector<schedule_info> schedules;
  if (options.schedules) schedules = options.schedules->list();
  provider_list body;
  for (auto& p : reg.providers()) {
    provider_entry e;
    const auto ct = content_type_of(p.provider.kind);
    e.rel_obj_app_label = ct.app_label;
    e.rel_obj_model = ct.model;
    e.kind = p.provider.kind;
    e.id = p.provider.id;
    e.name = p.provider.name;
    e.sync_task = p.provider.task_name;
    e.uid = p.provider.uid;
    e.is_running = p.sync_running;
    e.last_sync_status = p.last_sync_status;
    if (p.last_successful_sync) e.last_successful_sync = timestamp{*p.last_successful_sync};
    // The newest retained finished sync (nullopt once every record of it has expired).
    if (const auto st = reg.sync_status(p.provider.kind, p.provider.id, false); st && !st->tasks.empty()) {
      const auto& newest = st->tasks.front();
      if (!newest.prefilled()) e.last_sync = timestamp{newest.finish_time()};
    }
    for (const auto& s : schedules) {
      if (s.run.provider && s.run.provider->kind == p.provider.kind && s.run.provider->id == p.provider.id) {
        e.schedule_id = s.id;
        break;
      }
    }
    body.results.push_back(std::move(e));
  }
  std::sort(body.results.begin(), body.results.end(),
            [](const provider_entry& a, const provider_entry& b) { return std::tie(a.kind, a.id) < std::tie(b.kind, b.id);
            });
  return json_response(200, body);
}

response schedule_list_route(const registry& reg, const facade_options& options, const principal& who,
                             const query_params& q) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  validation_error errors;
  schedule_filter f;
  f.actor_name = q.last("actor_name");
  f.paused = bool_param(q, "paused", errors);
  f.app_label = q.last("rel_obj_content_type__app_label");
  f.model = q.last("rel_obj_content_type__model");
  f.rel_obj_id = q.last("rel_obj_id");
  f.rel_obj_id_isnull = bool_param(q, "rel_obj_id__isnull", errors);
  if (const auto* v = q.last("search")) {
    for (char c : *v) f.search.push_back(fold(c));
  }
  const auto ordering = parse_ordering(q, schedule_ordering_fields, errors);
  bool bad_page = false;
  std::uint64_t page = 1, page_size = 100;
  parse_page_params(q, errors, bad_page, page, page_size);
  if (!errors.empty()) return json_response(400, errors);
  if (bad_page) return invalid_page();

  std::vector<schedule_2025> all;
  if (options.schedules) {
    for (const auto& s : options.schedules->list()) {
      auto w = to_wire(reg, s);
      if (passes(f, w)) all.push_back(std::move(w));
    }
  }
  // Without an ordering, the order the host added them in (stable across refreshes).
  std::stable_sort(all.begin(), all.end(), [&](const schedule_2025& a, const schedule_2025& b) {
    for (const auto& [field, desc] : ordering) {
      const int c = compare(a, b, field);
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    return false;
  });
  const auto cut = paginate(all.size(), page, page_size);
  if (!cut) return invalid_page();
  paginated_schedule_list body;
  body.pagination = cut->block;
  for (std::uint64_t i = cut->first; i < cut->last; ++i) body.results.push_back(std::move(all[i]));
  return json_response(200, body);
}

response schedule_retrieve_route(const registry& reg, const facade_options& options, const principal& who,
                                 const matched_route& m) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  const auto s = find_schedule(options, m.id);
  if (!s) return not_found();
  return json_response(200, to_wire(reg, *s));
}

response schedule_update_route(const registry& reg, const facade_options& options, const principal& who,
                               const matched_route& m, std::string_view body) {
  if (!who.can(permission::run_task)) return permission_denied();
  const auto s = find_schedule(options, m.id);
  if (!s) return not_found();

  rapidjson::Document doc;
  if (auto bad = parse_json_object(body, doc)) return std::move(*bad);
  validation_error errors;
  auto member = [&](const char* name) { return detail::member(doc, name); };
  std::optional<bool> paused;
  if (const auto* v = member("paused")) {
    if (v->IsBool()) {
      paused = v->GetBool();
    } else if (v->IsString()) {
      paused = parse_bool(std::string_view(v->GetString(), v->GetStringLength()));
    } else if (v->IsInt() && (v->GetInt() == 0 || v->GetInt() == 1)) {
      paused = v->GetInt() == 1;
    }
    if (!paused) errors.add("paused", "Must be a valid boolean.");
  }
  // The cadence and the related object are the host's: accepted only unchanged, so that a
  // client sending the whole object back (as authentik's UI does) still works.
  if (const auto* v = member("crontab")) {
    if (!v->IsString() || std::string_view(v->GetString(), v->GetStringLength()) != s->crontab) {
      errors.add("crontab", "systask does not change a schedule's cadence through the API; the host sets it.");
    }
  }
  if (const auto* v = member("rel_obj_id")) {
    const std::string current = s->run.provider ? std::to_string(s->run.provider->id) : std::string();
    const bool same = (v->IsNull() && !s->run.provider) ||
                      (v->IsString() && std::string_view(v->GetString(), v->GetStringLength()) == current &&
                       s->run.provider);
    if (!same) errors.add("rel_obj_id", "systask does not change a schedule's related object.");
  }
  if (!errors.empty()) return json_response(400, errors);
  if (paused && !options.schedules->set_paused(s->id, *paused)) return not_found();  // removed meanwhile
  const auto now = options.schedules->find(s->id);
  if (!now) return not_found();
  return json_response(200, to_wire(reg, *now));
}

response schedule_send_route(const facade_options& options, const principal& who, const matched_route& m) {
  if (!who.can(permission::run_task)) return permission_denied();
  const auto s = find_schedule(options, m.id);
  if (!s) return not_found();
  if (!options.schedules->send_now(s->id)) {
    // Found a moment ago: the scheduler is stopped (or its executor gone), or it was removed.
    if (!options.schedules->find(s->id)) return not_found();
    return error_response(500, "The scheduler is stopped: the schedule cannot be sent.", "scheduler_stopped");
  }
  response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

response tasks_list_route(const registry& reg, const principal& who, const query_params& q) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  validation_error errors;
  const auto* actor_name = q.last("actor_name");
  const auto state = choice_param<task_state>(q, "state", errors);
  const auto aggregated = choice_param<aggregated_status>(q, "aggregated_status", errors);
  const auto* queue_name = q.last("queue_name");
  const auto* app_label = q.last("rel_obj_content_type__app_label");
  const auto* model = q.last("rel_obj_content_type__model");
  const auto* rel_obj_id = q.last("rel_obj_id");
  const auto rel_obj_id_isnull = bool_param(q, "rel_obj_id__isnull", errors);
  std::string search;
  if (const auto* v = q.last("search")) {
    for (char c : *v) search.push_back(fold(c));
  }
  auto ordering = parse_ordering(q, task_ordering_fields, errors);
  bool bad_page = false;
  std::uint64_t page = 1, page_size = 100;
  parse_page_params(q, errors, bad_page, page, page_size);
  if (!errors.empty()) return json_response(400, errors);
  if (bad_page) return invalid_page();
  if (ordering.empty()) ordering.emplace_back(run_field::mtime, true);  // newest first

  const std::vector<task_record> records = visible_runs(reg);
  std::vector<task_row> rows;
  rows.reserve(records.size());
  for (const auto& r : records) {
    if (actor_name && r.name() != *actor_name) continue;
    if (queue_name && *queue_name != "default") continue;
    if (!search.empty() && !contains_folded(r.uuid(), search) && !contains_folded(r.name(), search) &&
        !contains_folded(r.uid(), search) && !contains_folded(r.description(), search)) {
      continue;
    }
    task_row row = row_of(r);
    if (state && row.state != *state) continue;
    if (aggregated && row.aggregated != *aggregated) continue;
    if (app_label && row.app_label != *app_label) continue;
    if (model && row.model != *model) continue;
    if (rel_obj_id && row.rel_obj_id != *rel_obj_id) continue;
    if (rel_obj_id_isnull && row.rel_obj_id.has_value() == *rel_obj_id_isnull) continue;
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [&](const task_row& a, const task_row& b) {
    for (const auto& [field, desc] : ordering) {
      const int c = compare(a, b, field);
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    return a.record->uuid() < b.record->uuid();  // a total order, so pages never overlap
  });
  const auto cut = paginate(rows.size(), page, page_size);
  if (!cut) return invalid_page();
  paginated_task_list body;
  body.pagination = cut->block;
  for (std::uint64_t i = cut->first; i < cut->last; ++i) body.results.push_back(to_wire(rows[i]));
  return json_response(200, body);
}

response tasks_retrieve_route(const registry& reg, const principal& who, const matched_route& m) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  const auto uuid = parse_uuid(m.id);
  if (!uuid) return not_found();
  const auto record = reg.find_task(*uuid);
  if (!record || record->prefilled()) return not_found();
  return json_response(200, to_wire(row_of(*record)));
}

response tasks_retry_route(registry& reg, const principal& who, const matched_route& m) {
  if (!who.can(permission::run_task)) return permission_denied();
  const auto uuid = parse_uuid(m.id);
  if (!uuid) return not_found();
  const auto record = reg.find_task(*uuid);
  if (!record || record->prefilled()) return not_found();
  if (!reg.trigger(record->name(), record->uid())) {
    return error_response(500, "No runner is registered for task \"" + std::string(record->name()) + "\".",
                          "no_runner");
  }
  response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

response tasks_status_route(const registry& reg, const principal& who) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  global_task_status body;
  for (const auto& r : visible_runs(reg)) {
    switch (aggregated_of(r)) {
      case aggregated_status::queued: ++body.queued; break;
      case aggregated_status::consumed: ++body.consumed; break;
      case aggregated_status::preprocess: ++body.preprocess; break;
      case aggregated_status::running: ++body.running; break;
      case aggregated_status::postprocess: ++body.postprocess; break;
      case aggregated_status::rejected: ++body.rejected; break;
      case aggregated_status::done: ++body.done; break;
      case aggregated_status::info: ++body.info; break;
      case aggregated_status::warning: ++body.warning; break;
      case aggregated_status::error: ++body.error; break;
    }
  }
  return json_response(200, body);
}

response workers_route(const principal& who, std::string_view worker_id) {
  if (!who.can(permission::view_systemtask)) return permission_denied();
  // The process that serves the API runs the tasks: one worker, always of this version.
  const std::vector<worker_2025> body = {{std::string(worker_id), version_string, true}};
  return json_response(200, body);
}

}  // namespace detail
}  // namespace systask::api
