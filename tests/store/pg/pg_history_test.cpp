// SPDX-License-Identifier: BSL-1.0
// pg_history against a real PostgreSQL server (a throwaway cluster): two replicas (two
// registries with their own connections; a forked child process where a replica must die)
// share one history.
#include <systask/store/pg_history.hpp>

#include <systask/engine.hpp>

#include "pg_cluster.hpp"
#include "pg_test_support.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::testing::pg_cluster;

pg_cluster& cluster() {
  static pg_cluster c;  // one server for the binary; each test uses its own namespace
  return c;
}

// One replica: a registry on its own io_context run by a thread, with a provider registered
// and a pg_history attached.
// A replica whose wall clock is off by `offset` (its timers and durations are not).
class skewed_clock final : public clock_source {
 public:
  explicit skewed_clock(std::chrono::seconds offset) : offset_(offset) {}
  wall_time wall_now() const noexcept override { return std::chrono::system_clock::now() + offset_; }
  mono_time mono_now() const noexcept override { return std::chrono::steady_clock::now(); }

 private:
  std::chrono::seconds offset_;
};

struct replica {
  explicit replica(const std::string& ns, pg_history_options extra = {}, std::shared_ptr<const clock_source> clock = nullptr)
      : reg(io.context(), registry_options{{}, clock ? clock : system_clocks()}) {
    reg.register_provider("google_workspace", 1, "Acme Workspace");
    extra.conninfo = cluster().conninfo() + (extra.conninfo.empty() ? "" : " " + extra.conninfo);  // extra settings
    extra.name_space = ns;
    extra.flush_interval = 20ms;
    if (extra.maintenance_interval == pg_history_options{}.maintenance_interval) extra.maintenance_interval = 50ms;
    if (extra.interrupt_grace == pg_history_options{}.interrupt_grace) extra.interrupt_grace = 300ms;
    history.emplace(reg, extra);
  }
  // The history closes first; the io_thread (the last member to go) then lets what close()
  // posted run (the connection's close) before it stops the context.
  ~replica() { history.reset(); }
  template <class Pred>
  static bool eventually(Pred p, std::chrono::milliseconds limit = 5s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!p()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  systask::testing::io_thread io;
  registry reg;
  std::optional<pg_history> history;
};

double extra(const store_stats& s, const std::string& name) {
  for (const auto& m : s.extra) {
    if (m.name == name) return m.value;
  }
  ADD_FAILURE() << "no series " << name;
  return -1;
}

std::string messages_of(const task_record& r) {
  std::string out;
  r.write_messages_json(out);
  return out;
}

// Whether `reg` shows the run finished (another replica's running run is shown running first).
bool shown_finished(const registry& reg, const std::string& uuid) {
  const auto r = reg.find_task(uuid);
  return r && !r->running();
}

TEST(PgHistory, AFinishedRunOfOneReplicaIsServedByTheOtherByteForByte) {
  replica a("one_history"), b("one_history");
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start(a.reg.sync_spec("google_workspace", 1, "full sync"));
  r.info("synced users", {{"count", 42}});
  r.warning("group skipped", {{"group", "admins \"root\""}});
  const std::string uuid(r.uuid());
  r.finish(task_status::warning);
  const auto finished = std::chrono::steady_clock::now();
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, uuid); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - finished, 1s) << "shown on the other replica within 1 s";
  const auto mine = a.reg.find_task(uuid);
  const auto theirs = b.reg.find_task(uuid);
  ASSERT_TRUE(mine && theirs);
  EXPECT_EQ(messages_of(*theirs), messages_of(*mine));
  EXPECT_EQ(theirs->status(), task_status::warning);
  EXPECT_EQ(theirs->description(), "full sync");
  EXPECT_EQ(theirs->start_time(), mine->start_time());
  EXPECT_EQ(theirs->finish_time(), mine->finish_time());
  const auto status = b.reg.sync_status("google_workspace", 1);
  ASSERT_EQ(status->tasks.size(), 1u);
  EXPECT_EQ(status->tasks[0].uuid(), uuid);
  EXPECT_EQ(cluster().psql("select count(*) from systask_run where uuid = '" + uuid + "' and state = 1"), "1");
  const store_stats s = b.history->stats();
  EXPECT_EQ(s.backend, "postgresql");
  EXPECT_EQ(extra(s, "connected"), 1);
  EXPECT_EQ(extra(s, "mirror_stale_seconds"), 0);
  EXPECT_GE(extra(s, "mirrored_runs_total"), 1);
}

