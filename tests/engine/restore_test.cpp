// SPDX-License-Identifier: BSL-1.0
// registry::restore: runs and providers come back from a store's images, serve what they served
// before, and follow the rules a finish follows (history depth, keep_on_success, expiry); bad
// images are refused one by one with a reason.

#include <systask/engine/registry.hpp>
#include <systask/engine/store.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;

std::vector<run_image> images_of(const registry& reg) {
  std::vector<run_image> out;
  for (const auto& r : reg.list_tasks()) out.push_back(make_run_image(r));
  return out;
}

// One real compact message, taken from a registry that rendered it.
const std::string& a_compact_message() {
  static const std::string bytes = [] {
    engine_fixture f;
    run r = f.reg.start({.name = "m"});
    r.info("restored message", {{"n", 1}});
    std::string c;
    f.reg.find_task(r.uuid())->for_each_message(0, [&](std::uint64_t, std::string_view b) { c = b; });
    r.finish(task_status::successful);
    return c;
  }();
  return bytes;
}

// A finished-run image with one message, for the rule tests.
run_image image(std::string uuid, std::string name, wall_time finish, task_status s = task_status::error) {
  run_image im;
  im.uuid = std::move(uuid);
  im.name = std::move(name);
  im.start = finish - 1s;
  im.finish = finish;
  im.duration = 1;
  im.status = s;
  im.expires = finish + 6h;
  im.messages.push_back({0, a_compact_message()});
  im.appended = 1;
  return im;
}

std::string uuid_n(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

TEST(Restore, RestoredRunsServeWhatTheyServedBefore) {
  engine_fixture a;
  task_options small;
  small.max_messages = 4;
  small.history_depth = 3;
  a.reg.configure_task("small", small);
  task_options newest = small;
  newest.overflow = overflow_policy::drop_newest;
  a.reg.configure_task("newest", newest);
  a.reg.register_provider("scim", 3, "Acme SCIM");
  {
    run r = a.reg.start({.name = "small", .description = "four slots"});
    for (int i = 0; i < 10; ++i) r.info("page", {{"n", i}});
    a.clock->advance(2s);
    r.finish(task_status::successful);
  }
  {
    run r = a.reg.start({.name = "newest"});
    for (int i = 0; i < 10; ++i) r.warning("page", {{"n", i}});
    a.clock->advance(3s);
    r.finish(task_status::warning);
  }
  {
    run r = a.reg.start(a.reg.sync_spec("scim", 3));
    r.info(std::string(600, 's'));
    r.log(log_level::error, "bad\xFF", "caf\xC3", {{"k", std::string(2000, 'v')}, {"k2", std::string(2000, 'w')},
                                                  {"k3", std::string(2000, 'x')}});
    a.clock->advance(1s);
    r.fail("boom");
  }
  a.reg.prefill({.name = "never"});
  const auto before = a.reg.list_tasks();
  ASSERT_EQ(before.size(), 4u);

  engine_fixture b;
  b.reg.configure_task("small", small);
  b.reg.configure_task("newest", newest);
  b.reg.register_provider("scim", 3, "Acme SCIM");
  b.clock->set_wall(a.clock->wall_now());
  const restore_report report = b.reg.restore(images_of(a.reg));
  EXPECT_TRUE(report.errors.empty()) << report.errors.front().item << ": " << report.errors.front().reason;
  EXPECT_EQ(report.runs_restored, 4u);
  EXPECT_EQ(b.reg.records_held(), 4u);
  for (const auto& r : before) {
    const auto got = b.reg.find_task(r.uuid());
    ASSERT_TRUE(got) << r.name();
    EXPECT_EQ(engine_fixture::messages_of(*got), engine_fixture::messages_of(r)) << r.name();
    EXPECT_EQ(got->name(), r.name());
    EXPECT_EQ(got->uid(), r.uid());
    EXPECT_EQ(got->description(), r.description());
    EXPECT_EQ(got->start_time(), r.start_time());
    EXPECT_EQ(got->finish_time(), r.finish_time());
    EXPECT_EQ(got->duration(), r.duration());
    EXPECT_EQ(got->status(), r.status());
    EXPECT_EQ(got->expires(), r.expires());
    EXPECT_EQ(got->messages_appended(), r.messages_appended());
    EXPECT_EQ(got->messages_dropped(), r.messages_dropped());
    EXPECT_EQ(got->overflow(), r.overflow());
    EXPECT_EQ(got->provider().has_value(), r.provider().has_value());
  }
  const auto status = b.reg.sync_status("scim", 3);
  ASSERT_EQ(status->tasks.size(), 1u) << "the provider's run is back under its provider";
  EXPECT_EQ(status->tasks[0].provider()->kind, "scim");
}

TEST(Restore, KeepsTheNewestHistoryDepthPerTaskAndSkipsExpiredRuns) {
  engine_fixture f;
  task_options o;
  o.history_depth = 2;
  f.reg.configure_task("t", o);
  const wall_time now = f.clock->wall_now();
  std::vector<run_image> images;
  images.push_back(image(uuid_n(1), "t", now - 4h));
  images.push_back(image(uuid_n(2), "t", now - 1h));
  images.push_back(image(uuid_n(3), "t", now - 3h));
  images.push_back(image(uuid_n(4), "t", now - 2h));
  run_image old = image(uuid_n(5), "t", now - 30min);
  old.expires = now - 1s;  // the newest, but expired
  images.push_back(old);
  const auto report = f.reg.restore(images);
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(report.runs_restored, 1u) << "the two newest were 5 (expired) and 2";
  EXPECT_EQ(report.runs_expired, 1u);
  EXPECT_EQ(report.runs_superseded, 3u);
  EXPECT_EQ(report.runs_restored + report.runs_expired + report.runs_superseded, images.size());
  const auto tasks = f.reg.tasks("t", "");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].uuid(), uuid_n(2));
  EXPECT_EQ(f.reg.records_held(), 1u);
  EXPECT_FALSE(f.reg.find_task(uuid_n(1)));
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 1u) << "runs not restored are not indexed";
}

