// SPDX-License-Identifier: BSL-1.0
// The scheduler's public API from many threads while its timer fires and its runs start and end
// on a multi-threaded context: meant for TSan. What went in (fires and sends) must equal what
// came out (runs started plus starts skipped), per schedule, and match the registry's records.

#include <systask/engine/schedule.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
namespace asio = boost::asio;

TEST(ScheduleConcurrency, PauseAndSendFromManyThreadsWhileTheTimerFires) {
  auto clock = std::make_shared<manual_clock>();
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::vector<std::thread> pool;
  for (int i = 0; i < 3; ++i) pool.emplace_back([&] { io.run(); });

  // The runs' executor is a strand, as stop() wants it; the context has three threads.
  registry reg(asio::make_strand(io), registry_options{{}, clock});
  reg.register_provider("scim", 3, "Acme SCIM");
  scheduler_options so;
  so.clock_check = std::chrono::hours(1);
  scheduler sched(reg, so);

  std::atomic<long> bodies{0};
  auto body = [&bodies](run& r) -> asio::awaitable<task_status> {
    r.info("tick");
    ++bodies;
    co_return task_status::successful;
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    schedule_spec s;
    s.run.name = "task" + std::to_string(i);
    s.interval = std::chrono::seconds(1 + i);
    s.body = body;
    ids.push_back(sched.add(std::move(s)).id);
  }
  schedule_spec sync;
  sync.run = reg.sync_spec("scim", 3);
  sync.crontab = "* * * * *";
  sync.body = body;
  ids.push_back(sched.add(std::move(sync)).id);

  constexpr int rounds = 300;
  std::atomic<long> sends_accepted{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < rounds; ++i) {
        const std::string& id = ids[static_cast<std::size_t>(i + t) % ids.size()];
        if (sched.send_now(id)) ++sends_accepted;
        // Schedules 1 and 2 are paused and resumed all along; 0 and 3 keep their cadence.
        if (id == ids[1] || id == ids[2]) sched.set_paused(id, (i + t) % 3 == 0);
        if (i % 16 == 0) {
          EXPECT_EQ(sched.list().size(), ids.size());
        }
      }
    });
  }
  std::thread ticker([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < rounds; ++i) {
      clock->advance(7s);  // several interval fires and a crontab minute now and then
      sched.check_now();
    }
  });
  go.store(true);
  for (auto& c : callers) c.join();
  ticker.join();
  // The ticks are queued on the strand: let the cadence fire before pausing everything.
  const auto limit = std::chrono::steady_clock::now() + 60s;
  while (sched.find(ids[0])->fired == 0 && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
  for (const auto& id : ids) sched.set_paused(id, true);  // nothing more fires on the cadence
  // A tick queued before the pause may still fire what it found due. The strand runs in order:
  // once this last send has reached its schedule, every tick queued before it has run too.
  ASSERT_TRUE(sched.send_now(ids[0]));
  ++sends_accepted;

  // Every accepted send reaches its schedule on the strand, and every attempt ends on the
  // context; wait (bounded) for both. Paused, nothing more fires.
  auto settled = [&] {
    std::uint64_t sent = 0;
    for (const auto& i : sched.list()) {
      if (i.running) return false;
      sent += i.sent;
    }
    return sent == static_cast<std::uint64_t>(sends_accepted.load());
  };
  while (!settled() && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
  ASSERT_TRUE(settled());

  std::uint64_t sent = 0, started = 0, fired = 0;
  for (const auto& i : sched.list()) {
    EXPECT_EQ(i.fired + i.sent, i.started + i.skipped) << i.run.name << ": every fire and send started a run or was skipped";
    sent += i.sent;
    started += i.started;
    fired += i.fired;
  }
  EXPECT_EQ(sent, static_cast<std::uint64_t>(sends_accepted.load())) << "every accepted send reached its schedule";
  EXPECT_EQ(started, static_cast<std::uint64_t>(bodies.load()));
  EXPECT_GT(fired, 0u);
  std::uint64_t finished = 0;
  for (const auto& c : reg.counters()) {
    for (auto n : c.finished_by_status) finished += n;
  }
  EXPECT_EQ(finished, started) << "the registry recorded every run the scheduler started";

  sched.stop();
  guard.reset();
  io.stop();
  for (auto& t : pool) t.join();
}

}  // namespace
