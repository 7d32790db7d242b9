// SPDX-License-Identifier: BSL-1.0
// What happens when memory runs out in the middle of the engine's work: nothing recorded is
// lost, no lock is left held, and the next operation repairs what the failed one left. The
// allocations fail on demand (failing_allocator.hpp), in this binary only.

#include <systask/engine/registry.hpp>

#include "concurrent_index.hpp"
#include "engine_fixture.hpp"
#include "failing_allocator.hpp"
#include "registry_state.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;
using systask::test::fail_nth_allocation;
using systask::test::failing_allocations;
using systask::test::on_allocation;

// Regression (R8): a finish whose view update ran out of memory left the run in `running`,
// where it held its provider's sync lock forever, and nothing ever moved it.
TEST(AllocationFailure, InFinishDoesNotWedgeTheProviderAndTheNextUpdateRepairsTheView) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  run first = f.reg.start(f.reg.sync_spec("scim", 3));
  ASSERT_TRUE(first);
  first.info("synced 10 users");
  task_status status;
  std::size_t refused = 0;
  {
    failing_allocations no_memory;
    status = first.finish(task_status::successful);
    refused = no_memory.refused();
  }
  EXPECT_EQ(status, task_status::successful);
  ASSERT_GT(refused, 0u) << "the finish's view update must have needed memory";
  EXPECT_TRUE(first.finished());
  EXPECT_FALSE(f.reg.sync_status("scim", 3)->is_running) << "a finished run holds no lock";

  run second = f.reg.start(f.reg.sync_spec("scim", 3));
  ASSERT_TRUE(second) << "the provider is not wedged";
  auto st = f.reg.sync_status("scim", 3, true);
  ASSERT_EQ(st->tasks.size(), 2u);
  EXPECT_TRUE(st->tasks[0].running()) << "the new sync";
  EXPECT_FALSE(st->tasks[1].running()) << "the first one, moved to the finished list by the start";
  EXPECT_EQ(st->tasks[1].status(), task_status::successful);
  EXPECT_NE(f.messages_of(st->tasks[1]).find("synced 10 users"), std::string::npos) << "nothing recorded is lost";
  EXPECT_EQ(f.reg.records_held(), 2u);

  // The repairing update scheduled the first run's expiry as its own finish would have.
  f.poll();
  f.clock->advance(6h);
  f.reg.reclaim_expired();
  f.poll();
  EXPECT_EQ(f.reg.records_held(), 1u) << "the first run expired and was reclaimed";
  second.finish(task_status::successful);
  EXPECT_EQ(f.reg.records_held(), 1u);
}

TEST(AllocationFailure, InFinishOfAPlainTaskHonoursKeepOnSuccessAndDepthWhenRepaired) {
  engine_fixture f;
  task_options o;
  o.history_depth = 2;
  f.reg.configure_task("t", o);
  for (int i = 0; i < 2; ++i) f.reg.start({.name = "t"}).finish(task_status::warning);
  run r = f.reg.start({.name = "t"});
  {
    failing_allocations no_memory;
    r.finish(task_status::error);
  }
  EXPECT_EQ(f.reg.records_held(), 3u) << "not yet accounted";
  f.reg.start({.name = "t"}).finish(task_status::warning);  // its updates move the stranded run
  const auto recs = f.reg.tasks("t", "");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].status(), task_status::warning) << "newest first";
  EXPECT_EQ(recs[1].status(), task_status::error) << "the stranded run, in finish order";
  EXPECT_EQ(f.reg.records_held(), 2u);
}

// Regression (R5): the grown table was published before it was stored, so a failing store left
// the index pointing at a freed table (a use-after-free under ASan on every later lookup).
TEST(AllocationFailure, WhileTheConcurrentIndexGrowsLeavesItConsistent) {
  struct value {
    std::string k;
    std::string_view key() const noexcept { return k; }
  };
  // (Keys built with append, not "k" + ...: g++ 12 warns falsely on that form, PR105329.)
  auto key = [](int i) {
    std::string k = "k";
    k += std::to_string(i);
    return k;
  };
  for (std::size_t n = 0;; ++n) {
    detail::concurrent_index<value> index;
    for (int i = 0; i < 8; ++i) {  // the ninth insert grows the 16-slot table
      const std::string k = key(i);
      index.find_or_insert(k, [&] { return std::make_unique<value>(value{k}); });
    }
    bool threw = false, fired = false;
    {
      fail_nth_allocation fail(n);
      try {
        index.find_or_insert("k8", [] { return std::make_unique<value>(value{"k8"}); });
      } catch (const std::bad_alloc&) {
        threw = true;
      }
      fired = fail.fired();
    }
    for (int i = 0; i < 8; ++i) ASSERT_NE(index.find(key(i)), nullptr) << "n = " << n;
    int visited = 0;
    index.for_each([&](value&) { ++visited; });
    ASSERT_EQ(visited, threw ? 8 : 9) << "n = " << n;
    ASSERT_EQ(index.find("k8") != nullptr, !threw) << "n = " << n;
    index.find_or_insert("k8", [] { return std::make_unique<value>(value{"k8"}); });
    ASSERT_NE(index.find("k8"), nullptr);
    if (!fired) break;  // every allocation of the growing insert has been failed once
  }
}