TEST(Restore, ASuccessOfATaskThatKeepsNoneRemovesTheOlderRunsAsAFinishWould) {
  engine_fixture f;
  task_options o;
  o.keep_on_success = false;
  o.history_depth = 5;
  f.reg.configure_task("t", o);
  const wall_time now = f.clock->wall_now();
  const auto report = f.reg.restore({image(uuid_n(1), "t", now - 3h), image(uuid_n(2), "t", now - 2h, task_status::successful),
                                     image(uuid_n(3), "t", now - 1h)});
  EXPECT_EQ(report.runs_restored, 1u);
  EXPECT_EQ(report.runs_superseded, 2u);
  ASSERT_EQ(f.reg.tasks("t", "").size(), 1u);
  EXPECT_EQ(f.reg.tasks("t", "")[0].uuid(), uuid_n(3));
  const auto c = f.reg.counters();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].last_success, now - 2h) << "the success is remembered although its record is not kept";
}

TEST(Restore, RefusesBadImagesOneByOneAndRestoresTheRest) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  run held = f.reg.start({.name = "held"});
  const wall_time now = f.clock->wall_now();
  std::vector<run_image> images;
  images.push_back(image(uuid_n(1), "good", now));
  images.push_back(image("not-a-uuid", "t", now));
  images.push_back(image("00000000-0000-0000-0000-000000000000", "t", now));
  images.push_back(image(uuid_n(2), "", now));
  images.push_back(image(uuid_n(3), "bad\xFFname", now));
  auto counts = image(uuid_n(4), "t", now);
  counts.appended = 5;  // 1 message + 0 dropped
  images.push_back(counts);
  auto order = image(uuid_n(5), "t", now);
  order.messages.push_back(order.messages[0]);  // seq 0 twice
  order.appended = 2;
  images.push_back(order);
  auto bytes = image(uuid_n(6), "t", now);
  bytes.messages[0].compact[8] = 9;  // not a log level
  images.push_back(bytes);
  images.push_back(image(uuid_n(1), "good", now));  // the same uuid again
  images.push_back(image(std::string(held.uuid()), "t", now));
  auto unknown = image(uuid_n(7), "scim_sync", now);
  unknown.provider = provider_ref{"scim", 99};
  images.push_back(unknown);
  auto clash = image(uuid_n(8), "other", now);
  clash.provider = provider_ref{"scim", 3};
  images.push_back(clash);
  auto duration = image(uuid_n(9), "t", now);
  duration.duration = -1;
  images.push_back(duration);
  auto good_provider = image(uuid_n(10), "scim_sync", now);
  good_provider.uid = "acme-scim";
  good_provider.provider = provider_ref{"scim", 3};
  images.push_back(good_provider);
  // Review of 5651371: an upper-case uuid was restored but never found by the API, and the same
  // uuid in two cases was restored twice.
  images.push_back(image("A0000000-0000-4000-8000-0000000000AB", "t", now));

  const auto report = f.reg.restore(images);
  EXPECT_EQ(report.runs_restored, 2u);
  ASSERT_EQ(report.errors.size(), images.size() - 2);
  for (const auto& e : report.errors) {
    EXPECT_FALSE(e.reason.empty()) << e.item;
    EXPECT_EQ(e.item.rfind("run ", 0), 0u) << e.item;
  }
  EXPECT_EQ(report.errors[0].item, "run not-a-uuid");
  EXPECT_NE(report.errors[4].reason.find("counts do not balance"), std::string::npos) << report.errors[4].reason;
  EXPECT_NE(report.errors[6].reason.find("not a log level"), std::string::npos) << report.errors[6].reason;
  EXPECT_NE(report.errors[7].reason.find("same uuid"), std::string::npos);
  EXPECT_NE(report.errors[8].reason.find("holds a run with this uuid"), std::string::npos);
  EXPECT_NE(report.errors[9].reason.find("no provider is registered"), std::string::npos);
  EXPECT_NE(report.errors[10].reason.find("not the sync task"), std::string::npos) << report.errors[10].reason;
  EXPECT_NE(report.errors.back().reason.find("upper-case"), std::string::npos) << report.errors.back().reason;
  EXPECT_TRUE(f.reg.find_task(uuid_n(1)));
  EXPECT_TRUE(f.reg.find_task(uuid_n(10)));
  EXPECT_EQ(f.reg.sync_status("scim", 3)->tasks.size(), 1u);
  EXPECT_EQ(f.reg.records_held(), 3u) << "the two restored and the running one";
  held.finish(task_status::successful);
}

