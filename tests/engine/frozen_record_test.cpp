// SPDX-License-Identifier: BSL-1.0
// Frozen records: a finished run's messages packed into one buffer that replaces the live record
// (ring and chunks) in the view. What they serve must be byte for byte what the live record
// served, for every kind of run, and their counts must be exact.

#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"
#include "render_buffer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;

// Finishes `r` and compares what its live record (the ring the handle still holds, closed and
// unchanged since the finish read it) serves with what the frozen record in the view serves.
void expect_frozen_serves_what_live_served(engine_fixture& f, run& r, task_status s, const char* what) {
  const std::shared_ptr<detail::run_record> live = detail::run_access::record(r);
  ASSERT_TRUE(live);
  const std::string uuid(r.uuid());
  r.finish(s);
  ASSERT_TRUE(live->frozen) << what << ": the finish packed the messages";
  const auto found = f.reg.find_task(uuid);
  ASSERT_TRUE(found) << what;
  const task_record live_view = detail::registry_access::view_of(f.reg, live);
  EXPECT_EQ(engine_fixture::messages_of(*found), engine_fixture::messages_of(live_view)) << what;
  EXPECT_EQ(found->messages_appended(), live_view.messages_appended()) << what;
  EXPECT_EQ(found->messages_dropped(), live_view.messages_dropped()) << what;
  EXPECT_EQ(found->status(), live_view.status()) << what;
  EXPECT_EQ(found->finish_time(), live_view.finish_time()) << what;
  EXPECT_EQ(found->expires(), live_view.expires()) << what;
  EXPECT_EQ(found->description(), live_view.description()) << what;
  // The view holds the frozen form, not the live record.
  const auto tasks = f.reg.tasks(found->name(), found->uid());
  ASSERT_FALSE(tasks.empty());
  EXPECT_EQ(engine_fixture::messages_of(tasks.front()), engine_fixture::messages_of(live_view)) << what;
}

TEST(FrozenRecord, ServesTheLiveRecordsJsonForEveryKindOfRun) {
  engine_fixture f;
  {
    run r = f.reg.start({.name = "plain", .uid = "u", .description = "Plain run"});
    r.info("one", {{"obj", "alice"}, {"attempt", 3}, {"ratio", 0.5}, {"retry", true}, {"none", nullptr}});
    r.warning("two", {{"ids", systask::array{1, 2, 3}}, {"user", systask::object{{"pk", 7}}}});
    r.log(log_level::debug, "custom.logger", "three");
    f.clock->advance(1500ms);
    expect_frozen_serves_what_live_served(f, r, task_status::successful, "plain");
  }
  {
    run r = f.reg.start({.name = "empty"});
    expect_frozen_serves_what_live_served(f, r, task_status::warning, "no messages");
  }
  {
    task_options o;
    o.max_messages = 4;
    f.reg.configure_task("oldest", o);
    run r = f.reg.start({.name = "oldest"});
    for (int i = 0; i < 11; ++i) r.info("page", {{"n", i}});
    f.clock->advance(1s);
    expect_frozen_serves_what_live_served(f, r, task_status::successful, "loss marker, overwrite_oldest");
  }
  {
    task_options o;
    o.max_messages = 4;
    o.overflow = overflow_policy::drop_newest;
    f.reg.configure_task("newest", o);
    run r = f.reg.start({.name = "newest"});
    for (int i = 0; i < 9; ++i) r.info("page", {{"n", i}});
    f.clock->advance(1s);
    expect_frozen_serves_what_live_served(f, r, task_status::successful, "loss marker, drop_newest");
  }
  {
    run r = f.reg.start({.name = "spill"});
    const std::string long_event(1000, 'x');
    const std::string longer_event(3000, 'y');
    r.info(long_event);  // beyond the 232 inline bytes of a slot
    r.info("short");
    r.info(longer_event);
    expect_frozen_serves_what_live_served(f, r, task_status::successful, "spills");
  }
  {
    run r = f.reg.start({.name = "utf8", .description = "caf\xC3\xA9 \xFF"});
    r.log(log_level::error, "log\xC0ger", "bad \xE2\x82 text \xF0\x9F\x98\x80", {{"k\xFF", "v\xED\xA0\x80"}});
    expect_frozen_serves_what_live_served(f, r, task_status::error, "UTF-8 repaired");
  }
  {
    run r = f.reg.start({.name = "cut"});
    const std::string big(900, 'z');
    r.info("attributes cut", {{"a", big}, {"b", big}, {"c", big}, {"d", big}, {"e", big}, {"f", big}});
    r.info("deep", {{"l1", systask::object{{"l2", systask::object{{"l3", systask::object{{"l4", systask::object{{"l5", systask::object{{"l6", systask::object{{"l7", systask::object{{"l8", systask::object{{"l9", 1}}}}}}}}}}}}}}}}}});
    const std::string long_event(5000, 'e');
    r.info(long_event);  // the event is cut at 4096 rendered bytes
    expect_frozen_serves_what_live_served(f, r, task_status::successful, "attributes and event cut");
  }
  {
    run r = f.reg.start({.name = "failed"});
    r.info("before");
    ASSERT_EQ(r.fail("it broke"), task_status::error);
    // fail() finished it: compare through the record the handle still holds.
    const auto live = detail::run_access::record(r);
    ASSERT_TRUE(live->frozen);
    EXPECT_EQ(engine_fixture::messages_of(*f.reg.find_task(r.uuid())), engine_fixture::messages_of(detail::registry_access::view_of(f.reg, live)));
  }
}

