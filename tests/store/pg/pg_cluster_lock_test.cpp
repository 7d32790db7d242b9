// SPDX-License-Identifier: BSL-1.0
// systask::pg_cluster_lock against a real PostgreSQL server: the key, acquire and release,
// what other replicas see and when, lost connections, the server down, and two registries
// racing for one provider's sync.

#include "pg_test_support.hpp"

#include <systask/engine.hpp>
#include <systask/engine/async_run.hpp>
#include <systask/store/postgresql.hpp>

#include <libpq-fe.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using systask::cluster_lock_answer;
using systask::cluster_lock_status;
using systask::pg_cluster_lock;
using systask::pg_cluster_lock_options;
using systask::provider_ref;
using systask::testing::io_thread;
using systask::testing::pg_cluster;
using systask::testing::psql_session;
using systask::testing::shared_cluster;
using systask::testing::wait_until;

pg_cluster_lock_options lock_options(const pg_cluster& cluster, std::string ns) {
  pg_cluster_lock_options o;
  o.conninfo = cluster.conninfo();
  o.lock_namespace = std::move(ns);
  o.poll_interval = 200ms;
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  return o;
}

cluster_lock_answer acquire(pg_cluster_lock& lock, const provider_ref& p) {
  auto promise = std::make_shared<std::promise<cluster_lock_answer>>();
  auto f = promise->get_future();
  lock.async_acquire(p, [promise](cluster_lock_answer a) { promise->set_value(std::move(a)); });
  if (f.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within 10 s";
    return {};
  }
  return f.get();
}

// Server-side holders of `key` (optionally: held by backend `pid`).
int server_holders(const pg_cluster& cluster, std::int64_t key, int pid = 0) {
  return std::stoi(cluster.psql(
      "select count(*) from pg_locks where locktype = 'advisory' and granted and objsubid = 1 and "
      "((classid::int8 << 32) | objid::int8) = " + std::to_string(key) +
      (pid ? " and pid = " + std::to_string(pid) : std::string())));
}

std::string messages_of(const systask::registry& reg, const std::string& kind, std::int64_t id) {
  std::string out;
  const auto status = reg.sync_status(kind, id, true);
  if (status) {
    for (const auto& t : status->tasks) t.write_messages_json(out);
  }
  return out;
}

TEST(PgClusterLock, RefusesOptionsOutOfRangeAndBadConninfo) {
  io_thread io;
  auto o = lock_options(shared_cluster(), "");
  EXPECT_THROW(pg_cluster_lock(io.executor(), o), systask::pg_error);
  o = lock_options(shared_cluster(), std::string(56, 'n'));
  EXPECT_THROW(pg_cluster_lock(io.executor(), o), systask::pg_error);
  o = lock_options(shared_cluster(), "ok");
  o.replica_name = "a:b";
  EXPECT_THROW(pg_cluster_lock(io.executor(), o), systask::pg_error);
  o = lock_options(shared_cluster(), "ok");
  o.poll_interval = 1ms;
  EXPECT_THROW(pg_cluster_lock(io.executor(), o), systask::pg_error);
  o = lock_options(shared_cluster(), "ok");
  o.conninfo = "no_such_key=1";
  EXPECT_THROW(pg_cluster_lock(io.executor(), o), systask::pg_error);
}

TEST(PgClusterLock, AcquireAndReleaseReachTheOtherReplicaByNotify) {
  auto& cluster = shared_cluster();
  io_thread io;
  auto ob = lock_options(cluster, "notify");
  ob.poll_interval = 1h;  // B learns by NOTIFY only (plus the poll at connect)
  pg_cluster_lock a(io.executor(), lock_options(cluster, "notify"));
  pg_cluster_lock b(io.executor(), ob);
  ASSERT_TRUE(wait_until([&] { return a.connected() && b.connected() && b.stats().polls >= 1; }));
  const provider_ref p{"scim", 1};
  auto answer = acquire(a, p);
  ASSERT_EQ(answer.status, cluster_lock_status::acquired) << answer.reason;
  ASSERT_TRUE(answer.lease);
  EXPECT_TRUE(answer.reason.empty());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return b.held_elsewhere("scim", 1); }, 1s));
  const auto seen_held = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(a.held_elsewhere("scim", 1)) << "A's own lease is not elsewhere";
  EXPECT_FALSE(b.held_elsewhere("scim", 2));
  EXPECT_FALSE(b.held_elsewhere("other", 1));
  EXPECT_EQ(server_holders(cluster, systask::pg_provider_lock_key("notify", "scim", 1), a.backend_pid()), 1);
  t0 = std::chrono::steady_clock::now();
  answer.lease.reset();
  ASSERT_TRUE(wait_until([&] { return !b.held_elsewhere("scim", 1); }, 1s));
  const auto seen_free = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(server_holders(cluster, systask::pg_provider_lock_key("notify", "scim", 1)), 0);
  EXPECT_EQ(a.stats().acquired, 1u);
  std::printf("held seen after %lld us, release seen after %lld us\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(seen_held).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(seen_free).count()));
}