TEST(Restore, ARunThatWasRunningWhenItsProcessEndedComesBackAsAnError) {
  engine_fixture a;
  run r = a.reg.start({.name = "sync", .uid = "acme"});
  r.info("page 1");
  r.info("page 2");
  a.clock->advance(5s);
  // What a store flushed while it ran: its messages so far, and then it died.
  run_image im = make_run_image(*a.reg.find_task(r.uuid()));
  EXPECT_EQ(im.status, task_status::unknown);
  EXPECT_EQ(im.appended, 2u);
  im.appended = 5;  // it accepted three more that the store never got
  im.interrupted = true;

  task_options o;
  o.retention = 1h;
  engine_fixture b(o);
  b.clock->set_wall(a.clock->wall_now() + 1min);
  const auto report = b.reg.restore({im});
  ASSERT_EQ(report.runs_restored, 1u);
  ASSERT_EQ(report.interrupted.size(), 1u);
  EXPECT_EQ(report.interrupted[0], im.uuid);
  const auto got = b.reg.find_task(im.uuid);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->running());
  EXPECT_EQ(got->status(), task_status::error);
  EXPECT_EQ(got->finish_time(), im.finish);
  EXPECT_EQ(got->expires(), im.finish + 1h) << "from the task's retention";
  EXPECT_EQ(got->messages_appended(), 6u);
  EXPECT_EQ(got->messages_dropped(), 3u) << "accepted but never stored";
  std::vector<std::uint64_t> seqs;
  std::string last;
  got->for_each_message(0, [&](std::uint64_t seq, std::string_view compact) {
    seqs.push_back(seq);
    last.clear();
    expand_compact_message(last, compact);
  });
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{0, 1, 5}));
  EXPECT_EQ(last, render_log_event(im.finish, log_level::error, "sync", interrupted_run_event));
  // Its image now is a finished run's, which restores as it is (what a store writes back).
  const run_image after = make_run_image(*got);
  EXPECT_FALSE(after.interrupted);
  engine_fixture c(o);
  c.clock->set_wall(b.clock->wall_now());
  ASSERT_EQ(c.reg.restore({after}).runs_restored, 1u);
  EXPECT_EQ(engine_fixture::messages_of(*c.reg.find_task(im.uuid)), engine_fixture::messages_of(*got));
  r.finish(task_status::successful);
}

