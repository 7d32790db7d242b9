// SPDX-License-Identifier: BSL-1.0
// The SQLite store on real files in temporary directories: round trip byte for byte, exact
// counts, interrupted runs, expiry, one process per file, and the faults that can be set up
// inside one process (corrupt file, a schema from the future). tests/store/
// sqlite_store_crash_test.cpp covers kill -9, a full disk, a read-only file and a second
// process, with the child program tests/store/sqlite_store_child.cpp.

#include <systask/api/facade.hpp>
#include <systask/store/sqlite.hpp>

#include "api_fixture.hpp"
#include "round_trip_scenario.hpp"
#include "store_test_support.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::api_fixture;
using systask::test::configure_round_trip;
using systask::test::record_every_kind_of_run;
using systask::test::round_trip_bodies;
using systask::test::file_bytes;
using systask::test::peek_db;
using systask::test::temp_dir;

sqlite_store_options options_for(const std::string& path) {
  sqlite_store_options o;
  o.path = path;
  o.flush_interval = 1h;  // the tests write with flush(), so that nothing depends on timing
  o.close_timeout = 5s;
  return o;
}

// Every finished run handed to the store is pending, written or dropped.
::testing::AssertionResult balanced(const store_stats& s, std::uint64_t finished) {
  if (s.pending + s.written + s.dropped == finished) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "pending " << s.pending << " + written " << s.written << " + dropped "
                                       << s.dropped << " != finished " << finished;
}

// The same configuration on both sides of the restart (as the host would do it at start-up).
void configure(registry& reg) {
  systask::test::configure_round_trip(reg);
  reg.prefill({.name = "never_ran", .uid = "x", .description = "Not run yet"});
}

TEST(SqliteStore, EveryBodyIsByteIdenticalAfterARestart) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  std::vector<std::string> expected, uuids;
  wall_time stopped_at;
  {
    api_fixture before;
    configure(before.reg);
    sqlite_store store(before.reg, options_for(path));
    EXPECT_EQ(store.stats().state, store_state::ok) << store.stats().reason;
    record_every_kind_of_run(before);
    before.poll();  // the registry delivers the finish events to the store on its strand
    ASSERT_TRUE(store.flush());
    const store_stats s = store.stats();
    EXPECT_EQ(s.written, 6u);
    EXPECT_TRUE(balanced(s, 6));
    EXPECT_TRUE(s.last_success.has_value());
    for (const auto& r : before.reg.list_tasks()) uuids.emplace_back(r.uuid());
    ASSERT_EQ(uuids.size(), 7u);  // the placeholder, 2 + 3 + 1 runs
    expected = round_trip_bodies(before, uuids);
    stopped_at = before.clock->wall_now();
    store.close();
  }
  EXPECT_EQ(peek_db(path).text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(peek_db(path).integer("PRAGMA user_version"), sqlite_schema_version);

  api_fixture after;
  after.clock->set_wall(stopped_at);
  configure(after.reg);  // prefills a placeholder of its own: the stored one replaces it
  sqlite_store store(after.reg, options_for(path));
  ASSERT_TRUE(store.restored().errors.empty()) << store.restored().errors[0].reason;
  EXPECT_EQ(store.restored().runs_restored, 7u);
  EXPECT_EQ(store.restored().providers_restored, 2u);
  const auto got = round_trip_bodies(after, uuids);
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]);
}

