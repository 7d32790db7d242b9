// SPDX-License-Identifier: BSL-1.0
// Teardown of a scheduler in any order with its execution context: meant for ASan (a
// use-after-free here is a crash in a strand or a timer of a dead context) and TSan.

#include <systask/engine/schedule.hpp>

#include "engine_fixture.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;
namespace asio = boost::asio;

registry_options manual() { return registry_options{{}, std::make_shared<manual_clock>()}; }

schedule_spec every_minute(std::string name, schedule_body body) {
  schedule_spec s;
  s.run.name = std::move(name);
  s.crontab = "* * * * *";
  s.body = std::move(body);
  return s;
}

// Waits on the context until cancelled: a run that is still going at teardown.
schedule_body waiting(std::atomic<int>& entered) {
  return [&entered](run&) -> asio::awaitable<task_status> {
    ++entered;
    asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::use_awaitable);
    co_return task_status::successful;
  };
}

TEST(ScheduleTeardown, SchedulerDestroyedWhileItsTimerIsPendingLetsRunReturn) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    io.run();
    returned.store(true);
  });
  registry reg(io, manual());
  std::optional<scheduler> sched(std::in_place, reg);
  std::atomic<int> entered{0};
  sched->add(every_minute("t", waiting(entered)));  // a timer armed on the running context
  sched->check_now();
  sched.reset();

  guard.reset();
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (!returned.load() && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
  EXPECT_TRUE(returned.load()) << "a timer of the destroyed scheduler kept io_context::run busy";
  if (!returned.load()) io.stop();
  runner.join();
  EXPECT_EQ(entered.load(), 0);
}

TEST(ScheduleTeardown, ContextDestroyedFirstThenSchedulerThenRegistry) {
  auto clock = std::make_shared<manual_clock>();
  std::optional<asio::io_context> io(std::in_place);
  std::optional<registry> reg(std::in_place, *io, registry_options{{}, clock});
  std::optional<scheduler> sched(std::in_place, *reg);
  std::atomic<int> entered{0};
  int done = 0;
  schedule_spec spec = every_minute("t", waiting(entered));
  spec.on_done = [&](boost::system::error_code, task_status) { ++done; };
  const auto s = sched->add(std::move(spec));
  clock->advance(60s);
  sched->check_now();
  io->poll();
  ASSERT_EQ(entered.load(), 1) << "a run waits in the context";
  io.reset();  // its coroutine is destroyed with the context; the timer too

  // Reads still work; nothing more is queued.
  const auto i = sched->find(s.id);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->started, 1u);
  EXPECT_FALSE(sched->send_now(s.id));
  EXPECT_TRUE(sched->set_paused(s.id, true));
  sched->check_now();  // does nothing, safely
  sched.reset();
  reg.reset();
  EXPECT_EQ(done, 0) << "a run destroyed with its context never completes";
}

TEST(ScheduleTeardown, SchedulerDestroyedWithRunsInFlightCancelsThemAndCallsNothingBack) {
  auto clock = std::make_shared<manual_clock>();
  asio::io_context io;
  registry reg(io, registry_options{{}, clock});
  std::atomic<int> entered{0};
  int done = 0;
  std::string uuid;
  {
    scheduler sched(reg);
    schedule_spec spec = every_minute("t", waiting(entered));
    spec.on_done = [&](boost::system::error_code, task_status) { ++done; };
    const auto s = sched.add(std::move(spec));
    schedule_spec queued = every_minute("u", waiting(entered));
    queued.on_done = [&](boost::system::error_code, task_status) { ++done; };
    const auto q = sched.add(std::move(queued));
    clock->advance(60s);
    sched.check_now();
    io.poll();
    ASSERT_EQ(entered.load(), 2);
    uuid = sched.find(s.id)->last_run->uuid;
    EXPECT_TRUE(sched.send_now(q.id));  // queued on the strand, not run before the destruction
  }
  io.restart();
  io.poll();
  EXPECT_EQ(entered.load(), 2) << "nothing starts after the scheduler is gone";
  EXPECT_EQ(done, 0) << "on_done is not called once the scheduler is destroyed";
  const auto rec = reg.find_task(uuid);
  ASSERT_TRUE(rec);
  EXPECT_FALSE(rec->running());
  EXPECT_EQ(rec->status(), task_status::error);
  std::string messages;
  rec->write_messages_json(messages);
  EXPECT_NE(messages.find("cancelled"), std::string::npos) << messages;
}

TEST(ScheduleTeardown, RunQueuedBeforeTheSchedulerDiedDoesNotCallItsBody) {
  auto clock = std::make_shared<manual_clock>();
  asio::io_context io;
  registry reg(io, registry_options{{}, clock});
  std::atomic<int> entered{0};
  {
    scheduler sched(reg);
    sched.add(every_minute("t", waiting(entered)));
    clock->advance(60s);
    sched.check_now();
    // Run the strand's tick (the run is queued) but not the run itself: one handler.
    io.run_one();
  }
  io.restart();
  io.poll();
  EXPECT_EQ(entered.load(), 0) << "the body may use what the host destroyed after the scheduler";
}

}  // namespace
