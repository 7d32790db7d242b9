// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

// "m" + std::to_string(i) trips g++ 12's false -Wrestrict/-Wstringop-overflow/-Warray-bounds
// (GCC bug 105329) once inlined; appending does not.
std::string numbered(std::string_view prefix, int i) {
  std::string text(prefix);
  text += std::to_string(i);
  return text;
}

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;
using systask::test::parses_as_json;

TEST(Lifecycle, FinishedRunHasTimestampsDurationStatusAndExpiry) {
  engine_fixture f;
  run r = f.reg.start({.name = "cleanup", .uid = "", .description = "Remove stale objects"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r.uuid().size(), 36u);
  const wall_time started = f.clock->wall_now();
  f.clock->advance(1500ms);
  EXPECT_EQ(r.finish(task_status::successful), task_status::successful);

  auto records = f.reg.tasks("cleanup", "");
  ASSERT_EQ(records.size(), 1u);
  const task_record& t = records[0];
  EXPECT_EQ(t.uuid(), r.uuid());
  EXPECT_EQ(t.name(), "cleanup");
  EXPECT_EQ(t.uid(), "");
  EXPECT_EQ(t.description(), "Remove stale objects");
  EXPECT_EQ(t.start_time(), started);
  EXPECT_EQ(t.finish_time(), started + 1500ms);
  EXPECT_DOUBLE_EQ(t.duration(), 1.5);
  EXPECT_EQ(t.status(), task_status::successful);
  ASSERT_TRUE(t.expires());
  EXPECT_EQ(*t.expires(), started + 1500ms + 6h);
  EXPECT_TRUE(t.expiring());
  EXPECT_FALSE(t.running());
}

TEST(Lifecycle, UuidsAreVersion4AndDistinct) {
  engine_fixture f;
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    run r = f.reg.start({.name = "t"});
    const std::string u(r.uuid());
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos);
    EXPECT_EQ(u.find_first_not_of("0123456789abcdef-"), std::string::npos);
    EXPECT_TRUE(seen.insert(u).second);
    r.finish(task_status::successful);
  }
}

TEST(Lifecycle, DurationUsesTheMonotonicClockNotTheWallClock) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  f.clock->set_wall(f.clock->wall_now() - 1h);  // the wall clock steps back
  f.clock->advance(2s);
  r.finish(task_status::successful);
  EXPECT_DOUBLE_EQ(f.reg.tasks("t", "")[0].duration(), 2.0);
}

TEST(Lifecycle, EachExplicitStatusIsKept) {
  for (auto s : {task_status::unknown, task_status::successful, task_status::warning, task_status::error}) {
    engine_fixture f;
    run r = f.reg.start({.name = "t"});
    EXPECT_EQ(r.finish(s), s);
    EXPECT_EQ(f.reg.tasks("t", "")[0].status(), s);
  }
}

TEST(Lifecycle, FirstFinishWinsAndLaterCallsChangeNothing) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  EXPECT_EQ(r.finish(task_status::warning), task_status::warning);
  EXPECT_EQ(r.finish(task_status::successful), task_status::warning);
  EXPECT_EQ(r.fail("late"), task_status::warning);
  EXPECT_FALSE(r.info("after finish"));
  const auto records = f.reg.tasks("t", "");
  EXPECT_EQ(records[0].status(), task_status::warning);
  EXPECT_EQ(f.messages_of(records[0]), "[]");
}

TEST(Lifecycle, ExceptionEndsTheRunAsErrorWithItsText) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  try {
    throw std::runtime_error("directory unreachable");
  } catch (...) {
    EXPECT_EQ(r.fail(std::current_exception()), task_status::error);
  }
  const auto rec = f.reg.tasks("t", "")[0];
  EXPECT_EQ(rec.status(), task_status::error);
  const std::string msgs = f.messages_of(rec);
  EXPECT_NE(msgs.find(R"("log_level":"error","logger":"t","event":"directory unreachable")"), std::string::npos) << msgs;
}