TEST(SqliteStore, ARunningRunIsRestoredAsInterruptedWithItsFlushedMessages) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  std::string uuid;
  wall_time stopped_at;
  api_fixture before;
  configure(before.reg);
  auto store = std::make_unique<sqlite_store>(before.reg, options_for(path));
  run r = before.reg.start(before.reg.sync_spec("scim", 3));
  uuid = std::string(r.uuid());
  r.info("page 1 synced");
  before.poll();
  ASSERT_TRUE(store->flush());
  r.info("page 2 synced");
  before.clock->advance(4s);
  ASSERT_TRUE(store->flush());
  stopped_at = before.clock->wall_now();
  // The process "dies": the store is gone while the run still runs; its row says running.
  store.reset();
  EXPECT_EQ(peek_db(path).integer("SELECT running FROM runs WHERE uuid = '" + uuid + "'"), 1);
  const std::string count_messages =
      "SELECT count(*) FROM messages JOIN runs ON runs.id = run_id WHERE uuid = '" + uuid + "'";
  const auto flushed = peek_db(path).integer(count_messages);
  EXPECT_EQ(flushed, static_cast<std::int64_t>(before.reg.find_task(uuid)->messages_appended()));

  api_fixture after;
  after.clock->set_wall(stopped_at + 10s);
  configure(after.reg);
  sqlite_store again(after.reg, options_for(path));
  ASSERT_EQ(again.restored().interrupted, std::vector<std::string>{uuid});
  const auto res = after.get("/api/v3/events/system_tasks/" + uuid + "/");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(systask::test::matches_schema(res.body, "SystemTask"));
  EXPECT_NE(res.body.find(R"("status":"error")"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("page 1 synced"), std::string::npos);
  EXPECT_NE(res.body.find("page 2 synced"), std::string::npos);
  EXPECT_NE(res.body.find(std::string(interrupted_run_event)), std::string::npos) << res.body;
  // Written back as what it became: the next start-up finds a finished row, not a running one.
  EXPECT_EQ(peek_db(path).integer("SELECT running FROM runs WHERE uuid = '" + uuid + "'"), 0);
  EXPECT_EQ(peek_db(path).integer(count_messages), flushed + 1);  // + the interruption
  r.finish(task_status::successful);
}

TEST(SqliteStore, CountsBalanceWhenTheQueueIsFull) {
  temp_dir dir;
  api_fixture f;
  auto o = options_for(dir.file("history.db"));
  o.queue_capacity = 2;
  sqlite_store store(f.reg, o);
  for (int i = 0; i < 5; ++i) f.reg.start({.name = "t", .uid = std::to_string(i)}).finish(task_status::successful);
  f.poll();
  store_stats s = store.stats();
  EXPECT_EQ(s.pending, 2u);
  EXPECT_EQ(s.dropped, 3u);
  EXPECT_TRUE(balanced(s, 5));
  ASSERT_TRUE(store.flush());
  s = store.stats();
  EXPECT_EQ(s.written, 2u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_TRUE(balanced(s, 5));
  EXPECT_EQ(peek_db(store.path()).integer("SELECT count(*) FROM runs"), 2);
}

TEST(SqliteStore, EventsTheObserverQueueDroppedCountAsDropped) {
  temp_dir dir;
  boost::asio::io_context io;
  auto clock = std::make_shared<manual_clock>();
  registry_options ro;
  ro.clock = clock;
  ro.observer_queue_capacity = 4;  // 2 runs' start + finish
  registry reg(io, ro);
  sqlite_store store(reg, options_for(dir.file("history.db")));
  for (int i = 0; i < 10; ++i) reg.start({.name = "t", .uid = std::to_string(i)}).finish(task_status::successful);
  io.poll();
  const dropped_events lost = reg.observer_events_dropped();
  ASSERT_GT(lost.finished, 0u);
  ASSERT_TRUE(store.flush());
  const store_stats s = store.stats();
  EXPECT_EQ(s.dropped, lost.finished);
  EXPECT_TRUE(balanced(s, 10));
  EXPECT_EQ(static_cast<std::uint64_t>(peek_db(store.path()).integer("SELECT count(*) FROM runs")), s.written);
}

TEST(SqliteStore, MetricsShowTheStore) {
  temp_dir dir;
  api_fixture f;
  sqlite_store store(f.reg, options_for(dir.file("history.db")));
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  ASSERT_TRUE(store.flush());
  const std::string text = api::render_metrics(f.reg);
  EXPECT_NE(text.find(R"(systask_store_written_runs_total{backend="sqlite"} 1)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(systask_store_pending_runs{backend="sqlite"} 0)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(systask_store_state{backend="sqlite",state="ok"} 1)"), std::string::npos) << text;
  store.close();
  EXPECT_EQ(api::render_metrics(f.reg).find("systask_store_written"), std::string::npos);  // detached
}

TEST(SqliteStore, ASecondStoreOnTheSameFileIsRefusedNamingTheFileAndTheHolder) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  api_fixture f;
  sqlite_store first(f.reg, options_for(path));
  api_fixture g;
  try {
    sqlite_store second(g.reg, options_for(path));
    FAIL() << "a second store opened " << path;
  } catch (const sqlite_store_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("pid " + std::to_string(::getpid())), std::string::npos) << what;
  }
  // The refused host records on in memory, and the first store is unharmed.
  g.reg.start({.name = "t"}).finish(task_status::successful);
  EXPECT_EQ(g.reg.list_tasks().size(), 1u);
  EXPECT_TRUE(g.reg.store_stats().empty());
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  EXPECT_TRUE(first.flush());
  first.close();
  sqlite_store third(g.reg, options_for(path));  // released at close
  EXPECT_EQ(third.stats().state, store_state::ok);
}