TEST(FrozenRecord, PrefilledPlaceholderServesTheMessageItAlwaysHad) {
  engine_fixture f;
  f.reg.prefill({.name = "never", .uid = "ran", .description = "Not yet"});
  const auto tasks = f.reg.tasks("never", "ran");
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_TRUE(tasks[0].prefilled());
  EXPECT_EQ(tasks[0].status(), task_status::unknown);
  EXPECT_FALSE(tasks[0].expires());
  EXPECT_EQ(tasks[0].messages_appended(), 1u);
  EXPECT_EQ(tasks[0].messages_dropped(), 0u);
  // Built by appending: "[" + std::string trips g++ 12's false -Wrestrict (GCC bug 105329).
  std::string expected = "[";
  expected += render_log_event(f.clock->wall_now(), log_level::info, "never", "Task has not been run yet.");
  expected += ']';
  EXPECT_EQ(engine_fixture::messages_of(tasks[0]), expected);
  EXPECT_EQ(f.reg.find_task(tasks[0].uuid())->uuid(), tasks[0].uuid());
}

TEST(FrozenRecord, TheLiveRecordIsFreedWhenItsLastHolderLetsGo) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  for (int i = 0; i < 100; ++i) r.info("m");
  std::weak_ptr<detail::run_record> live = detail::run_access::record(r);
  std::optional<task_record> before_finish = f.reg.find_task(r.uuid());  // a reader's view of the live record
  ASSERT_TRUE(before_finish);
  r.finish(task_status::successful);
  r = run{};  // the handle lets go
  f.poll();   // and any retired view with it
  EXPECT_FALSE(live.expired()) << "the reader's task_record still holds the live record";
  EXPECT_GT(engine_fixture::messages_of(*before_finish).size(), 2u);
  const std::string served = engine_fixture::messages_of(f.reg.tasks("t", "")[0]);
  before_finish.reset();
  EXPECT_TRUE(live.expired()) << "ring and chunks freed with the last holder";
  EXPECT_EQ(engine_fixture::messages_of(f.reg.tasks("t", "")[0]), served) << "the frozen record serves on";
}

TEST(FrozenRecord, TheHandleKeepsWorkingAfterTheFinish) {
  engine_fixture f;
  run r = f.reg.start({.name = "t"});
  EXPECT_TRUE(r.info("during"));
  EXPECT_EQ(r.finish(task_status::successful), task_status::successful);
  EXPECT_FALSE(r.info("after")) << "a finished run records nothing more";
  EXPECT_TRUE(r.finished());
  EXPECT_EQ(r.finish(task_status::error), task_status::successful) << "the first finish won";
  EXPECT_EQ(f.reg.tasks("t", "")[0].messages_appended(), 1u);
}

