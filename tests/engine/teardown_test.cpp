// SPDX-License-Identifier: BSL-1.0
// Teardown in any order: run handles and task records may outlive their registry and its
// execution context. Meant for ASan (a use-after-free here is a crash in ~strand_impl or a
// post into a dead context), and for TSan where threads are involved.

#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <optional>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;

registry_options manual() { return registry_options{{}, std::make_shared<manual_clock>()}; }

// Regression (R11): run::abandon freed the state's strand after the context's strand service
// was gone (heap-use-after-free under ASan).
TEST(Teardown, RunOutlivesItsRegistryWhichOutlivesItsContext) {
  std::optional<run> r;
  {
    boost::asio::io_context io;
    {
      registry reg(io, manual());
      reg.start({.name = "done"}).finish(task_status::error);  // an expiry deadline and a timer
      io.poll();
      r.emplace(reg.start({.name = "t"}));
      ASSERT_TRUE(r->info("before"));
    }
    EXPECT_FALSE(r->info("after the registry")) << "a destroyed registry records nothing more";
    EXPECT_TRUE(r->finished());
  }
  EXPECT_FALSE(r->info("after the context"));
  EXPECT_EQ(r->finish(task_status::successful), task_status::unknown);
  EXPECT_EQ(r->fail("late"), task_status::unknown);
  EXPECT_FALSE(r->uuid().empty()) << "the handle still names its run";
  r.reset();  // abandon: must touch nothing of the context
}

TEST(Teardown, ContextDestroyedFirstThenRegistryThenRun) {
  std::optional<boost::asio::io_context> io(std::in_place);
  std::optional<registry> reg(std::in_place, *io, manual());
  reg->start({.name = "done"}).finish(task_status::error);
  io->poll();
  run r = reg->start({.name = "t"});
  reg->set_runner("t", [](const run_spec&) {});
  io.reset();

  // The registry still records and serves; only its executor work is gone.
  EXPECT_TRUE(r.info("after the context"));
  run other = reg->start({.name = "other"});
  EXPECT_EQ(other.finish(task_status::warning), task_status::warning) << "no expiry can be posted: no crash";
  EXPECT_EQ(reg->tasks("other", "").size(), 1u);
  EXPECT_FALSE(reg->trigger("t", "")) << "nothing can be queued on a dead context";
  reg->reclaim_expired();  // does nothing, safely
  EXPECT_EQ(reg->tasks("t", "", true).size(), 1u);

  reg.reset();
  EXPECT_FALSE(r.info("after the registry"));
  EXPECT_EQ(r.finish(task_status::successful), task_status::unknown);
}

TEST(Teardown, RegistryDestroyedWhileItsContextRunsThenTheRunFinishesLater) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    io.run();
    returned.store(true);
  });
  std::optional<registry> reg(std::in_place, io, manual());
  reg->start({.name = "done"}).finish(task_status::error);  // arms a 6 h timer on the running context
  run r = reg->start({.name = "t"});
  ASSERT_TRUE(r.info("working"));
  reg.reset();
  EXPECT_FALSE(r.info("after the registry"));
  EXPECT_EQ(r.finish(task_status::successful), task_status::unknown);

  // The registry's pending timer was cancelled: run() returns once the host's own work is done.
  guard.reset();
  const auto limit = std::chrono::steady_clock::now() + 10s;
  while (!returned.load() && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
  EXPECT_TRUE(returned.load()) << "a timer of the destroyed registry kept io_context::run busy";
  if (!returned.load()) io.stop();
  runner.join();
}

TEST(Teardown, RecordsAreReadableAfterTheRegistryAndTheContextAreGone) {
  std::vector<task_record> finished, running;
  std::optional<run> r;
  {
    boost::asio::io_context io;
    registry reg(io, manual());
    run done = reg.start({.name = "t", .uid = "u", .description = "kept"});
    done.info("a message", {{"n", 1}});
    done.finish(task_status::warning);
    r.emplace(reg.start({.name = "t", .uid = "u"}));
    r->info("in progress");
    finished = reg.tasks("t", "u");
    running = reg.tasks("t", "u", true);
  }
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].status(), task_status::warning);
  EXPECT_EQ(finished[0].description(), "kept");
  EXPECT_EQ(finished[0].messages_appended(), 1u);
  std::string msgs;
  finished[0].write_messages_json(msgs);
  EXPECT_NE(msgs.find("a message"), std::string::npos);
  ASSERT_EQ(running.size(), 2u);
  EXPECT_TRUE(running[0].running());
  msgs.clear();
  running[0].write_messages_json(msgs);
  EXPECT_NE(msgs.find("in progress"), std::string::npos);
  r.reset();
  EXPECT_EQ(finished[0].uid(), "u") << "still readable once the last handle is gone";
}

