// SPDX-License-Identifier: BSL-1.0
#pragma once

// Blocking loopback HTTP/1.1 client helpers shared by the HTTP tests and the abuse benchmark:
// connect, send one well-formed GET, or send raw bytes and read whatever single answer comes back.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <string>
#include <string_view>

namespace systask::test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

inline tcp::socket connect_loopback(asio::io_context& ctx, unsigned short port) {
  tcp::socket s(ctx);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  return s;
}

// One GET with a bearer token on an open connection; throws on transport errors.
inline bhttp::response<bhttp::string_body> http_get(tcp::socket& s, std::string_view target, std::string_view token,
                                                    bool keep_alive = true) {
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::authorization, std::string("Bearer ").append(token));
  req.keep_alive(keep_alive);
  bhttp::write(s, req);
  boost::beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  return res;
}

// Sends raw bytes and reads one response: its status, or 0 when the server closed instead.
inline unsigned exchange_raw(tcp::socket& s, std::string_view bytes) {
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) return 0;
  boost::beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res, ec);
  return ec ? 0 : res.result_int();
}

}  // namespace systask::test
