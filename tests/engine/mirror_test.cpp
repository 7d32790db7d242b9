// SPDX-License-Identifier: BSL-1.0
// registry::mirror and registry::forget_mirrored: runs another replica records are shown here,
// running ones as running, and each later image of the same run replaces the one held, so a
// replica shows the run as the recording replica does now. A run of this process, or one
// `restore` put here, is never replaced.

#include <systask/engine/registry.hpp>
#include <systask/engine/store.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::detail::registry_access;
using systask::test::engine_fixture;

task_options ten_deep() {
  task_options o;
  o.history_depth = 10;  // (the default, 1, is authentik's: one record per task)
  return o;
}

// Two replicas: `a` records, `b` mirrors what `a` records.
struct replicas {
  replicas() {
    for (engine_fixture* f : {&a, &b}) f->reg.register_provider("scim", 3, "Acme SCIM");
    b.clock->set_wall(a.clock->wall_now());
  }
  // The image of a's run now, as a store would send it to b.
  run_image image_of(std::string_view uuid) const {
    const auto r = a.reg.find_task(uuid);
    EXPECT_TRUE(r);
    run_image im = make_run_image(*r);
    im.running = r->running();
    return im;
  }
  restore_report mirror(std::string_view uuid) {
    std::vector<run_image> images{image_of(uuid)};
    return b.reg.mirror(std::move(images));
  }
  engine_fixture a{ten_deep()}, b{ten_deep()};
};

std::vector<std::string> uuids_of(const std::vector<task_record>& tasks) {
  std::vector<std::string> out;
  for (const auto& t : tasks) out.emplace_back(t.uuid());
  return out;
}

TEST(Mirror, ARunningRunIsShownRunningUntilItsFinishReplacesIt) {
  replicas r;
  run sync = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  sync.info("page 1");
  r.a.clock->advance(2s);
  const std::string uuid(sync.uuid());

  const restore_report first = r.mirror(uuid);
  EXPECT_TRUE(first.errors.empty());
  EXPECT_EQ(first.runs_restored, 1u);
  r.b.clock->advance(3s);
  auto status = r.b.reg.sync_status("scim", 3, true);
  ASSERT_TRUE(status);
  ASSERT_EQ(status->tasks.size(), 1u);
  const task_record& shown = status->tasks[0];
  EXPECT_TRUE(shown.running());
  EXPECT_EQ(shown.status(), task_status::unknown);
  EXPECT_EQ(shown.uuid(), uuid);
  EXPECT_EQ(shown.start_time(), r.a.reg.find_task(uuid)->start_time());
  EXPECT_EQ(shown.finish_time(), r.b.clock->wall_now());  // the snapshot time, as for a local run
  EXPECT_NEAR(shown.duration(), 3.0, 0.001);               // from its start, by b's clock
  EXPECT_EQ(engine_fixture::messages_of(shown), engine_fixture::messages_of(*r.a.reg.find_task(uuid)));
  // Not this process's run: no lock here (the cluster lock says whether it runs), not counted.
  EXPECT_FALSE(status->is_running);
  EXPECT_TRUE(r.b.reg.sync_status("scim", 3, false)->tasks.empty());
  EXPECT_TRUE(r.b.reg.list_tasks().empty());
  for (const auto& c : r.b.reg.counters()) EXPECT_EQ(c.running, 0u);
  ASSERT_TRUE(r.b.reg.find_task(uuid));
  EXPECT_TRUE(r.b.reg.find_task(uuid)->running());
  // b can sync the provider itself meanwhile (its lock is its own).
  run own = r.b.reg.start(r.b.reg.sync_spec("scim", 3));
  EXPECT_TRUE(static_cast<bool>(own));
  own.finish(task_status::successful);

  // More messages: the newer image replaces the older one.
  sync.info("page 2");
  EXPECT_EQ(r.mirror(uuid).runs_restored, 1u);
  EXPECT_EQ(engine_fixture::messages_of(*r.b.reg.find_task(uuid)),
            engine_fixture::messages_of(*r.a.reg.find_task(uuid)));

  sync.finish(task_status::successful);
  const restore_report last = r.mirror(uuid);
  EXPECT_TRUE(last.errors.empty());
  EXPECT_EQ(last.runs_restored, 1u);
  const auto done = r.b.reg.find_task(uuid);
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->running());
  EXPECT_EQ(done->status(), task_status::successful);
  EXPECT_EQ(engine_fixture::messages_of(*done), engine_fixture::messages_of(*r.a.reg.find_task(uuid)));
  const run_spec spec = r.b.reg.sync_spec("scim", 3);
  const auto shown_now = uuids_of(r.b.reg.tasks(spec.name, spec.uid, true));
  EXPECT_EQ(shown_now.size(), 2u);  // its own sync and the mirrored one
  EXPECT_EQ(std::count(shown_now.begin(), shown_now.end(), uuid), 1);
  EXPECT_EQ(r.b.reg.list_tasks().size(), 2u);
}

