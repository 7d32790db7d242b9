// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/async_run.hpp>

#include "engine_fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;
namespace asio = boost::asio;

TEST(AsyncRun, CallbackGetsTheStatusOfAPlainCallable) {
  engine_fixture f;
  std::optional<std::pair<boost::system::error_code, task_status>> result;
  async_run(
      f.reg, {.name = "import"},
      [](run& r) {
        r.info("imported 3 users");
        return task_status::warning;
      },
      [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); });
  EXPECT_FALSE(result) << "never completes inline";
  EXPECT_TRUE(f.reg.tasks("import", "", true).empty()) << "the run starts when the body executes";
  f.run_until([&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, task_status::warning);
  const auto recs = f.reg.tasks("import", "");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status(), task_status::warning);
}

TEST(AsyncRun, VoidCallableMeansSuccessful) {
  engine_fixture f;
  task_status got = task_status::unknown;
  async_run(f.reg, {.name = "t"}, [](run&) {}, [&](boost::system::error_code, task_status s) { got = s; });
  f.run_until([&] { return got != task_status::unknown; });
  EXPECT_EQ(got, task_status::successful);
}

TEST(AsyncRun, ThrowingBodyEndsAsErrorWithTheExceptionText) {
  engine_fixture f;
  std::optional<std::pair<boost::system::error_code, task_status>> result;
  async_run(
      f.reg, {.name = "t"}, [](run&) -> task_status { throw std::runtime_error("quota exceeded"); },
      [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); });
  f.run_until([&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->first) << "the body ran; its failure is in the record";
  EXPECT_EQ(result->second, task_status::error);
  EXPECT_NE(f.messages_of(f.reg.tasks("t", "")[0]).find("quota exceeded"), std::string::npos);
}

TEST(AsyncRun, CoroutineBodyWithUseAwaitable) {
  engine_fixture f;
  std::optional<task_status> got;
  asio::co_spawn(
      f.io,
      [&]() -> asio::awaitable<void> {
        // A named spec: see the g++ 12 note on async_run.
        run_spec spec{.name = "t", .uid = "co"};
        got = co_await async_run(
            f.reg, std::move(spec),
            [](run& r) -> asio::awaitable<task_status> {
              asio::steady_timer timer(co_await asio::this_coro::executor, 1ms);
              co_await timer.async_wait(asio::use_awaitable);
              r.info("waited");
              co_return task_status::successful;
            },
            asio::use_awaitable);
      },
      asio::detached);
  f.run_until([&] { return got.has_value(); });
  EXPECT_EQ(got, task_status::successful);
  EXPECT_NE(f.messages_of(f.reg.tasks("t", "co")[0]).find("waited"), std::string::npos);
}

TEST(AsyncRun, AwaitableVoidBody) {
  engine_fixture f;
  std::optional<task_status> got;
  async_run(
      f.reg, {.name = "t"}, [](run&) -> asio::awaitable<void> { co_return; },
      [&](boost::system::error_code, task_status s) { got = s; });
  f.run_until([&] { return got.has_value(); });
  EXPECT_EQ(got, task_status::successful);
}

TEST(AsyncRun, UseFutureFromAnotherThread) {
  engine_fixture f;
  auto work = asio::make_work_guard(f.io);
  std::thread runner([&] { f.io.run(); });
  std::future<task_status> fut =
      async_run(f.reg, {.name = "t"}, [](run&) { return task_status::successful; }, asio::use_future);
  EXPECT_EQ(fut.get(), task_status::successful);
  work.reset();
  f.io.stop();  // the expiry timer keeps run() busy otherwise
  runner.join();
}

TEST(AsyncRun, UseFutureCarriesErrorsAsExceptions) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  run holder = f.reg.start(f.reg.sync_spec("scim", 3));
  auto fut = async_run(f.reg, f.reg.sync_spec("scim", 3), [](run&) {}, asio::use_future);
  f.run_until([&] { return fut.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
  try {
    fut.get();
    ADD_FAILURE() << "expected sync_already_running";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::sync_already_running));
  }
  holder.finish(task_status::successful);
}

TEST(AsyncRun, DetachedRunsAreStillRecorded) {
  engine_fixture f;
  async_run(f.reg, {.name = "t"}, [](run& r) { r.info("fire and forget"); }, asio::detached);
  f.run_until([&] { return !f.reg.tasks("t", "").empty(); });
  EXPECT_EQ(f.reg.tasks("t", "").size(), 1u);
}

