// SPDX-License-Identifier: BSL-1.0
// A tiny host: starts a run, serves its status through the API facade, and checks that the HTTP
// adapter links and runs. Proves that systask::engine, systask::api and systask::http are usable from
// outside (RapidJSON and Beast stay private to them).
#include <systask/api/facade.hpp>
#include <systask/engine.hpp>
#include <systask/http/server.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>

int main() {
  boost::asio::io_context io;
  systask::registry reg(io);
  reg.register_provider("scim", 3, "Consumer SCIM");
  systask::run r = reg.start(reg.sync_spec("scim", 3));
  r.info("hello from a consumer", {{"ok", true}});
  r.finish(systask::task_status::successful);

  auto tokens = std::make_shared<systask::api::static_tokens>();
  tokens->add("t", {"consumer", systask::api::all_permissions});
  systask::api::facade_options options;
  options.tokens = tokens;
  systask::api::facade api(reg, options);
  systask::api::request req = systask::api::request::from_target("GET", "/api/v3/providers/scim/3/sync/status/");
  req.headers.emplace_back("Authorization", "Bearer t");
  const systask::api::response res = api.handle(req);
  std::printf("%d %s\n", res.status, res.body.c_str());

  // The HTTP adapter links and runs: bind a free loopback port, then stop gracefully.
  systask::http::server_options http_options;
  http_options.port = 0;
  systask::http::server http(io.get_executor(), api, http_options);
  http.start();
  bool stopped = false;
  http.stop([&] { stopped = true; });
  while (!stopped && io.run_one()) {
  }  // not io.run(): the registry's expiry timer would keep it busy for hours
  return res.status == 200 && res.body.find("hello from a consumer") != std::string::npos && http.port() != 0 &&
                 stopped
             ? 0
             : 1;
}