TEST(Lifecycle, NonStandardExceptionIsStillExplained) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  try {
    throw 42;
  } catch (...) {
    r.fail(std::current_exception());
  }
  EXPECT_NE(f.messages_of(f.reg.tasks("t", "")[0]).find("unknown exception"), std::string::npos);
}

TEST(Lifecycle, AbandonedHandleEndsAsErrorWithAReason) {
  engine_fixture f;
  { run r = f.reg.start({.name = "t", .uid = "u"}); r.info("working"); }
  const auto recs = f.reg.tasks("t", "u");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].status(), task_status::error);
  const std::string msgs = f.messages_of(recs[0]);
  EXPECT_NE(msgs.find("working"), std::string::npos);
  EXPECT_NE(msgs.find("destroyed before the run finished"), std::string::npos);
}

TEST(Lifecycle, MoveAssigningOverAnActiveHandleAbandonsIt) {
  engine_fixture f;
  run a = f.reg.start({.name = "a"});
  run b = f.reg.start({.name = "b"});
  a = std::move(b);
  EXPECT_EQ(f.reg.tasks("a", "")[0].status(), task_status::error);
  EXPECT_EQ(a.name(), "b");
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move): a moved-from handle is documented as empty
  EXPECT_FALSE(b.info("ignored"));
}

TEST(Lifecycle, RunningRunIsVisibleWithElapsedTimeWhenAsked) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  r.info("step 1");
  f.clock->advance(3s);
  EXPECT_TRUE(f.reg.tasks("t", "").empty()) << "a running run is not a record yet";
  auto recs = f.reg.tasks("t", "", true);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].running());
  EXPECT_EQ(recs[0].status(), task_status::unknown);
  EXPECT_DOUBLE_EQ(recs[0].duration(), 3.0);
  EXPECT_EQ(recs[0].finish_time(), f.clock->wall_now());
  EXPECT_FALSE(recs[0].expires());
  EXPECT_NE(f.messages_of(recs[0]).find("step 1"), std::string::npos);
  ASSERT_TRUE(f.reg.find_task(r.uuid()));
  r.finish(task_status::successful);
}

TEST(Messages, AreServedInAppendOrderAsLogEvents) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  r.log(log_level::info, "L", "one", {{"n", 1}});
  f.clock->advance(1us);
  r.warning("two");
  r.finish(task_status::successful);
  const std::string msgs = f.messages_of(f.reg.tasks("t", "")[0]);
  EXPECT_EQ(msgs,
            R"([{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"info","logger":"L","event":"one","attributes":{"n":1}},)"
            R"({"timestamp":"2024-07-29T15:51:28.000001Z","log_level":"warning","logger":"t","event":"two","attributes":{}}])");
  EXPECT_TRUE(parses_as_json(msgs));
}

TEST(Messages, LossIsShownAsOneWarningAtTheGap) {
  task_options small;
  small.max_messages = 4;
  engine_fixture f(small);
  run r = f.reg.start({.name = "t"});
  for (int i = 0; i < 10; ++i) r.info(numbered("m", i));
  r.finish(task_status::successful);
  const auto rec = f.reg.tasks("t", "")[0];
  EXPECT_EQ(rec.messages_appended(), 10u);
  EXPECT_EQ(rec.messages_dropped(), 6u);
  const std::string msgs = f.messages_of(rec);
  EXPECT_TRUE(parses_as_json(msgs));
  EXPECT_EQ(msgs.find(R"([{"timestamp":"2024-07-29T15:51:28.000000Z","log_level":"warning","logger":"systask",)"
                      R"("event":"6 messages were dropped","attributes":{"dropped":6}},)"),
            0u)
      << msgs;
  EXPECT_NE(msgs.find("\"m6\""), std::string::npos);
  EXPECT_EQ(msgs.find("\"m5\""), std::string::npos);
}