TEST(Mirror, ARunShownInterruptedIsReplacedWhenItFinishesAfterAll) {
  replicas r;
  run sync = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  sync.info("still going");
  const std::string uuid(sync.uuid());
  // Another replica's maintenance marked it interrupted (its recorder was away too long).
  run_image interrupted = r.image_of(uuid);
  interrupted.running = false;
  interrupted.interrupted = true;
  std::vector<run_image> images{interrupted};
  EXPECT_EQ(r.b.reg.mirror(std::move(images)).runs_restored, 1u);
  EXPECT_EQ(r.b.reg.find_task(uuid)->status(), task_status::error);

  sync.finish(task_status::successful);
  const restore_report report = r.mirror(uuid);
  EXPECT_TRUE(report.errors.empty());
  const auto now = r.b.reg.find_task(uuid);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->status(), task_status::successful);
  EXPECT_EQ(engine_fixture::messages_of(*now), engine_fixture::messages_of(*r.a.reg.find_task(uuid)));
  EXPECT_EQ(r.b.reg.records_held(), 1u);
  EXPECT_EQ(registry_access::indexed_uuids(r.b.reg), 1u);
}

TEST(Mirror, RunsOfThisProcessAndRestoredRunsAreNeverReplaced) {
  replicas r;
  run mine = r.b.reg.start({.name = "cleanup"});
  mine.info("mine");
  run_image same = make_run_image(*r.b.reg.find_task(mine.uuid()));
  same.running = true;
  std::vector<run_image> images{same};
  restore_report report = r.b.reg.mirror(std::move(images));
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].reason.find("a run of this process"), std::string::npos) << report.errors[0].reason;

  mine.finish(task_status::successful);
  run_image finished = make_run_image(*r.b.reg.find_task(mine.uuid()));
  finished.status = task_status::error;
  images = {finished};
  report = r.b.reg.mirror(std::move(images));
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].reason.find("never replaced"), std::string::npos) << report.errors[0].reason;
  EXPECT_EQ(r.b.reg.find_task(mine.uuid())->status(), task_status::successful);

  // A run restore brought back (this replica's own history) is not a mirror either.
  run theirs = r.a.reg.start({.name = "import"});
  theirs.finish(task_status::warning);
  images = {make_run_image(*r.a.reg.find_task(theirs.uuid()))};
  EXPECT_EQ(r.b.reg.restore(std::move(images)).runs_restored, 1u);
  images = {make_run_image(*r.a.reg.find_task(theirs.uuid()))};
  EXPECT_EQ(r.b.reg.mirror(std::move(images)).errors.size(), 1u);
  EXPECT_EQ(r.b.reg.forget_mirrored({std::string(theirs.uuid()), std::string(mine.uuid())}), 0u);
  EXPECT_EQ(r.b.reg.records_held(), 2u);
}

TEST(Mirror, RestoreRefusesARunningImage) {
  replicas r;
  run sync = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  std::vector<run_image> images{r.image_of(sync.uuid())};
  const restore_report report = r.b.reg.restore(std::move(images));
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].reason.find("registry::mirror"), std::string::npos);
  EXPECT_EQ(r.b.reg.records_held(), 0u);
  run_image both = r.image_of(sync.uuid());
  both.interrupted = true;
  images = {both};
  EXPECT_EQ(r.b.reg.mirror(std::move(images)).errors.size(), 1u);
}

