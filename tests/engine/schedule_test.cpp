// SPDX-License-Identifier: BSL-1.0
// Schedules with a manual clock: cadence (crontab and interval), paused, send now, no overlap,
// wall-clock steps both ways, last status tracking. No test sleeps: the clock moves when told,
// and check_now() runs the timer's work.

#include <systask/engine/schedule.hpp>

#include "engine_fixture.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using namespace systask;
namespace asio = boost::asio;

// 2024-07-29T15:51:28Z, where manual_clock starts.
const wall_time clock_start{seconds{1'722'268'288}};
wall_time at(int h, int m, int s = 0) {  // that day, UTC
  return wall_time{floor<days>(clock_start) + hours{h} + minutes{m} + seconds{s}};
}

scheduler_options quiet() {
  scheduler_options o;
  o.clock_check = hours(1);  // the real timer never wakes during a test; check_now() does its work
  return o;
}

struct fixture : test::engine_fixture {
  fixture() : sched(reg, quiet()) {}
  /// The timer's work now, and the runs it started until they wait or end.
  void tick() {
    sched.check_now();
    poll();
  }
  void move_to(wall_time t) { clock->advance(t - clock->wall_now()); }  // both clocks, forward
  schedule_info info(const std::string& id) const {
    auto i = sched.find(id);
    if (!i) throw std::logic_error("no schedule " + id);
    return *i;
  }
  std::string messages(const std::string& name, bool include_running = true) const {
    std::string out;
    for (const auto& r : reg.tasks(name, "", include_running)) out += messages_of(r);
    return out;
  }
  scheduler sched;
};

schedule_body counting(int& n, task_status status = task_status::successful) {
  return [&n, status](run&) -> asio::awaitable<task_status> {
    ++n;
    co_return status;
  };
}

// A body that waits until the test opens the gate (or the run is cancelled).
struct gate {
  explicit gate(asio::io_context& io) : timer(io, asio::steady_timer::time_point::max()) {}
  schedule_body body() {
    return [this](run& r) -> asio::awaitable<task_status> {
      ++entered;
      r.info("working");
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!open_) throw boost::system::system_error(ec);  // cancelled: not let through
      co_return task_status::successful;
    };
  }
  void open() {
    open_ = true;
    timer.cancel();
  }
  asio::steady_timer timer;
  int entered = 0;

 private:
  bool open_ = false;
};

schedule_spec cron_spec(std::string name, std::string expr, schedule_body body) {
  schedule_spec s;
  s.run.name = std::move(name);
  s.crontab = std::move(expr);
  s.body = std::move(body);
  return s;
}

schedule_spec interval_spec(std::string name, seconds every, schedule_body body) {
  schedule_spec s;
  s.run.name = std::move(name);
  s.interval = every;
  s.body = std::move(body);
  return s;
}

TEST(Schedule, CrontabFiresAtEachCadenceTimeOfTheWallClock) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(cron_spec("cleanup", "*/5 * * * *", counting(runs)));
  EXPECT_EQ(s.next_run, at(15, 55));
  f.move_to(at(15, 54, 59));
  f.tick();
  EXPECT_EQ(runs, 0);
  f.move_to(at(15, 55));
  f.tick();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(f.info(s.id).next_run, at(16, 0));
  f.tick();
  EXPECT_EQ(runs, 1) << "a time fires once";
  f.move_to(at(16, 0, 1));
  f.tick();
  EXPECT_EQ(runs, 2);
  const auto i = f.info(s.id);
  EXPECT_EQ(i.fired, 2u);
  EXPECT_EQ(i.started, 2u);
  EXPECT_EQ(i.missed, 0u);
  EXPECT_EQ(f.reg.counters().at(0).finished_by_status[static_cast<int>(task_status::successful)], 2u);
}

TEST(Schedule, IntervalFiresAfterEachIntervalOfElapsedTime) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(interval_spec("poll", 30s, counting(runs)));
  EXPECT_EQ(s.next_run, clock_start + 30s);
  f.clock->advance(29s);
  f.tick();
  EXPECT_EQ(runs, 0);
  f.clock->advance(1s);
  f.tick();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(f.info(s.id).next_run, clock_start + 60s);
  f.clock->advance(30s);
  f.tick();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(f.info(s.id).missed, 0u);
}