// Regression: fail(exception_ptr) is noexcept but copied the exception's text into
// std::strings, so running out of memory there terminated the process.
TEST(AllocationFailure, FailWithAnExceptionNeverAllocates) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  r.info("the ring's first slots exist");
  // Short enough for a slot's inline bytes: a longer text would need a spill buffer, and under
  // no memory that message would be counted as dropped instead.
  std::string text(40, 'x');
  text += " directory unreachable";
  const auto error = std::make_exception_ptr(std::runtime_error(text));
  const auto odd = std::make_exception_ptr(42);
  run other = f.reg.start({.name = "u"});
  other.info("ready");
  task_status a, b;
  {
    failing_allocations no_memory;
    a = r.fail(error);
    b = other.fail(odd);
  }
  EXPECT_EQ(a, task_status::error);
  EXPECT_EQ(b, task_status::error);
  EXPECT_NE(f.messages_of(f.reg.tasks("t", "", true)[0]).find("directory unreachable"), std::string::npos);
  EXPECT_NE(f.messages_of(f.reg.tasks("u", "", true)[0]).find("unknown exception"), std::string::npos);
}

// Regression: a failing expiry pass threw std::bad_alloc into the host's io_context::run().
TEST(AllocationFailure, InTheExpiryPassIsReportedAndRetried) {
  std::vector<std::string> reported;
  boost::asio::io_context io;
  auto clock = std::make_shared<manual_clock>();
  registry_options o{{}, clock};
  o.default_task.retention = std::chrono::seconds(10);
  o.on_background_error = [&](std::string_view what, std::exception_ptr) { reported.emplace_back(what); };
  registry reg(io, o);
  reg.start({.name = "t"}).finish(task_status::error);
  io.poll();  // the deadline is queued and the timer armed
  clock->advance(11s);
  reg.reclaim_expired();
  bool escaped = false, fired = false;
  {
    // Only the first allocation fails: the pass's copy of the view (Asio's own machinery
    // cannot run without memory at all, and a total failure would test Asio, not systask).
    fail_nth_allocation fail(0);
    try {
      io.restart();
      io.poll();
    } catch (...) {
      escaped = true;
    }
    fired = fail.fired();
  }
  EXPECT_FALSE(escaped) << "an exception reached the host's run()";
  ASSERT_TRUE(fired);
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_NE(reported[0].find("expiry"), std::string::npos) << reported[0];
  EXPECT_EQ(reg.background_errors(), 1u);
  EXPECT_TRUE(reg.tasks("t", "").empty()) << "hidden all the same";
  EXPECT_EQ(reg.records_held(), 1u);
  reg.reclaim_expired();  // the deadline was kept: the next pass drops the record
  io.restart();
  io.poll();
  EXPECT_EQ(reg.records_held(), 0u);
}

// Regression (R6): configure_task walked the entries between the first start of a key reading
// the options and inserting the entry, which then kept the old options forever.
TEST(AllocationFailure, ConfiguringATaskWhileItsFirstKeyIsCreatedIsNotMissed) {
  engine_fixture f;
  task_options configured;
  configured.retention = std::chrono::seconds(10);
  configured.history_depth = 3;
  bool hooked = false;
  {
    // The hook runs inside the new entry's allocation: after its options were read, before it
    // is in the index, exactly where a configure_task on another thread could land.
    on_allocation between(sizeof(detail::task_entry), [&] { f.reg.configure_task("t", configured); });
    f.reg.start({.name = "t", .uid = "new"}).finish(task_status::successful);
    hooked = between.called();
  }
  ASSERT_TRUE(hooked);
  for (int i = 0; i < 3; ++i) f.reg.start({.name = "t", .uid = "new"}).finish(task_status::successful);
  const auto recs = f.reg.tasks("t", "new");
  ASSERT_EQ(recs.size(), 3u) << "the configured history depth applies to the new key";
  EXPECT_EQ(*recs[0].expires(), f.clock->wall_now() + std::chrono::seconds(10));
}

}  // namespace
