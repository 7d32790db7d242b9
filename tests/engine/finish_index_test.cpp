// SPDX-License-Identifier: BSL-1.0
// The task list ordered by finish time (registry::list_tasks_by_finish) answers from an index
// kept up to date by the finishes and expiries: every page it gives must be the page that
// sorting every listed record gives, whatever happened since the index was built.

#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;

std::uint64_t snapshots_built(const registry& reg) {
  return detail::registry_access::state(reg).by_finish.snapshots_built();
}

// The page by the definition: every listed record, filtered, sorted, sliced.
std::vector<std::string> expected_page(const registry& reg, std::optional<task_status> status, bool newest_first,
                                       std::size_t offset, std::size_t limit, std::uint64_t& total) {
  auto all = reg.list_tasks(registry::task_filter{.status = status});
  std::sort(all.begin(), all.end(), [&](const task_record& a, const task_record& b) {
    if (a.finish_time() != b.finish_time()) {
      return newest_first ? a.finish_time() > b.finish_time() : a.finish_time() < b.finish_time();
    }
    return a.uuid() < b.uuid();
  });
  total = all.size();
  std::vector<std::string> out;
  for (std::size_t i = offset; i < all.size() && i < offset + limit; ++i) out.emplace_back(all[i].uuid());
  return out;
}

std::vector<std::string> uuids_of(const registry::task_page& p) {
  std::vector<std::string> out;
  for (const auto& r : p.records) out.emplace_back(r.uuid());
  return out;
}