TEST(Schedule, PausedScheduleDoesNotFireAndResumesAtItsNextTimeWithoutMissing) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(cron_spec("t", "*/5 * * * *", counting(runs)));
  ASSERT_TRUE(f.sched.set_paused(s.id, true));
  EXPECT_TRUE(f.info(s.id).paused);
  f.move_to(at(16, 12));
  f.tick();
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(f.info(s.id).next_run, at(16, 15)) << "when it would fire if resumed now";
  ASSERT_TRUE(f.sched.set_paused(s.id, false));
  f.tick();
  EXPECT_EQ(runs, 0) << "the times that passed while paused do not fire";
  f.move_to(at(16, 15));
  f.tick();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(f.info(s.id).missed, 0u);
  EXPECT_FALSE(f.sched.set_paused("no-such-id", true));

  // An interval schedule keeps its phase across a pause.
  int polls = 0;
  const auto p = f.sched.add(interval_spec("poll", 60s, counting(polls)));
  f.sched.set_paused(p.id, true);
  f.clock->advance(150s);
  f.tick();
  EXPECT_EQ(polls, 0);
  EXPECT_EQ(f.info(p.id).next_run, f.clock->wall_now() + 30s);
  f.sched.set_paused(p.id, false);
  f.clock->advance(30s);
  f.tick();
  EXPECT_EQ(polls, 1);
  EXPECT_EQ(f.info(p.id).missed, 0u);
}

TEST(Schedule, SendNowRunsAtOnceWithoutMovingNextRun) {
  fixture f;
  int runs = 0;
  schedule_spec spec = cron_spec("t", "0 * * * *", counting(runs));
  spec.paused = true;  // a paused schedule can be sent too
  const auto s = f.sched.add(std::move(spec));
  ASSERT_TRUE(f.sched.send_now(s.id));
  f.poll();
  EXPECT_EQ(runs, 1);
  const auto i = f.info(s.id);
  EXPECT_EQ(i.next_run, at(16, 0));
  EXPECT_EQ(i.sent, 1u);
  EXPECT_EQ(i.fired, 0u);
  ASSERT_TRUE(i.last_run);
  EXPECT_EQ(i.last_run->status, task_status::successful);
  EXPECT_FALSE(f.sched.send_now("no-such-id"));
}

TEST(Schedule, NoOverlapSkipsAndTellsTheRunningRun) {
  fixture f;
  gate g(f.io);
  const auto s = f.sched.add(cron_spec("import", "* * * * *", g.body()));
  f.move_to(at(15, 52));
  f.tick();
  ASSERT_EQ(g.entered, 1);
  EXPECT_TRUE(f.info(s.id).running);
  f.move_to(at(15, 53));
  f.tick();
  ASSERT_TRUE(f.sched.send_now(s.id));
  f.poll();
  EXPECT_EQ(g.entered, 1) << "no second run while the first is going";
  auto i = f.info(s.id);
  EXPECT_EQ(i.skipped, 2u);
  EXPECT_EQ(i.last_skipped, at(15, 53));
  const std::string running = f.messages("import");
  EXPECT_NE(running.find("A scheduled start was skipped because this run is still running"), std::string::npos) << running;
  EXPECT_NE(running.find("A start requested now was skipped because this run is still running"), std::string::npos);
  EXPECT_NE(running.find(s.id), std::string::npos) << "the message names the schedule";

  g.open();
  f.poll();
  i = f.info(s.id);
  EXPECT_FALSE(i.running);
  EXPECT_EQ(i.last_run->status, task_status::successful);
  f.move_to(at(15, 54));
  f.tick();
  EXPECT_EQ(g.entered, 2) << "the next time after the run ended starts again";
  g.open();
  f.poll();
}

TEST(Schedule, SkipWhileTheRunIsStartingIsToldWhenItStarts) {
  fixture f;
  gate g(f.io);
  // add() queues a tick on the scheduler's strand; the two sends queued behind it then run as
  // one batch of the strand, so the second comes after the first has asked async_run to start
  // its run, and before the run has started (the start waits for the executor).
  const auto s = f.sched.add(interval_spec("import", 60s, g.body()));
  ASSERT_TRUE(f.sched.send_now(s.id));
  ASSERT_TRUE(f.sched.send_now(s.id));
  f.poll();
  ASSERT_EQ(g.entered, 1);
  EXPECT_EQ(f.info(s.id).skipped, 1u);
  const std::string running = f.messages("import");
  EXPECT_NE(running.find("A scheduled start was skipped because this run was still starting"), std::string::npos)
      << running;
  g.open();
  f.poll();
  EXPECT_EQ(f.info(s.id).last_run->status, task_status::successful);
}