// The context shuts down while another thread keeps finishing runs (each finish posts an
// expiry deadline): detaching waits out the posts in flight and refuses the later ones.
TEST(Teardown, ContextDestroyedWhileAnotherThreadFinishesRuns) {
  std::optional<boost::asio::io_context> io(std::in_place);
  registry reg(*io, manual());
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> finished{0};
  std::thread finisher([&] {
    while (!stop.load()) {
      reg.start({.name = "t"}).finish(task_status::error);
      finished.fetch_add(1);
    }
  });
  while (finished.load() < 100) std::this_thread::yield();
  io.reset();
  const std::uint64_t at_shutdown = finished.load();
  while (finished.load() < at_shutdown + 100) std::this_thread::yield();
  stop.store(true);
  finisher.join();
  EXPECT_EQ(reg.tasks("t", "").size(), 1u);
}

// Observer events queued when the registry or its context goes away are dropped safely: the
// events (and the records they hold) die with the state, and nothing is delivered after the
// registry is gone.
struct counting_observer : run_observer {
  std::atomic<int> calls{0};
  void on_started(const task_record&) override { calls.fetch_add(1); }
  void on_finished(const task_record&) override { calls.fetch_add(1); }
};

TEST(Teardown, ObserverEventsQueuedWhenTheRegistryGoesAwayAreDropped) {
  boost::asio::io_context io;
  auto obs = std::make_shared<counting_observer>();
  std::optional<run> r;
  {
    registry reg(io, manual());
    reg.add_observer(obs);
    reg.start({.name = "done"}).finish(task_status::successful);
    r.emplace(reg.start({.name = "t"}));
    // Three events queued, a delivery posted but not run.
  }
  io.poll();  // the delivery runs after ~registry: it must deliver nothing
  EXPECT_EQ(obs->calls.load(), 0);
  r.reset();  // the handle's destructor after everything else
  io.poll();
  EXPECT_EQ(obs->calls.load(), 0);
}

TEST(Teardown, ObserverEventsQueuedWhenTheContextGoesAwayAreDropped) {
  auto obs = std::make_shared<counting_observer>();
  std::optional<boost::asio::io_context> io(std::in_place);
  registry reg(*io, manual());
  reg.add_observer(obs);
  reg.start({.name = "done"}).finish(task_status::successful);
  run r = reg.start({.name = "t"});
  io.reset();  // the delivery handler is destroyed unrun
  r.info("still recording");
  EXPECT_EQ(r.finish(task_status::successful), task_status::successful) << "finishing queues an event: no crash";
  EXPECT_EQ(reg.tasks("t", "").size(), 1u);
  EXPECT_EQ(obs->calls.load(), 0);
}

TEST(Teardown, ObserverOutlivesNothingItNeeds) {
  // The registry dies while its context runs on another thread and deliveries are going on.
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  auto obs = std::make_shared<counting_observer>();
  {
    registry reg(io, manual());
    reg.add_observer(obs);
    for (int i = 0; i < 2000; ++i) reg.start({.name = "t"}).finish(task_status::successful);
  }
  const int after = obs->calls.load();
  guard.reset();
  runner.join();
  EXPECT_LE(obs->calls.load(), after + 2) << "at most the delivery in progress completes";
  EXPECT_LE(obs->calls.load(), 4000);
}

}  // namespace

namespace {

// A host's globals: a registry and a run still open when the process exits. The C++ runtime
// destroys the main thread's thread_locals before statics, so the run's abandonment at exit
// finishes it after the engine's per-thread scratch is gone.
struct globals {
  boost::asio::io_context io;
  registry reg{io, systask::registry_options{{}, std::make_shared<systask::manual_clock>()}};
  run open = reg.start({.name = "still_running_at_exit"});
};

[[noreturn]] void exit_with_an_open_run_in_a_static() {
  static globals g;
  auto warm = g.reg.start({.name = "finished_before_exit"});  // creates the thread's scratch
  warm.info("one");
  warm.finish(task_status::successful);
  for (int i = 0; i < 200; ++i) g.open.info("a message long enough to make the packing allocate");
  std::exit(0);
}

}  // namespace

// Regression: finish used a thread_local scratch after the runtime had destroyed it (heap
// corruption in the contention benchmark, heap-use-after-free under ASan).
TEST(TeardownDeathTest, ARunAbandonedByAStaticAtExitFinishesCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(exit_with_an_open_run_in_a_static(), ::testing::ExitedWithCode(0), "");
}
