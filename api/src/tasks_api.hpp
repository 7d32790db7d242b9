// SPDX-License-Identifier: BSL-1.0
#pragma once

// authentik 2025's task API (`/api/v3/tasks/...`) and systask's own provider list
// (`/api/v3/systask/providers/`): the route handlers facade::handle calls once the caller is
// authenticated and the method matched. Each checks permission, then looks up, then validates,
// as every route of the contract does. Private to the api library.

#include "query.hpp"
#include "router.hpp"
#include "wire_2025.hpp"

#include <systask/api/facade.hpp>

#include <string_view>

namespace systask::api::detail {

/// `GET /systask/providers/`.
response provider_list_route(const registry& reg, const facade_options& options, const principal& who);
/// `GET /tasks/schedules/`.
response schedule_list_route(const registry& reg, const facade_options& options, const principal& who,
                             const query_params& q);
/// `GET /tasks/schedules/{id}/`.
response schedule_retrieve_route(const registry& reg, const facade_options& options, const principal& who,
                                 const matched_route& m);
/// `PATCH /tasks/schedules/{id}/` (`paused` only).
response schedule_update_route(const registry& reg, const facade_options& options, const principal& who,
                               const matched_route& m, std::string_view body);
/// `POST /tasks/schedules/{id}/send/`.
response schedule_send_route(const facade_options& options, const principal& who, const matched_route& m);

/// `GET /tasks/tasks/`.
response tasks_list_route(const registry& reg, const principal& who, const query_params& q);
/// `GET /tasks/tasks/{message_id}/`.
response tasks_retrieve_route(const registry& reg, const principal& who, const matched_route& m);
/// `POST /tasks/tasks/{message_id}/retry/`.
response tasks_retry_route(registry& reg, const principal& who, const matched_route& m);
/// `GET /tasks/tasks/status/`.
response tasks_status_route(const registry& reg, const principal& who);
/// `GET /tasks/workers`: this process as the one worker, named `worker_id`.
response workers_route(const principal& who, std::string_view worker_id);

/// The aggregated status of one record, as authentik's trigger computes it from what systask
/// serves: `running` while it runs; else the worst level among its messages (and the loss
/// marker, a warning, when messages were dropped), error > warning > info > done, raised to the
/// run's own status when that is worse (a run finished as `error` without an error message).
aggregated_status aggregated_of(const task_record& r);

}  // namespace systask::api::detail
