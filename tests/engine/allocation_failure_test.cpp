// What happens when memory runs out in the middle of the engine's work: nothing recorded is
// lost, no lock is left held, and the next operation repairs what the failed one left. The
// allocations fail on demand (failing_allocator.hpp), in this binary only.

#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"
#include "failing_allocator.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;
using systask::test::failing_allocations;

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

}  // namespace
