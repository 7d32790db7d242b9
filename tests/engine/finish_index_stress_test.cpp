// SPDX-License-Identifier: BSL-1.0
// The finish-time index under load: writers finish runs (evicting older ones) on many task keys
// while readers page through the list ordered by finish time, racing the index's rebuilds.
// Every page must be in order, of the status asked for, without duplicates; once the writers
// stop, the list holds exactly the runs the history depth keeps of what they finished.

#include <systask/engine/registry.hpp>

#include "registry_access.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace systask;

TEST(ListByFinishStress, PagesStayOrderedAndCompleteWhileWritersFinishRuns) {
  boost::asio::io_context io;
  task_options o;
  o.history_depth = 2;
  registry reg(io, registry_options{o, system_clocks()});
  constexpr int writers = 3, keys_per_writer = 300, runs_per_writer = 20'000;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> pages{0}, bad{0};
  std::vector<std::vector<std::uint64_t>> finished_per_key(writers, std::vector<std::uint64_t>(keys_per_writer));
  // Every eighth run goes to a task key all writers share: their finishes race on one entry, so
  // one writer's view update often moves another's finished run (settle_finished).
  constexpr int shared_keys = 8;
  std::atomic<std::uint64_t> finished_shared[shared_keys]{};

  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      const std::string name = "writer" + std::to_string(w);  // GCC 12 warns on std::string + std::string here
      for (int i = 0; i < runs_per_writer; ++i) {
        const task_status status = i % 5 == 0 ? task_status::error : task_status::successful;
        if (i % 8 == 0) {
          const int key = (i / 8) % shared_keys;
          reg.start({.name = "shared", .uid = std::to_string(key)}).finish(status);
          finished_shared[key].fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        const int key = (i * 7919) % keys_per_writer;
        reg.start({.name = name, .uid = std::to_string(key)}).finish(status);
        ++finished_per_key[static_cast<std::size_t>(w)][static_cast<std::size_t>(key)];
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const bool newest_first = (n + static_cast<std::uint64_t>(r)) % 2 == 0;
        const std::optional<task_status> status =
            n % 3 == 0 ? std::nullopt : std::optional{n % 3 == 1 ? task_status::error : task_status::successful};
        const std::size_t offset = (n * 37) % 500;
        const auto page = reg.list_tasks_by_finish(status, newest_first, offset, 100);
        std::set<std::string> seen;
        bool ok = page.records.size() <= 100 && (page.records.empty() || page.total > offset);
        for (std::size_t i = 0; i < page.records.size(); ++i) {
          const auto& rec = page.records[i];
          ok = ok && !rec.running() && (!status || rec.status() == *status) && seen.emplace(rec.uuid()).second;
          if (i > 0) {
            const auto& prev = page.records[i - 1];
            const bool in_order = prev.finish_time() == rec.finish_time()
                                      ? prev.uuid() < rec.uuid()
                                      : (newest_first ? prev.finish_time() > rec.finish_time()
                                                      : prev.finish_time() < rec.finish_time());
            ok = ok && in_order;
          }
        }
        if (!ok) bad.fetch_add(1, std::memory_order_relaxed);
        ++n;
      }
      pages.fetch_add(n, std::memory_order_relaxed);
    });
  }
  for (int w = 0; w < writers; ++w) threads[static_cast<std::size_t>(w)].join();
  stop.store(true);
  for (std::size_t i = writers; i < threads.size(); ++i) threads[i].join();

  EXPECT_EQ(bad.load(), 0u) << "of " << pages.load() << " pages";
  EXPECT_GT(pages.load(), 0u);
  // The readers raced the index's rebuilds, not only its corrections.
  const auto rebuilds = detail::registry_access::state(reg).by_finish.snapshots_built();
  EXPECT_GT(rebuilds, 10u);
  std::printf("%llu pages read, %llu index builds\n", static_cast<unsigned long long>(pages.load()),
              static_cast<unsigned long long>(rebuilds));
  std::uint64_t kept = 0;
  for (const auto& per_key : finished_per_key) {
    for (auto n : per_key) kept += std::min<std::uint64_t>(n, o.history_depth);
  }
  for (const auto& n : finished_shared) kept += std::min<std::uint64_t>(n.load(), o.history_depth);
  // Every run the writers finished and the history depth keeps, each once, in order.
  const auto all = reg.list_tasks_by_finish(std::nullopt, true, 0, SIZE_MAX);
  EXPECT_EQ(all.total, kept);
  ASSERT_EQ(all.records.size(), kept);
  std::set<std::string> uuids;
  for (const auto& r : all.records) uuids.emplace(r.uuid());
  EXPECT_EQ(uuids.size(), kept);
  auto listed = reg.list_tasks();
  EXPECT_EQ(listed.size(), kept);
  for (const auto& r : listed) EXPECT_EQ(uuids.count(std::string(r.uuid())), 1u);
}

}  // namespace
