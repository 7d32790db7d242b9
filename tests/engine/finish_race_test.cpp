// SPDX-License-Identifier: BSL-1.0
// A run finishing while other threads log to it or read the registry's counters: what a
// concurrent reader sees is never torn, and what was accepted before the finish counts.

#include <systask/engine/registry.hpp>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

using namespace systask;

// Regression (R15, R16): counters() read `appended` before `dropped`, so an overwriting writer
// between the two made retained_messages wrap to ~1.8e19; and a finishing run's drops were
// counted both in the entry's total and in the running list for a moment, then dropped back.
TEST(Counters, RetainedNeverWrapsAndDroppedNeverGoesDownWhileRunsLogAndFinish) {
  boost::asio::io_context io;
  task_options o;
  o.max_messages = 1;  // every append after the first overwrites: the dropped count moves fast
  registry reg(io, registry_options{o, system_clocks()});
  constexpr int runs = 3000, per_run = 50;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < runs; ++i) {
      run r = reg.start({.name = "t"});
      for (int m = 0; m < per_run; ++m) r.info("m");
      r.finish(task_status::successful);
    }
    done.store(true);
  });
  std::uint64_t wrapped = 0, went_down = 0, last_dropped = 0, reads = 0;
  while (!done.load()) {
    for (const auto& c : reg.counters()) {
      // One finished record and one running run, one slot each.
      if (c.retained_messages > 2) ++wrapped;
      if (c.dropped_messages < last_dropped) ++went_down;
      last_dropped = c.dropped_messages;
      ++reads;
    }
  }
  writer.join();
  EXPECT_EQ(wrapped, 0u) << "of " << reads << " reads";
  EXPECT_EQ(went_down, 0u) << "of " << reads << " reads";
  const auto c = reg.counters();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].dropped_messages, std::uint64_t{runs} * (per_run - 1)) << "exact once everything finished";
  EXPECT_EQ(c[0].retained_messages, 1u);
}

// Regression (R3): the level bit was set after the ring append, so finish could close the ring
// after an error was accepted but before its bit was set, and worst_message missed it.
TEST(StatusPolicy, AnErrorAcceptedBeforeAConcurrentFinishAlwaysRaisesTheStatus) {
  boost::asio::io_context io;
  task_options o;
  o.policy = status_policy::worst_message;
  registry reg(io, registry_options{o, system_clocks()});
  constexpr int rounds = 20'000;
  std::atomic<int> round{-1}, logged{-1};
  run current;
  std::thread logger([&] {
    for (int i = 0; i < rounds; ++i) {
      int r;
      while ((r = round.load(std::memory_order_acquire)) < i) std::this_thread::yield();
      if (r >= rounds) break;  // the main thread ran out of time
      current.error("boom");
      logged.store(i, std::memory_order_release);
    }
  });
  int accepted = 0, missed = 0, i = 0;
  // Bounded in time too: on a loaded machine each handshake may wait for the scheduler.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (; i < rounds && std::chrono::steady_clock::now() < deadline; ++i) {
    current = reg.start({.name = "t"});
    round.store(i, std::memory_order_release);
    const task_status s = current.finish(task_status::successful);
    while (logged.load(std::memory_order_acquire) != i) std::this_thread::yield();
    const auto rec = reg.tasks("t", "");
    ASSERT_EQ(rec.size(), 1u);
    if (rec[0].messages_appended() == 1) {
      ++accepted;
      if (s != task_status::error || rec[0].status() != task_status::error) ++missed;
    }
  }
  round.store(rounds);
  logger.join();
  EXPECT_EQ(missed, 0) << "of " << accepted << " errors accepted before the finish";
}

}  // namespace
