// SPDX-License-Identifier: BSL-1.0
// The status page's files as the facade serves them (docs/ui.md): without a token, with the CSP
// and nosniff on every answer under /ui/, cacheable by ETag, HEAD without a body, and the page
// itself free of what the CSP would refuse or what would insert server text as HTML. The page's
// behaviour in a browser is tests/ui/ui_test.py.
#include <systask/api/facade.hpp>

#include "api_fixture.hpp"
#include "ui.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace {

using namespace systask;
using systask::test::api_fixture;

struct ui_page : ::testing::Test, api_fixture {};

std::string header_of(const api::response& r, std::string_view name) {
  for (const auto& [key, value] : r.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

const api::detail::ui_asset& asset(std::string_view path) {
  for (const auto& a : api::detail::ui_assets) {
    if (a.path == path) return a;
  }
  throw std::runtime_error("no asset " + std::string(path));
}

TEST_F(ui_page, ServesEveryFileWithoutATokenWithItsTypeAndTheCsp) {
  const std::pair<std::string_view, std::string_view> files[] = {
      {"/ui/", "text/html; charset=utf-8"},
      {"/ui/status.css", "text/css; charset=utf-8"},
      {"/ui/status.js", "text/javascript; charset=utf-8"}};
  for (const auto& [path, type] : files) {
    const auto r = get(path, "");
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, type) << path;
    EXPECT_EQ(r.body, asset(path).body) << path;
    EXPECT_FALSE(r.body.empty()) << path;
    EXPECT_EQ(header_of(r, "Content-Security-Policy"), api::detail::ui_content_security_policy) << path;
    EXPECT_EQ(header_of(r, "X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(header_of(r, "ETag"), asset(path).etag) << path;
    EXPECT_EQ(header_of(r, "Cache-Control"), "no-cache") << path;
  }
  EXPECT_EQ(api::detail::ui_assets.size(), std::size(files)) << "a file added to api/ui/ needs a row here";
}

TEST_F(ui_page, TheCspAllowsOnlyThePagesOwnFilesAndNothingInline) {
  const std::string_view csp = api::detail::ui_content_security_policy;
  EXPECT_NE(csp.find("default-src 'none'"), std::string_view::npos);
  EXPECT_NE(csp.find("script-src 'self';"), std::string_view::npos);
  EXPECT_NE(csp.find("style-src 'self';"), std::string_view::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string_view::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string_view::npos);
}

TEST_F(ui_page, AMatchingIfNoneMatchIs304WithoutABody) {
  const auto& js = asset("/ui/status.js");
  for (const std::string& value : {std::string(js.etag), "\"other\", " + std::string(js.etag), "W/" + std::string(js.etag), std::string("*")}) {
    api::request req = api::request::from_target("GET", "/ui/status.js");
    req.headers.emplace_back("If-None-Match", value);
    const auto r = facade_.handle(req);
    EXPECT_EQ(r.status, 304) << value;
    EXPECT_TRUE(r.body.empty()) << value;
    EXPECT_EQ(header_of(r, "ETag"), js.etag) << value;
  }
  api::request req = api::request::from_target("GET", "/ui/status.js");
  req.headers.emplace_back("If-None-Match", "\"stale\"");
  EXPECT_EQ(facade_.handle(req).status, 200);
}

TEST_F(ui_page, HeadHasTheGetsHeadersAndLengthButNoBody) {
  const auto r = call("HEAD", "/ui/", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.head_content_length, asset("/ui/").body.size()) << "the GET's length, for the host stack to send";
  EXPECT_EQ(header_of(r, "ETag"), asset("/ui/").etag);
  EXPECT_EQ(header_of(r, "Content-Security-Policy"), api::detail::ui_content_security_policy);
}

TEST_F(ui_page, OtherMethodsAre405AndUnknownFiles404BothWithTheCsp) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    const auto r = call(method, "/ui/", "");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(header_of(r, "Allow"), "GET, HEAD") << method;
    EXPECT_EQ(header_of(r, "Content-Security-Policy"), api::detail::ui_content_security_policy) << method;
  }
  for (const char* path : {"/ui/missing.js", "/ui/index.html", "/ui/../api/v3/", "/ui/status.js/"}) {
    const auto r = get(path, "");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(header_of(r, "Content-Security-Policy"), api::detail::ui_content_security_policy) << path;
    EXPECT_EQ(header_of(r, "X-Content-Type-Options"), "nosniff") << path;
  }
  const auto r = get("/ui", "");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header_of(r, "Location"), "/ui/");
  EXPECT_EQ(get("/uix/", "").status, 404) << "only /ui and /ui/...: /uix/ is no page";
}

TEST_F(ui_page, TheApiStillNeedsATokenAndTheOptionTurnsThePageOff) {
  EXPECT_EQ(get("/api/v3/events/system_tasks/", "").status, 403);
  api::facade_options o = make_options();
  o.ui = false;
  const api::facade off(reg, o);
  EXPECT_EQ(off.handle(api::request::from_target("GET", "/ui/")).status, 404);
  EXPECT_EQ(off.handle(api::request::from_target("GET", "/ui/status.js")).status, 404);
}

TEST_F(ui_page, ThePageIsUnder60KBAndHasNothingTheCspWouldRefuse) {
  std::size_t total = 0;
  for (const auto& a : api::detail::ui_assets) total += a.body.size();
  EXPECT_LT(total, 60u * 1024) << "the page's budget (docs/ui.md)";
  const std::string html(asset("/ui/").body);
  // Every <script> has a src (no inline script), there is no <style> element and no style or
  // on* attribute (no inline style or handler), and nothing is fetched from another origin.
  const std::regex script_tag(R"(<script\b[^>]*>)", std::regex::icase);
  int scripts = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag); it != std::sregex_iterator(); ++it) {
    ++scripts;
    EXPECT_NE(it->str().find("src=\""), std::string::npos) << it->str();
  }
  EXPECT_EQ(scripts, 1);
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(<style\b)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\s(style|on[a-z]+)\s*=)", std::regex::icase)));
  for (const auto& a : api::detail::ui_assets) {
    EXPECT_EQ(a.body.find("http://"), std::string_view::npos) << a.path << ": no other origin";
    EXPECT_EQ(a.body.find("https://"), std::string_view::npos) << a.path << ": no other origin";
  }
}

TEST_F(ui_page, TheScriptNeverInsertsTextAsHtml) {
  const std::string_view js = asset("/ui/status.js").body;
  for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                           "createContextualFragment", "localStorage"}) {
    EXPECT_EQ(js.find(sink), std::string_view::npos) << sink;
  }
  EXPECT_NE(js.find("textContent"), std::string_view::npos);
  EXPECT_NE(js.find("sessionStorage"), std::string_view::npos) << "the token is kept for the tab only";
}

}  // namespace