TEST(PgHistory, WhileTheServerIsDownRecordingGoesOnAndMetricsSaySo) {
  replica a("server_down");
  ASSERT_TRUE(a.history->wait_ready(10s));
  cluster().stop();
  ASSERT_TRUE(replica::eventually([&] { return a.history->stats().state == store_state::degraded; }, 5s));
  run r = a.reg.start({.name = "during_outage"});
  r.info("recorded in memory");
  const std::string uuid(r.uuid());
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return extra(a.history->stats(), "mirror_stale_seconds") > 0; }));
  EXPECT_EQ(extra(a.history->stats(), "connected"), 0);
  EXPECT_TRUE(a.reg.find_task(uuid).has_value()) << "served from memory meanwhile";
  ASSERT_TRUE(replica::eventually([&] { return a.history->stats().pending == 1; }));
  cluster().start();
  ASSERT_TRUE(replica::eventually([&] { return a.history->stats().written == 1; }, 40s)) << "the backlog is written after the reconnect";
  EXPECT_EQ(cluster().psql("select count(*) from systask_run where uuid = '" + uuid + "' and state = 1"), "1");
  EXPECT_EQ(extra(a.history->stats(), "mirror_stale_seconds"), 0);
  EXPECT_EQ(a.history->stats().state, store_state::ok);
}

TEST(PgHistory, AReplicaStartedLaterLoadsTheHistoryAtConnect) {
  std::string uuid;
  {
    replica a("late_joiner");
    ASSERT_TRUE(a.history->wait_ready(10s));
    run r = a.reg.start({.name = "cleanup"});
    r.info("removed 3 sessions");
    uuid = r.uuid();
    r.finish(task_status::successful);
    ASSERT_TRUE(replica::eventually([&] { return a.history->stats().written == 1; }));
  }
  replica b("late_joiner");
  ASSERT_TRUE(b.history->wait_ready(10s));
  const auto got = b.reg.find_task(uuid);
  ASSERT_TRUE(got) << "the resync at connect brings the runs written before";
  EXPECT_NE(messages_of(*got).find("removed 3 sessions"), std::string::npos);
}

// A resync reads the finished runs' uuids and states, then whole (with their messages) only the
// runs not shown yet, in batches: the one at connect reads each run once, and the resyncs after
// it read none again while nothing changes.
TEST(PgHistory, AResyncReadsWholeOnlyTheRunsItDoesNotShowYet) {
  constexpr int runs = 300;  // more than one batch (256)
  {
    replica a("resync_reads");
    ASSERT_TRUE(a.history->wait_ready(10s));
    for (int i = 0; i < runs; ++i) {
      run r = a.reg.start({.name = "cleanup", .uid = std::to_string(i)});
      r.info("removed " + std::to_string(i) + " sessions");
      r.finish(task_status::successful);
    }
    ASSERT_TRUE(replica::eventually([&] { return a.history->stats().written == runs; }, 20s));
  }
  pg_history_options quick_resync;
  quick_resync.resync_interval = 1s;
  replica b("resync_reads", quick_resync);
  ASSERT_TRUE(b.history->wait_ready(10s));
  EXPECT_EQ(extra(b.history->stats(), "mirror_rows_read_total"), runs) << "each run read whole once, at connect";
  EXPECT_EQ(extra(b.history->stats(), "mirrored_runs_total"), runs);
  const auto shown = b.reg.list_tasks({.name = "cleanup"});
  EXPECT_EQ(shown.size(), static_cast<std::size_t>(runs));
  std::this_thread::sleep_for(2500ms);  // two more resyncs
  EXPECT_EQ(extra(b.history->stats(), "mirror_rows_read_total"), runs) << "an unchanged history is not read again";
}

