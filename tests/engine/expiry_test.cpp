// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;

TEST(Expiry, ExpiredRunsVanishFromEveryReadAtOnce) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  run r = f.reg.start(f.reg.sync_spec("scim", 3));
  const std::string uuid(r.uuid());
  r.finish(task_status::successful);
  f.clock->advance(6h - 1us);
  EXPECT_EQ(f.reg.sync_status("scim", 3)->tasks.size(), 1u);
  f.clock->advance(1us);  // exactly at `expires`
  EXPECT_TRUE(f.reg.sync_status("scim", 3)->tasks.empty());
  EXPECT_TRUE(f.reg.tasks("scim_sync", "acme-scim").empty());
  EXPECT_TRUE(f.reg.list_tasks().empty());
  EXPECT_FALSE(f.reg.find_task(uuid));
  EXPECT_EQ(f.reg.records_held(), 1u) << "hidden at once, reclaimed later";
}

TEST(Expiry, RetentionIsPerTask) {
  engine_fixture f;
  task_options shortlived;
  shortlived.retention = 10s;
  f.reg.configure_task("short", shortlived);
  f.reg.start({.name = "short"}).finish(task_status::successful);
  f.reg.start({.name = "long"}).finish(task_status::successful);
  EXPECT_EQ(*f.reg.tasks("short", "")[0].expires(), f.clock->wall_now() + 10s);
  f.clock->advance(11s);
  EXPECT_TRUE(f.reg.tasks("short", "").empty());
  EXPECT_EQ(f.reg.tasks("long", "").size(), 1u);
}

TEST(Expiry, ReclamationFreesExpiredRecordsOnTheExecutor) {
  engine_fixture f;
  task_options o;
  o.history_depth = 4;
  o.retention = 60s;
  f.reg.configure_task("t", o);
  for (int i = 0; i < 3; ++i) {
    f.reg.start({.name = "t"}).finish(task_status::successful);
    f.clock->advance(30s);
  }
  EXPECT_EQ(f.reg.records_held(), 3u);
  EXPECT_EQ(*f.reg.next_expiry(), f.clock->wall_now() - 90s + 60s);
  f.poll();  // the finishes scheduled their deadlines on the strand
  f.reg.reclaim_expired();
  f.poll();
  EXPECT_EQ(f.reg.records_held(), 1u) << "the runs finished 90 s and 60 s ago expired (expires <= now)";
  f.clock->advance(60s);
  f.reg.reclaim_expired();
  f.poll();
  EXPECT_EQ(f.reg.records_held(), 0u);
  EXPECT_FALSE(f.reg.next_expiry());
}

TEST(Expiry, TimerFiresForTheEarliestDeadlineWithoutPolling) {
  // Real time here, but only milliseconds: the timer must reclaim by itself.
  boost::asio::io_context io;
  task_options o;
  o.retention = 0s;
  registry reg(io, registry_options{o, system_clocks()});
  reg.start({.name = "t"}).finish(task_status::successful);
  EXPECT_EQ(reg.records_held(), 1u);
  io.run_for(200ms);
  EXPECT_EQ(reg.records_held(), 0u);
}

TEST(Expiry, NeverExpireKeepsRunsWithoutAnExpiry) {
  engine_fixture f;
  task_options forever;
  forever.retention = task_options::never_expire;
  forever.history_depth = 2;
  f.reg.configure_task("t", forever);
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.reg.start({.name = "t"}).finish(task_status::error);
  auto recs = f.reg.tasks("t", "");
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& r : recs) {
    EXPECT_FALSE(r.expires());
    EXPECT_FALSE(r.expiring());
  }
  EXPECT_FALSE(f.reg.next_expiry());
  f.poll();
  f.clock->advance(24h * 365 * 200);
  f.reg.reclaim_expired();
  f.poll();
  EXPECT_EQ(f.reg.tasks("t", "").size(), 2u);
  EXPECT_EQ(f.reg.records_held(), 2u);
}

