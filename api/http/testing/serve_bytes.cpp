// SPDX-License-Identifier: BSL-1.0
// The in-memory entry point of the HTTP adapter for tests and fuzzers. Kept out of
// libsystask_http so that the production library never includes Beast's experimental test stream.

#include <systask/http/testing.hpp>

#include "session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

namespace systask::http::testing {

std::string serve_bytes(const api::facade& facade, std::string_view input, const server_options& options) {
  boost::asio::io_context ioc;
  boost::beast::test::stream server_side(ioc), client(ioc);
  server_side.connect(client);
  server_side.append(input);
  server_side.close_remote();  // the client sends nothing more: EOF after `input`
  auto host = std::make_shared<detail::connection_host>(facade, options);
  auto s = std::make_shared<detail::session<boost::beast::test::stream>>(std::move(server_side), std::move(host),
                                                                         "test");
  s->run();
  s.reset();
  ioc.run();
  return std::string(client.str());
}

}  // namespace systask::http::testing