TEST(Messages, DropNewestShowsTheGapAtTheEnd) {
  task_options small;
  small.max_messages = 2;
  small.overflow = overflow_policy::drop_newest;
  engine_fixture f(small);
  run r = f.reg.start({.name = "t"});
  for (int i = 0; i < 3; ++i) r.info(numbered("m", i));
  r.finish(task_status::successful);
  const std::string msgs = f.messages_of(f.reg.tasks("t", "")[0]);
  EXPECT_TRUE(parses_as_json(msgs));
  EXPECT_NE(msgs.find(R"("event":"m1","attributes":{}},{"timestamp")"), std::string::npos) << msgs;
  EXPECT_NE(msgs.find(R"("event":"1 message was dropped","attributes":{"dropped":1}}])"), std::string::npos) << msgs;
}

TEST(StatusPolicy, ExplicitKeepsTheStatusTheCodeSet) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  r.error("something broke");
  EXPECT_EQ(r.finish(task_status::successful), task_status::successful);
}

TEST(StatusPolicy, WorstMessageRaisesTheStatusToTheWorstLevel) {
  engine_fixture f;
  task_options o;
  o.policy = status_policy::worst_message;
  f.reg.configure_task("t", o);
  const std::pair<log_level, task_status> cases[] = {
      {log_level::debug, task_status::successful},   {log_level::info, task_status::successful},
      {log_level::warn, task_status::warning},       {log_level::warning, task_status::warning},
      {log_level::error, task_status::error},        {log_level::exception, task_status::error},
      {log_level::critical, task_status::error},
  };
  for (auto [level, expected] : cases) {
    run r = f.reg.start({.name = "t"});
    r.log(level, "L", "e");
    EXPECT_EQ(r.finish(task_status::successful), expected) << to_string(level);
  }
  run r = f.reg.start({.name = "t"});
  r.warning("only a warning");
  EXPECT_EQ(r.finish(task_status::error), task_status::error) << "never lowers an explicit status";
}

TEST(History, KeepsTheConfiguredNumberOfRunsNewestFirst) {
  engine_fixture f;
  task_options o;
  o.history_depth = 3;
  f.reg.configure_task("t", o);
  std::vector<std::string> uuids;
  for (int i = 0; i < 5; ++i) {
    run r = f.reg.start({.name = "t", .uid = "x"});
    uuids.emplace_back(r.uuid());
    f.clock->advance(1s);
    r.finish(task_status::successful);
  }
  const auto recs = f.reg.tasks("t", "x");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].uuid(), uuids[4]);
  EXPECT_EQ(recs[1].uuid(), uuids[3]);
  EXPECT_EQ(recs[2].uuid(), uuids[2]);
  EXPECT_EQ(f.reg.records_held(), 3u);
}

TEST(History, DefaultDepthIsOneRecordPerNameAndUid) {
  engine_fixture f;
  for (const char* uid : {"a", "b", "a"}) f.reg.start({.name = "t", .uid = uid}).finish(task_status::successful);
  EXPECT_EQ(f.reg.tasks("t", "a").size(), 1u);
  EXPECT_EQ(f.reg.tasks("t", "b").size(), 1u);
  EXPECT_EQ(f.reg.list_tasks().size(), 2u);
}

TEST(KeepOnSuccess, SuccessfulRunRemovesTheTasksRecords) {
  engine_fixture f;
  task_options o;
  o.keep_on_success = false;
  f.reg.configure_task("t", o);
  f.reg.start({.name = "t"}).finish(task_status::error);
  ASSERT_EQ(f.reg.tasks("t", "").size(), 1u) << "a failure is kept";
  f.reg.start({.name = "t"}).finish(task_status::successful);
  EXPECT_TRUE(f.reg.tasks("t", "").empty()) << "a success removes the records";
  f.reg.start({.name = "t"}).finish(task_status::warning);
  EXPECT_EQ(f.reg.tasks("t", "").size(), 1u);
  EXPECT_EQ(f.reg.records_held(), 1u);
}