TEST(PgClusterLock, HeldElsewhereReadsRunConcurrentlyWithUpdates) {
  // Status reads on other threads while the view is swapped by NOTIFY-driven and timed polls
  // (TSan's ground; every read is lock-free).
  auto& cluster = shared_cluster();
  io_thread io_a, io_b;
  auto ob = lock_options(cluster, "readers");
  ob.poll_interval = 10ms;
  pg_cluster_lock a(io_a.executor(), lock_options(cluster, "readers"));
  pg_cluster_lock b(io_b.executor(), ob);
  ASSERT_TRUE(wait_until([&] { return a.connected() && b.connected(); }));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0}, seen_held{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (b.held_elsewhere("scim", 4)) seen_held.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    auto answer = acquire(a, {"scim", 4});
    ASSERT_EQ(answer.status, cluster_lock_status::acquired) << i;
    ASSERT_TRUE(wait_until([&] { return b.held_elsewhere("scim", 4); }, 5s)) << i;
    answer.lease.reset();
    ASSERT_TRUE(wait_until([&] { return !b.held_elsewhere("scim", 4); }, 5s)) << i;
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_GT(seen_held.load(), 0u);
  EXPECT_GE(b.stats().polls, 50u);
}

TEST(PgClusterLock, ARequestForAKeyLeasedHereIsRefusedWithoutASecondServerLock) {
  auto& cluster = shared_cluster();
  io_thread io;
  pg_cluster_lock a(io.executor(), lock_options(cluster, "reentrant"));
  pg_cluster_lock b(io.executor(), lock_options(cluster, "reentrant"));
  ASSERT_TRUE(wait_until([&] { return a.connected() && b.connected(); }));
  const provider_ref p{"scim", 2};
  const auto key = systask::pg_provider_lock_key("reentrant", "scim", 2);
  auto first = acquire(a, p);
  ASSERT_EQ(first.status, cluster_lock_status::acquired);
  const auto again = acquire(a, p);
  EXPECT_EQ(again.status, cluster_lock_status::held_elsewhere);
  EXPECT_EQ(again.reason, "held by this replica");
  EXPECT_FALSE(again.lease);
  const auto other = acquire(b, p);
  EXPECT_EQ(other.status, cluster_lock_status::held_elsewhere);
  EXPECT_TRUE(other.reason.empty());
  EXPECT_TRUE(b.held_elsewhere("scim", 2)) << "a refusal marks the key at once";
  EXPECT_EQ(server_holders(cluster, key), 1);
  // Had A asked the server again, its session would hold the lock twice, and one unlock would
  // leave it held.
  first.lease.reset();
  ASSERT_TRUE(wait_until([&] { return server_holders(cluster, key) == 0; }, 5s));
  const auto after = acquire(b, p);
  EXPECT_EQ(after.status, cluster_lock_status::acquired);
}

