// SPDX-License-Identifier: BSL-1.0
// What a store does across a restart, without the store: record runs of every kind, image them
// (make_run_image: task_record + for_each_message), restore the images into a fresh registry,
// and compare every body the facade serves, byte for byte, uuids included.

#include <systask/api/facade.hpp>
#include <systask/engine/store.hpp>

#include "api_fixture.hpp"
#include "round_trip_scenario.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::api_fixture;
using systask::test::configure_round_trip;
using systask::test::record_every_kind_of_run;
using systask::test::round_trip_bodies;

TEST(RestoreRoundTrip, EveryBodyIsByteIdenticalAfterImagingAndRestoring) {
  api_fixture before;
  configure_round_trip(before.reg);
  before.reg.prefill({.name = "never_ran", .uid = "x", .description = "Not run yet"});
  record_every_kind_of_run(before);
  run still_running = before.reg.start({.name = "in_progress"});
  still_running.info("not finished at the restart");

  // Image what a store would have written: the finished records and the providers' state.
  std::vector<run_image> runs;
  std::vector<std::string> uuids;
  for (const auto& r : before.reg.list_tasks()) {
    runs.push_back(make_run_image(r));
    uuids.emplace_back(r.uuid());
  }
  // The running run is not in list_tasks: a store restores it as interrupted (separate test).
  std::vector<provider_image> providers;
  for (const auto& [kind, id] : std::vector<std::pair<std::string, std::int64_t>>{{"google_workspace", 1}, {"scim", 3}}) {
    const auto s = before.reg.sync_status(kind, id);
    providers.push_back({kind, id, s->last_successful_sync, s->last_sync_status});
  }
  ASSERT_GE(runs.size(), 7u);
  const auto expected = round_trip_bodies(before, uuids);

  api_fixture after;
  configure_round_trip(after.reg);
  after.clock->set_wall(before.clock->wall_now());
  const restore_report report = after.reg.restore(runs, providers);
  ASSERT_TRUE(report.errors.empty()) << report.errors[0].item << ": " << report.errors[0].reason;
  EXPECT_EQ(report.runs_restored, runs.size());
  EXPECT_EQ(report.providers_restored, 2u);
  EXPECT_EQ(after.reg.records_held(), runs.size());
  const auto got = round_trip_bodies(after, uuids);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]);
  // And the restored registry serves on: a new sync of the provider joins its history.
  after.reg.start(after.reg.sync_spec("google_workspace", 1)).finish(task_status::successful);
  EXPECT_EQ(after.reg.sync_status("google_workspace", 1)->tasks.size(), 4u);
  still_running.finish(task_status::successful);
}

TEST(RestoreRoundTrip, ARunInterruptedByTheRestartIsServedAsAnErrorWithItsMessages) {
  api_fixture before;
  configure_round_trip(before.reg);
  run r = before.reg.start(before.reg.sync_spec("scim", 3));
  r.info("page 1 synced");
  before.clock->advance(4s);
  run_image im = make_run_image(*before.reg.find_task(r.uuid()));  // the store's last flush
  im.interrupted = true;

  api_fixture after;
  configure_round_trip(after.reg);
  after.clock->set_wall(before.clock->wall_now() + 10s);
  const auto report = after.reg.restore({im});
  ASSERT_EQ(report.runs_restored, 1u);
  ASSERT_EQ(report.interrupted, std::vector<std::string>{im.uuid});
  const auto res = after.get("/api/v3/events/system_tasks/" + im.uuid + "/");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(systask::test::matches_schema(res.body, "SystemTask"));
  EXPECT_NE(res.body.find(R"("status":"error")"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("page 1 synced"), std::string::npos);
  EXPECT_NE(res.body.find(R"("log_level":"error","logger":"scim_sync","event":"The process ended while the task was running")"),
            std::string::npos)
      << res.body;
  const auto status = after.get("/api/v3/providers/scim/3/sync/status/");
  EXPECT_NE(status.body.find(R"("is_running":false)"), std::string::npos) << status.body;
  r.finish(task_status::successful);
}

}  // namespace