TEST(Prefill, ShowsOneUnknownRecordUntilTheFirstRunFinishes) {
  engine_fixture f;
  f.reg.prefill({.name = "t", .uid = "", .description = "Nightly import"});
  f.reg.prefill({.name = "t", .uid = "", .description = "again"});  // no effect: it has a record
  auto recs = f.reg.tasks("t", "");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].prefilled());
  EXPECT_EQ(recs[0].status(), task_status::unknown);
  EXPECT_EQ(recs[0].description(), "Nightly import");
  EXPECT_FALSE(recs[0].expires());
  EXPECT_FALSE(recs[0].expiring());
  EXPECT_DOUBLE_EQ(recs[0].duration(), 0.0);
  const std::string msgs = f.messages_of(recs[0]);
  EXPECT_NE(msgs.find(R"("event":"Task has not been run yet.")"), std::string::npos);
  EXPECT_EQ(std::count(msgs.begin(), msgs.end(), '{'), 2) << "one message (object + attributes)";

  run r = f.reg.start({.name = "t"});
  ASSERT_EQ(f.reg.tasks("t", "").size(), 1u) << "still shown while the first run runs";
  r.finish(task_status::successful);
  recs = f.reg.tasks("t", "");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_FALSE(recs[0].prefilled());
  EXPECT_EQ(f.reg.records_held(), 1u);
}

TEST(Input, RejectsAnEmptyNameAndBadOptionsWithClearErrors) {
  engine_fixture f;
  EXPECT_THROW(f.reg.start({.name = ""}), std::invalid_argument);
  EXPECT_THROW(f.reg.prefill({.name = ""}), std::invalid_argument);
  task_options bad;
  bad.history_depth = 0;
  EXPECT_THROW(f.reg.configure_task("t", bad), std::invalid_argument);
  bad = {};
  bad.max_messages = 0;
  EXPECT_THROW(f.reg.configure_task("t", bad), std::invalid_argument);
  bad = {};
  bad.retention = -1s;
  EXPECT_THROW(f.reg.configure_task("t", bad), std::invalid_argument);
  EXPECT_THROW(f.reg.configure_task("", {}), std::invalid_argument);
  boost::asio::io_context io;
  EXPECT_THROW(registry(io, registry_options{{}, nullptr}), std::invalid_argument);
  // Nothing recorded before the bad calls is lost.
  f.reg.start({.name = "ok"}).finish(task_status::successful);
  EXPECT_THROW(f.reg.start({.name = ""}), std::invalid_argument);
  EXPECT_EQ(f.reg.tasks("ok", "").size(), 1u);
}

// Regression (R14): retention = seconds::max() overflowed finish + retention (signed overflow
// in the nanosecond conversion), and the record vanished at once.
TEST(Input, ARetentionThatWouldOverflowIsRefusedWithTheLimitInTheMessage) {
  engine_fixture f;
  for (const std::chrono::seconds bad :
       {std::chrono::seconds::max() - 1s, task_options::max_retention + 1s, std::chrono::seconds{std::chrono::hours{24 * 365 * 300}}}) {
    task_options o;
    o.retention = bad;
    try {
      f.reg.configure_task("t", o);
      ADD_FAILURE() << "accepted a retention of " << bad.count() << " s";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("at most 100 years (3155760000 s)"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("never_expire"), std::string::npos) << e.what();
    }
    boost::asio::io_context io;
    EXPECT_THROW(registry(io, registry_options{o, f.clock}), std::invalid_argument) << "the default options too";
  }
  task_options longest;
  longest.retention = task_options::max_retention;
  EXPECT_NO_THROW(f.reg.configure_task("t", longest));
  longest.retention = task_options::never_expire;
  EXPECT_NO_THROW(f.reg.configure_task("t", longest));
}

TEST(Input, NamesAndDescriptionsAreMadeSafe) {
  engine_fixture f;
  f.reg.start({.name = "bad\xFFname", .uid = "u\xC0", .description = std::string(5000, 'd')})
      .finish(task_status::successful);
  const auto recs = f.reg.list_tasks();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].name(), "bad\xEF\xBF\xBDname");
  EXPECT_EQ(recs[0].uid(), "u\xEF\xBF\xBD");
  EXPECT_EQ(recs[0].description().size(), limits::description_bytes);
}