TEST(PgClusterLock, HeldElsewhereFollowsAnotherProcessAndEndsSoonAfterItsKill9) {
  auto& cluster = shared_cluster();
  io_thread io;
  auto o = lock_options(cluster, "kill9");
  o.poll_interval = 500ms;  // the default: the poll is what sees a holder that cannot NOTIFY
  pg_cluster_lock b(io.executor(), o);
  ASSERT_TRUE(wait_until([&] { return b.connected(); }));
  const auto key = systask::pg_provider_lock_key("kill9", "scim", 5);
  psql_session holder(cluster);  // holding the lock on an idle session, as a replica between queries does
  ASSERT_TRUE(holder.started());
  holder.send("select pg_advisory_lock(" + std::to_string(key) + ");");
  ASSERT_TRUE(wait_until([&] { return server_holders(cluster, key) == 1; }));
  ASSERT_TRUE(wait_until([&] { return b.held_elsewhere("scim", 5); }, 3s));
  EXPECT_EQ(acquire(b, {"scim", 5}).status, cluster_lock_status::held_elsewhere);
  holder.kill9();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return !b.held_elsewhere("scim", 5); }, 2s));
  std::printf("free seen %lld ms after kill -9\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()));
  auto answer = acquire(b, {"scim", 5});
  EXPECT_EQ(answer.status, cluster_lock_status::acquired);
}

// A registry with a pg_cluster_lock, as one replica of a host.
struct replica {
  io_thread io;
  systask::registry reg{io.executor()};
  std::shared_ptr<pg_cluster_lock> lock;
  replica(pg_cluster_lock_options o, std::int64_t provider_id) {
    reg.register_provider("scim", provider_id, "Acme SCIM");
    lock = std::make_shared<pg_cluster_lock>(io.executor(), std::move(o));
    reg.set_cluster_lock(lock);
  }
};

// A sync body that runs until `release` is set.
auto held_body(std::atomic<bool>& release) {
  return [&release](systask::run&) -> asio::awaitable<systask::task_status> {
    while (!release.load()) {
      asio::steady_timer timer(co_await asio::this_coro::executor, 2ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return systask::task_status::successful;
  };
}

TEST(PgClusterLock, TerminatedLockConnectionWarnsTheRunCallsOnLockLostAndTakesTheLockAgain) {
  auto& cluster = shared_cluster();
  std::mutex mutex;
  std::vector<std::pair<provider_ref, bool>> lost;  // provider, holder attached
  auto o = lock_options(cluster, "terminate");
  o.on_lock_lost = [&](const provider_ref& p, const systask::run_ref& holder) {
    std::lock_guard lock(mutex);
    lost.emplace_back(p, static_cast<bool>(holder));
  };
  replica a(o, 7);
  ASSERT_TRUE(wait_until([&] { return a.lock->connected(); }));
  std::atomic<bool> release{false};
  auto done = systask::async_run(a.reg, a.reg.sync_spec("scim", 7), held_body(release), asio::use_future);
  const auto key = systask::pg_provider_lock_key("terminate", "scim", 7);
  ASSERT_TRUE(wait_until([&] { return a.reg.sync_status("scim", 7)->is_running; }));
  const int old_pid = a.lock->backend_pid();
  ASSERT_EQ(server_holders(cluster, key, old_pid), 1);
  cluster.psql("select pg_terminate_backend(" + std::to_string(old_pid) + ")");
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mutex);
    return !lost.empty();
  }));
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0].first.kind, "scim");
    EXPECT_EQ(lost[0].first.id, 7);
    EXPECT_TRUE(lost[0].second) << "the run was attached";
  }
  ASSERT_TRUE(wait_until([&] { return messages_of(a.reg, "scim", 7).find("cluster sync lock lost: ") != std::string::npos; }));
  // Reconnected with backoff, and the key is held again by the new session.
  ASSERT_TRUE(wait_until([&] {
    const int pid = a.lock->backend_pid();
    return pid != 0 && pid != old_pid && server_holders(cluster, key, pid) == 1;
  }));
  EXPECT_EQ(a.lock->stats().locks_lost, 1u);
  EXPECT_GE(a.lock->stats().connects, 2u);
  release = true;
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  done.get();
  ASSERT_TRUE(wait_until([&] { return server_holders(cluster, key) == 0; }));
}

