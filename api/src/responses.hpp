#pragma once

// Building responses: a JSON body from a wire value (500 from a fresh buffer if writing fails)
// and the contract's fixed error bodies.

#include "json_writer.hpp"

#include <systask/api/facade.hpp>

namespace systask::api::detail {

inline response internal_error() {
  response r;
  r.status = 500;
  r.body = R"({"detail":"A server error occurred.","code":"internal_error"})";
  return r;
}

template <class T>
response json_response(int status, const T& body) {
  response r;
  r.status = status;
  if (!to_json(body, r.body)) return internal_error();
  return r;
}

inline response error_response(int status, std::string detail, std::string code) {
  return json_response(status, generic_error{std::move(detail), std::move(code)});
}

inline response not_authenticated() {
  return error_response(403, "Authentication credentials were not provided.", "not_authenticated");
}
inline response permission_denied() {
  return error_response(403, "You do not have permission to perform this action.", "permission_denied");
}
inline response not_found() { return error_response(404, "Not found.", "not_found"); }
inline response invalid_page() { return error_response(404, "Invalid page.", "not_found"); }

inline response method_not_allowed(std::string_view method, std::string_view allow) {
  response r = error_response(405, "Method \"" + std::string(method) + "\" not allowed.", "method_not_allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

}  // namespace systask::api::detail