TEST(Expiry, TheLongestRetentionFromAFinishNearTheEndOfTimeSaturates) {
  engine_fixture f;
  task_options longest;
  longest.retention = task_options::max_retention;
  f.reg.configure_task("t", longest);
  f.clock->set_wall(wall_time::max() - 1h);  // a broken clock: no overflow either
  f.reg.start({.name = "t"}).finish(task_status::successful);
  const auto recs = f.reg.tasks("t", "");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].expires(), wall_time::max());
  f.clock->set_wall(wall_time{std::chrono::seconds{1'722'268'288}});
  f.reg.start({.name = "t"}).finish(task_status::successful);
  EXPECT_EQ(f.reg.tasks("t", "")[0].expires(), f.clock->wall_now() + task_options::max_retention);
}

TEST(Expiry, PrefilledRecordsNeverExpire) {
  engine_fixture f;
  f.reg.prefill({.name = "t"});
  f.clock->advance(24h * 365);
  EXPECT_EQ(f.reg.tasks("t", "").size(), 1u);
  EXPECT_FALSE(f.reg.next_expiry());
}

TEST(Expiry, RecordsHeldByReadersSurviveReclamation) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  r.info("kept alive by the reader");
  r.finish(task_status::successful);
  const auto held = f.reg.tasks("t", "");
  f.clock->advance(7h);
  f.poll();
  f.reg.reclaim_expired();
  f.poll();
  EXPECT_EQ(f.reg.records_held(), 0u);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_NE(f.messages_of(held[0]).find("kept alive by the reader"), std::string::npos);
}

// The timer waits on the steady clock for a span computed from the wall clock, so a wall-clock
// step makes it fire early or late. Neither may change what reads show (decided at read time)
// or free anything before its deadline, and each pass re-arms from the wall clock as it is.
TEST(Expiry, AWallClockStepBackDoesNotShowExpiredRunsNorReclaimEarlyAndTheTimerReArms) {
  engine_fixture f;
  task_options o;
  o.retention = 60s;
  f.reg.configure_task("t", o);
  const wall_time t0 = f.clock->wall_now();
  f.reg.start({.name = "t"}).finish(task_status::error);  // expires t0 + 60 s
  f.poll();
  const auto& st = detail::registry_access::state(f.reg);
  EXPECT_EQ(detail::registry_access::armed_for(st), t0 + 60s);

  f.clock->set_wall(t0 - 1h);  // step back while the deadline is pending
  EXPECT_EQ(f.reg.tasks("t", "").size(), 1u);
  f.reg.reclaim_expired();  // a pass at the stepped time, as if the timer fired
  f.poll();
  EXPECT_EQ(f.reg.records_held(), 1u) << "nothing reclaimed before its deadline";
  EXPECT_EQ(f.reg.tasks("t", "").size(), 1u);
  // Re-armed for the same deadline, now an hour and a minute away on the wall clock.
  EXPECT_EQ(detail::registry_access::armed_for(st), t0 + 60s);
  const auto left = detail::registry_access::timer_left(st);
  ASSERT_TRUE(left);
  EXPECT_GT(*left, 1h + 50s);
  EXPECT_LE(*left, 1h + 60s);

  f.clock->set_wall(t0 + 60s);  // back past the deadline: hidden at once, before any pass
  EXPECT_TRUE(f.reg.tasks("t", "").empty());
  EXPECT_TRUE(f.reg.list_tasks().empty());
  // The timer still waits its hour. The next deadline posted finds the armed one already past
  // on the wall clock and re-arms at once; that pass frees the expired run.
  f.reg.start({.name = "t", .uid = "other"}).finish(task_status::error);  // expires t0 + 120 s
  EXPECT_EQ(f.reg.records_held(), 2u);
  EXPECT_TRUE(f.run_until([&] { return f.reg.records_held() == 1; }));
  EXPECT_EQ(f.reg.tasks("t", "other").size(), 1u);
  EXPECT_EQ(detail::registry_access::armed_for(st), t0 + 120s);
}

TEST(Expiry, AWallClockStepForwardHidesAtOnceAndThePassReArmsForWhatIsLeft) {
  engine_fixture f;
  task_options hour, two_hours;
  hour.retention = 1h;
  two_hours.retention = 2h;
  f.reg.configure_task("a", hour);
  f.reg.configure_task("b", two_hours);
  const wall_time t0 = f.clock->wall_now();
  f.reg.start({.name = "a"}).finish(task_status::error);
  f.reg.start({.name = "b"}).finish(task_status::error);
  f.poll();
  const auto& st = detail::registry_access::state(f.reg);
  EXPECT_EQ(detail::registry_access::armed_for(st), t0 + 1h);

  f.clock->set_wall(t0 + 90min);  // step forward past a's deadline, before its timer fires
  EXPECT_TRUE(f.reg.tasks("a", "").empty()) << "hidden at once";
  EXPECT_EQ(f.reg.tasks("b", "").size(), 1u);
  // Its timer would fire an hour after it was armed. A deadline posted now (b again, due
  // later than the armed one) sees the armed deadline already past and re-arms at once.
  f.reg.start({.name = "b", .uid = "later"}).finish(task_status::error);
  EXPECT_EQ(f.reg.records_held(), 3u);
  EXPECT_TRUE(f.run_until([&] { return f.reg.records_held() == 2; })) << "a is freed, b is not due";
  EXPECT_EQ(f.reg.tasks("b", "").size(), 1u);
  EXPECT_EQ(detail::registry_access::armed_for(st), t0 + 2h);
  const auto left = detail::registry_access::timer_left(st);
  ASSERT_TRUE(left);
  EXPECT_GT(*left, 29min);
  EXPECT_LE(*left, 30min) << "the remaining wall-clock span, not the original two hours";

  f.clock->set_wall(t0 + 3h);
  EXPECT_TRUE(f.reg.tasks("b", "").empty());
  EXPECT_EQ(f.reg.tasks("b", "later").size(), 1u);
}

}  // namespace
