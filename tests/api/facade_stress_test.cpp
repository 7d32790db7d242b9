// SPDX-License-Identifier: BSL-1.0
// Snapshot consistency under load, through the facade: writers start, log to and finish provider
// syncs, readers take sync statuses (with the running run) and task lists, and a 1 ms retention
// makes records expire while they are read. Every body must be valid JSON and schema-valid; no
// finished run may lack a duration or be expired; no message may be torn (each carries a
// checksum of its own text). SYSTASK_SNAPSHOT_SECONDS sets the duration (default 3; the
// reliability figures use 60).

#include <systask/api/facade.hpp>

#include "api_fixture.hpp"
#include "stress_message.hpp"

#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

namespace {

using namespace std::chrono_literals;
using namespace systask;

TEST(FacadeStress, EverySnapshotIsWholeAndSchemaValidWhileWritersAndExpiryRun) {
  const double seconds = std::getenv("SYSTASK_SNAPSHOT_SECONDS") ? std::atof(std::getenv("SYSTASK_SNAPSHOT_SECONDS")) : 3.0;
  boost::asio::thread_pool pool(1);  // runs the registry's expiry timer for real
  task_options o;
  o.retention = 0s;
  o.history_depth = 3;
  o.max_messages = 64;
  registry reg(pool, registry_options{o, system_clocks()});
  task_options retained = o;
  retained.retention = std::chrono::seconds(1);  // this provider's records live a little longer
  reg.configure_task("scim_sync", retained);
  reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  reg.register_provider("scim", 3, "Acme SCIM");
  api::facade api(reg, test::api_fixture::make_options());

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> runs{0}, bodies{0}, bad{0};
  auto writer = [&](const char* kind, std::int64_t id, unsigned w) {
    std::uint64_t n = 0;
    while (!stop) {
      run r = reg.start(reg.sync_spec(kind, id));
      if (!r) continue;
      for (int i = 0; i < 80; ++i) {
        const std::string m = test::make_stress_message(w, n++);
        r.log(log_level::info, "stress", m);
      }
      r.finish(n % 3 ? task_status::successful : task_status::warning);
      ++runs;
    }
  };
  auto reader = [&] {
    const char* targets[][2] = {
        {"/api/v3/providers/google_workspace/1/sync/status/?include_running=true", "SyncStatus"},
        {"/api/v3/providers/scim/3/sync/status/", "SyncStatus"},
        {"/api/v3/events/system_tasks/?ordering=-duration", "PaginatedSystemTaskList"},
    };
    while (!stop) {
      for (const auto& [target, definition] : targets) {
        api::request req = api::request::from_target("GET", target);
        req.headers.emplace_back("Authorization", "Bearer admin-token");
        const auto res = api.handle(req);
        ++bodies;
        if (res.status != 200 || !test::matches_schema(res.body, definition)) {
          ++bad;
          continue;
        }
        auto doc = test::parse(res.body);
        const auto& tasks = doc.HasMember("tasks") ? doc["tasks"] : doc["results"];
        for (const auto& t : tasks.GetArray()) {
          const bool running = std::string_view(t["status"].GetString()) == "unknown";
          if (!running && (!t["expiring"].GetBool() || t["expires"].IsNull())) ++bad;  // finished, so it expires
          for (const auto& m : t["messages"].GetArray()) {
            const std::string_view event(m["event"].GetString(), m["event"].GetStringLength());
            if (std::string_view(m["logger"].GetString()) == "stress" && !test::check_stress_message(event)) ++bad;
          }
        }
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(writer, "google_workspace", 1, 0u);
  threads.emplace_back(writer, "scim", 3, 1u);
  threads.emplace_back(reader);
  threads.emplace_back(reader);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  pool.stop();
  pool.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(runs.load(), 10u);
  EXPECT_GT(bodies.load(), 10u);
  std::printf("facade stress: %.0f s, %llu runs, %llu bodies checked, %llu bad\n", seconds,
              static_cast<unsigned long long>(runs.load()), static_cast<unsigned long long>(bodies.load()),
              static_cast<unsigned long long>(bad.load()));
}

}  // namespace