// Loggers racing the finish: every log call that returned true is counted in `appended` of the
// frozen record, and appended = packed + dropped exactly, whatever a late appender was doing
// when the finish packed the ring (a slot still being written counts as dropped).
TEST(FrozenRecord, CountsAreExactWhenLogsRaceTheFinish) {
  boost::asio::io_context io;
  for (const overflow_policy policy : {overflow_policy::overwrite_oldest, overflow_policy::drop_newest}) {
    task_options o;
    o.max_messages = 64;
    o.overflow = policy;
    registry reg(io, registry_options{o, system_clocks()});
    constexpr int rounds = 300, writers = 3;
    std::uint64_t mismatches = 0, late_drops = 0;
    for (int round = 0; round < rounds; ++round) {
      run r = reg.start({.name = "race"});
      std::atomic<std::uint64_t> accepted{0};
      std::atomic<bool> go{false};
      std::vector<std::thread> threads;
      for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&] {
          while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
          std::uint64_t mine = 0;
          while (r.info("racing message with a few words in it", {{"k", 1}})) ++mine;
          accepted.fetch_add(mine);
        });
      }
      go.store(true, std::memory_order_release);
      while (reg.tasks("race", "", true).front().messages_appended() < 32) std::this_thread::yield();
      const auto live = detail::run_access::record(r);
      r.finish(task_status::successful);
      for (auto& t : threads) t.join();
      const auto rec = reg.tasks("race", "");
      ASSERT_EQ(rec.size(), 1u);
      std::uint64_t packed = 0;
      rec[0].for_each_message(0, [&](std::uint64_t, std::string_view) { ++packed; });
      if (rec[0].messages_appended() != accepted.load() ||
          rec[0].messages_appended() != packed + rec[0].messages_dropped()) {
        ++mismatches;
      }
      // A late appender's message is in the ring's count only once it is published or
      // overwritten; the frozen record counted it as dropped at the finish either way.
      if (rec[0].messages_dropped() > live->ring.dropped()) ++late_drops;
    }
    EXPECT_EQ(mismatches, 0u) << to_string(policy);
    std::printf("[ info     ] %s: %llu of %d rounds froze a message still being written\n",
                std::string(to_string(policy)).c_str(), static_cast<unsigned long long>(late_drops), rounds);
  }
}

TEST(FrozenRecord, MessagesSinceASequenceFromLiveAndFrozenRecords) {
  engine_fixture f;
  task_options o;
  o.max_messages = 8;
  f.reg.configure_task("seq", o);
  run r = f.reg.start({.name = "seq"});
  for (int i = 0; i < 12; ++i) r.info("m", {{"i", i}});  // tickets 0..11; 4..11 retained
  auto collect = [](const task_record& t, std::uint64_t from) {
    std::vector<std::uint64_t> seqs;
    std::string json = "[";
    t.for_each_message(from, [&](std::uint64_t seq, std::string_view compact) {
      seqs.push_back(seq);
      if (json.size() > 1) json += ',';
      expand_compact_message(json, compact);
    });
    return std::pair{seqs, json + "]"};
  };
  const auto live = f.reg.tasks("seq", "", true).front();
  ASSERT_TRUE(live.running());
  EXPECT_EQ(collect(live, 0).first, (std::vector<std::uint64_t>{4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(collect(live, 9).first, (std::vector<std::uint64_t>{9, 10, 11}));
  EXPECT_TRUE(collect(live, 12).first.empty());
  r.finish(task_status::successful);
  const auto frozen = f.reg.tasks("seq", "").front();
  EXPECT_EQ(collect(frozen, 0).first, (std::vector<std::uint64_t>{4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(collect(frozen, 10).first, (std::vector<std::uint64_t>{10, 11}));
  EXPECT_EQ(collect(frozen, 0).second, collect(live, 0).second) << "the same bytes before and after the freeze";
  // The expansion of the given bytes is what the record serves (after the loss marker).
  const std::string served = engine_fixture::messages_of(frozen);
  const std::string expanded = collect(frozen, 0).second;
  EXPECT_EQ(served.substr(served.size() - (expanded.size() - 1)), expanded.substr(1));
}

}  // namespace
