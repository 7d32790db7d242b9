// A tiny host: starts a run, serves its status through the API facade, and checks that the HTTP
// adapter links. Proves that systask::engine, systask::api and systask::http are usable from
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
  const std::string raw = systask::http::serve_bytes(
      api, "GET /api/v3/providers/scim/3/sync/status/ HTTP/1.1\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n");
  std::printf("%s\n", raw.c_str());
  return raw.rfind("HTTP/1.1 200 OK", 0) == 0 && raw.find("hello from a consumer") != std::string::npos ? 0 : 1;
}