TEST(Restore, ProvidersGetTheirLastSuccessAndOutcome) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.register_provider("scim", 4, "Other");
  const wall_time t = f.clock->wall_now() - 2h;
  std::vector<provider_image> providers{{"scim", 3, t, sync_outcome::warning},
                                        {"scim", 99, t, sync_outcome::done},
                                        {"scim", 4, std::nullopt, sync_outcome::running}};
  const auto report = f.reg.restore({}, providers);
  EXPECT_EQ(report.providers_restored, 1u);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[0].item, "provider scim 99");
  const auto s = f.reg.sync_status("scim", 3);
  EXPECT_EQ(s->last_successful_sync, t);
  EXPECT_EQ(s->last_sync_status, sync_outcome::warning);
  EXPECT_TRUE(s->tasks.empty());
  // A later sync in this process wins; an older image does not move the time back.
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::successful);
  f.reg.restore({}, {{"scim", 3, t - 1h, sync_outcome::error}});
  EXPECT_EQ(f.reg.sync_status("scim", 3)->last_successful_sync, f.clock->wall_now());
  EXPECT_EQ(f.reg.sync_status("scim", 3)->last_sync_status, sync_outcome::done);
}

TEST(Restore, RestoredRunsExpireAndLeaveTheIndex) {
  engine_fixture f;
  const wall_time now = f.clock->wall_now();
  std::vector<run_image> images;
  for (int i = 0; i < 20; ++i) {
    run_image im = image(uuid_n(100 + i), std::string("t").append(std::to_string(i)), now - 1h);
    im.expires = now + std::chrono::seconds(10 + i);
    images.push_back(im);
  }
  EXPECT_EQ(f.reg.restore(images).runs_restored, 20u);
  EXPECT_EQ(f.reg.records_held(), 20u);
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 20u);
  EXPECT_EQ(f.reg.next_expiry(), now + 10s);
  f.poll();  // the deadlines reach the strand
  f.clock->advance(20s);
  f.reg.reclaim_expired();  // the timer waits in real time; a manual clock needs a nudge
  f.poll();
  EXPECT_EQ(f.reg.records_held(), 9u);
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 9u);
  EXPECT_FALSE(f.reg.find_task(uuid_n(100)));
  EXPECT_TRUE(f.reg.find_task(uuid_n(119)));
}

TEST(Restore, ARestoredRunReplacesThePlaceholderAndMergesWithHeldRuns) {
  engine_fixture f;
  task_options o;
  o.history_depth = 2;
  f.reg.configure_task("t", o);
  f.reg.prefill({.name = "t"});
  EXPECT_EQ(f.reg.records_held(), 1u);
  f.clock->advance(1h);
  f.reg.start({.name = "t"}).finish(task_status::successful);  // newer than any image
  const wall_time now = f.clock->wall_now();
  const auto report = f.reg.restore({image(uuid_n(1), "t", now - 10min), image(uuid_n(2), "t", now - 20min)});
  EXPECT_EQ(report.runs_restored, 1u);
  EXPECT_EQ(report.runs_superseded, 1u) << "beyond the depth once merged with the run held";
  const auto tasks = f.reg.tasks("t", "");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_FALSE(tasks[0].prefilled());
  EXPECT_EQ(tasks[1].uuid(), uuid_n(1));
  EXPECT_EQ(f.reg.records_held(), 2u);
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 2u);

  f.reg.prefill({.name = "p"});
  EXPECT_EQ(f.reg.restore({image(uuid_n(3), "p", now - 1h)}).runs_restored, 1u);
  ASSERT_EQ(f.reg.tasks("p", "").size(), 1u);
  EXPECT_EQ(f.reg.tasks("p", "")[0].uuid(), uuid_n(3)) << "the placeholder made way";
  EXPECT_EQ(f.reg.records_held(), 3u);
  EXPECT_EQ(detail::registry_access::indexed_uuids(f.reg), 3u);
}

TEST(Restore, APrefilledPlaceholderComesBackAsOne) {
  engine_fixture a;
  a.reg.prefill({.name = "p", .description = "never ran"});
  const run_image im = make_run_image(a.reg.tasks("p", "")[0]);
  EXPECT_TRUE(im.prefilled);
  engine_fixture b;
  task_options o;
  o.history_depth = 3;
  b.reg.configure_task("p", o);
  ASSERT_EQ(b.reg.restore({im}).runs_restored, 1u);
  ASSERT_TRUE(b.reg.tasks("p", "")[0].prefilled());
  EXPECT_EQ(engine_fixture::messages_of(b.reg.tasks("p", "")[0]), engine_fixture::messages_of(a.reg.tasks("p", "")[0]));
  b.reg.start({.name = "p"}).finish(task_status::successful);
  ASSERT_EQ(b.reg.tasks("p", "").size(), 1u) << "the first run replaces the placeholder";
  EXPECT_FALSE(b.reg.tasks("p", "")[0].prefilled());
}

}  // namespace