TEST(SqliteStore, ACorruptFileIsLeftUntouchedAndRecordingGoesOnInMemory) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(8192, '\x5a');  // not a database: no SQLite header
  }
  const std::string bytes = file_bytes(path);
  api_fixture f;
  std::vector<std::string> logged;
  auto o = options_for(path);
  o.on_log = [&](store_state, std::string_view m) { logged.emplace_back(m); };
  sqlite_store store(f.reg, o);
  store_stats s = store.stats();
  EXPECT_EQ(s.state, store_state::disabled);
  EXPECT_NE(s.reason.find(path), std::string::npos) << s.reason;
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0], s.reason);
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.reg.start({.name = "u"}).finish(task_status::error);
  f.poll();
  EXPECT_EQ(f.reg.list_tasks().size(), 2u);
  s = store.stats();
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_TRUE(balanced(s, 2));
  EXPECT_FALSE(store.flush());
  const std::string text = api::render_metrics(f.reg);
  EXPECT_NE(text.find(R"(systask_store_state{backend="sqlite",state="disabled"} 1)"), std::string::npos) << text;
  store.close();
  EXPECT_EQ(file_bytes(path), bytes);
}

TEST(SqliteStore, ADatabaseWithCorruptPagesIsLeftUntouchedAndNothingHalfLoadedIsServed) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  {
    api_fixture f;
    sqlite_store store(f.reg, options_for(path));
    for (int i = 0; i < 200; ++i) {
      run r = f.reg.start({.name = "t", .uid = std::to_string(i)});
      r.info(std::string(500, 'm'));
      r.finish(task_status::successful);
    }
    f.poll();
    ASSERT_TRUE(store.flush());
  }  // closed cleanly: the WAL is checkpointed into the file
  {
    std::string bytes = file_bytes(path);
    ASSERT_GT(bytes.size(), 8 * 4096u);
    for (std::size_t i = 2 * 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);  // every page past the schema
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  const std::string bytes = file_bytes(path);
  api_fixture f;
  sqlite_store store(f.reg, options_for(path));
  const store_stats s = store.stats();
  EXPECT_EQ(s.state, store_state::disabled) << s.reason;
  EXPECT_NE(s.reason.find(path), std::string::npos) << s.reason;
  EXPECT_EQ(f.reg.list_tasks().size(), 0u);  // all or nothing: a half-read file is not served
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  EXPECT_TRUE(balanced(store.stats(), 1));
  store.close();
  EXPECT_EQ(file_bytes(path), bytes);
}

TEST(SqliteStore, ADatabaseFromANewerSchemaIsOpenedReadOnlyAndNeverWritten) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  {
    peek_db db(path, true);
    db.exec("CREATE TABLE future(x); INSERT INTO future VALUES(42); PRAGMA user_version = 99;");
  }
  const std::string bytes = file_bytes(path);
  api_fixture f;
  sqlite_store store(f.reg, options_for(path));
  store_stats s = store.stats();
  EXPECT_EQ(s.state, store_state::read_only);
  EXPECT_NE(s.reason.find("schema version 99"), std::string::npos) << s.reason;
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  s = store.stats();
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_TRUE(balanced(s, 1));
  store.close();
  EXPECT_EQ(file_bytes(path), bytes);
  EXPECT_EQ(peek_db(path).integer("PRAGMA user_version"), 99);
}

