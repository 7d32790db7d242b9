// SPDX-License-Identifier: BSL-1.0
#pragma once

// `GET /events/system_tasks/`: the query (filters, search, ordering, pagination) and its
// application to a list of records. Pure functions, no I/O.

#include "query.hpp"
#include "wire.hpp"

#include <optional>
#include <string>
#include <vector>

namespace systask::api::detail {

enum class task_field { name, uid, status, start_timestamp, finish_timestamp, duration };

struct task_list_query {
  std::optional<std::string> name;
  std::optional<std::string> uid;
  std::optional<task_status> status;
  std::string search;
  std::vector<std::pair<task_field, bool>> ordering;  // (field, descending)
  std::uint64_t page = 1;
  std::uint64_t page_size = 100;
};

/// Reads the query. Field errors go to `errors`; a page that is not a positive integer sets
/// `invalid_page` (a 404, as Django's paginator answers).
task_list_query parse_task_list_query(const query_params& q, validation_error& errors, bool& invalid_page);

/// Filters, orders and cuts one page of `records`; nullopt when the page is past the end.
/// The returned wire structs borrow from `records`.
std::optional<paginated_system_task_list> apply(const task_list_query& q, std::vector<task_record>& records);

}  // namespace systask::api::detail
