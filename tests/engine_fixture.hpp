// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test helper: a registry on its own io_context with a manual clock, so no test sleeps.

#include <systask/engine.hpp>

#include "json_check.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace systask::test {

struct engine_fixture {
  explicit engine_fixture(task_options defaults = {})
      : clock(std::make_shared<manual_clock>()), reg(io, registry_options{defaults, clock}) {}

  /// A record's messages as the API serves them (the JSON array).
  static std::string messages_of(const task_record& r) {
    std::string out;
    r.write_messages_json(out);
    return out;
  }

  /// Runs the handlers that are ready. poll() leaves a context that ran out of work stopped, so
  /// restart it first, as Asio requires (the registry posts each expiry deadline to its strand).
  void poll() {
    io.restart();
    io.poll();
  }

  /// Runs handlers until `done()` holds (or `limit` passes). `io.run()` would not return: the
  /// registry keeps its expiry timer pending while records await expiry.
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_one_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  boost::asio::io_context io;
  std::shared_ptr<manual_clock> clock;
  registry reg;
};

}  // namespace systask::test
