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

// Whether `segments` match `pattern` (see router.hpp); fills the captures of `m`.
bool matches(std::string_view pattern, const path_segments& segments, matched_route& m) noexcept {
  std::size_t i = 0;
  while (!pattern.empty()) {
    const std::size_t slash = pattern.find('/');
    const std::string_view p = pattern.substr(0, slash);
    pattern.remove_prefix(slash + 1);
    if (i == segments.size()) return false;
    const std::string_view s = segments[i++];
    if (p.front() != '{') {
      if (p != s) return false;
    } else if (p == "{kind}") {
      if (!known_kind(s)) return false;
      m.kind = s;
    } else {
      m.id = s;  // {id}, {uuid}
    }
  }
  return i == segments.size();
}

}  // namespace

bool path_segments::split(std::string_view path) {
  size_ = 0;
  if (path.empty() || path.back() != '/') return false;
  path.remove_suffix(1);
  while (true) {
    if (size_ == max_route_segments) return false;
    const std::size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    if (segment.find('%') != std::string_view::npos) {
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

std::optional<matched_route> match_route(std::string_view path, path_segments& segments) {
  // Outside the API prefix, matched whole: no decoding, no trailing '/'.
  if (path == "/metrics") return matched_route{route::metrics, "GET", {}, {}};
  if (!path.starts_with(api_prefix) || !segments.split(path.substr(api_prefix.size()))) return std::nullopt;
  for (const auto& r : api_routes) {
    matched_route m{r.which, r.method, {}, {}};
    if (matches(r.pattern, segments, m)) return m;
  }
  return std::nullopt;
}

}  // namespace systask::api::detail
