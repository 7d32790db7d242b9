// SPDX-License-Identifier: BSL-1.0
#include "ui.hpp"

#include "responses.hpp"

namespace systask::api::detail {

namespace {

constexpr std::string_view ui_prefix = "/ui/";

// The headers of every answer about the page, error or not: a 404 under /ui/ is shown by a
// browser too, and must not run anything either.
void add_page_headers(response& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(ui_content_security_policy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
}

// Whether an If-None-Match value ("a", "a, b", "*", W/"a") names `etag`: the weak comparison
// that RFC 9110 section 13.1.2 asks for on GET.
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const std::size_t comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<response> serve_ui(const request& req) {
  if (req.path != "/ui" && !req.path.starts_with(ui_prefix)) return std::nullopt;
  if (req.method != "GET" && req.method != "HEAD") {
    response r = method_not_allowed(req.method, "GET, HEAD");
    add_page_headers(r);
    return r;
  }
  if (req.path == "/ui") {
    // The page's relative URLs (status.js, the API) resolve against /ui/.
    response r;
    r.status = 301;
    r.content_type.clear();
    r.headers.emplace_back("Location", "/ui/");
    add_page_headers(r);
    return r;
  }
  for (const auto& asset : ui_assets) {
    if (asset.path != req.path) continue;
    response r;
    r.content_type = asset.content_type;
    r.headers.emplace_back("ETag", std::string(asset.etag));
    // Revalidated on every load: a new build of the page is never hidden behind a cache.
    r.headers.emplace_back("Cache-Control", "no-cache");
    add_page_headers(r);
    if (etag_matches(req.header("if-none-match"), asset.etag)) {
      r.status = 304;
      r.content_type.clear();
      return r;
    }
    // For HEAD too: facade::handle answers every HEAD as its GET, then empties the body and
    // keeps its length (response::head_content_length), as for the API's routes.
    r.body = asset.body;
    return r;
  }
  response r = not_found();
  add_page_headers(r);
  return r;
}

}  // namespace systask::api::detail
