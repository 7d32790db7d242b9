// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test support for the HTTP adapter (library systask_http_testing, built with the tests and
// never installed): one server connection over Beast's in-memory test stream.

#include <systask/http/server.hpp>

#include <string>
#include <string_view>

namespace systask::http::testing {

/// Feeds `input` to one server connection (the same session code as a TCP connection's) through
/// Beast's in-memory test stream, and returns every byte the server wrote before closing. No
/// sockets and no threads: it runs its own io_context on the calling thread until the
/// connection closes. Allocates; for tests and fuzzing.
std::string serve_bytes(const api::facade& facade, std::string_view input, const server_options& options = {});

}  // namespace systask::http::testing