TEST(Schedule, ProviderSyncOverlapIsLeftToTheSyncLock) {
  fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  gate g(f.io);
  std::vector<boost::system::error_code> done;
  schedule_spec spec;
  spec.run = f.reg.sync_spec("scim", 3, "Run full sync for Acme SCIM");
  spec.interval = 60s;
  spec.body = g.body();
  spec.identifier = "scim_sync:3";
  spec.on_done = [&](boost::system::error_code ec, task_status) { done.push_back(ec); };
  const auto s = f.sched.add(std::move(spec));
  f.clock->advance(60s);
  f.tick();
  ASSERT_EQ(g.entered, 1);
  f.clock->advance(60s);
  f.tick();
  EXPECT_EQ(g.entered, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], errc::sync_already_running);
  const auto i = f.info(s.id);
  EXPECT_EQ(i.skipped, 1u);
  EXPECT_TRUE(i.running);
  const auto st = f.reg.sync_status("scim", 3, true);
  ASSERT_TRUE(st && !st->tasks.empty());
  EXPECT_NE(f.messages_of(st->tasks[0]).find("A sync request was skipped because this sync is still running"),
            std::string::npos);
  g.open();
  f.poll();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_FALSE(done[1]);
  EXPECT_EQ(f.info(s.id).last_run->status, task_status::successful);
}

TEST(Schedule, StepBackwardsNeverFiresATimeTwice) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(cron_spec("t", "*/5 * * * *", counting(runs)));
  f.move_to(at(15, 55));
  f.tick();
  f.move_to(at(16, 0));
  f.tick();
  ASSERT_EQ(runs, 2);
  f.clock->set_wall(at(15, 1));  // an hour back
  f.tick();
  EXPECT_EQ(f.info(s.id).next_run, at(16, 5)) << "the times up to 16:00 fired already";
  f.clock->set_wall(at(15, 5));
  f.tick();
  f.clock->set_wall(at(16, 0, 30));
  f.tick();
  EXPECT_EQ(runs, 2) << "15:05 .. 16:00 were before the step: none fires again";
  f.clock->set_wall(at(16, 5));
  f.tick();
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(f.info(s.id).missed, 0u);
}

TEST(Schedule, StepBackwardsBeforeTheFirstFireBringsTheNextRunCloser) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(cron_spec("t", "*/5 * * * *", counting(runs)));
  EXPECT_EQ(s.next_run, at(15, 55));
  f.clock->set_wall(at(14, 2));
  f.tick();
  EXPECT_EQ(f.info(s.id).next_run, at(14, 5)) << "recomputed: nothing has fired yet";
  f.clock->set_wall(at(14, 5));
  f.tick();
  EXPECT_EQ(runs, 1);
}

TEST(Schedule, StepForwardFiresOnceAndCountsTheMissedTimes) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(cron_spec("t", "*/5 * * * *", counting(runs)));
  f.move_to(at(15, 55));
  f.tick();
  ASSERT_EQ(runs, 1);
  EXPECT_EQ(f.info(s.id).missed, 0u);
  f.clock->set_wall(at(16, 27, 10));  // over 16:00, 16:05, 16:10, 16:15, 16:20 and 16:25
  f.tick();
  EXPECT_EQ(runs, 2) << "one fire for all of them";
  const auto i = f.info(s.id);
  EXPECT_EQ(i.missed, 5u);
  EXPECT_EQ(i.next_run, at(16, 30));
  const std::string m = f.messages("t");
  EXPECT_NE(m.find("\"log_level\":\"warning\""), std::string::npos) << m;
  EXPECT_NE(m.find("5 scheduled starts were missed"), std::string::npos) << m;
  EXPECT_NE(m.find("\"missed\":5"), std::string::npos);
  EXPECT_NE(m.find("\"scheduled_for\":\"2024-07-29T16:25:00.000000Z\""), std::string::npos) << m;
  f.clock->set_wall(at(16, 30));
  f.tick();
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(f.info(s.id).missed, 5u);
}

TEST(Schedule, IntervalIgnoresWallClockSteps) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(interval_spec("poll", 60s, counting(runs)));
  f.clock->set_wall(clock_start + hours(5));
  f.tick();
  EXPECT_EQ(runs, 0) << "no elapsed time: no fire";
  f.clock->set_wall(clock_start - hours(5));
  f.clock->advance(60s);
  f.tick();
  EXPECT_EQ(runs, 1) << "a minute elapsed, whatever the wall clock says";
  EXPECT_EQ(f.info(s.id).next_run, clock_start - hours(5) + 120s);
  EXPECT_EQ(f.info(s.id).missed, 0u);
}

TEST(Schedule, LateIntervalFireCountsTheMissedIntervals) {
  fixture f;
  int runs = 0;
  const auto s = f.sched.add(interval_spec("poll", 30s, counting(runs)));
  f.clock->advance(105s);  // due at 30 s; 60 s and 90 s passed too
  f.tick();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(f.info(s.id).missed, 2u);
  EXPECT_EQ(f.info(s.id).next_run, clock_start + 120s) << "the phase is kept";
  EXPECT_NE(f.messages("poll").find("2 scheduled starts were missed"), std::string::npos);
}

