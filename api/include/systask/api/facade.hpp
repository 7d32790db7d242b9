// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/api/auth.hpp>
#include <systask/engine/attribute.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/registry.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace systask {
class scheduler;
}  // namespace systask

namespace systask::api {

/// One HTTP request, transport-free. The views must stay valid during `facade::handle`.
struct request {
  std::string_view method;                                          ///< "GET", "POST", ...
  std::string_view path;                                            ///< "/api/v3/events/system_tasks/", not decoded
  std::string_view query;                                           ///< after '?', not decoded; "" for none
  std::vector<std::pair<std::string_view, std::string_view>> headers;  ///< names in any case
  std::string_view body;

  /// Splits a request target ("/path?query") into path and query.
  static request from_target(std::string_view method, std::string_view target);
  /// The first header named `name` (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const noexcept;
};

/// One HTTP response: status, content type, extra headers (e.g. `Allow`) and body.
struct response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Set for the answer to a HEAD request only: the length of the body the GET would have sent.
  /// `body` is then empty; a host sends this as Content-Length and sends no body (RFC 9110
  /// 9.3.2, as Django does). nullopt for every other method (Content-Length is `body.size()`)
  /// and for a HEAD answered 204 or 304, which carry no Content-Length.
  std::optional<std::size_t> head_content_length{};
};

/// What a sync-object request asks for.
struct sync_object_request {
  provider_info provider;
  std::string sync_object_model;  ///< "authentik.core.models.User" or "authentik.core.models.Group"
  std::string sync_object_id;
  bool override_dry_run = false;
};

/// Collects the LogEvents a sync-object handler produces (rendered at once, as the engine does).
/// The facade makes one per request; a handler only logs to it. Not thread-safe: one handler
/// call owns it.
class sync_object_log {
 public:
  /// Appends one message, stamped by the clock. Allocates; throws std::bad_alloc only.
  void log(log_level level, std::string_view logger, std::string_view event,
           std::initializer_list<attribute> attrs = {});
  void log(log_level level, std::string_view logger, std::string_view event, attributes attrs);
  /// The rendered LogEvents, in order.
  const std::vector<std::string>& events() const noexcept { return events_; }

  /// A log stamped by `clock`, which must outlive it (the facade passes its registry's clock).
  explicit sync_object_log(const clock_source& clock) noexcept : clock_(&clock) {}

 private:
  const clock_source* clock_;
  std::vector<std::string> events_;
};

/// Syncs one object now and logs what happened. May throw: the exception's text becomes an
/// `error` LogEvent of the response.
using sync_object_handler = std::function<void(const sync_object_request&, sync_object_log&)>;

/// Options of the facade. Plain struct; every field defaulted.
struct facade_options {
  /// Decides who a bearer token belongs to. Null: every API request is refused with 403.
  std::shared_ptr<const token_authority> tokens;
  /// `GET /metrics` answers without a token. False (the default): it needs a bearer token of
  /// any principal, since the metrics name every task and uid.
  bool metrics_public = false;
  /// One handler per provider kind for `POST .../sync/object/`.
  std::map<std::string, sync_object_handler, std::less<>> sync_object_handlers;
  /// The schedules that `/api/v3/tasks/schedules/` serves (list, retrieve, pause/resume, send),
  /// and that `/api/v3/systask/providers/` names per provider. Null (the default): no
  /// schedules (an empty list, every id a 404). Not owned: the scheduler must be over the same
  /// registry and outlive the facade.
  systask::scheduler* schedules = nullptr;
  /// Serve the status page at `/ui/` (docs/ui.md). Its files need no token and hold no data: the
  /// page asks for a token and reads the API with it. False: `/ui/` is a 404 like any unknown path.
  bool ui = true;
  /// This process's name in `GET /api/v3/tasks/workers` (authentik's `worker_id`). "" (the
  /// default): `<hostname>:<pid>`, read when the facade is made.
  std::string worker_id{};
};

/// The authentik-compatible API over one registry, as a pure function from request to response.
/// `handle` may be called from any number of threads at once; it never throws and never blocks
/// the engine's writers (reads are lock-free snapshots). An `http::server` holds its address,
/// so it must outlive the server (see server.hpp).
class facade {
 public:
  /// A facade over `reg`, which must outlive it (the facade keeps its address). Allocates.
  facade(registry& reg, facade_options options);

  /// Answers one request with a status from the contract and a JSON body (or an empty body for
  /// 204, Prometheus text for /metrics, and the status page's files under /ui/). HEAD is
  /// answered on every GET route (and /ui/) as the GET (status and headers), with an empty body
  /// and `head_content_length` set. Any thread; allocates the response. Never throws:
  /// whatever fails inside (a throwing token_authority, out of memory) becomes a 500, whose body
  /// is left empty when even that cannot be allocated. A sync-object handler runs synchronously
  /// on the calling thread.
  response handle(const request& req) const noexcept;

  /// The registry this facade serves.
  registry& get_registry() const noexcept { return *registry_; }

 private:
  response answer(const request& req) const noexcept;  // handle() without HEAD's body removal

  registry* registry_;
  facade_options options_;
};

/// The registry's metrics in Prometheus text exposition format 0.0.4. Any thread; lock-free
/// reads; allocates the text.
std::string render_metrics(const registry& reg);

/// The provider kinds the sync routes serve.
inline constexpr std::string_view provider_kinds[] = {"google_workspace", "microsoft_entra", "scim"};

}  // namespace systask::api
