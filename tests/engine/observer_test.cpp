// SPDX-License-Identifier: BSL-1.0
// Observers: told of starts and finishes on the registry's strand, in order, never on the
// thread that started or finished the run; a full queue drops and counts, and observers hear of
// the drops; a throwing observer is contained.

#include <systask/engine/observer.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;

struct recording_observer : run_observer {
  struct event {
    std::string kind;
    std::string uuid;
    bool running = false;
    std::string messages;
    std::thread::id thread;
  };
  std::mutex mutex;
  std::vector<event> events;
  std::vector<wall_time> expired;
  dropped_events dropped;

  void on_started(const task_record& r) override { add("started", r); }
  void on_finished(const task_record& r) override { add("finished", r); }
  void on_expired(wall_time now) override {
    std::lock_guard lock(mutex);
    expired.push_back(now);
    events.push_back({"expired", {}, false, {}, std::this_thread::get_id()});
  }
  void on_dropped(const dropped_events& d) override {
    std::lock_guard lock(mutex);
    dropped.started += d.started;
    dropped.finished += d.finished;
  }
  void add(const char* kind, const task_record& r) {
    std::string messages;
    r.write_messages_json(messages);
    std::lock_guard lock(mutex);
    events.push_back({kind, std::string(r.uuid()), r.running(), std::move(messages), std::this_thread::get_id()});
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
};

TEST(Observers, HearOfStartsAndFinishesOnTheStrandInOrder) {
  engine_fixture f;
  auto obs = std::make_shared<recording_observer>();
  f.reg.add_observer(obs);
  run a = f.reg.start({.name = "a"});
  a.info("hello");
  run b = f.reg.start({.name = "b"});
  a.finish(task_status::successful);
  b.finish(task_status::error);
  EXPECT_EQ(obs->size(), 0u) << "nothing is delivered on the thread that starts or finishes";
  f.poll();
  ASSERT_EQ(obs->size(), 4u);
  EXPECT_EQ(obs->events[0].kind, "started");
  EXPECT_EQ(obs->events[0].uuid, f.reg.tasks("a", "")[0].uuid());
  EXPECT_EQ(obs->events[1].kind, "started");
  EXPECT_EQ(obs->events[1].uuid, f.reg.tasks("b", "")[0].uuid());
  EXPECT_EQ(obs->events[2].kind, "finished");
  EXPECT_EQ(obs->events[2].uuid, obs->events[0].uuid);
  EXPECT_FALSE(obs->events[2].running);
  std::string served;
  f.reg.tasks("a", "")[0].write_messages_json(served);
  EXPECT_EQ(obs->events[2].messages, served) << "the finished record, with its messages";
  EXPECT_EQ(obs->events[3].kind, "finished");
  EXPECT_EQ(obs->events[3].uuid, obs->events[1].uuid);
}

TEST(Observers, AreCalledOnTheExecutorsThreadNeverOnTheFinishingOne) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  registry reg(io, registry_options{{}, std::make_shared<manual_clock>()});
  auto obs = std::make_shared<recording_observer>();
  reg.add_observer(obs);
  std::thread runner([&] { io.run(); });
  for (int i = 0; i < 50; ++i) reg.start({.name = "t"}).finish(task_status::successful);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (obs->size() < 100 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  guard.reset();
  io.stop();
  runner.join();
  ASSERT_EQ(obs->size(), 100u);
  for (const auto& e : obs->events) EXPECT_NE(e.thread, std::this_thread::get_id());
}

// N threads x M runs start and finish while a slow observer drains a queue of 8 events on two
// executor threads: every event is either delivered or dropped and counted, exactly, per kind;
// observer calls never overlap; a run's start is heard before its finish.
TEST(Observers, DeliveredPlusDroppedEqualsProducedPerKindWithASlowObserver) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  registry_options opts;
  opts.observer_queue_capacity = 8;
  registry reg(io, opts);

  struct slow_observer : run_observer {
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::atomic<std::uint64_t> started{0}, finished{0}, dropped_started{0}, dropped_finished{0};
    std::atomic<std::uint64_t> finished_before_started{0}, finished_twice{0};
    std::mutex mutex;
    std::map<std::string, int> seen;  // uuid -> 1 started, 2 finished
    void busy() {
      // Slow on purpose (a database round trip), without sleeping.
      const auto until = std::chrono::steady_clock::now() + 20us;
      while (std::chrono::steady_clock::now() < until) {
      }
    }
    void enter() {
      if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
    }
    void leave() { inside.fetch_sub(1); }
    void on_started(const task_record& r) override {
      enter();
      {
        std::lock_guard lock(mutex);
        int& state = seen[std::string(r.uuid())];
        if (state == 2) finished_before_started.fetch_add(1);
        state = 1;
      }
      busy();
      started.fetch_add(1);
      leave();
    }
    void on_finished(const task_record& r) override {
      enter();
      {
        std::lock_guard lock(mutex);
        int& state = seen[std::string(r.uuid())];
        if (state == 2) finished_twice.fetch_add(1);
        state = 2;
      }
      busy();
      finished.fetch_add(1);
      leave();
    }
    void on_dropped(const dropped_events& d) override {
      enter();
      dropped_started.fetch_add(d.started);
      dropped_finished.fetch_add(d.finished);
      leave();
    }
  };
  auto obs = std::make_shared<slow_observer>();
  reg.add_observer(obs);
  std::thread exec1([&] { io.run(); }), exec2([&] { io.run(); });

