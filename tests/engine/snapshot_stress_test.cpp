// SPDX-License-Identifier: BSL-1.0
// Snapshot consistency under load: writers append to provider syncs that start and finish
// continuously while readers take sync statuses; every snapshot must be well-formed, and every
// finished run must hold exactly the messages its writer logged.

#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"
#include "stress_message.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;

TEST(SnapshotStress, ReadersAlwaysSeeWholeRunsAndWholeMessages) {
  boost::asio::io_context io;
  task_options o;
  o.history_depth = 4;
  o.max_messages = 64;
  o.retention = 0s;  // everything expires as soon as it finishes: reads race with expiry too
  registry reg(io, registry_options{o, system_clocks()});
  reg.configure_task("scim_sync", [] {
    task_options kept;
    kept.history_depth = 4;
    kept.max_messages = 64;
    return kept;
  }());
  reg.register_provider("scim", 3, "Acme SCIM");
  reg.register_provider("google_workspace", 1, "Acme Google Workspace");

  std::atomic<bool> stop{false};
  constexpr std::uint64_t pages = 100, ring_size = 64;
  std::atomic<std::uint64_t> runs{0}, snapshots{0}, bad{0}, wrong_count{0}, finished_checked{0};
  auto writer = [&](const char* kind, std::int64_t id) {
    unsigned n = 0;
    while (!stop.load()) {
      run r = reg.start(reg.sync_spec(kind, id));
      if (!r) continue;
      for (std::uint64_t i = 0; i < pages; ++i) r.info("page", {{"n", i}, {"run", n}});
      r.finish(n % 3 ? task_status::successful : task_status::warning);
      ++n;
      runs.fetch_add(1);
    }
  };
  auto reader = [&] {
    while (!stop.load()) {
      for (auto [kind, id] : {std::pair{"scim", 3}, std::pair{"google_workspace", 1}}) {
        const auto st = reg.sync_status(kind, id, true);
        for (const auto& t : st->tasks) {
          if (!t.running() && (t.duration() < 0 || t.status() == task_status::unknown || !t.expires())) bad.fetch_add(1);
          if (t.running() && t.status() != task_status::unknown) bad.fetch_add(1);
          std::string msgs;
          t.write_messages_json(msgs);
          if (!systask::test::parses_as_json(msgs)) {
            bad.fetch_add(1);
            continue;
          }
          const auto doc = systask::test::parse(msgs);
          const std::uint64_t shown = doc.GetArray().Size();
          if (!t.running()) {
            // Exactly what the writer logged: 100 accepted, the newest 64 kept, 36 counted as
            // dropped and shown as one marker message.
            if (t.messages_appended() != pages || t.messages_dropped() != pages - ring_size ||
                shown != ring_size + 1) {
              if (wrong_count.fetch_add(1) == 0) {
                ADD_FAILURE() << "finished run " << t.name() << " status " << static_cast<int>(t.status())
                              << ": appended " << t.messages_appended() << ", dropped " << t.messages_dropped()
                              << ", shown " << shown << "; expected " << pages << ", " << pages - ring_size
                              << ", " << ring_size + 1 << "\n" << msgs.substr(0, 600);
              }
            }
            finished_checked.fetch_add(1);
          } else if (t.messages_appended() > pages || shown > std::min(t.messages_appended(), ring_size) + 1) {
            if (wrong_count.fetch_add(1) == 0) {
              ADD_FAILURE() << "running run " << t.name() << ": appended " << t.messages_appended() << ", shown "
                            << shown;
            }
          }
        }
        snapshots.fetch_add(1);
      }
    }
  };
  std::thread reclaimer([&] {
    while (!stop.load()) {
      io.restart();
      io.run_for(1ms);
    }
  });
  std::vector<std::thread> threads;
  threads.emplace_back(writer, "scim", 3);
  threads.emplace_back(writer, "google_workspace", 1);
  threads.emplace_back(reader);
  threads.emplace_back(reader);
  std::this_thread::sleep_for(1500ms);
  stop.store(true);
  for (auto& t : threads) t.join();
  reclaimer.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(wrong_count.load(), 0u) << "of " << finished_checked.load() << " finished runs read";
  EXPECT_GT(finished_checked.load(), 10u);
  EXPECT_GT(runs.load(), 10u);
  EXPECT_GT(snapshots.load(), 10u);
}

}  // namespace