// Every status filter, both orders, and pages at the start, the middle and past the end.
void expect_every_page_as_defined(const registry& reg, const std::string& when) {
  for (std::optional<task_status> status : {std::optional<task_status>{}, std::optional{task_status::successful},
                                            std::optional{task_status::warning}, std::optional{task_status::error},
                                            std::optional{task_status::unknown}}) {
    for (bool newest_first : {true, false}) {
      for (auto [offset, limit] : {std::pair<std::size_t, std::size_t>{0, 5}, {0, 1000}, {3, 7}, {10'000, 10}}) {
        std::uint64_t total = 0;
        const auto want = expected_page(reg, status, newest_first, offset, limit, total);
        const auto got = reg.list_tasks_by_finish(status, newest_first, offset, limit);
        ASSERT_EQ(got.total, total) << when;
        ASSERT_EQ(uuids_of(got), want) << when << ": status " << (status ? to_string(*status) : "any")
                                       << (newest_first ? ", newest first" : ", oldest first") << ", offset "
                                       << offset;
      }
    }
  }
}

TEST(ListByFinish, PagesAreThoseOfSortingEveryRecordWithTiesByUuid) {
  engine_fixture f;
  task_options keep3;
  keep3.history_depth = 3;
  f.reg.configure_task("sync", keep3);
  // Finishes in the same clock tick tie on finish time: the uuid orders them.
  for (int i = 0; i < 12; ++i) {
    f.reg.start({.name = "sync", .uid = std::to_string(i % 4)})
        .finish(i % 3 == 0 ? task_status::error : task_status::successful);
    if (i % 5 == 0) f.clock->advance(1s);
  }
  f.reg.start({.name = "cleanup"}).finish(task_status::warning);
  run still = f.reg.start({.name = "sync", .uid = "9"});  // running: never listed
  expect_every_page_as_defined(f.reg, "after the first finishes");
  still.finish(task_status::error);
  expect_every_page_as_defined(f.reg, "after a finish the index had not seen");
}

TEST(ListByFinish, FollowsEvictionsExpiryAndRemovalOnSuccess) {
  engine_fixture f;
  task_options brief;
  brief.retention = 10s;
  brief.history_depth = 2;
  f.reg.configure_task("brief", brief);
  task_options forget;
  forget.keep_on_success = false;
  f.reg.configure_task("forget", forget);
  for (int i = 0; i < 3; ++i) f.reg.start({.name = "brief"}).finish(task_status::successful);
  f.reg.start({.name = "forget"}).finish(task_status::error);
  f.reg.start({.name = "kept"}).finish(task_status::successful);
  expect_every_page_as_defined(f.reg, "built");
  f.reg.start({.name = "brief"}).finish(task_status::error);  // evicts the oldest of brief's two
  f.reg.start({.name = "forget"}).finish(task_status::successful);  // removes forget's records
  expect_every_page_as_defined(f.reg, "after an eviction and a removal on success");
  f.clock->advance(11s);  // brief's runs expired: not listed, even before they are reclaimed
  expect_every_page_as_defined(f.reg, "expired, not reclaimed");
  f.reg.reclaim_expired();
  f.poll();
  expect_every_page_as_defined(f.reg, "reclaimed");
}

TEST(ListByFinish, PrefilledRecordsAreListedAsTheFullListShowsThem) {
  engine_fixture f;
  f.reg.prefill({.name = "never_run", .uid = "a"});
  expect_every_page_as_defined(f.reg, "prefilled");
  f.reg.start({.name = "never_run", .uid = "a"}).finish(task_status::successful);
  expect_every_page_as_defined(f.reg, "the placeholder replaced by a run");
}

TEST(ListByFinish, TheIndexIsRebuiltOnlyWhenTheChangesSinceOutgrowAShareOfIt) {
  engine_fixture f;
  for (int i = 0; i < 200; ++i) f.reg.start({.name = "t", .uid = std::to_string(i)}).finish(task_status::successful);
  const auto page = f.reg.list_tasks_by_finish(std::nullopt, true, 0, 10);
  EXPECT_EQ(page.total, 200u);
  EXPECT_EQ(snapshots_built(f.reg), 1u) << "the first list builds the index";
  (void)f.reg.list_tasks_by_finish(task_status::error, false, 0, 10);
  EXPECT_EQ(snapshots_built(f.reg), 1u) << "nothing changed: no rebuild";
  for (int i = 0; i < 10; ++i) f.reg.start({.name = "t", .uid = std::to_string(i)}).finish(task_status::error);
  expect_every_page_as_defined(f.reg, "ten task keys changed");
  EXPECT_EQ(snapshots_built(f.reg), 1u) << "a few changes are read from their task keys";
  for (int i = 0; i < 100; ++i) f.reg.start({.name = "u", .uid = std::to_string(i)}).finish(task_status::warning);
  expect_every_page_as_defined(f.reg, "a hundred new task keys");
  EXPECT_EQ(snapshots_built(f.reg), 2u) << "more changes than 64 + 1/16 of the index: rebuilt once";
}

TEST(ListByFinish, MoreChangesThanTheLogHoldsAreStillAllSeen) {
  engine_fixture f;
  f.reg.start({.name = "first"}).finish(task_status::successful);
  (void)f.reg.list_tasks_by_finish(std::nullopt, true, 0, 10);
  // The log of changes wraps: the index cannot be corrected any more, and is rebuilt.
  const std::size_t n = detail::finish_index::log_capacity + 100;
  for (std::size_t i = 0; i < n; ++i) {
    f.reg.start({.name = "t", .uid = std::to_string(i % 50)}).finish(i % 7 ? task_status::successful : task_status::error);
  }
  expect_every_page_as_defined(f.reg, "after the log wrapped");
}

TEST(ListByFinish, RandomHistoriesAgreeWithTheFullList) {
  std::mt19937 rng(20261201);
  engine_fixture f;
  task_options deep;
  deep.history_depth = 4;
  deep.retention = 30s;
  f.reg.configure_task("deep", deep);
  task_options forget;
  forget.keep_on_success = false;
  f.reg.configure_task("forget", forget);
  const char* names[] = {"deep", "forget", "plain"};
  const task_status statuses[] = {task_status::successful, task_status::warning, task_status::error};
  std::vector<run> open;
  for (int step = 0; step < 3000; ++step) {
    const auto dice = rng() % 100;
    if (dice < 50) {
      open.push_back(f.reg.start({.name = names[rng() % 3], .uid = std::to_string(rng() % 30)}));
    } else if (dice < 90 && !open.empty()) {
      const std::size_t i = rng() % open.size();
      open[i].finish(statuses[rng() % 3]);
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (dice < 97) {
      f.clock->advance(std::chrono::seconds(rng() % 5));
    } else {
      f.reg.reclaim_expired();
      f.poll();
    }
    if (step % 100 == 99) expect_every_page_as_defined(f.reg, "step " + std::to_string(step));
  }
}

}  // namespace