  constexpr int producers = 4, runs_each = 500;
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < runs_each; ++i) {
        run r = reg.start({.name = "load", .uid = std::to_string(p)});
        r.info("m");
        r.finish(task_status::successful);
      }
    });
  }
  for (auto& t : threads) t.join();
  constexpr std::uint64_t produced = producers * runs_each;
  auto settled = [&] {
    return obs->started.load() + obs->dropped_started.load() == produced &&
           obs->finished.load() + obs->dropped_finished.load() == produced;
  };
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!settled() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  guard.reset();
  io.stop();
  exec1.join();
  exec2.join();

  const dropped_events counted = reg.observer_events_dropped();
  EXPECT_EQ(obs->started.load() + obs->dropped_started.load(), produced);
  EXPECT_EQ(obs->finished.load() + obs->dropped_finished.load(), produced);
  EXPECT_EQ(obs->dropped_started.load(), counted.started) << "the registry's count is what observers heard";
  EXPECT_EQ(obs->dropped_finished.load(), counted.finished);
  EXPECT_GT(counted.total(), 0u) << "a queue of 8 and a slow observer: some events must have been dropped";
  EXPECT_GT(obs->started.load() + obs->finished.load(), 0u);
  EXPECT_EQ(obs->overlaps.load(), 0) << "observer calls overlapped: not on one strand";
  EXPECT_EQ(obs->finished_before_started.load(), 0u);
  EXPECT_EQ(obs->finished_twice.load(), 0u);
  std::printf("[ info     ] delivered %llu, dropped %llu of %llu events\n",
              static_cast<unsigned long long>(obs->started.load() + obs->finished.load()),
              static_cast<unsigned long long>(counted.total()), static_cast<unsigned long long>(2 * produced));
}

TEST(Observers, AThrowingObserverIsContainedCountedAndReported) {
  auto clock = std::make_shared<manual_clock>();
  boost::asio::io_context io;
  std::vector<std::string> reported;
  registry_options opts{{}, clock};
  opts.on_background_error = [&](std::string_view what, std::exception_ptr) { reported.emplace_back(what); };
  registry reg(io, opts);
  struct thrower : run_observer {
    void on_finished(const task_record&) override { throw std::runtime_error("observer bug"); }
  };
  auto bad = std::make_shared<thrower>();
  auto good = std::make_shared<recording_observer>();
  reg.add_observer(bad);
  reg.add_observer(good);
  reg.start({.name = "t"}).finish(task_status::successful);
  reg.start({.name = "t"}).finish(task_status::successful);
  io.poll();
  EXPECT_EQ(good->size(), 4u) << "the next observer and the next events are still delivered";
  EXPECT_EQ(reg.background_errors(), 2u);
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_EQ(reported[0], "an observer's on_finished threw");
}

TEST(Observers, RemovedObserversHearNothingMore) {
  engine_fixture f;
  auto a = std::make_shared<recording_observer>();
  auto b = std::make_shared<recording_observer>();
  f.reg.add_observer(a);
  f.reg.add_observer(b);
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  EXPECT_TRUE(f.reg.remove_observer(a));
  EXPECT_FALSE(f.reg.remove_observer(a)) << "not there any more";
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  EXPECT_EQ(a->size(), 2u);
  EXPECT_EQ(b->size(), 4u);
  EXPECT_TRUE(f.reg.remove_observer(b));
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  EXPECT_EQ(b->size(), 4u);
  EXPECT_THROW(f.reg.add_observer(nullptr), std::invalid_argument);
}

TEST(Observers, NoObserverNoQueue) {
  engine_fixture f;
  for (int i = 0; i < 10; ++i) f.reg.start({.name = "t"}).finish(task_status::successful);
  EXPECT_FALSE(detail::registry_access::has_event_queue(f.reg)) << "a registry without observers allocates no queue";
  f.reg.add_observer(std::make_shared<recording_observer>());
  EXPECT_TRUE(detail::registry_access::has_event_queue(f.reg));
}

TEST(Observers, HearOfAnExpiryPassAfterTheEventsBeforeIt) {
  task_options o;
  o.retention = 60s;
  engine_fixture f(o);
  auto obs = std::make_shared<recording_observer>();
  f.reg.add_observer(obs);
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.clock->advance(61s);
  f.reg.start({.name = "u"}).finish(task_status::successful);  // queued, not delivered yet
  // The expiry timer fires for t's deadline (already past on the manual clock).
  ASSERT_TRUE(f.run_until([&] { return f.reg.tasks("t", "").empty() && obs->size() >= 5; }));
  ASSERT_GE(obs->size(), 5u);
  EXPECT_EQ(obs->events[3].kind, "finished");
  EXPECT_EQ(obs->events[4].kind, "expired") << "after every event queued before the pass";
  ASSERT_GE(obs->expired.size(), 1u);
  EXPECT_EQ(obs->expired[0], f.clock->wall_now());
}

TEST(Observers, PrefillAndRestoreProduceNoEvents) {
  engine_fixture f;
  auto obs = std::make_shared<recording_observer>();
  f.reg.add_observer(obs);
  f.reg.prefill({.name = "p"});
  run_image im;
  im.uuid = "4a0f2a47-3a8c-4f5e-9b35-1e0c7d3f6a21";
  im.name = "restored";
  im.start = im.finish = f.clock->wall_now();
  im.status = task_status::successful;
  EXPECT_EQ(f.reg.restore({im}).runs_restored, 1u);
  f.poll();
  EXPECT_EQ(obs->size(), 0u);
}

TEST(Observers, QueueCapacityIsChecked) {
  boost::asio::io_context io;
  registry_options o;
  o.observer_queue_capacity = 0;
  EXPECT_THROW(registry(io, o), std::invalid_argument);
  o.observer_queue_capacity = (std::size_t{1} << 24) + 1;
  EXPECT_THROW(registry(io, o), std::invalid_argument);
}

}  // namespace