TEST(Schedule, LastRunTracksTheStatusAndTheTimeOfTheLatestRun) {
  fixture f;
  std::vector<std::pair<boost::system::error_code, task_status>> done;
  bool fail = false;
  schedule_spec spec = interval_spec("t", 10s, [&](run& r) -> asio::awaitable<task_status> {
    r.warning("something odd");
    if (fail) throw std::runtime_error("remote said no");
    co_return task_status::warning;
  });
  spec.on_done = [&](boost::system::error_code ec, task_status st) { done.emplace_back(ec, st); };
  const auto s = f.sched.add(std::move(spec));
  EXPECT_FALSE(s.last_run);
  f.clock->advance(10s);
  f.tick();
  auto i = f.info(s.id);
  ASSERT_TRUE(i.last_run);
  EXPECT_EQ(i.last_run->status, task_status::warning);
  EXPECT_EQ(i.last_run->started, clock_start + 10s);
  EXPECT_EQ(i.last_run->finished, clock_start + 10s);
  const auto first_uuid = i.last_run->uuid;
  ASSERT_TRUE(f.reg.find_task(first_uuid)) << "the uuid is the run's";

  fail = true;
  f.clock->advance(10s);
  f.tick();
  i = f.info(s.id);
  EXPECT_EQ(i.last_run->status, task_status::error);
  EXPECT_NE(i.last_run->uuid, first_uuid);
  EXPECT_FALSE(i.last_run->cancelled);
  const auto rec = f.reg.find_task(i.last_run->uuid);
  ASSERT_TRUE(rec);
  EXPECT_NE(f.messages_of(*rec).find("remote said no"), std::string::npos);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0], std::make_pair(boost::system::error_code{}, task_status::warning));
  EXPECT_EQ(done[1], std::make_pair(boost::system::error_code{}, task_status::error));
  EXPECT_FALSE(i.last_start_error);
}

TEST(Schedule, StopCancelsRunningRunsAndFiresNothingMore) {
  fixture f;
  gate g(f.io);
  std::vector<boost::system::error_code> done;
  schedule_spec spec = interval_spec("import", 10s, g.body());
  spec.on_done = [&](boost::system::error_code ec, task_status) { done.push_back(ec); };
  const auto s = f.sched.add(std::move(spec));
  f.clock->advance(10s);
  f.tick();
  ASSERT_EQ(g.entered, 1);
  f.sched.stop();
  f.poll();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], asio::error::operation_aborted);
  auto i = f.info(s.id);
  EXPECT_FALSE(i.running);
  EXPECT_TRUE(i.last_run->cancelled);
  EXPECT_EQ(i.last_run->status, task_status::error);
  const auto rec = f.reg.find_task(i.last_run->uuid);
  ASSERT_TRUE(rec);
  EXPECT_NE(f.messages_of(*rec).find("cancelled"), std::string::npos);

  EXPECT_FALSE(f.sched.send_now(s.id));
  f.clock->advance(60s);
  f.tick();
  EXPECT_EQ(g.entered, 1);
  f.sched.stop();  // idempotent
}

TEST(Schedule, RemoveStopsFiringButLetsTheRunFinish) {
  fixture f;
  gate g(f.io);
  int done = 0;
  schedule_spec spec = interval_spec("import", 10s, g.body());
  spec.on_done = [&](boost::system::error_code ec, task_status st) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(st, task_status::successful);
    ++done;
  };
  const auto s = f.sched.add(std::move(spec));
  f.clock->advance(10s);
  f.tick();
  ASSERT_TRUE(f.sched.remove(s.id));
  EXPECT_FALSE(f.sched.find(s.id));
  EXPECT_FALSE(f.sched.remove(s.id));
  EXPECT_TRUE(f.sched.list().empty());
  f.clock->advance(10s);
  f.tick();
  EXPECT_EQ(g.entered, 1);
  g.open();
  f.poll();
  EXPECT_EQ(done, 1);
}

