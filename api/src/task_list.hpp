// SPDX-License-Identifier: BSL-1.0
#pragma once

// `GET /events/system_tasks/`: the query (filters, search, ordering, pagination) and its
// application to a list of records. Pure functions, no I/O.

#include "query.hpp"
#include "wire.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

/// Reads `page_size` (1..1000; errors go to `errors`) and `page` (a positive integer, else
/// `invalid_page` is set: a 404, as Django's paginator answers) into `page` and `page_size`,
/// which keep their values for an absent or bad parameter.
void parse_page_params(const query_params& q, validation_error& errors, bool& invalid_page, std::uint64_t& page,
                       std::uint64_t& page_size);

/// A comma-separated `ordering` of `fields` (name -> field), each optionally '-' for descending,
/// as DRF's OrderingFilter reads it; an unknown name is a 400 in `errors`.
template <class Field, std::size_t N>
std::vector<std::pair<Field, bool>> parse_ordering(const query_params& q,
                                                   const std::pair<std::string_view, Field> (&fields)[N],
                                                   validation_error& errors) {
  std::vector<std::pair<Field, bool>> ordering;  // (field, descending)
  const auto* v = q.last("ordering");
  if (!v || v->empty()) return ordering;
  std::string_view rest = *v;
  while (true) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    const bool desc = !item.empty() && item.front() == '-';
    if (desc) item.remove_prefix(1);
    const auto* found = std::find_if(std::begin(fields), std::end(fields), [&](const auto& e) { return e.first == item; });
    if (found == std::end(fields)) {
      errors.add("ordering", "Invalid ordering field: " + std::string(rest.substr(0, comma)) + ".");
    } else {
      ordering.emplace_back(found->second, desc);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return ordering;
}

/// An enum-valued query parameter (a choice filter, read with from_string<E>); a value outside
/// the enum is a 400 in `errors`.
template <class E>
std::optional<E> choice_param(const query_params& q, const char* name, validation_error& errors) {
  const auto* v = q.last(name);
  if (!v) return std::nullopt;
  const auto e = from_string<E>(*v);
  if (!e) errors.add(name, "Select a valid choice. " + *v + " is not one of the available choices.");
  return e;
}

/// One page of `count` items: the pagination block and the items' range [first, last).
struct page_cut {
  api::pagination block;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

/// The cut of page `page` (from 1) of `page_size` items; nullopt when the page is past the end
/// (page 1 always exists).
std::optional<page_cut> paginate(std::uint64_t count, std::uint64_t page, std::uint64_t page_size) noexcept;

/// Filters, orders and cuts one page of `records`; nullopt when the page is past the end.
/// The returned wire structs borrow from `records`.
std::optional<paginated_system_task_list> apply(const task_list_query& q, std::vector<task_record>& records);

}  // namespace systask::api::detail