TEST(Mirror, ForgetRemovesMirroredRunsOnly) {
  replicas r;
  run running = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  run done = r.a.reg.start({.name = "import"});
  done.finish(task_status::successful);
  std::vector<run_image> images{r.image_of(running.uuid()), r.image_of(done.uuid())};
  EXPECT_EQ(r.b.reg.mirror(std::move(images)).runs_restored, 2u);
  EXPECT_EQ(r.b.reg.records_held(), 2u);
  EXPECT_EQ(r.b.reg.forget_mirrored({std::string(running.uuid()), "00000000-0000-4000-8000-000000000001",
                                     std::string(done.uuid())}),
            2u);
  EXPECT_FALSE(r.b.reg.find_task(running.uuid()));
  EXPECT_FALSE(r.b.reg.find_task(done.uuid()));
  EXPECT_TRUE(r.b.reg.sync_status("scim", 3, true)->tasks.empty());
  EXPECT_EQ(r.b.reg.records_held(), 0u);
  EXPECT_EQ(registry_access::indexed_uuids(r.b.reg), 0u);
}

TEST(Mirror, AMirroredRunningRunOutlivesLocalRunsOfItsTask) {
  replicas r;
  run remote = r.a.reg.start({.name = "import"});
  EXPECT_EQ(r.mirror(remote.uuid()).runs_restored, 1u);
  r.b.reg.prefill({.name = "import"});  // the placeholder goes with the first local finish
  for (int i = 0; i < 5; ++i) {
    run local = r.b.reg.start({.name = "import"});
    local.finish(task_status::successful);
  }
  const auto shown = uuids_of(r.b.reg.tasks("import", "", true));
  EXPECT_EQ(std::count(shown.begin(), shown.end(), std::string(remote.uuid())), 1);
  EXPECT_TRUE(r.b.reg.find_task(remote.uuid())->running());
}

TEST(Mirror, LastSyncStatusIsTheOutcomeOfTheSyncThatFinishedLastOnAnyReplica) {
  replicas r;
  const auto last = [&] { return r.b.reg.sync_status("scim", 3)->last_sync_status; };
  {
    run mine = r.b.reg.start(r.b.reg.sync_spec("scim", 3));
    mine.fail("b's sync failed");
  }
  EXPECT_EQ(last(), sync_outcome::error);
  // a's sync finishes later (by its clock): its outcome is the provider's last, on b too.
  r.a.clock->set_wall(r.b.clock->wall_now() + 10s);
  run theirs = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  theirs.info("synced");
  theirs.finish(task_status::successful);
  EXPECT_EQ(r.mirror(theirs.uuid()).runs_restored, 1u);
  EXPECT_EQ(last(), sync_outcome::info);
  EXPECT_EQ(r.b.reg.sync_status("scim", 3)->last_successful_sync,
            wall_time(std::chrono::floor<std::chrono::microseconds>(r.a.reg.find_task(theirs.uuid())->finish_time())));
  // A later sync of b's own wins again; an older mirrored one changes nothing.
  r.b.clock->set_wall(r.a.clock->wall_now() + 10s);
  {
    run mine = r.b.reg.start(r.b.reg.sync_spec("scim", 3));
    mine.warning("one group skipped");
    mine.finish(task_status::warning);
  }
  EXPECT_EQ(last(), sync_outcome::warning);
  r.a.clock->set_wall(r.a.clock->wall_now() - 5s);
  run older = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  older.fail("older");
  EXPECT_EQ(r.mirror(older.uuid()).runs_restored, 1u);
  EXPECT_EQ(last(), sync_outcome::warning);
  const auto summary = r.b.reg.providers();
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].last_sync_status, sync_outcome::warning);
}

