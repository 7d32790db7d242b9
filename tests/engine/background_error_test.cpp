// SPDX-License-Identifier: BSL-1.0
// Background work (expiry, reclamation, runners queued by trigger) never lets an exception
// escape into the host's io_context::run(): each failure is counted and reported to the host's
// hook, on the executor.

#include <systask/engine/registry.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace systask;

struct reported {
  std::string what;
  std::string error;
  std::thread::id thread;
};

registry_options reporting_to(std::vector<reported>& out) {
  registry_options o;
  o.clock = std::make_shared<manual_clock>();
  o.on_background_error = [&out](std::string_view what, std::exception_ptr e) {
    reported r{std::string(what), {}, std::this_thread::get_id()};
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      r.error = x.what();
    }
    out.push_back(std::move(r));
  };
  return o;
}

// Regression: a runner's exception escaped into the host's io_context::run().
TEST(BackgroundErrors, AThrowingRunnerIsReportedOnTheExecutorAndNeverReachesTheHostsRun) {
  std::vector<reported> seen;
  boost::asio::io_context io;
  registry reg(io, reporting_to(seen));
  int calls = 0;
  reg.set_runner("t", [&](const run_spec&) {
    ++calls;
    throw std::runtime_error("runner broke");
  });
  ASSERT_TRUE(reg.trigger("t", ""));
  ASSERT_TRUE(reg.trigger("t", ""));
  EXPECT_NO_THROW(io.run());
  EXPECT_EQ(calls, 2) << "the second runner still ran";
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].what.find("trigger"), std::string::npos) << seen[0].what;
  EXPECT_EQ(seen[0].error, "runner broke");
  EXPECT_EQ(seen[0].thread, std::this_thread::get_id()) << "called on the executor";
  EXPECT_EQ(reg.background_errors(), 2u);
}

TEST(BackgroundErrors, AHookThatThrowsIsContainedAndTheFailureStillCounted) {
  boost::asio::io_context io;
  registry_options o;
  o.clock = std::make_shared<manual_clock>();
  o.on_background_error = [](std::string_view, std::exception_ptr) { throw std::logic_error("bad hook"); };
  registry reg(io, o);
  reg.set_runner("t", [](const run_spec&) { throw 7; });
  reg.trigger("t", "");
  EXPECT_NO_THROW(io.run());
  EXPECT_EQ(reg.background_errors(), 1u);
}

TEST(BackgroundErrors, WithoutAHookFailuresAreCounted) {
  boost::asio::io_context io;
  registry reg(io, registry_options{{}, std::make_shared<manual_clock>()});
  reg.set_runner("t", [](const run_spec&) { throw std::runtime_error("x"); });
  reg.trigger("t", "");
  EXPECT_NO_THROW(io.run());
  EXPECT_EQ(reg.background_errors(), 1u);
}

}  // namespace
