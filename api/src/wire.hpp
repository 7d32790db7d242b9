// SPDX-License-Identifier: BSL-1.0
#pragma once

// The JSON bodies of the contract as plain structs, members named exactly as their JSON keys
// and in the contract's order. One generic, describe-driven writer (json_writer.hpp) serializes
// them; nothing here depends on RapidJSON. Private to the api library (not installed): hosts
// see only the facade's request and response.

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/record.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace systask::api {

/// A wall-clock time written as RFC 3339 UTC with microseconds.
struct timestamp {
  wall_time value;
};

/// A member whose key is left out when it has no value (never written as null).
template <class T>
struct omittable {
  std::optional<T> value;
};

/// `name` or `name:uid`, written without building a string.
struct full_name {
  std::string_view name;
  std::string_view uid;
};

/// A run's messages: its stored, pre-rendered LogEvent fragments, spliced in raw.
struct message_list {
  const task_record* record = nullptr;
};

/// Pre-rendered LogEvents (e.g. from a sync-object handler), spliced in raw.
struct raw_log_events {
  const std::vector<std::string>* events = nullptr;
};

/// One run (authentik `SystemTask`).
struct system_task {
  std::string_view uuid;
  std::string_view name;
  api::full_name full_name;
  omittable<std::string_view> uid;
  std::string_view description;
  timestamp start_timestamp;
  timestamp finish_timestamp;
  double duration = 0;
  task_status status = task_status::unknown;
  message_list messages;
  std::optional<timestamp> expires;
  bool expiring = false;
};
BOOST_DESCRIBE_STRUCT(system_task, (),
                      (uuid, name, full_name, uid, description, start_timestamp, finish_timestamp, duration, status,
                       messages, expires, expiring))

/// `GET /providers/{kind}/{id}/sync/status/` (authentik `SyncStatus`, 2024.10 and 2025.8 keys).
struct sync_status_body {
  bool is_running = false;
  std::vector<system_task> tasks;
  omittable<timestamp> last_successful_sync;
  omittable<sync_outcome> last_sync_status;
};
BOOST_DESCRIBE_STRUCT(sync_status_body, (), (is_running, tasks, last_successful_sync, last_sync_status))

/// authentik's pagination block; `next` and `previous` are page numbers, 0 for none.
struct pagination {
  std::uint64_t next = 0;
  std::uint64_t previous = 0;
  std::uint64_t count = 0;
  std::uint64_t current = 1;
  std::uint64_t total_pages = 1;
  std::uint64_t start_index = 0;
  std::uint64_t end_index = 0;
};
BOOST_DESCRIBE_STRUCT(pagination, (), (next, previous, count, current, total_pages, start_index, end_index))

/// `GET /events/system_tasks/`.
struct paginated_system_task_list {
  api::pagination pagination;
  std::vector<system_task> results;
};
BOOST_DESCRIBE_STRUCT(paginated_system_task_list, (), (pagination, results))

/// `POST /providers/{kind}/{id}/sync/object/`.
struct sync_object_result {
  raw_log_events messages;
};
BOOST_DESCRIBE_STRUCT(sync_object_result, (), (messages))

/// `{"detail": ..., "code": ...}` (403, 404, 405, 500).
struct generic_error {
  std::string detail;
  std::string code;
};
BOOST_DESCRIBE_STRUCT(generic_error, (), (detail, code))

/// `{"<field>": ["message", ...], ...}` (400); fields in the order added.
struct validation_error {
  std::vector<std::pair<std::string, std::vector<std::string>>> fields;
  void add(std::string field, std::string message);
  bool empty() const noexcept { return fields.empty(); }
};

/// The wire view of one task record (borrows from it: keep the record alive while writing).
system_task to_wire(const task_record& record);

}  // namespace systask::api
