// SPDX-License-Identifier: BSL-1.0
#pragma once

// The status page (/ui/): its files, embedded at build time from api/ui/ (the generated
// ui_assets.cpp, see cmake/systask_embed_ui.cmake), and the facade's answer for a path under
// /ui/. Private to the api library.

#include <systask/api/facade.hpp>

#include <optional>
#include <span>
#include <string_view>

namespace systask::api::detail {

/// One embedded file of the page.
struct ui_asset {
  std::string_view path;          ///< "/ui/", "/ui/status.js", ...
  std::string_view content_type;  ///< with its charset
  std::string_view etag;          ///< strong, quoted: a digest of the file taken at build time
  std::string_view body;
};

/// The page's files, in static storage (generated).
extern const std::span<const ui_asset> ui_assets;

/// The Content-Security-Policy every file of the page is served with: its own script, style and
/// fetches only; nothing inline, no frames, no forms, no base URL.
inline constexpr std::string_view ui_content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The answer for `req` when its path is the page's ("/ui" or under "/ui/"), else nullopt. No
/// token is needed: the files hold no data (the page sends the token on its API calls). GET and
/// HEAD are answered alike (facade::handle strips a HEAD's body); a matching If-None-Match gets
/// 304; another method gets 405; an unknown file under /ui/ gets 404. Any thread; allocates the
/// response.
std::optional<response> serve_ui(const request& req);

}  // namespace systask::api::detail