// A run shown running whose row is gone from the database is forgotten by the next resync,
// which lists every running row. Here the row is deleted by hand after its replica's history
// was closed (an open one would write it again).
TEST(PgHistory, ARunShownRunningWhoseRowIsGoneIsForgottenByTheNextResync) {
  pg_history_options quick_resync;
  quick_resync.resync_interval = 1s;
  replica a("forget_gone"), b("forget_gone", quick_resync);
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start({.name = "import"});
  r.info("page 1");
  const std::string uuid(r.uuid());
  ASSERT_TRUE(replica::eventually([&] {
    const auto t = b.reg.find_task(uuid);
    return t && t->running();
  })) << "b shows a's running run";
  a.history.reset();
  cluster().psql("delete from systask_message where run_uuid = '" + uuid + "'; delete from systask_run where uuid = '" +
                 uuid + "'");
  EXPECT_TRUE(replica::eventually([&] { return !b.reg.find_task(uuid); }, 5s))
      << "forgotten by the next resync; rows now: "
      << cluster().psql("select state, appended from systask_run where uuid = '" + uuid + "'");
  r.finish(task_status::successful);
}

TEST(PgHistory, ARunLeftRunningByAKilledReplicaIsShownInterrupted) {
  const std::string ns = "killed_replica";
  (void)cluster().conninfo();  // started before the fork: the child uses this server, never its own
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The replica that dies: starts a sync, says its uuid once the running row is written,
    // then waits to be killed.
    ::close(pipe_fds[0]);
    {
      replica a(ns);
      if (!a.history->wait_ready(10s)) ::_exit(2);
      run r = a.reg.start(a.reg.sync_spec("google_workspace", 1));
      r.info("page 1 of 9");
      const std::string uuid(r.uuid());
      // The message logged after the start reaches the database with the running run's next flush.
      if (!replica::eventually([&] {
            return cluster().psql("select count(*) from systask_message where run_uuid = '" + uuid + "'") == "1";
          }))
        ::_exit(3);
      const std::string line = uuid + "\n";
      if (::write(pipe_fds[1], line.data(), line.size()) < 0) ::_exit(4);
      for (;;) ::pause();
    }
  }
  ::close(pipe_fds[1]);
  char buf[64] = {};
  ASSERT_EQ(::read(pipe_fds[0], buf, 37), 37) << "the child wrote its running run";
  ::close(pipe_fds[0]);
  const std::string uuid(buf, 36);
  ASSERT_EQ(cluster().psql("select state from systask_run where uuid = '" + uuid + "'"), "0") << "a running row";

  replica b(ns);
  ASSERT_TRUE(b.history->wait_ready(10s));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.reg.find_task(uuid) && b.reg.find_task(uuid)->running()) << "shown running until then";
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, uuid); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 2s);
  const auto got = b.reg.find_task(uuid);
  EXPECT_EQ(got->status(), task_status::error);
  const std::string messages = messages_of(*got);
  EXPECT_NE(messages.find("page 1 of 9"), std::string::npos) << messages;
  EXPECT_NE(messages.find(interrupted_run_event), std::string::npos) << messages;
}

TEST(PgHistory, AReplicaWhoseClockIsFiveMinutesOffIsNeitherInterruptedNorHidden) {
  replica a("skew"), b("skew", {}, std::make_shared<skewed_clock>(std::chrono::minutes(5)));
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  // b's run stays running across many maintenance passes of a (liveness is a lock, not a clock).
  run r = b.reg.start({.name = "skewed_import"});
  const std::string uuid(r.uuid());
  ASSERT_TRUE(replica::eventually([&] { return cluster().psql("select count(*) from systask_run where uuid = '" + uuid + "'") == "1"; }));
  std::this_thread::sleep_for(600ms);  // twice the grace, a dozen maintenance passes: it must not be interrupted
  EXPECT_EQ(cluster().psql("select state from systask_run where uuid = '" + uuid + "'"), "0");
  r.info("written with a clock 5 minutes ahead");
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(a.reg, uuid); }, 5s)) << "served by the replica on time";
  const auto got = a.reg.find_task(uuid);
  EXPECT_EQ(got->status(), task_status::successful);
  EXPECT_GT(got->start_time(), std::chrono::system_clock::now() + std::chrono::minutes(4)) << "shown with its own clock's times";
  // And the other way round: a's runs are not hidden on b as if expired or from the future.
  run q = a.reg.start({.name = "punctual_import"});
  const std::string q_uuid(q.uuid());
  q.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, q_uuid); }, 5s));
}

