// SPDX-License-Identifier: BSL-1.0
#pragma once

// The bodies of authentik 2025's task API (`@goauthentik/api@2025.10.4`: Task, Schedule, Worker,
// GlobalTaskStatus, PaginatedTaskList, PaginatedScheduleList) and of systask's own provider list,
// as plain structs written by the same describe-driven writer as the 2024 bodies (wire.hpp).
// Members are named exactly as their JSON keys, in the model's order. Private to the api library.

#include "wire.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace systask::api {

/// authentik's `StateEnum` (a Dramatiq message's state). systask writes `running` and `done`
/// only (docs/api.md says why no run is `rejected`); every value is a valid filter.
enum class task_state : unsigned char { queued, consumed, preprocess, running, postprocess, rejected, done };
BOOST_DESCRIBE_ENUM(task_state, queued, consumed, preprocess, running, postprocess, rejected, done)

/// authentik's `TaskAggregatedStatusEnum` (also `LastTaskStatusEnum`): the state unless it is
/// `done`, else the worst level among the messages (error > warning > info > done).
enum class aggregated_status : unsigned char {
  queued,
  consumed,
  preprocess,
  running,
  postprocess,
  rejected,
  done,
  info,
  warning,
  error
};
BOOST_DESCRIBE_ENUM(aggregated_status, queued, consumed, preprocess, running, postprocess, rejected, done, info, warning,
                    error)

/// An empty JSON object (`autocomplete` of the paginated lists).
struct empty_object {};
BOOST_DESCRIBE_STRUCT(empty_object, (), ())

/// A list of LogEvents that is always empty (`previous_logs`: systask never retries a message).
struct empty_list {};

/// One run as authentik 2025's `Task`.
struct task_2025 {
  std::string_view message_id;
  std::string_view queue_name = "default";
  std::string_view actor_name;
  task_state state = task_state::done;
  timestamp mtime;
  std::uint64_t retries = 0;
  std::optional<timestamp> eta;
  std::string rel_obj_app_label;
  std::string rel_obj_model;
  std::optional<std::string> rel_obj_id;
  std::string_view uid;
  message_list logs;
  empty_list previous_logs;
  api::aggregated_status aggregated_status = api::aggregated_status::done;
  std::optional<std::string_view> description;
};
BOOST_DESCRIBE_STRUCT(task_2025, (),
                      (message_id, queue_name, actor_name, state, mtime, retries, eta, rel_obj_app_label, rel_obj_model,
                       rel_obj_id, uid, logs, previous_logs, aggregated_status, description))

/// `GET /tasks/tasks/`.
struct paginated_task_list {
  api::pagination pagination;
  std::vector<task_2025> results;
  empty_object autocomplete;
};
BOOST_DESCRIBE_STRUCT(paginated_task_list, (), (pagination, results, autocomplete))

/// `GET /tasks/tasks/status/` (authentik `GlobalTaskStatus`): tasks per aggregated status.
struct global_task_status {
  std::uint64_t queued = 0;
  std::uint64_t consumed = 0;
  std::uint64_t preprocess = 0;
  std::uint64_t running = 0;
  std::uint64_t postprocess = 0;
  std::uint64_t rejected = 0;
  std::uint64_t done = 0;
  std::uint64_t info = 0;
  std::uint64_t warning = 0;
  std::uint64_t error = 0;
};
BOOST_DESCRIBE_STRUCT(global_task_status, (),
                      (queued, consumed, preprocess, running, postprocess, rejected, done, info, warning, error))

/// One schedule as authentik 2025's `Schedule`, plus systask's `interval` (seconds; 0 for a
/// crontab schedule, whose `crontab` is then ""). Owns its texts.
struct schedule_2025 {
  std::string id;
  std::optional<std::string> identifier;
  std::string uid;
  std::string actor_name;
  std::string rel_obj_app_label;
  std::string rel_obj_model;
  std::optional<std::string> rel_obj_id;
  std::string crontab;
  bool paused = false;
  timestamp next_run;
  std::optional<std::string> description;
  std::optional<aggregated_status> last_task_status;
  std::int64_t interval = 0;
};
BOOST_DESCRIBE_STRUCT(schedule_2025, (),
                      (id, identifier, uid, actor_name, rel_obj_app_label, rel_obj_model, rel_obj_id, crontab, paused,
                       next_run, description, last_task_status, interval))

/// `GET /tasks/schedules/`.
struct paginated_schedule_list {
  api::pagination pagination;
  std::vector<schedule_2025> results;
  empty_object autocomplete;
};
BOOST_DESCRIBE_STRUCT(paginated_schedule_list, (), (pagination, results, autocomplete))

/// One element of `GET /tasks/workers` (authentik `Worker`).
struct worker_2025 {
  std::string worker_id;
  std::string_view version;
  bool version_matching = true;
};
BOOST_DESCRIBE_STRUCT(worker_2025, (), (worker_id, version, version_matching))

/// One provider in systask's own `GET /systask/providers/`.
struct provider_entry {
  std::string kind;
  std::int64_t id = 0;
  std::string name;
  std::string sync_task;
  std::string uid;
  std::string rel_obj_app_label;
  std::string rel_obj_model;
  bool is_running = false;
  std::optional<sync_outcome> last_sync_status;
  std::optional<timestamp> last_sync;
  std::optional<timestamp> last_successful_sync;
  std::optional<std::string> schedule_id;
};
BOOST_DESCRIBE_STRUCT(provider_entry, (),
                      (kind, id, name, sync_task, uid, rel_obj_app_label, rel_obj_model, is_running, last_sync_status,
                       last_sync, last_successful_sync, schedule_id))

/// `GET /systask/providers/`.
struct provider_list {
  std::vector<provider_entry> results;
};
BOOST_DESCRIBE_STRUCT(provider_list, (), (results))

/// authentik's content type (Django app label and model) of a provider kind's model: the three
/// kinds systask knows, else ("systask", kind) (a view of `kind`).
struct content_type {
  std::string_view app_label;
  std::string_view model;
};
content_type content_type_of(std::string_view kind) noexcept;

}  // namespace systask::api
