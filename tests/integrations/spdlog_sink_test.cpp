// SPDX-License-Identifier: BSL-1.0
#include <systask/spdlog/sink.hpp>

#include "bridge_check.hpp"
#include "engine_fixture.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace systask;
using systask::test::engine_fixture;
using systask::test::messages_of;

constexpr std::array<spdlog::level::level_enum, 5> cycle{spdlog::level::debug, spdlog::level::info,
                                                         spdlog::level::warn, spdlog::level::err,
                                                         spdlog::level::critical};
constexpr std::array<const char*, 5> cycle_names{"debug", "info", "warning", "error", "critical"};

TEST(SpdlogSink, MapsLevelsLoggerPayloadAndCallSite) {
  engine_fixture f;
  auto sink = std::make_shared<spdlog_sink>();
  spdlog::logger logger("importer", sink);
  logger.set_level(spdlog::level::trace);
  run r = f.reg.start({.name = "import"});
  {
    run_scope scope(r);
    logger.trace("t {}", 1);
    logger.debug("d {}", 2);
    logger.info("i {}", 3);
    logger.warn("w {}", 4);
    logger.error("e {}", 5);
    logger.critical("c {}", 6);
    logger.log(spdlog::level::off, "never stored");
    SPDLOG_LOGGER_WARN(&logger, "with a call site {}", 7);
    const int line = __LINE__ - 1;
    spdlog::logger unnamed("", sink);
    unnamed.info("from a logger without a name");
    r.finish(task_status::successful);
    const auto got = messages_of(f.reg, "import");
    ASSERT_EQ(got.size(), 8u);
    const std::vector<std::pair<std::string, std::string>> want{
        {"debug", "t 1"}, {"debug", "d 2"}, {"info", "i 3"}, {"warning", "w 4"}, {"error", "e 5"},
        {"critical", "c 6"}, {"warning", "with a call site 7"}, {"info", "from a logger without a name"}};
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].level, want[i].first) << i;
      EXPECT_EQ(got[i].event, want[i].second) << i;
      EXPECT_EQ(got[i].logger, i == 7 ? "import" : "importer") << "an unnamed logger logs as the task";
      EXPECT_EQ(got[i].file.has_value(), i == 6) << i;
    }
    EXPECT_EQ(got[6].file, __FILE__);
    EXPECT_EQ(got[6].line, line);
  }
  EXPECT_EQ(sink->routed(), 8u);
  EXPECT_EQ(sink->unrouted(), 0u);
  EXPECT_EQ(spdlog_sink::map_level(spdlog::level::off), std::nullopt);
}

TEST(SpdlogSink, MessagesWithNoCurrentRunOrAFinishedRunAreCountedAndGoNowhere) {
  engine_fixture f;
  auto sink = std::make_shared<spdlog_sink>();
  spdlog::logger logger("l", sink);
  logger.info("before any run");
  run r = f.reg.start({.name = "t"});
  {
    run_scope scope(r);
    logger.info("kept");
    r.finish(task_status::successful);
    logger.info("after the finish");
  }
  logger.info("after the scope");
  EXPECT_EQ(sink->routed(), 1u);
  EXPECT_EQ(sink->unrouted(), 2u);
  EXPECT_EQ(sink->refused(), 1u);
  const auto got = messages_of(f.reg, "t");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event, "kept");
}

// Four threads share one synchronous logger; each logs into its own run at the same time.
// Every message must land in its thread's run, in order, at its level: none in another run.
TEST(SpdlogSink, ThreadsSharingOneLoggerLogIntoTheirOwnRuns) {
  constexpr int threads = 4, per_thread = 500;
  engine_fixture f;
  auto sink = std::make_shared<spdlog_sink>();
  auto logger = std::make_shared<spdlog::logger>("shared", sink);
  logger->set_level(spdlog::level::trace);
  std::vector<run> runs;
  for (int t = 0; t < threads; ++t) runs.push_back(f.reg.start({.name = systask::test::numbered("thread_", t)}));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      run_scope scope(runs[static_cast<std::size_t>(t)]);
      for (int i = 0; i < per_thread; ++i) logger->log(cycle[static_cast<std::size_t>(i) % cycle.size()], "t{} m{}", t, i);
    });
  }
  for (auto& w : workers) w.join();
  for (auto& r : runs) r.finish(task_status::successful);
  EXPECT_EQ(sink->routed(), static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(sink->unrouted() + sink->refused(), 0u);
  systask::test::expect_each_thread_in_its_own_run(
      f.reg, threads, per_thread,
      [&](int i) { return std::string(cycle_names[static_cast<std::size_t>(i) % cycle.size()]); },
      [](int) { return std::string("shared"); });
}