TEST(AsyncRun, SecondSyncOfAProviderCompletesWithSyncAlreadyRunning) {
  engine_fixture f;
  f.reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  std::vector<boost::system::error_code> codes;
  auto body = [](run&) -> asio::awaitable<task_status> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 5ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return task_status::successful;
  };
  auto done = [&](boost::system::error_code ec, task_status) { codes.push_back(ec); };
  async_run(f.reg, f.reg.sync_spec("google_workspace", 1), body, done);
  async_run(f.reg, f.reg.sync_spec("google_workspace", 1), body, done);
  f.run_until([&] { return codes.size() == 2; });
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_EQ(codes[0], make_error_code(errc::sync_already_running)) << "the second completes first";
  EXPECT_FALSE(codes[1]);
  const auto st = f.reg.sync_status("google_workspace", 1);
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_NE(f.messages_of(st->tasks[0]).find("skipped"), std::string::npos);
}

TEST(AsyncRun, TerminalCancellationEndsTheRunAsCancelledAndReleasesTheLock) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  asio::cancellation_signal signal;
  std::optional<std::pair<boost::system::error_code, task_status>> result;
  async_run(
      f.reg, f.reg.sync_spec("scim", 3),
      [](run& r) -> asio::awaitable<task_status> {
        r.info("starting a long page");
        asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
        co_await timer.async_wait(asio::use_awaitable);
        co_return task_status::successful;
      },
      asio::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, task_status s) {
        result.emplace(ec, s);
      }));
  f.io.poll();
  EXPECT_TRUE(f.reg.sync_status("scim", 3)->is_running);
  signal.emit(asio::cancellation_type::terminal);
  f.run_until([&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->first, asio::error::operation_aborted);
  EXPECT_EQ(result->second, task_status::error);
  const auto st = f.reg.sync_status("scim", 3);
  EXPECT_FALSE(st->is_running);
  ASSERT_EQ(st->tasks.size(), 1u);
  const std::string msgs = f.messages_of(st->tasks[0]);
  EXPECT_NE(msgs.find(R"("log_level":"error","logger":"scim_sync","event":"cancelled")"), std::string::npos) << msgs;
}

// Regression (R9): start() sat outside the try, so a bad spec escaped the coroutine and every
// such exception completed as asio::error::no_memory.
TEST(AsyncRun, ABadSpecCompletesAtOnceWithASpecificErrorAndTheBodyNeverRuns) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  const std::pair<run_spec, errc> cases[] = {
      {run_spec{.name = ""}, errc::invalid_spec},
      {run_spec{.name = "", .uid = "", .description = "", .provider = provider_ref{"scim", 99}}, errc::unknown_provider},
      {run_spec{.name = "wrong_sync", .uid = "", .description = "", .provider = provider_ref{"scim", 3}},
       errc::invalid_spec},
      {run_spec{.name = "scim_sync", .uid = "other", .description = "", .provider = provider_ref{"scim", 3}},
       errc::invalid_spec},
  };
  for (const auto& [spec, expected] : cases) {
    bool body_ran = false;
    std::optional<std::pair<boost::system::error_code, task_status>> result;
    async_run(
        f.reg, spec, [&](run&) { body_ran = true; },
        [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); });
    EXPECT_FALSE(result) << "never completes inline";
    f.poll();
    ASSERT_TRUE(result) << "completes at once, without waiting for anything";
    EXPECT_EQ(result->first, make_error_code(expected)) << result->first.message();
    EXPECT_EQ(result->second, task_status::unknown);
    EXPECT_FALSE(body_ran);
  }
  EXPECT_TRUE(f.reg.list_tasks().empty());
}

TEST(AsyncRun, AnExceptionThatKeepsTheRunFromStartingMapsToItsOwnCode) {
  using detail::start_error;
  EXPECT_EQ(start_error(std::make_exception_ptr(std::bad_alloc())), asio::error::no_memory);
  const auto refused = boost::system::error_code(EACCES, boost::system::generic_category());
  EXPECT_EQ(start_error(std::make_exception_ptr(boost::system::system_error(refused))), refused);
  EXPECT_EQ(start_error(std::make_exception_ptr(std::system_error(std::make_error_code(std::errc::device_or_resource_busy)))),
            boost::system::error_code(std::make_error_code(std::errc::device_or_resource_busy)));
  EXPECT_EQ(start_error(std::make_exception_ptr(std::invalid_argument("x"))), make_error_code(errc::invalid_spec));
  EXPECT_EQ(start_error(std::make_exception_ptr(std::runtime_error("x"))), make_error_code(errc::start_failed));
  EXPECT_EQ(start_error(std::make_exception_ptr(42)), make_error_code(errc::start_failed));
  EXPECT_NE(make_error_code(errc::start_failed).message(), "unknown systask error");
  EXPECT_NE(make_error_code(errc::invalid_spec).message(), "unknown systask error");
  EXPECT_NE(make_error_code(errc::unknown_provider).message(), "unknown systask error");
}