TEST(SqliteStore, ADatabaseInAnotherCompactFormatIsOpenedReadOnlyAndNeverWritten) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  {
    api_fixture f;
    sqlite_store store(f.reg, options_for(path));
    f.reg.start({.name = "t"}).finish(task_status::successful);
    f.poll();
    ASSERT_TRUE(store.flush());
  }
  peek_db(path, true).exec("UPDATE meta SET value = '99' WHERE key = 'compact_message_format'");
  const std::string bytes = file_bytes(path);
  api_fixture f;
  sqlite_store store(f.reg, options_for(path));
  store_stats s = store.stats();
  EXPECT_EQ(s.state, store_state::read_only);
  EXPECT_NE(s.reason.find("compact format 99"), std::string::npos) << s.reason;
  EXPECT_TRUE(f.reg.list_tasks().empty()) << "messages it cannot read are not served";
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  EXPECT_TRUE(balanced(store.stats(), 1));
  store.close();
  EXPECT_EQ(file_bytes(path), bytes);
}

TEST(SqliteStore, ExpiredRowsArePurgedAndNeverServed) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  task_options shortlived;
  shortlived.retention = 60s;
  shortlived.history_depth = 10;
  api_fixture f;
  f.reg.configure_task("t", shortlived);
  {
    sqlite_store store(f.reg, options_for(path));
    for (int i = 0; i < 5; ++i) f.reg.start({.name = "t"}).finish(task_status::successful);
    f.clock->advance(30s);
    f.reg.start({.name = "t"}).finish(task_status::successful);  // expires 30 s after the others
    f.poll();
    ASSERT_TRUE(store.flush());
    EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs"), 6);
    f.clock->advance(31s);  // the first five have expired, the sixth not
  }
  // Opened after they expired and before anything purged them: not served.
  api_fixture g;
  g.reg.configure_task("t", shortlived);
  g.clock->set_wall(f.clock->wall_now());
  {
    sqlite_store store(g.reg, options_for(path));
    EXPECT_EQ(store.restored().runs_restored, 1u);
    EXPECT_EQ(g.reg.list_tasks().size(), 1u);
    ASSERT_TRUE(store.flush());  // the start-up purge
    EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs"), 1);
    // The registry's expiry pass drives the purge of the last one.
    g.clock->advance(60s);
    g.reg.reclaim_expired();
    g.poll();
    ASSERT_TRUE(store.flush());
    EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs"), 0);
    EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM messages"), 0);
  }
}

TEST(SqliteStore, PurgeGoesInBoundedBatches) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  task_options shortlived;
  shortlived.retention = 60s;
  shortlived.history_depth = 1;
  api_fixture f;
  f.reg.configure_task("t", shortlived);
  auto o = options_for(path);
  o.purge_batch = 3;
  sqlite_store store(f.reg, o);
  for (int i = 0; i < 10; ++i) f.reg.start({.name = "t", .uid = std::to_string(i)}).finish(task_status::successful);
  f.poll();
  ASSERT_TRUE(store.flush());
  f.clock->advance(61s);
  f.reg.reclaim_expired();
  f.poll();
  ASSERT_TRUE(store.flush());
  EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs"), 7);
  ASSERT_TRUE(store.flush());
  EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs"), 4);
}

TEST(SqliteStore, RowsBeyondTheHistoryDepthAreDeleted) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  task_options two;
  two.history_depth = 2;
  api_fixture f;
  f.reg.configure_task("t", two);
  sqlite_store store(f.reg, options_for(path));
  std::vector<std::string> uuids;
  for (int i = 0; i < 5; ++i) {
    run r = f.reg.start({.name = "t"});
    uuids.emplace_back(r.uuid());
    r.info("m");
    f.clock->advance(1s);
    r.finish(task_status::successful);
    f.poll();
    ASSERT_TRUE(store.flush());
  }
  EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM messages"), 2);
  EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs WHERE uuid IN ('" + uuids[3] + "','" + uuids[4] + "')"),
            2);
}