TEST(PgHistory, TheDatabasesLockKeyFunctionIsTheLibrarys) {
  replica a("key_function");
  ASSERT_TRUE(a.history->wait_ready(10s));
  for (const std::string name : {"systask/default/replica/0f0ba5ba-75bc-4054-a536-7130d519b2bf",
                                 "goauthentik.io/public/providers/outgoing-sync/1", "systask/tenant-ü/maintenance"}) {
    EXPECT_EQ(cluster().psql("select systask_lock_key('" + name + "')"), std::to_string(pg_lock_key(name))) << name;
  }
}

TEST(PgHistory, ARunOfAReplicaWhoseConnectionDropsAndComesBackIsNotInterrupted) {
  pg_history_options slow_grace;
  slow_grace.interrupt_grace = 3s;
  slow_grace.conninfo = "application_name=replica_a";
  slow_grace.retry_backoff_min = 1s;  // disconnected for a second: longer than a maintenance pass
  auto drops = std::make_shared<std::atomic<int>>(0);
  slow_grace.on_log = [drops](store_state state, std::string_view) {
    if (state == store_state::degraded) ++*drops;
  };
  pg_history_options same_grace;  // the maintenance owner's grace decides: b's, once a drops
  same_grace.interrupt_grace = slow_grace.interrupt_grace;
  replica a("blip", slow_grace), b("blip", same_grace);
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start({.name = "long_import"});
  const std::string uuid(r.uuid());
  ASSERT_TRUE(replica::eventually([&] { return cluster().psql("select count(*) from systask_run where uuid = '" + uuid + "'") == "1"; }));
  // Replica a's session: its liveness lock goes with it until it reconnects.
  ASSERT_EQ(cluster().psql("select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'replica_a'"), "1");
  ASSERT_TRUE(replica::eventually([&] { return drops->load() > 0; }, 5s)) << "replica a's connection dropped";
  ASSERT_TRUE(replica::eventually([&] { return a.history->stats().state == store_state::ok && a.history->wait_ready(0ms); }, 10s));
  r.info("done after the blip");
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, uuid); }, 5s));
  EXPECT_EQ(b.reg.find_task(uuid)->status(), task_status::successful) << "shown finished, not interrupted";
  EXPECT_EQ(cluster().psql("select state from systask_run where uuid = '" + uuid + "'"), "1");
}

TEST(PgHistory, AServerRestartUnderLoadLosesAndDuplicatesNothing) {
  replica a("restart_load");
  ASSERT_TRUE(a.history->wait_ready(10s));
  constexpr int runs = 300;
  std::vector<std::string> uuids;
  for (int i = 0; i < runs; ++i) {
    run r = a.reg.start({.name = "import", .uid = std::to_string(i % 7)});
    uuids.emplace_back(r.uuid());
    r.info("row", {{"i", i}});
    r.finish(task_status::successful);
    if (i == runs / 3) cluster().restart();
  }
  ASSERT_TRUE(replica::eventually([&] { return a.history->stats().written == runs; }, 30s))
      << "written " << a.history->stats().written << ", pending " << a.history->stats().pending;
  const auto s = a.history->stats();
  for (int i = 0; i < runs; ++i) {
    const std::string row = cluster().psql("select replica::text || '|' || name || '|' || state || '|' || count(*) over () from systask_run where uuid = '" + uuids[i] + "'");
    if (row != a.history->replica_id() + "|import|1|1") ADD_FAILURE() << "run " << i << " " << uuids[i] << ": " << row;
  }
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(cluster().psql("select count(*) from systask_run where replica = '" + a.history->replica_id() +
                           "' and name = 'import' and state = 1"),
            std::to_string(runs))
      << cluster().psql("select state, count(*) from systask_run where replica = '" + a.history->replica_id() +
                        "' group by state");
  EXPECT_EQ(cluster().psql("select count(*) from systask_message m join systask_run r on r.uuid = m.run_uuid where r.replica = '" +
                           a.history->replica_id() + "' and r.name = 'import'"),
            std::to_string(runs));
}