TEST(PgClusterLock, ALockTakenElsewhereDuringTheReconnectionGetsASecondWarning) {
  auto& cluster = shared_cluster();
  std::mutex mutex;
  std::vector<std::string> log;
  auto o = lock_options(cluster, "retake");
  o.reconnect_min = 500ms;  // the window in which B takes the lock
  o.reconnect_max = 500ms;
  o.on_log = [&](systask::pg_log_level, std::string_view m) {
    std::lock_guard lock(mutex);
    log.emplace_back(m);
  };
  replica a(o, 8);
  io_thread io_b;
  pg_cluster_lock b(io_b.executor(), lock_options(cluster, "retake"));
  ASSERT_TRUE(wait_until([&] { return a.lock->connected() && b.connected(); }));
  std::atomic<bool> release{false};
  auto done = systask::async_run(a.reg, a.reg.sync_spec("scim", 8), held_body(release), asio::use_future);
  ASSERT_TRUE(wait_until([&] { return a.reg.sync_status("scim", 8)->is_running; }));
  const int old_pid = a.lock->backend_pid();
  cluster.psql("select pg_terminate_backend(" + std::to_string(old_pid) + ")");
  ASSERT_TRUE(wait_until([&] { return !a.lock->connected(); }));
  auto taken = acquire(b, {"scim", 8});
  ASSERT_EQ(taken.status, cluster_lock_status::acquired) << "the server released A's lock with its session";
  ASSERT_TRUE(wait_until([&] {
    return messages_of(a.reg, "scim", 8).find("cluster sync lock not taken again after the reconnection") != std::string::npos;
  }));
  EXPECT_NE(messages_of(a.reg, "scim", 8).find("cluster sync lock lost: "), std::string::npos);
  EXPECT_TRUE(a.reg.sync_status("scim", 8)->is_running);
  // From the next pg_locks snapshot after the reconnection (a moment later under a sanitizer).
  EXPECT_TRUE(wait_until([&] { return a.lock->held_elsewhere("scim", 8); }));
  {
    std::lock_guard lock(mutex);
    bool said = false;
    for (const auto& line : log) said = said || line.find("held by another replica after the reconnection") != std::string::npos;
    EXPECT_TRUE(said);
  }
  release = true;
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  done.get();
  // A's lease ended; B's lock is still B's.
  const auto key = systask::pg_provider_lock_key("retake", "scim", 8);
  EXPECT_EQ(server_holders(cluster, key, b.backend_pid()), 1);
  EXPECT_EQ(server_holders(cluster, key), 1);
  taken.lease.reset();
  ASSERT_TRUE(wait_until([&] { return server_holders(cluster, key) == 0; }));
}

TEST(PgClusterLock, DestroyingTheLockAnswersPendingRequestsAndLeasesOutliveIt) {
  auto& cluster = shared_cluster();
  io_thread io;
  std::shared_ptr<systask::cluster_lock_lease> lease;
  auto promise = std::make_shared<std::promise<cluster_lock_answer>>();
  auto pending = promise->get_future();
  {
    pg_cluster_lock lock(io.executor(), lock_options(cluster, "destroy"));
    ASSERT_TRUE(wait_until([&] { return lock.connected(); }));
    auto answer = acquire(lock, {"scim", 12});
    ASSERT_EQ(answer.status, cluster_lock_status::acquired);
    lease = std::move(answer.lease);
    lock.async_acquire({"scim", 13}, [promise](cluster_lock_answer a) { promise->set_value(std::move(a)); });
  }
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  const auto answer = pending.get();
  EXPECT_EQ(answer.status, cluster_lock_status::unavailable);
  EXPECT_NE(answer.reason.find("closed"), std::string::npos) << answer.reason;
  // The connection closed, so the server released the lock; the lease ends harmlessly.
  ASSERT_TRUE(wait_until([&] { return server_holders(cluster, systask::pg_provider_lock_key("destroy", "scim", 12)) == 0; }));
  lease.reset();
}

TEST(PgClusterLock, EveryAnswerIsTimedInTheWaitHistogram) {
  auto& cluster = shared_cluster();
  io_thread io;
  pg_cluster_lock a(io.executor(), lock_options(cluster, "waits"));
  pg_cluster_lock b(io.executor(), lock_options(cluster, "waits"));
  ASSERT_TRUE(wait_until([&] { return a.connected() && b.connected(); }));
  const provider_ref p{"scim", 9};
  const auto t0 = std::chrono::steady_clock::now();
  auto held = acquire(a, p);
  ASSERT_EQ(held.status, cluster_lock_status::acquired);
  EXPECT_EQ(acquire(b, p).status, cluster_lock_status::held_elsewhere);  // asks the server
  EXPECT_EQ(acquire(a, p).status, cluster_lock_status::held_elsewhere);  // answered from memory
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto count = [](const systask::pg_cluster_lock_stats& s) {
    std::uint64_t n = 0;
    for (const auto c : s.wait_histogram) n += c;
    return n;
  };
  const auto sa = a.stats(), sb = b.stats();
  EXPECT_EQ(count(sa), 2u);
  EXPECT_EQ(count(sb), 1u);
  EXPECT_GT(sa.wait_seconds_sum, 0.0);
  EXPECT_LE(sa.wait_seconds_sum + sb.wait_seconds_sum, elapsed) << "each wait lies within the calls";
  EXPECT_EQ(sa.wait_histogram.back(), 0u) << "nothing waited beyond 2.5 s";
}