TEST(SqliteStore, WritingTwiceIsHarmless) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  api_fixture f;
  std::string uuid;
  {
    sqlite_store store(f.reg, options_for(path));
    run r = f.reg.start({.name = "t"});
    uuid = std::string(r.uuid());
    for (int i = 0; i < 3; ++i) r.info("m", {{"i", i}});
    f.poll();
    ASSERT_TRUE(store.flush());  // running: 3 messages
    ASSERT_TRUE(store.flush());  // nothing new
    r.info("last");
    r.finish(task_status::successful);
    f.poll();
    ASSERT_TRUE(store.flush());  // finished: the whole run again, keyed by (uuid, seq)
  }
  peek_db db(path);
  EXPECT_EQ(db.integer("SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(db.integer("SELECT count(*) FROM messages"), 4);
  EXPECT_EQ(db.integer("SELECT running FROM runs"), 0);
  EXPECT_EQ(db.integer("SELECT appended FROM runs"), 4);
}

TEST(SqliteStore, AFailedWriteIsRetriedAndCountedAndTheStoreRecovers) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  api_fixture f;
  std::vector<std::pair<store_state, std::string>> logged;
  std::mutex logged_mu;
  auto o = options_for(path);
  o.busy_timeout = 10ms;
  o.retry_backoff_min = 1ms;
  o.retry_backoff_max = 5ms;
  o.on_log = [&](store_state s, std::string_view m) {
    std::lock_guard g(logged_mu);
    logged.emplace_back(s, m);
  };
  sqlite_store store(f.reg, o);
  // Another connection holds the write lock (as a long backup or a stray writer would).
  peek_db other(path, true);
  other.exec("BEGIN IMMEDIATE");
  f.reg.start({.name = "t"}).finish(task_status::successful);
  f.poll();
  EXPECT_FALSE(store.flush());
  store_stats s = store.stats();
  EXPECT_EQ(s.state, store_state::degraded);
  EXPECT_NE(s.reason.find(path), std::string::npos) << s.reason;
  EXPECT_GE(s.write_errors, 1u);
  EXPECT_EQ(s.pending, 1u);
  EXPECT_TRUE(balanced(s, 1));
  // Recording goes on in memory meanwhile.
  f.reg.start({.name = "u"}).finish(task_status::warning);
  f.poll();
  EXPECT_EQ(f.reg.list_tasks().size(), 2u);
  EXPECT_TRUE(balanced(store.stats(), 2));
  other.exec("COMMIT");
  ASSERT_TRUE(store.flush());
  s = store.stats();
  EXPECT_EQ(s.state, store_state::ok);
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(s.written, 2u);
  EXPECT_TRUE(balanced(s, 2));
  EXPECT_EQ(peek_db(path).integer("SELECT count(*) FROM runs"), 2);
  store.close();
  std::lock_guard g(logged_mu);
  ASSERT_GE(logged.size(), 2u);
  EXPECT_EQ(logged.front().first, store_state::degraded);
  EXPECT_EQ(logged.back().first, store_state::ok);
}

TEST(SqliteStore, OptionsOutOfRangeAreRefused) {
  api_fixture f;
  sqlite_store_options o;
  EXPECT_THROW(sqlite_store(f.reg, o), sqlite_store_error);  // no path
  temp_dir dir;
  o = options_for(dir.file("x.db"));
  o.queue_capacity = 0;
  EXPECT_THROW(sqlite_store(f.reg, o), sqlite_store_error);
  o = options_for(dir.file("x.db"));
  o.retry_backoff_min = 10s;
  o.retry_backoff_max = 1s;
  EXPECT_THROW(sqlite_store(f.reg, o), sqlite_store_error);
  EXPECT_TRUE(f.reg.store_stats().empty());
}

TEST(SqliteStore, SynchronousFullAndTheSchemaAreWhatTheFileSays) {
  temp_dir dir;
  const std::string path = dir.file("history.db");
  api_fixture f;
  auto o = options_for(path);
  o.synchronous = sqlite_synchronous::full;
  sqlite_store store(f.reg, o);
  peek_db db(path);
  EXPECT_EQ(db.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(db.text("SELECT value FROM meta WHERE key = 'compact_message_format'"),
            std::to_string(compact_message_format_version));
  EXPECT_EQ(db.integer("PRAGMA user_version"), sqlite_schema_version);
}

}  // namespace