TEST(PgHistory, AServerRestartDoesNotInterruptTheRunsOfReplicasThatReconnect) {
  pg_history_options defaults;  // the library's grace and backoff, on both replicas
  defaults.interrupt_grace = pg_history_options{}.interrupt_grace + 1ms;  // (the fixture shortens the default)
  replica a("restart_two", defaults), b("restart_two", defaults);
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start(a.reg.sync_spec("google_workspace", 1));
  const std::string uuid(r.uuid());
  ASSERT_TRUE(replica::eventually([&] { return cluster().psql("select count(*) from systask_run where uuid = '" + uuid + "'") == "1"; }));
  cluster().restart();
  ASSERT_TRUE(replica::eventually([&] { return a.history->wait_ready(0ms) && b.history->wait_ready(0ms); }, 15s));
  r.info("finished after the restart");
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, uuid); }, 10s));
  EXPECT_EQ(b.reg.find_task(uuid)->status(), task_status::successful) << "shown finished on the other replica, not interrupted";
}

TEST(PgHistory, ARunTheServerRefusesIsDroppedAndCountedAndTheOthersAreWritten) {
  replica a("poison");
  ASSERT_TRUE(a.history->wait_ready(10s));
  // The server refuses one run (a trigger stands for any row-level refusal).
  cluster().psql(
      "create or replace function poison() returns trigger language plpgsql as $$ begin"
      " if new.name = 'poison' then raise exception 'refused by the test'; end if; return new; end $$;"
      " drop trigger if exists poison on systask_run;"
      " create trigger poison before insert on systask_run for each row execute function poison()");
  std::vector<std::string> uuids;
  const std::string with_nul("nul\0in the name", 15);
  for (const std::string& name : {std::string("before"), std::string("poison"), std::string("after"), with_nul}) {
    run r = a.reg.start({.name = name});
    uuids.emplace_back(r.uuid());
    r.finish(task_status::successful);
  }
  ASSERT_TRUE(replica::eventually([&] {
    const auto s = a.history->stats();
    return s.written == 3 && s.dropped == 1;
  }, 10s)) << "written " << a.history->stats().written << ", dropped " << a.history->stats().dropped;
  cluster().psql("drop trigger poison on systask_run");
  EXPECT_GE(a.history->stats().write_errors, 1u);
  EXPECT_EQ(cluster().psql("select count(*) from systask_run where uuid in ('" + uuids[0] + "','" + uuids[2] + "','" +
                           uuids[3] + "')"),
            "3");
  EXPECT_EQ(cluster().psql("select name from systask_run where uuid = '" + uuids[3] + "'"), "nul\xEF\xBF\xBDin the name")
      << "a NUL the engine allows is stored as U+FFFD";
  ASSERT_TRUE(replica::eventually([&] { return a.history->stats().state == store_state::ok; }))
      << "the state comes back once writes succeed";
}