TEST(PgClusterLock, UnavailableWhileTheServerIsDownOrLocalOnlyWhenTheHostOptsIn) {
  pg_cluster own;
  io_thread io;
  auto local = lock_options(own, "down");
  local.local_only_when_unavailable = true;
  pg_cluster_lock strict(io.executor(), lock_options(own, "down"));
  pg_cluster_lock relaxed(io.executor(), local);
  ASSERT_TRUE(wait_until([&] { return strict.connected() && relaxed.connected(); }));
  own.stop();
  ASSERT_TRUE(wait_until([&] { return !strict.connected() && !relaxed.connected(); }));
  const provider_ref p{"scim", 3};
  const auto refused = acquire(strict, p);
  EXPECT_EQ(refused.status, cluster_lock_status::unavailable);
  EXPECT_NE(refused.reason.find("unreachable"), std::string::npos) << refused.reason;
  EXPECT_FALSE(refused.lease);
  auto degraded = acquire(relaxed, p);
  ASSERT_EQ(degraded.status, cluster_lock_status::acquired);
  EXPECT_NE(degraded.reason.find("local lock only"), std::string::npos) << degraded.reason;
  ASSERT_TRUE(degraded.lease);
  EXPECT_EQ(strict.stats().unavailable, 1u);
  // The server comes back: the local-only lease is taken on the server too.
  own.start();
  const auto key = systask::pg_provider_lock_key("down", "scim", 3);
  ASSERT_TRUE(wait_until([&] { return relaxed.connected() && server_holders(own, key, relaxed.backend_pid()) == 1; }));
  ASSERT_TRUE(wait_until([&] { return strict.connected() && strict.held_elsewhere("scim", 3); }, 5s));
  degraded.lease.reset();
  ASSERT_TRUE(wait_until([&] { return server_holders(own, key) == 0; }));
}

