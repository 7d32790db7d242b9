// SPDX-License-Identifier: BSL-1.0
#pragma once

// Which route a request path names: the facade's route table and the matcher over it. Private to
// the api library.
//
// Adding a route: add its value to `route`, a row to `api_routes` (method, pattern and the
// `Allow` list of every row with that pattern), and a case to the switch in facade::handle that
// answers it. Several rows may share a pattern, one per method. A pattern is the path after `/api/v3/`,
// one entry per segment, each followed by '/'; `{kind}` matches a provider kind (provider_kinds)
// and captures it, `{id}` and `{uuid}` match any one segment and capture it as `id` (the route's
// handler validates it, answering 404 for a bad one). Literal segments compare with the decoded
// segment. A route outside `/api/v3/` (as `/metrics`), or one without a trailing '/' (as
// `/api/v3/tasks/workers`, the path authentik's client calls), is matched before the table, in
// match_route.

#include <systask/api/facade.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace systask::api::detail {

enum class route {
  // authentik 2024.10
  sync_status,
  sync_object,
  task_list,
  task_retrieve,
  task_run,
  metrics,
  // systask's own
  provider_list,
  // authentik 2025.10 (TasksApi)
  schedule_list,
  schedule_retrieve,
  schedule_update,
  schedule_send,
  tasks_list,
  tasks_status,
  tasks_retrieve,
  tasks_retry,
  workers_list,
};

/// One row of the route table: the route, the one method it serves, its pattern, and the
/// `Allow` header of a 405 on that pattern (every method of the rows sharing it).
struct route_entry {
  route which;
  std::string_view method;
  std::string_view pattern;
  std::string_view allow;
};

/// The routes under `/api/v3/`, tried in order; the first whose every segment and method match
/// wins (so `tasks/tasks/status/` comes before `tasks/tasks/{uuid}/`).
inline constexpr route_entry api_routes[] = {
    {route::sync_status, "GET", "providers/{kind}/{id}/sync/status/", "GET"},
    {route::sync_object, "POST", "providers/{kind}/{id}/sync/object/", "POST"},
    {route::task_list, "GET", "events/system_tasks/", "GET"},
    {route::task_retrieve, "GET", "events/system_tasks/{uuid}/", "GET"},
    {route::task_run, "POST", "events/system_tasks/{uuid}/run/", "POST"},
    {route::provider_list, "GET", "systask/providers/", "GET"},
    {route::schedule_list, "GET", "tasks/schedules/", "GET"},
    {route::schedule_retrieve, "GET", "tasks/schedules/{id}/", "GET, PATCH"},
    {route::schedule_update, "PATCH", "tasks/schedules/{id}/", "GET, PATCH"},
    {route::schedule_send, "POST", "tasks/schedules/{id}/send/", "POST"},
    {route::tasks_list, "GET", "tasks/tasks/", "GET"},
    {route::tasks_status, "GET", "tasks/tasks/status/", "GET"},
    {route::tasks_retrieve, "GET", "tasks/tasks/{uuid}/", "GET"},
    {route::tasks_retry, "POST", "tasks/tasks/{uuid}/retry/", "POST"},
};

/// The most segments any pattern has: a longer path names no route and is not decoded further.
inline constexpr std::size_t max_route_segments = [] {
  std::size_t most = 0;
  for (const auto& r : api_routes) {
    std::size_t n = 0;
    for (char c : r.pattern) n += c == '/';
    most = n > most ? n : most;
  }
  return most;
}();

/// A row of `api_routes` with its pattern split into segments, at compile time.
struct split_route {
  route which;
  std::string_view method;
  std::string_view allow;
  std::array<std::string_view, max_route_segments> segments{};
  std::size_t size = 0;
};

inline constexpr auto split_routes = [] {
  std::array<split_route, std::size(api_routes)> out{};
  for (std::size_t r = 0; r < out.size(); ++r) {
    out[r].which = api_routes[r].which;
    out[r].method = api_routes[r].method;
    out[r].allow = api_routes[r].allow;
    std::string_view p = api_routes[r].pattern;
    while (!p.empty()) {
      const std::size_t slash = p.find('/');
      out[r].segments[out[r].size++] = p.substr(0, slash);
      p.remove_prefix(slash + 1);
    }
  }
  return out;
}();

/// A path's segments, percent-decoded. A segment without an escape (every segment a client
/// normally sends) is a view of the path itself, so splitting allocates nothing; a segment with
/// one is decoded into a string held here. Not copyable: the views may point into it.
class path_segments {
 public:
  path_segments() = default;
  path_segments(const path_segments&) = delete;
  path_segments& operator=(const path_segments&) = delete;

  /// Splits `path` ("a/b/c/", the part after the prefix). False, leaving the segments
  /// unspecified, when the path does not end in '/', has more than `max_route_segments`
  /// segments, an empty segment ("//"), a malformed escape, or a segment that decodes to ".",
  /// "..", or to something holding '/'. `path` must outlive the segments. No allocation unless a
  /// segment holds an escape.
  bool split(std::string_view path);

  std::size_t size() const noexcept { return size_; }
  std::string_view operator[](std::size_t i) const noexcept { return segments_[i]; }

 private:
  std::array<std::string_view, max_route_segments> segments_{};
  std::array<std::string, max_route_segments> decoded_{};
  std::size_t size_ = 0;
};

/// What a path matched: the route, whether it serves the request's method, the `Allow` list of
/// its path, and its captured segments (views of the path or of the path_segments it was
/// matched with; empty when the route has none). With `method_allowed` false, `which` is the
/// first route of the path (the request is a 405).
struct matched_route {
  route which;
  std::string_view allow;
  std::string_view kind;  ///< `{kind}`
  std::string_view id;    ///< `{id}` or `{uuid}`, not validated
  bool method_allowed = true;
};

/// The route `path` names for `method`, or nullopt (every such path is a 404). HEAD matches
/// every GET route (the facade answers it as the GET, without the body). A path that some route
/// names with another method gives a match with `method_allowed` false. `segments`
/// receives the decoded segments that the result may view: keep it, and the path, alive while
/// using it. Allocates only for a segment holding an escape.
std::optional<matched_route> match_route(std::string_view method, std::string_view path, path_segments& segments);

}  // namespace systask::api::detail
