// SPDX-License-Identifier: BSL-1.0
#include "router.hpp"

#include "query.hpp"

namespace systask::api::detail {

namespace {

constexpr std::string_view api_prefix = "/api/v3/";

bool known_kind(std::string_view kind) noexcept {
  for (auto k : provider_kinds) {
    if (k == kind) return true;
  }
  return false;
}

// Whether `segments` match the route's pattern (see router.hpp); fills the captures of `m`.
bool matches(const split_route& r, const path_segments& segments, matched_route& m) noexcept {
  if (r.size != segments.size()) return false;
  for (std::size_t i = 0; i < r.size; ++i) {
    const std::string_view p = r.segments[i];
    const std::string_view s = segments[i];
    if (p.front() != '{') {
      if (p != s) return false;
    } else if (p == "{kind}") {
      if (!known_kind(s)) return false;
      m.kind = s;
    } else {
      m.id = s;  // {id}, {uuid}
    }
  }
  return true;
}

// Whether a row serving `row_method` answers `method`: HEAD is answered by every GET route.
bool serves(std::string_view row_method, std::string_view method) noexcept {
  return row_method == method || (method == "HEAD" && row_method == "GET");
}

}  // namespace

bool path_segments::split(std::string_view path) {
  size_ = 0;
  if (path.empty() || path.back() != '/') return false;
  // Clients rarely escape anything: one scan for '%' spares the per-segment checks.
  const bool any_escape = path.find('%') != std::string_view::npos;
  path.remove_suffix(1);
  while (true) {
    if (size_ == max_route_segments) return false;
    const std::size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (any_escape && segment.find('%') != std::string_view::npos) {
      auto decoded = decode_segment(segment);
      if (!decoded) return false;
      decoded_[size_] = std::move(*decoded);
      segment = decoded_[size_];
      if (segment.find('/') != std::string_view::npos) return false;
    }
    if (segment.empty() || segment == "." || segment == "..") return false;
    segments_[size_++] = segment;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

std::optional<matched_route> match_route(std::string_view method, std::string_view path, path_segments& segments) {
  // Matched whole: no decoding, no trailing '/'.
  if (path == "/metrics") return matched_route{route::metrics, "GET", {}, {}, serves("GET", method)};
  if (path == "/api/v3/tasks/workers") return matched_route{route::workers_list, "GET", {}, {}, serves("GET", method)};
  if (!path.starts_with(api_prefix) || !segments.split(path.substr(api_prefix.size()))) return std::nullopt;
  std::optional<matched_route> first;  // the first route of the path, for a 405
  for (const auto& r : split_routes) {
    matched_route m{r.which, r.allow, {}, {}, true};
    if (!matches(r, segments, m)) continue;
    if (serves(r.method, method)) return m;
    if (!first) {
      m.method_allowed = false;
      first = m;
    }
  }
  return first;
}

}  // namespace systask::api::detail