TEST(PgClusterLock, SecondReplicaIsRefusedAndTheHolderRecordsTheSkippedRequest) {
  auto& cluster = shared_cluster();
  replica a(lock_options(cluster, "replicas"), 9);
  replica b(lock_options(cluster, "replicas"), 9);
  ASSERT_TRUE(wait_until([&] { return a.lock->connected() && b.lock->connected(); }));
  std::atomic<bool> release{false};
  auto held = systask::async_run(a.reg, a.reg.sync_spec("scim", 9), held_body(release), asio::use_future);
  ASSERT_TRUE(wait_until([&] { return a.reg.sync_status("scim", 9)->is_running; }));
  ASSERT_TRUE(wait_until([&] { return b.reg.sync_status("scim", 9)->is_running; }, 1s)) << "B sees A's sync";
  std::atomic<bool> b_ran{false};
  // A callback, not use_future: an exception_ptr crossing threads inside libstdc++ (not
  // instrumented) is a false data race under TSan.
  auto code = std::make_shared<std::promise<boost::system::error_code>>();
  auto refused = code->get_future();
  systask::async_run(b.reg, b.reg.sync_spec("scim", 9), [&](systask::run&) { b_ran = true; },
                     [code](boost::system::error_code ec, systask::task_status) { code->set_value(ec); });
  ASSERT_EQ(refused.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(refused.get(), make_error_code(systask::errc::sync_running_elsewhere));
  EXPECT_FALSE(b_ran.load());
  EXPECT_TRUE(b.reg.tasks(b.reg.sync_spec("scim", 9).name, b.reg.sync_spec("scim", 9).uid, true).empty())
      << "nothing recorded on the refused replica";
  ASSERT_TRUE(wait_until([&] {
    return messages_of(a.reg, "scim", 9).find("A sync request from another replica was skipped because this sync is still running") !=
           std::string::npos;
  }));
  release = true;
  ASSERT_EQ(held.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(held.get(), systask::task_status::successful);
  ASSERT_TRUE(wait_until([&] { return !b.reg.sync_status("scim", 9)->is_running; }, 1s));
  auto now_b = systask::async_run(b.reg, b.reg.sync_spec("scim", 9), [&](systask::run&) { b_ran = true; }, asio::use_future);
  ASSERT_EQ(now_b.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(now_b.get(), systask::task_status::successful);
  EXPECT_TRUE(b_ran.load());
}

// A blocking libpq connection for the race test's sync bodies (host code, not the library).
struct blocking_db {
  PGconn* conn;
  explicit blocking_db(const std::string& conninfo) : conn(PQconnectdb(conninfo.c_str())) {}
  ~blocking_db() { PQfinish(conn); }
  std::string scalar(const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    std::string out = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "error";
    if (PQresultStatus(r) == PGRES_COMMAND_OK) out = "ok";
    PQclear(r);
    return out;
  }
};

TEST(PgClusterLock, TwoReplicasRacingForOneSyncNeverRunItTogether) {
  auto& cluster = shared_cluster();
  const char* env = std::getenv("SYSTASK_PG_RACES");
  const int rounds = env && *env ? std::atoi(env) : 200;
  cluster.psql("create table race_holders (replica text not null); create table race_counts (seen int not null)");
  replica a(lock_options(cluster, "race"), 11);
  replica b(lock_options(cluster, "race"), 11);
  ASSERT_TRUE(wait_until([&] { return a.lock->connected() && b.lock->connected(); }));
  blocking_db db_a(cluster.conninfo()), db_b(cluster.conninfo());
  ASSERT_EQ(PQstatus(db_a.conn), CONNECTION_OK);
  ASSERT_EQ(PQstatus(db_b.conn), CONNECTION_OK);
  std::atomic<int> bad{0};
  auto body = [&](blocking_db& db, const char* name) {
    return [&db, name, &bad](systask::run&) {
      if (db.scalar(std::string("insert into race_holders values ('") + name + "')") != "ok") ++bad;
      const std::string seen = db.scalar("select count(*) from race_holders");
      if (db.scalar("insert into race_counts values (" + (seen == "error" ? std::string("-1") : seen) + ")") != "ok") ++bad;
      if (db.scalar(std::string("delete from race_holders where replica = '") + name + "'") != "ok") ++bad;
    };
  };
  auto start = [&](replica& r, const systask::run_spec& spec, blocking_db& db, const char* name) {
    auto promise = std::make_shared<std::promise<boost::system::error_code>>();
    auto f = promise->get_future();
    systask::async_run(r.reg, spec, body(db, name),
                       [promise](boost::system::error_code ec, systask::task_status) { promise->set_value(ec); });
    return f;
  };
  int ran = 0, refused = 0, other = 0;
  const auto spec_a = a.reg.sync_spec("scim", 11);
  const auto spec_b = b.reg.sync_spec("scim", 11);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    std::future<boost::system::error_code> both[] = {start(a, spec_a, db_a, "a"), start(b, spec_b, db_b, "b")};
    for (auto& f : both) {
      ASSERT_EQ(f.wait_for(10s), std::future_status::ready) << "round " << i;
      const auto ec = f.get();
      if (!ec) {
        ++ran;
      } else if (ec == make_error_code(systask::errc::sync_running_elsewhere)) {
        ++refused;
      } else {
        ++other;
        ADD_FAILURE() << "round " << i << ": " << ec.message();
      }
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(ran + refused + other, 2 * rounds);
  EXPECT_GE(ran, rounds) << "in each round, one of the two ran";
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(cluster.psql("select count(*) from race_counts"), std::to_string(ran));
  EXPECT_EQ(cluster.psql("select count(*) from race_counts where seen <> 1"), "0") << "never two holders";
  const auto key = systask::pg_provider_lock_key("race", "scim", 11);
  ASSERT_TRUE(wait_until([&] { return server_holders(cluster, key) == 0; })) << "every lock released";
  EXPECT_EQ(a.lock->stats().acquired + b.lock->stats().acquired, static_cast<std::uint64_t>(ran));
  std::printf("%d rounds in %lld ms: %d ran, %d refused\n", rounds,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()), ran, refused);
}

}  // namespace