TEST(AsyncRun, CancellationEmittedBeforeTheBodyStartsKeepsItFromRunning) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  run holder = f.reg.start(f.reg.sync_spec("scim", 3));  // would refuse the sync and record a skip
  asio::cancellation_signal signal;
  bool body_ran = false;
  std::optional<std::pair<boost::system::error_code, task_status>> result;
  async_run(
      f.reg, f.reg.sync_spec("scim", 3), [&](run&) { body_ran = true; },
      asio::bind_cancellation_slot(signal.slot(),
                                   [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); }));
  signal.emit(asio::cancellation_type::terminal);  // before the executor ran anything
  f.run_until([&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->first, asio::error::operation_aborted);
  EXPECT_EQ(result->second, task_status::unknown);
  EXPECT_FALSE(body_ran);
  holder.finish(task_status::successful);
  const auto st = f.reg.sync_status("scim", 3);
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_EQ(f.messages_of(st->tasks[0]), "[]") << "it never tried to start: no skip message";
}

TEST(AsyncRun, APlainCallableBodyRunsToItsEndAndKeepsItsStatusWhenCancelledMeanwhile) {
  engine_fixture f;
  asio::cancellation_signal signal;
  std::optional<std::pair<boost::system::error_code, task_status>> result;
  async_run(
      f.reg, {.name = "t"},
      [&](run& r) {
        r.info("before");
        signal.emit(asio::cancellation_type::terminal);  // on the executor, while the body runs
        r.info("after: a plain callable cannot be interrupted");
        return task_status::warning;
      },
      asio::bind_cancellation_slot(signal.slot(),
                                   [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); }));
  f.run_until([&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->first) << result->first.message();
  EXPECT_EQ(result->second, task_status::warning);
  const auto recs = f.reg.tasks("t", "");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status(), task_status::warning);
  EXPECT_NE(f.messages_of(recs[0]).find("after: a plain callable"), std::string::npos);
}

TEST(AsyncRun, ACoroutineThatSwallowsOperationAbortedDecidesItsOwnOutcome) {
  engine_fixture f;
  asio::cancellation_signal signal;
  std::optional<std::pair<boost::system::error_code, task_status>> result;
  async_run(
      f.reg, {.name = "t"},
      [](run& r) -> asio::awaitable<task_status> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
        try {
          co_await timer.async_wait(asio::use_awaitable);
        } catch (const boost::system::system_error& e) {
          if (e.code() != asio::error::operation_aborted) throw;
          r.warning("stopped early, cleaned up");
          co_return task_status::warning;
        }
        co_return task_status::successful;
      },
      asio::bind_cancellation_slot(signal.slot(),
                                   [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); }));
  f.poll();
  ASSERT_EQ(f.reg.tasks("t", "", true).size(), 1u) << "the body is waiting";
  signal.emit(asio::cancellation_type::terminal);
  f.run_until([&] { return result.has_value(); });
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->first) << "the body returned normally";
  EXPECT_EQ(result->second, task_status::warning);
  const auto recs = f.reg.tasks("t", "");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status(), task_status::warning);
  const std::string msgs = f.messages_of(recs[0]);
  EXPECT_NE(msgs.find("stopped early, cleaned up"), std::string::npos);
  EXPECT_EQ(msgs.find("\"cancelled\""), std::string::npos) << msgs;
}

TEST(Runners, TriggerQueuesTheRegisteredRunnerWithNameAndUid) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.start(f.reg.sync_spec("scim", 3, "Full sync")).finish(task_status::error);
  std::vector<run_spec> seen;
  f.reg.set_runner("scim_sync", [&](const run_spec& spec) {
    seen.push_back(spec);
    async_run(f.reg, spec, [](run&) {}, asio::detached);
  });
  EXPECT_TRUE(f.reg.trigger("scim_sync", "acme-scim"));
  EXPECT_TRUE(seen.empty()) << "queued, not run inline";
  EXPECT_FALSE(f.reg.trigger("nobody_runs_this", ""));
  f.run_until([&] { return !f.reg.sync_status("scim", 3)->is_running && !seen.empty() && f.reg.sync_status("scim", 3)->tasks[0].status() == task_status::successful; });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].name, "scim_sync");
  EXPECT_EQ(seen[0].uid, "acme-scim");
  EXPECT_EQ(seen[0].description, "Full sync");
  ASSERT_TRUE(seen[0].provider);
  EXPECT_EQ(seen[0].provider->id, 3);
  EXPECT_EQ(f.reg.sync_status("scim", 3)->tasks[0].status(), task_status::successful);
}

}  // namespace