// spdlog's async loggers call their sinks on the pool's thread, where no run is current: with
// the current-run sink, every message is counted as unrouted and none lands anywhere.
TEST(SpdlogSink, AnAsyncLoggerWithTheCurrentRunSinkRoutesNothing) {
  engine_fixture f;
  auto pool = std::make_shared<spdlog::details::thread_pool>(1024, 1);
  auto sink = std::make_shared<spdlog_sink>();
  auto logger = std::make_shared<spdlog::async_logger>("async", sink, pool);
  run r = f.reg.start({.name = "t"});
  {
    run_scope scope(r);
    for (int i = 0; i < 10; ++i) logger->info("m{}", i);
  }
  ASSERT_TRUE(sink->flush_and_wait(*logger));
  EXPECT_EQ(sink->unrouted(), 10u);
  EXPECT_EQ(sink->routed(), 0u);
  r.finish(task_status::successful);
  EXPECT_TRUE(messages_of(f.reg, "t").empty());
}

// The async pattern: a logger per run whose sink holds the run. Two threads log into their own
// runs through their own async loggers on one shared pool (one worker, spdlog's default);
// flush_and_wait before the finish delivers every message; a later one is refused and counted.
TEST(SpdlogSink, PerRunAsyncLoggersDeliverEveryMessageBeforeTheFinish) {
  constexpr int threads = 2, per_thread = 400;
  engine_fixture f;
  auto pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  std::vector<run> runs;
  std::vector<std::shared_ptr<spdlog_sink>> sinks;
  std::vector<std::shared_ptr<spdlog::async_logger>> loggers;
  for (int t = 0; t < threads; ++t) {
    runs.push_back(f.reg.start({.name = systask::test::numbered("async_", t)}));
    sinks.push_back(std::make_shared<spdlog_sink>(runs.back().ref()));
    loggers.push_back(std::make_shared<spdlog::async_logger>("worker", sinks.back(), pool,
                                                             spdlog::async_overflow_policy::block));
    loggers.back()->set_level(spdlog::level::trace);
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& logger = *loggers[static_cast<std::size_t>(t)];
      for (int i = 0; i < per_thread; ++i) logger.log(cycle[static_cast<std::size_t>(i) % cycle.size()], "t{} m{}", t, i);
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < threads; ++t) {
    const auto k = static_cast<std::size_t>(t);
    ASSERT_TRUE(sinks[k]->flush_and_wait(*loggers[k]));
    runs[k].finish(task_status::successful);
    EXPECT_EQ(sinks[k]->routed(), static_cast<std::uint64_t>(per_thread));
    const auto got = messages_of(f.reg, systask::test::numbered("async_", t));
    ASSERT_EQ(got.size(), static_cast<std::size_t>(per_thread));
    for (int i = 0; i < per_thread; ++i) {
      const auto& m = got[static_cast<std::size_t>(i)];
      ASSERT_EQ(m.event, systask::test::event_of(t, i));
      ASSERT_EQ(m.level, cycle_names[static_cast<std::size_t>(i) % cycle.size()]);
      ASSERT_EQ(m.logger, "worker");
    }
  }
  loggers[0]->info("late");
  ASSERT_TRUE(sinks[0]->flush_and_wait(*loggers[0]));
  EXPECT_EQ(sinks[0]->refused(), 1u) << "a message after the finish is refused and counted";
  EXPECT_EQ(messages_of(f.reg, "async_0").size(), static_cast<std::size_t>(per_thread));
}

}  // namespace