TEST(Schedule, AddRefusesBadSpecsAndAddsNothing) {
  fixture f;
  int n = 0;
  auto refused = [&](schedule_spec spec, const std::string& expected) {
    try {
      f.sched.add(std::move(spec));
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "accepted; expected: " << expected;
  };
  refused(cron_spec("t", "*/5 * * * *", {}), "needs a body");
  refused(cron_spec("t", "61 * * * *", counting(n)), "minute field: \"61\" is out of range");
  schedule_spec both = cron_spec("t", "* * * * *", counting(n));
  both.interval = 5s;
  refused(std::move(both), "not both");
  refused(interval_spec("t", 0s, counting(n)), "from 1 s to 366 days");
  refused(interval_spec("t", hours(24 * 367), counting(n)), "from 1 s to 366 days");
  refused(interval_spec("", 5s, counting(n)), "run_spec is refused");
  schedule_spec unknown = interval_spec("x_sync", 5s, counting(n));
  unknown.run.provider = provider_ref{"x", 9};
  refused(std::move(unknown), "run_spec is refused");
  EXPECT_TRUE(f.sched.list().empty());
}

TEST(Schedule, IdentifierIsUniqueAndFindable) {
  fixture f;
  int n = 0;
  schedule_spec a = interval_spec("t", 5s, counting(n));
  a.identifier = "cleanup";
  const auto s = f.sched.add(std::move(a));
  schedule_spec b = interval_spec("u", 5s, counting(n));
  b.identifier = "cleanup";
  EXPECT_THROW(f.sched.add(std::move(b)), std::invalid_argument);
  const auto found = f.sched.find_identifier("cleanup");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, s.id);
  EXPECT_FALSE(f.sched.find_identifier(""));
  EXPECT_EQ(f.sched.list().size(), 1u);
}

TEST(Schedule, InfoCarriesWhatAuthentiksScheduleModelNeeds) {
  // authentik 2025.10's Schedule: id, identifier, uid (actor[:uid]), actor_name, rel_obj (the
  // provider), crontab, paused, next_run, description, last_task_status (from last_run).
  fixture f;
  f.reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  int n = 0;
  schedule_spec spec;
  spec.run = f.reg.sync_spec("google_workspace", 1, "Run full sync for Acme Google Workspace");
  spec.crontab = "3 */4 * * *";
  spec.identifier = "google_workspace_sync:1";
  spec.body = counting(n);
  const auto s = f.sched.add(std::move(spec));
  EXPECT_TRUE(std::regex_match(s.id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_EQ(s.identifier, "google_workspace_sync:1");
  EXPECT_EQ(s.run.name, "google_workspace_sync");
  EXPECT_EQ(s.run.uid, "acme-google-workspace");
  EXPECT_EQ(s.run.description, "Run full sync for Acme Google Workspace");
  ASSERT_TRUE(s.run.provider);
  EXPECT_EQ(s.run.provider->kind, "google_workspace");
  EXPECT_EQ(s.run.provider->id, 1);
  EXPECT_EQ(s.crontab, "3 */4 * * *");
  EXPECT_EQ(s.interval, 0s);
  EXPECT_FALSE(s.paused);
  EXPECT_EQ(s.next_run, at(16, 3));
  EXPECT_FALSE(s.last_run);
  EXPECT_FALSE(s.running);
}

TEST(Schedule, OnDoneThatThrowsIsReportedAndCounted) {
  std::vector<std::string> reported;
  registry_options o;
  auto clock = std::make_shared<manual_clock>();
  o.clock = clock;
  o.on_background_error = [&](std::string_view what, std::exception_ptr) { reported.emplace_back(what); };
  asio::io_context io;
  registry reg(io, o);
  scheduler sched(reg, quiet());
  int n = 0;
  schedule_spec spec = interval_spec("t", 5s, counting(n));
  spec.on_done = [](boost::system::error_code, task_status) { throw std::runtime_error("host bug"); };
  const auto s = sched.add(std::move(spec));
  sched.send_now(s.id);
  io.poll();
  EXPECT_EQ(n, 1);
  EXPECT_EQ(sched.background_errors(), 1u);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0], "scheduler: a schedule's on_done threw");
}

TEST(Schedule, TheRealTimerFiresAnIntervalSchedule) {
  // With the real clocks: the one test that lets the steady timer do the waiting (a second).
  asio::io_context io;
  registry reg(io);
  scheduler sched(reg);
  int runs = 0;
  const auto s = sched.add(interval_spec("t", 1s, counting(runs)));
  const auto limit = steady_clock::now() + 30s;
  while (runs < 2 && steady_clock::now() < limit) io.run_one_for(100ms);
  EXPECT_GE(runs, 2);
  EXPECT_GE(sched.find(s.id)->fired, 2u);
}

TEST(Schedule, SchedulerOptionsAreChecked) {
  test::engine_fixture f;
  scheduler_options o;
  o.clock_check = 0ms;
  EXPECT_THROW(scheduler(f.reg, o), std::invalid_argument);
}

}  // namespace
