// SPDX-License-Identifier: BSL-1.0
// The uuid index behind find_task: lookups by uuid without a scan of every task, entries removed
// when their records leave, running runs found too.

#include "uuid_index.hpp"

#include "engine_fixture.hpp"
#include "registry_access.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;

std::string uuid_n(std::uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-0000-4000-8000-%012llx", static_cast<unsigned long long>(n >> 20),
                static_cast<unsigned long long>(n));
  return buf;
}

TEST(UuidIndex, ParsesCanonicalUuidsOnly) {
  const auto a = detail::parse_uuid("4a0f2a47-3a8c-4f5e-9b35-1e0c7d3f6a21");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->hi, 0x4a0f2a473a8c4f5eull);
  EXPECT_EQ(a->lo, 0x9b351e0c7d3f6a21ull);
  EXPECT_EQ(detail::parse_uuid("4A0F2A47-3A8C-4F5E-9B35-1E0C7D3F6A21"), a) << "either case";
  EXPECT_FALSE(detail::parse_uuid("4a0f2a473a8c4f5e9b351e0c7d3f6a21"));
  EXPECT_FALSE(detail::parse_uuid("4a0f2a47-3a8c-4f5e-9b35-1e0c7d3f6a2"));
  EXPECT_FALSE(detail::parse_uuid("4a0f2a47-3a8c-4f5e-9b35-1e0c7d3f6a2g"));
  EXPECT_FALSE(detail::parse_uuid("4a0f2a47+3a8c-4f5e-9b35-1e0c7d3f6a21"));
  EXPECT_FALSE(detail::parse_uuid(""));
}

TEST(UuidIndex, FindsInsertsAndForgetsErasesThroughRebuilds) {
  detail::uuid_index index;
  std::vector<detail::task_entry*> entries(7);
  for (std::size_t i = 0; i < entries.size(); ++i) entries[i] = reinterpret_cast<detail::task_entry*>(0x1000 * (i + 1));
  constexpr std::uint64_t n = 20'000;
  for (std::uint64_t i = 0; i < n; ++i) index.insert(uuid_n(i), entries[i % entries.size()]);
  EXPECT_EQ(index.size(), n);
  for (std::uint64_t i = 0; i < n; ++i) ASSERT_EQ(index.find(uuid_n(i)), entries[i % entries.size()]) << i;
  EXPECT_EQ(index.find(uuid_n(n)), nullptr);
  EXPECT_EQ(index.find("not a uuid"), nullptr);
  for (std::uint64_t i = 0; i < n; i += 2) index.erase(uuid_n(i));
  EXPECT_EQ(index.size(), n / 2);
  // Inserts after many removals rebuild the tables without the removed slots.
  for (std::uint64_t i = n; i < 2 * n; ++i) index.insert(uuid_n(i), entries[0]);
  for (std::uint64_t i = 0; i < 2 * n; ++i) {
    const bool present = i >= n || i % 2 == 1;
    ASSERT_EQ(index.find(uuid_n(i)) != nullptr, present) << i;
  }
  // A uuid removed and inserted again (a record restored again) is found.
  index.erase(uuid_n(1));
  index.insert(uuid_n(1), entries[3]);
  EXPECT_EQ(index.find(uuid_n(1)), entries[3]);
  EXPECT_EQ(index.size(), n / 2 + n);
}