// A finish that finds the write queue full (the database slow: here a write waits for a table
// lock) is kept aside and written once there is room: otherwise the run's running row would be
// shown running by the other replicas for as long as its replica lives. The whole run while the
// registry holds it; its end alone once the registry replaced it (counted as dropped: what it
// logged after its last running image is not in the database).
TEST(PgHistory, AFinishThatFoundTheQueueFullIsWrittenOnceThereIsRoom) {
  pg_history_options small;
  small.queue_capacity = 3;
  small.conninfo = "application_name=lost_finish_a";
  small.maintenance_interval = std::chrono::hours(1);  // b purges: a's only waits are its writes
  replica b("lost_finish");
  ASSERT_TRUE(b.history->wait_ready(10s));
  replica a("lost_finish", small);
  ASSERT_TRUE(a.history->wait_ready(10s));
  const auto state_of = [](const std::string& uuid) {
    return cluster().psql("select state from systask_run where uuid = '" + uuid + "'");
  };
  // Every run starts first, and its running row is written: what follows queues only finishes
  // (a start heard after its run finished queues nothing, which would make the count vary).
  run r = a.reg.start({.name = "long_import"});
  r.info("page 1 of 2");
  const std::string uuid(r.uuid());
  const auto running_rows = [] {
    return cluster().psql("select count(*) from systask_run where namespace = 'lost_finish' and state = 0");
  };
  ASSERT_TRUE(replica::eventually([&] { return running_rows() == "1"; }));
  std::vector<run> others;
  for (int i = 0; i < 5; ++i) {  // one at a time: a start that does not fit the queue gets no row
    others.push_back(a.reg.start({.name = "other"}));
    ASSERT_TRUE(replica::eventually([&] { return running_rows() == std::to_string(i + 2); })) << "its running row";
  }
  const std::string z1_uuid(others[3].uuid());
  std::this_thread::sleep_for(100ms);  // five flush intervals: the running runs are known flushed
  ASSERT_TRUE(a.history->wait_written(5s));

  systask::testing::psql_session blocker(cluster());
  ASSERT_TRUE(blocker.started());
  blocker.send("begin; lock table systask_run in share mode;");  // reads go on, writes wait
  ASSERT_TRUE(replica::eventually([&] {
    return cluster().psql("select count(*) from pg_locks where relation = 'systask_run'::regclass and mode = 'ShareLock'"
                          " and granted") == "1";
  }));
  r.info("page 2 of 2");  // its running image's write waits for the lock
  ASSERT_TRUE(replica::eventually([&] {
    return cluster().psql("select count(*) from pg_stat_activity where application_name = 'lost_finish_a'"
                          " and wait_event_type = 'Lock'") == "1";
  }));
  others[0].finish(task_status::successful);  // queued (1 of 3)
  others[1].finish(task_status::successful);  // queued (2 of 3)
  others[2].finish(task_status::successful);  // queued (3 of 3)
  others[3].finish(task_status::warning);     // z1: kept aside
  others[4].finish(task_status::successful);  // z2: kept aside; z1's record is replaced (history depth 1)
  r.finish(task_status::successful);          // kept aside
  ASSERT_FALSE(a.reg.find_task(z1_uuid)) << "the premise: z1 is no longer held";
  // The observer hears of runs on the registry's executor, a moment later.
  EXPECT_TRUE(replica::eventually([&] { return a.history->stats().pending == 6; }))
      << "three finishes queued, three kept aside; pending " << a.history->stats().pending << ", dropped "
      << a.history->stats().dropped;
  EXPECT_EQ(a.history->stats().dropped, 0u);
  EXPECT_EQ(state_of(uuid), "0") << "r's row still says running";

  blocker.send("commit;");
  ASSERT_TRUE(replica::eventually([&] {
    const auto t = b.reg.find_task(uuid);
    return t && !t->running() && t->status() == task_status::successful;
  }, 10s)) << "the other replica shows r finished";
  EXPECT_EQ(messages_of(*b.reg.find_task(uuid)), messages_of(*a.reg.find_task(uuid))) << "written whole";
  ASSERT_TRUE(a.history->wait_written(10s));
  EXPECT_EQ(a.history->stats().pending, 0u);
  EXPECT_EQ(a.history->stats().dropped, 1u) << "z1: its end alone";
  EXPECT_EQ(a.history->stats().written, 5u) << "the other four and r whole";
  EXPECT_EQ(state_of(z1_uuid), "1");
  EXPECT_EQ(cluster().psql("select status from systask_run where uuid = '" + z1_uuid + "'"),
            std::to_string(static_cast<int>(task_status::warning)));
  EXPECT_EQ(cluster().psql("select count(*) from systask_run where namespace = 'lost_finish' and state = 0"), "0")
      << "no run is left running in the database";
}

TEST(PgHistory, ANewerSchemaIsReadOnlyAndSaysSo) {
  replica a("newer_schema");
  ASSERT_TRUE(a.history->wait_ready(10s));
  cluster().psql("update systask_meta set value = '2' where key = 'schema_version'");
  replica b("newer_schema");
  ASSERT_TRUE(replica::eventually([&] { return b.history->stats().state == store_state::read_only; }, 10s));
  EXPECT_NE(b.history->stats().reason.find("newer"), std::string::npos) << b.history->stats().reason;
  run r = b.reg.start({.name = "after"});
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return b.history->stats().dropped == 1; }))
      << "a run that will never be written is counted as dropped, not pending";
  EXPECT_EQ(b.history->stats().pending, 0u);
  EXPECT_EQ(cluster().psql("select count(*) from systask_run where namespace = 'newer_schema' and name = 'after'"), "0");
  cluster().psql("update systask_meta set value = '1' where key = 'schema_version'");
}