TEST(Mirror, AnOlderStateNeverReplacesANewerOne) {
  replicas r;
  run sync = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  sync.info("page 1");
  sync.info("page 2");
  const std::string uuid(sync.uuid());
  run_image two = r.image_of(uuid);
  run_image one = two;
  one.messages.pop_back();
  one.appended = 1;
  one.dropped = 0;
  EXPECT_EQ(r.b.reg.mirror({two}).runs_restored, 1u);
  EXPECT_EQ(r.b.reg.counters().front().running_elsewhere, 1u);
  const restore_report fewer = r.b.reg.mirror({one});
  ASSERT_EQ(fewer.errors.size(), 1u);
  EXPECT_NE(fewer.errors[0].reason.find("older state"), std::string::npos) << fewer.errors[0].reason;
  EXPECT_EQ(r.b.reg.find_task(uuid)->messages_appended(), 2u);
  sync.finish(task_status::successful);
  EXPECT_EQ(r.mirror(uuid).runs_restored, 1u);
  EXPECT_EQ(r.b.reg.mirror({two}).errors.size(), 1u) << "a running image of a run shown finished";
  EXPECT_FALSE(r.b.reg.find_task(uuid)->running());
  EXPECT_EQ(r.b.reg.counters().front().running_elsewhere, 0u);
}

TEST(Mirror, AnInterruptedSyncSetsNoOutcome) {
  replicas r;
  {
    run mine = r.b.reg.start(r.b.reg.sync_spec("scim", 3));
    mine.finish(task_status::successful);
  }
  r.a.clock->set_wall(r.b.clock->wall_now() + 10s);
  run theirs = r.a.reg.start(r.a.reg.sync_spec("scim", 3));
  run_image interrupted = r.image_of(theirs.uuid());
  interrupted.running = false;
  interrupted.interrupted = true;
  EXPECT_EQ(r.b.reg.mirror({interrupted}).runs_restored, 1u);
  EXPECT_EQ(r.b.reg.sync_status("scim", 3)->last_sync_status, sync_outcome::done) << "b's own, not the marking's error";
  theirs.info("finished after all");
  theirs.finish(task_status::successful);
  EXPECT_EQ(r.mirror(theirs.uuid()).runs_restored, 1u);
  EXPECT_EQ(r.b.reg.sync_status("scim", 3)->last_sync_status, sync_outcome::info);
}

// Mirrors of many runs (each first running, then finished) race local starts and finishes of
// the same task and readers: every run ends up shown exactly once, finished, and the counts of
// records held and uuids indexed match what is shown.
TEST(MirrorStress, MirrorsAndLocalRunsOfOneTaskNeverLoseOrDuplicateARun) {
  task_options deep;
  deep.history_depth = 100'000;
  engine_fixture a(deep), b(deep);
  constexpr int runs = 300;
  std::vector<run_image> running_images, finished_images;
  for (int i = 0; i < runs; ++i) {
    run x = a.reg.start({.name = "import"});
    x.info("page", {{"n", i}});
    run_image im = make_run_image(*a.reg.find_task(x.uuid()));
    im.running = true;
    running_images.push_back(std::move(im));
    x.finish(task_status::successful);
    finished_images.push_back(make_run_image(*a.reg.find_task(x.uuid())));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> duplicates{0};
  std::thread mirrorer([&] {
    for (int i = 0; i < runs; ++i) {
      b.reg.mirror({running_images[i]});
      b.reg.mirror({finished_images[i]});
    }
  });
  std::thread local([&] {
    for (int i = 0; i < runs; ++i) {
      run x = b.reg.start({.name = "import"});
      x.finish(task_status::successful);
    }
  });
  std::thread reader([&] {
    while (!stop.load()) {
      const auto shown = uuids_of(b.reg.tasks("import", "", true));
      if (std::set<std::string>(shown.begin(), shown.end()).size() != shown.size()) ++duplicates;
    }
  });
  mirrorer.join();
  local.join();
  stop = true;
  reader.join();
  EXPECT_EQ(duplicates.load(), 0);
  const auto shown = b.reg.tasks("import", "", true);
  EXPECT_EQ(shown.size(), 2u * runs);
  std::size_t mirrored_finished = 0;
  for (const auto& t : shown) {
    EXPECT_FALSE(t.running());
    mirrored_finished += std::any_of(finished_images.begin(), finished_images.end(),
                                     [&](const run_image& im) { return im.uuid == t.uuid(); });
  }
  EXPECT_EQ(mirrored_finished, static_cast<std::size_t>(runs));
  EXPECT_EQ(b.reg.records_held(), 2u * runs);
  EXPECT_EQ(registry_access::indexed_uuids(b.reg), 2u * runs);
}

}  // namespace
