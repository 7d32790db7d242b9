// SPDX-License-Identifier: BSL-1.0
#include "task_list.hpp"

#include <algorithm>
#include <charconv>

namespace systask::api::detail {
namespace {

constexpr std::pair<std::string_view, task_field> ordering_fields[] = {
    {"name", task_field::name},
    {"uid", task_field::uid},
    {"status", task_field::status},
    {"start_timestamp", task_field::start_timestamp},
    {"finish_timestamp", task_field::finish_timestamp},
    {"duration", task_field::duration},
};

char fold(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool contains_folded(std::string_view haystack, std::string_view folded_needle) {
  if (folded_needle.empty()) return true;
  if (haystack.size() < folded_needle.size()) return false;
  for (std::size_t i = 0; i + folded_needle.size() <= haystack.size(); ++i) {
    std::size_t k = 0;
    while (k < folded_needle.size() && fold(haystack[i + k]) == folded_needle[k]) ++k;
    if (k == folded_needle.size()) return true;
  }
  return false;
}

// -1, 0, 1 comparison of two records on one field (ascending).
int compare(const task_record& a, const task_record& b, task_field f) {
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (f) {
    case task_field::name: return cmp(a.name(), b.name());
    case task_field::uid: return cmp(a.uid(), b.uid());
    case task_field::status: return cmp(to_string(a.status()), to_string(b.status()));
    case task_field::start_timestamp: return cmp(a.start_time(), b.start_time());
    case task_field::finish_timestamp: return cmp(a.finish_time(), b.finish_time());
    case task_field::duration: return cmp(a.duration(), b.duration());
  }
  return 0;
}

}  // namespace

task_list_query parse_task_list_query(const query_params& q, validation_error& errors, bool& invalid_page) {
  task_list_query out;
  if (const auto* v = q.last("name")) out.name = *v;
  if (const auto* v = q.last("uid")) out.uid = *v;
  out.status = choice_param<task_status>(q, "status", errors);
  if (const auto* v = q.last("search")) {
    for (char c : *v) out.search.push_back(fold(c));
  }
  out.ordering = parse_ordering(q, ordering_fields, errors);
  if (out.ordering.empty()) {
    out.ordering = {{task_field::name, false}, {task_field::uid, false}, {task_field::status, false},
                    {task_field::start_timestamp, true}};
  }
  parse_page_params(q, errors, invalid_page, out.page, out.page_size);
  return out;
}

void parse_page_params(const query_params& q, validation_error& errors, bool& invalid_page, std::uint64_t& page,
                       std::uint64_t& page_size) {
  if (const auto* v = q.last("page_size")) {
    std::int64_t size = 0;
    const auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), size);
    if (v->empty() || ec != std::errc{} || ptr != v->data() + v->size()) {
      errors.add("page_size", "A valid integer is required.");
    } else if (size < 1) {
      errors.add("page_size", "Ensure this value is greater than or equal to 1.");
    } else if (size > 1000) {
      errors.add("page_size", "Ensure this value is less than or equal to 1000.");
    } else {
      page_size = static_cast<std::uint64_t>(size);
    }
  }
  if (const auto* v = q.last("page")) {
    const auto p = parse_positive_id(*v);
    if (p) {
      page = static_cast<std::uint64_t>(*p);
    } else {
      invalid_page = true;
    }
  }
}

std::optional<page_cut> paginate(std::uint64_t count, std::uint64_t page, std::uint64_t page_size) noexcept {
  const std::uint64_t pages = count == 0 ? 1 : (count + page_size - 1) / page_size;
  if (page > pages) return std::nullopt;
  page_cut out;
  out.first = (page - 1) * page_size;
  out.last = std::min(count, out.first + page_size);
  out.block = {page < pages ? page + 1 : 0, page > 1 ? page - 1 : 0, count, page, pages,
               count == 0 ? 0 : out.first + 1, out.last};
  return out;
}

std::optional<paginated_system_task_list> apply(const task_list_query& q, std::vector<task_record>& records) {
  std::erase_if(records, [&](const task_record& r) {
    if (q.name && r.name() != *q.name) return true;
    if (q.uid && r.uid() != *q.uid) return true;
    if (q.status && r.status() != *q.status) return true;
    if (!q.search.empty() && !contains_folded(r.name(), q.search) && !contains_folded(r.description(), q.search) &&
        !contains_folded(r.uid(), q.search) && !contains_folded(to_string(r.status()), q.search)) {
      return true;
    }
    return false;
  });
  paginated_system_task_list out;
  const auto page = paginate(records.size(), q.page, q.page_size);
  if (!page) return std::nullopt;
  // Only the records up to the page's end are put in order: O(n log(page end)), not a sort of
  // every match.
  const auto last = records.begin() + static_cast<std::ptrdiff_t>(page->last);
  std::partial_sort(records.begin(), last, records.end(), [&](const task_record& a, const task_record& b) {
    for (const auto& [field, desc] : q.ordering) {
      const int c = compare(a, b, field);
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    return a.uuid() < b.uuid();  // a total order, so pages never overlap
  });
  for (std::uint64_t i = page->first; i < page->last; ++i) out.results.push_back(to_wire(records[i]));
  out.pagination = page->block;
  return out;
}

}  // namespace systask::api::detail