TEST(PgHistory, AnotherReplicasRunningRunIsShownRunningAndThenFinished) {
  replica a("running_mirror"), b("running_mirror");
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start(a.reg.sync_spec("google_workspace", 1));
  r.info("page 1 of 3");
  const std::string uuid(r.uuid());
  const auto shown_running_like_a = [&] {
    const auto theirs = b.reg.find_task(uuid);
    const auto mine = a.reg.find_task(uuid);
    return theirs && theirs->running() && messages_of(*theirs) == messages_of(*mine);
  };
  // Shown running with include_running (not without it), with a's messages; is_running is the
  // cluster lock's answer (none here), never the mirror's.
  ASSERT_TRUE(replica::eventually(shown_running_like_a, 5s));
  const auto status = b.reg.sync_status("google_workspace", 1, true);
  ASSERT_EQ(status->tasks.size(), 1u);
  EXPECT_EQ(status->tasks[0].status(), task_status::unknown);
  EXPECT_TRUE(b.reg.sync_status("google_workspace", 1, false)->tasks.empty());
  // Its new messages follow within a flush interval or so.
  r.info("page 2 of 3");
  ASSERT_TRUE(replica::eventually(shown_running_like_a, 5s));
  r.info("page 3 of 3");
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, uuid); }, 5s));
  EXPECT_EQ(messages_of(*b.reg.find_task(uuid)), messages_of(*a.reg.find_task(uuid)));
  EXPECT_EQ(b.reg.find_task(uuid)->status(), task_status::successful);
  EXPECT_EQ(b.reg.sync_status("google_workspace", 1, true)->tasks.size(), 1u) << "shown once";
  EXPECT_EQ(b.reg.records_held(), 1u);
}

TEST(PgHistory, ARunThatOverwroteItsOldestMessagesIsStoredAsTheEngineHoldsIt) {
  replica a("overwritten"), b("overwritten");
  task_options four;
  four.max_messages = 4;
  a.reg.configure_task("chatty", four);
  b.reg.configure_task("chatty", four);
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start({.name = "chatty"});
  const std::string uuid(r.uuid());
  const auto stored = [&] { return cluster().psql("select count(*) from systask_message where run_uuid = '" + uuid + "'"); };
  for (int i = 0; i < 3; ++i) r.info("early", {{"i", i}});
  ASSERT_TRUE(replica::eventually([&] { return stored() == "3"; })) << "the running run's messages are written";
  for (int i = 0; i < 10; ++i) r.info("late", {{"i", i}});  // the ring keeps the newest four
  ASSERT_TRUE(replica::eventually([&] { return b.reg.find_task(uuid) && b.reg.find_task(uuid)->messages_appended() == 13; }))
      << "shown running with its newest messages";
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, uuid); }, 5s)) << "not refused for its counts";
  EXPECT_EQ(messages_of(*b.reg.find_task(uuid)), messages_of(*a.reg.find_task(uuid)));
  EXPECT_EQ(b.reg.find_task(uuid)->messages_dropped(), 9u);
  EXPECT_EQ(stored(), "4") << "the dropped messages are not kept in the database either";
}

TEST(PgHistory, ARunShownInterruptedWhileItsReplicaWasAwayIsShownFinishedWhenItFinishes) {
  pg_history_options away;
  away.conninfo = "application_name=replica_away";
  away.retry_backoff_min = 2s;  // away for two seconds: far beyond the 300 ms grace
  away.retry_backoff_max = 2s;
  replica a("came_back", away), b("came_back");
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start({.name = "long_import"});
  r.info("before the outage");
  const std::string uuid(r.uuid());
  ASSERT_TRUE(replica::eventually([&] { return cluster().psql("select count(*) from systask_message where run_uuid = '" + uuid + "'") == "1"; }));
  ASSERT_EQ(cluster().psql("select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'replica_away'"), "1");
  ASSERT_TRUE(replica::eventually([&] {
    const auto t = b.reg.find_task(uuid);
    return t && !t->running() && t->status() == task_status::error;
  }, 10s)) << "marked interrupted by the maintenance owner while a is away";
  ASSERT_TRUE(replica::eventually([&] { return a.history->wait_ready(0ms); }, 15s)) << "a is back";
  r.info("finished after all");
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] {
    const auto t = b.reg.find_task(uuid);
    return t && t->status() == task_status::successful;
  }, 10s)) << "the finish replaces the interrupted run";
  EXPECT_EQ(messages_of(*b.reg.find_task(uuid)), messages_of(*a.reg.find_task(uuid)));
  EXPECT_EQ(b.reg.tasks("long_import", "").size(), 1u);
  EXPECT_EQ(cluster().psql("select state from systask_run where uuid = '" + uuid + "'"), "1");
}