// Readers look up while writers insert and erase (TSan checks the slot protocol; the test
// checks that a uuid present for the whole run is always found).
TEST(UuidIndex, LookupsNeverMissAPresentUuidWhileOthersChurn) {
  detail::uuid_index index;
  auto* const entry = reinterpret_cast<detail::task_entry*>(0x40);
  constexpr std::uint64_t stable = 1000;
  for (std::uint64_t i = 0; i < stable; ++i) index.insert(uuid_n(i), entry);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> misses{0}, lookups{0};
  std::thread writer([&] {
    for (std::uint64_t round = 0; round < 20; ++round) {
      for (std::uint64_t i = 0; i < 2000; ++i) index.insert(uuid_n(1'000'000 + round * 2000 + i), entry);
      for (std::uint64_t i = 0; i < 2000; ++i) index.erase(uuid_n(1'000'000 + round * 2000 + i));
    }
    done.store(true);
  });
  std::thread reader([&] {
    std::uint64_t i = 0;
    while (!done.load()) {
      if (index.find(uuid_n(i % stable)) != entry) misses.fetch_add(1);
      lookups.fetch_add(1);
      ++i;
    }
  });
  writer.join();
  reader.join();
  EXPECT_EQ(misses.load(), 0u) << "of " << lookups.load();
  EXPECT_EQ(index.size(), stable);
}

TEST(FindTask, FindsEachOfManyRecordsRunningOrFinishedAndForgetsReclaimedOnes) {
  task_options o;
  o.retention = 60s;
  o.history_depth = 4;
  engine_fixture f(o);
  constexpr int keys = 500, per_key = 6;  // depth 4: two of each key's runs leave their view
  std::vector<std::string> kept, gone;
  for (int k = 0; k < keys; ++k) {
    for (int i = 0; i < per_key; ++i) {
      run r = f.reg.start({.name = "task", .uid = std::to_string(k)});
      (i < per_key - 4 ? gone : kept).emplace_back(r.uuid());
      r.finish(i % 2 ? task_status::successful : task_status::error);
    }
  }
  run running = f.reg.start({.name = "task", .uid = "running"});
  for (const auto& u : kept) {
    const auto t = f.reg.find_task(u);
    ASSERT_TRUE(t) << u;
    ASSERT_EQ(t->uuid(), u);
  }
  for (const auto& u : gone) ASSERT_FALSE(f.reg.find_task(u)) << u;
  const auto r = f.reg.find_task(running.uuid());
  ASSERT_TRUE(r) << "running runs are found too";
  EXPECT_TRUE(r->running());
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), kept.size() + 1) << "records cut by the depth left the index";

  // Expired records are hidden at once and leave the index when reclaimed.
  f.poll();
  f.clock->advance(61s);
  EXPECT_FALSE(f.reg.find_task(kept.front())) << "expired: hidden before it is reclaimed";
  f.reg.reclaim_expired();
  f.poll();
  EXPECT_EQ(f.reg.records_held(), 1u);
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 1u);
  running.finish(task_status::successful);
  EXPECT_TRUE(f.reg.find_task(r->uuid())) << "finished: the frozen record under the same uuid";
}

TEST(FindTask, AnUnparseableOrUnknownUuidIsNotFound) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  EXPECT_FALSE(f.reg.find_task(""));
  EXPECT_FALSE(f.reg.find_task("nope"));
  EXPECT_FALSE(f.reg.find_task("4a0f2a47-3a8c-4f5e-9b35-1e0c7d3f6a21"));
  std::string upper(r.uuid());
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(f.reg.find_task(upper)) << "uuids match exactly, as before the index";
  EXPECT_TRUE(f.reg.find_task(r.uuid()));
}

TEST(FindTask, ASuccessOfATaskThatKeepsNoneTakesItsUuidsOutOfTheIndex) {
  task_options o;
  o.keep_on_success = false;
  engine_fixture f(o);
  for (int i = 0; i < 10; ++i) f.reg.start({.name = "t"}).finish(i % 2 ? task_status::successful : task_status::error);
  EXPECT_EQ(f.reg.records_held(), 0u);
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 0u);
  run skipped;  // a refused provider start leaves nothing in the index either
  f.reg.register_provider("scim", 1, "P");
  run holder = f.reg.start(f.reg.sync_spec("scim", 1));
  EXPECT_FALSE(f.reg.start(f.reg.sync_spec("scim", 1)));
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 1u);
  holder.finish(task_status::error);
}

}  // namespace
