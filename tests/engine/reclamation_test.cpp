// SPDX-License-Identifier: BSL-1.0
// Copy-on-write views replaced while a reader is pinned are freed once it leaves, by a deferred
// pass on the registry's strand that visits only the entries that have something to free.

#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"
#include "registry_state.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace systask;
using systask::test::engine_fixture;

detail::task_entry& entry_of(engine_fixture& f, std::string_view name, std::string_view uid) {
  return *detail::registry_access::state(f.reg).tasks.find(detail::registry_state::task_key(name, uid));
}

TEST(Reclamation, AViewRetiredWhileAReaderIsPinnedIsFreedAfterItLeaves) {
  engine_fixture f;
  run r = f.reg.start({.name = "t", .uid = "u"});
  auto& e = entry_of(f, "t", "u");
  {
    detail::entry_pin pin(e);
    r.finish(task_status::error);  // replaces the view the pinned reader may be copying from
    EXPECT_TRUE(e.views.has_retired()) << "not freed under the reader";
  }
  EXPECT_TRUE(f.run_until([&] { return !e.views.has_retired(); }));
  EXPECT_EQ(f.reg.tasks("t", "u").size(), 1u) << "the current view is untouched";
}

TEST(Reclamation, EveryEntryRetiredUnderReadersIsFreedAndOthersAreNotVisited) {
  engine_fixture f;
  constexpr int pinned_count = 200;
  for (int i = 0; i < 2000; ++i) f.reg.start({.name = "idle", .uid = std::to_string(i)}).finish(task_status::error);
  std::vector<run> runs;
  std::vector<detail::task_entry*> entries;
  for (int i = 0; i < pinned_count; ++i) {
    runs.push_back(f.reg.start({.name = "busy", .uid = std::to_string(i)}));
    entries.push_back(&entry_of(f, "busy", std::to_string(i)));
  }
  {
    std::vector<std::unique_ptr<detail::entry_pin>> pins;
    for (auto* e : entries) pins.push_back(std::make_unique<detail::entry_pin>(*e));
    for (auto& r : runs) r.finish(task_status::warning);
    for (auto* e : entries) ASSERT_TRUE(e->views.has_retired());
    // Still pinned: a deferred pass finds nothing it may free and queues the entries again.
    f.run_until([] { return false; }, std::chrono::milliseconds(20));
    for (auto* e : entries) ASSERT_TRUE(e->views.has_retired());
  }
  EXPECT_TRUE(f.run_until([&] {
    for (auto* e : entries)
      if (e->views.has_retired()) return false;
    return true;
  }));
  EXPECT_EQ(f.reg.list_tasks().size(), 2000u + pinned_count);
  // Each pass visits the queued entries only, never the 2,000 idle ones.
  const auto& st = detail::registry_access::state(f.reg);
  const std::uint64_t passes = detail::registry_access::deferred_passes(st);
  EXPECT_GE(passes, 2u);
  EXPECT_LE(detail::registry_access::deferred_entries_visited(st), passes * pinned_count);
}

}  // namespace