TEST(PgHistory, ARunRefusedBecauseItsProviderIsNotRegisteredYetIsShownOnceItIs) {
  pg_history_options quick_resync;
  quick_resync.resync_interval = 1s;
  struct log_lines {
    std::mutex mutex;
    std::string all;  // every line, for the failure message
    int refusals = 0;
  };
  auto logged = std::make_shared<log_lines>();
  quick_resync.on_log = [logged](store_state, std::string_view message) {
    std::lock_guard lock(logged->mutex);
    logged->all.append(message).append("\n");
    if (message.find("refused") != std::string_view::npos) ++logged->refusals;
  };
  const auto refusals = [logged] {
    std::lock_guard lock(logged->mutex);
    return logged->refusals;
  };
  replica a("late_provider"), b("late_provider", quick_resync);
  a.reg.register_provider("scim", 7, "Late SCIM");
  ASSERT_TRUE(a.history->wait_ready(10s));
  ASSERT_TRUE(b.history->wait_ready(10s));
  run r = a.reg.start(a.reg.sync_spec("scim", 7));
  const std::string uuid(r.uuid());
  for (int i = 0; i < 3; ++i) {  // three flushes: b is offered three running versions of it
    r.info("page " + std::to_string(i));
    std::this_thread::sleep_for(100ms);
  }
  r.finish(task_status::successful);
  ASSERT_TRUE(replica::eventually([&] { return a.history->stats().written == 1; }));
  ASSERT_TRUE(replica::eventually([&] { return refusals() >= 1; })) << "b refused it (no such provider)";
  std::this_thread::sleep_for(300ms);  // the finish's notification has been handled too
  const int logged_before = refusals();
  // At most the run's line and its provider's (a finished sync's image names its provider).
  EXPECT_LE(logged_before, 2);
  const auto errors = b.history->stats().write_errors;
  // Two more resyncs offer it again (the provider may have been registered): refused again,
  // but not logged or counted again.
  std::this_thread::sleep_for(2500ms);
  EXPECT_FALSE(b.reg.find_task(uuid));
  EXPECT_EQ(refusals(), logged_before) << "logged once per run and reason, not once per resync; b logged:\n" << [&] {
    std::lock_guard lock(logged->mutex);
    return logged->all;
  }();
  EXPECT_EQ(b.history->stats().write_errors, errors);
  b.reg.register_provider("scim", 7, "Late SCIM");
  ASSERT_TRUE(replica::eventually([&] { return shown_finished(b.reg, uuid); }, 5s)) << "asked again by the next resync";
  EXPECT_EQ(b.reg.sync_status("scim", 7)->tasks.size(), 1u);
}

TEST(PgHistory, OptionsOutOfRangeAreRefused) {
  boost::asio::io_context io;
  registry reg(io);
  auto make = [&](auto change) {
    pg_history_options o;
    o.conninfo = cluster().conninfo();
    change(o);
    pg_history h(reg, o);
  };
  EXPECT_THROW(make([](pg_history_options& o) { o.name_space = std::string(56, 'n'); }), pg_error);
  EXPECT_THROW(make([](pg_history_options& o) { o.name_space.clear(); }), pg_error);
  EXPECT_THROW(make([](pg_history_options& o) { o.flush_interval = 0ms; }), pg_error);
  EXPECT_THROW(make([](pg_history_options& o) { o.queue_capacity = 0; }), pg_error);
  EXPECT_THROW(make([](pg_history_options& o) { o.conninfo = "host='unterminated"; }), pg_error);
  EXPECT_TRUE(reg.store_stats().empty()) << "a refused history attaches nothing";
}

}  // namespace