TEST(Lookup, FindTaskByUuidAndListAll) {
  engine_fixture f;
  run a = f.reg.start({.name = "a"});
  const std::string ua(a.uuid());
  a.finish(task_status::successful);
  f.reg.start({.name = "b", .uid = "1"}).finish(task_status::error);
  ASSERT_TRUE(f.reg.find_task(ua));
  EXPECT_EQ(f.reg.find_task(ua)->name(), "a");
  EXPECT_FALSE(f.reg.find_task("00000000-0000-4000-8000-000000000000"));
  EXPECT_EQ(f.reg.list_tasks().size(), 2u);
}

TEST(Lookup, ListTasksFiltersByNameUidAndStatusAndNeverShowsExpiredOrRunningRuns) {
  engine_fixture f;
  task_options keep3;
  keep3.history_depth = 3;
  f.reg.configure_task("sync", keep3);
  task_options brief;
  brief.retention = 10s;
  f.reg.configure_task("brief", brief);
  f.reg.start({.name = "sync", .uid = "a"}).finish(task_status::successful);
  f.reg.start({.name = "sync", .uid = "a"}).finish(task_status::error);
  f.reg.start({.name = "sync", .uid = "b"}).finish(task_status::error);
  f.reg.start({.name = "cleanup"}).finish(task_status::warning);
  f.reg.start({.name = "brief"}).finish(task_status::error);
  run still = f.reg.start({.name = "sync", .uid = "c"});
  const auto count = [&](const registry::task_filter& filter) { return f.reg.list_tasks(filter).size(); };
  EXPECT_EQ(count({}), 5u) << "every finished run, no running one";
  EXPECT_EQ(count({}), f.reg.list_tasks().size());
  EXPECT_EQ(count({.name = "sync"}), 3u);
  EXPECT_EQ(count({.name = "sync", .uid = "a"}), 2u);
  EXPECT_EQ(count({.uid = "b"}), 1u);
  EXPECT_EQ(count({.status = task_status::error}), 3u);
  EXPECT_EQ(count({.name = "sync", .status = task_status::error}), 2u);
  EXPECT_EQ(count({.name = "sync", .uid = "c"}), 0u) << "running: not listed";
  EXPECT_EQ(count({.name = "nothing"}), 0u);
  for (const auto& r : f.reg.list_tasks({.status = task_status::error})) EXPECT_EQ(r.status(), task_status::error);
  f.clock->advance(11s);  // brief's run expired; not reclaimed yet, and not listed either
  EXPECT_EQ(count({.status = task_status::error}), 2u);
  EXPECT_EQ(count({.name = "brief"}), 0u);
  still.finish(task_status::successful);
  EXPECT_EQ(count({.name = "sync", .uid = "c"}), 1u);
}

TEST(Counters, CountFinishedRunsByStatusAndDuration) {
  engine_fixture f;
  task_options o;
  o.history_depth = 10;
  f.reg.configure_task("t", o);
  for (auto s : {task_status::successful, task_status::successful, task_status::error}) {
    run r = f.reg.start({.name = "t"});
    r.info("x");
    f.clock->advance(2s);
    r.finish(s);
  }
  run running = f.reg.start({.name = "t"});
  const auto counters = f.reg.counters();
  ASSERT_EQ(counters.size(), 1u);
  const auto& c = counters[0];
  EXPECT_EQ(c.finished_by_status[static_cast<int>(task_status::successful)], 2u);
  EXPECT_EQ(c.finished_by_status[static_cast<int>(task_status::error)], 1u);
  EXPECT_EQ(c.running, 1u);
  EXPECT_EQ(c.retained_runs, 3u);
  EXPECT_EQ(c.retained_messages, 3u);
  EXPECT_DOUBLE_EQ(c.duration_sum, 6.0);
  EXPECT_EQ(c.duration_histogram[3], 3u) << "2 s falls in the (1, 5] bucket";
  running.finish(task_status::successful);
}

}  // namespace
