// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"
#include "registry_access.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::engine_fixture;

TEST(Provider, RegistersWithSyncTaskNameAndSlug) {
  engine_fixture f;
  const auto info = f.reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  EXPECT_EQ(info.task_name, "google_workspace_sync");
  EXPECT_EQ(info.uid, "acme-google-workspace");
  EXPECT_EQ(f.reg.find_provider("google_workspace", 1)->name, "Acme Google Workspace");
  EXPECT_FALSE(f.reg.find_provider("google_workspace", 2));
  EXPECT_FALSE(f.reg.find_provider("scim", 1));
  const auto spec = f.reg.sync_spec("google_workspace", 1);
  EXPECT_EQ(spec.name, "google_workspace_sync");
  EXPECT_EQ(spec.uid, "acme-google-workspace");
  ASSERT_TRUE(spec.provider);
}

TEST(Provider, RegistrationIsIdempotentAndRejectsBadInput) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  EXPECT_NO_THROW(f.reg.register_provider("scim", 3, "Acme SCIM"));
  EXPECT_THROW(f.reg.register_provider("scim", 3, "Renamed"), std::invalid_argument);
  EXPECT_THROW(f.reg.register_provider("scim", 0, "x"), std::invalid_argument);
  EXPECT_THROW(f.reg.register_provider("scim", -5, "x"), std::invalid_argument);
  EXPECT_THROW(f.reg.register_provider("", 5, "x"), std::invalid_argument);
  EXPECT_THROW(f.reg.sync_spec("scim", 4), std::out_of_range);
  EXPECT_THROW(f.reg.start({.name = "", .uid = "", .description = "", .provider = provider_ref{"scim", 99}}),
               std::invalid_argument);
  EXPECT_FALSE(f.reg.sync_status("scim", 99));
}

TEST(Provider, TwoProvidersOfAKindMayNotShareASyncTask) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::successful);
  // "ACME scim" slugifies to acme-scim too: its status would show provider 3's syncs.
  try {
    f.reg.register_provider("scim", 4, "ACME scim");
    FAIL() << "registered a second provider onto scim_sync/acme-scim";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("scim_sync/acme-scim"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(f.reg.find_provider("scim", 4)) << "the refused provider is not half-registered";
  EXPECT_EQ(f.reg.sync_status("scim", 3)->tasks.size(), 1u) << "nothing recorded is lost";
  EXPECT_NO_THROW(f.reg.register_provider("google_workspace", 4, "Acme SCIM")) << "another kind has its own task";
}

TEST(Provider, UidIsAuthentiksSlugOfTheName) {
  engine_fixture f;
  EXPECT_EQ(f.reg.register_provider("scim", 3, "SCIM_2.0 (prod)").uid, "scim_20-prod");
  EXPECT_EQ(f.reg.register_provider("google_workspace", 1, "Café Nord").uid, "cafe-nord");
  EXPECT_EQ(f.reg.register_provider("microsoft_entra", 2, "Acme.Corp").uid, "acmecorp");
  EXPECT_EQ(f.reg.sync_spec("microsoft_entra", 2).uid, "acmecorp");
  // Deleting punctuation (not turning it into '-') makes these two share microsoft_entra_sync/acmecorp.
  EXPECT_THROW(f.reg.register_provider("microsoft_entra", 5, "AcmeCorp"), std::invalid_argument);
  EXPECT_FALSE(f.reg.find_provider("microsoft_entra", 5));
}

TEST(Provider, NameWithoutSlugCharactersGetsTheEmptyUid) {
  // authentik would give such a provider's task the uid "" too; the task is then just <kind>_sync.
  engine_fixture f;
  const auto info = f.reg.register_provider("scim", 3, "!!!");
  EXPECT_EQ(info.uid, "");
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::successful);
  const auto st = f.reg.sync_status("scim", 3);
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_EQ(st->tasks[0].name(), "scim_sync");
  EXPECT_EQ(st->tasks[0].uid(), "");
  EXPECT_EQ(f.reg.tasks("scim_sync", "").size(), 1u);
  EXPECT_THROW(f.reg.register_provider("scim", 4, "\xE6\x9D\xB1\xE4\xBA\xAC"), std::invalid_argument)
      << "a second kind-mate with an empty slug would share scim_sync";
  EXPECT_NO_THROW(f.reg.register_provider("google_workspace", 4, "???")) << "another kind has its own task";
}

TEST(Provider, DisplayNameIsRepairedAndCappedLikeTaskNames) {
  engine_fixture f;
  const auto bad = f.reg.register_provider("scim", 3, "Bad\xFF name");
  EXPECT_EQ(bad.name, "Bad\xEF\xBF\xBD name") << "invalid UTF-8 becomes U+FFFD: it reaches JSON and /metrics";
  EXPECT_EQ(bad.uid, "bad-name");
  EXPECT_EQ(f.reg.find_provider("scim", 3)->name, bad.name);
  EXPECT_NO_THROW(f.reg.register_provider("scim", 3, "Bad\xFF name")) << "still idempotent";
  try {
    f.reg.register_provider("scim", 4, "bad\xFE NAME");
    FAIL() << "registered a second provider onto scim_sync/bad-name";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(is_valid_utf8(e.what())) << e.what();
  }

  const std::string marker = limits::truncation_marker;
  const auto long_name = f.reg.register_provider("scim", 5, std::string(300, 'n'));
  EXPECT_EQ(long_name.name, std::string(limits::name_bytes - marker.size(), 'n') + marker);
  EXPECT_EQ(long_name.uid, std::string(limits::name_bytes, 'n')) << "the slug of the whole name, cut";

  std::string spaced;
  for (int i = 0; i < 300; ++i) spaced += "a ";
  const auto cut = f.reg.register_provider("scim", 6, spaced);
  EXPECT_EQ(cut.uid.size(), limits::name_bytes - 1) << "no '-' left at the end of a cut uid";
  EXPECT_EQ(slugify(spaced).substr(0, cut.uid.size()), cut.uid);
  EXPECT_TRUE(f.reg.start(f.reg.sync_spec("scim", 6))) << "the uid names its task key as it is";
}

TEST(Provider, KindMustBeValidUtf8AndLeaveRoomForTheSyncSuffix) {
  engine_fixture f;
  EXPECT_THROW(f.reg.register_provider("sc\xFFim", 3, "Acme SCIM"), std::invalid_argument);
  EXPECT_FALSE(f.reg.find_provider("sc\xFFim", 3));
  const std::size_t longest = limits::name_bytes - std::string_view("_sync").size();
  EXPECT_THROW(f.reg.register_provider(std::string(longest + 1, 'k'), 3, "Acme SCIM"), std::invalid_argument);
  const auto info = f.reg.register_provider(std::string(longest, 'k'), 3, "Acme SCIM");
  EXPECT_EQ(info.task_name.size(), limits::name_bytes);
  EXPECT_TRUE(f.reg.find_provider(std::string(longest, 'k'), 3));
}

TEST(Provider, StatusBeforeAnySyncIsEmpty) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  const auto st = f.reg.sync_status("scim", 3);
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->is_running);
  EXPECT_TRUE(st->tasks.empty());
  EXPECT_FALSE(st->last_successful_sync);
  EXPECT_FALSE(st->last_sync_status);
}

TEST(Provider, SyncLockIsHeldWhileRunningAndReleasedAtFinish) {
  engine_fixture f;
  f.reg.register_provider("microsoft_entra", 2, "Acme Entra");
  run r = f.reg.start(f.reg.sync_spec("microsoft_entra", 2));
  ASSERT_TRUE(r);
  auto st = f.reg.sync_status("microsoft_entra", 2);
  EXPECT_TRUE(st->is_running);
  EXPECT_TRUE(st->tasks.empty());
  EXPECT_EQ(st->last_sync_status, sync_outcome::running);
  st = f.reg.sync_status("microsoft_entra", 2, true);
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_TRUE(st->tasks[0].running());

  r.finish(task_status::successful);
  st = f.reg.sync_status("microsoft_entra", 2);
  EXPECT_FALSE(st->is_running);
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_EQ(st->last_sync_status, sync_outcome::done);
  EXPECT_EQ(st->last_successful_sync, st->tasks[0].finish_time());
}

TEST(Provider, SecondSyncDoesNotRunAndLeavesAnInfoMessageOnTheRunningOne) {
  engine_fixture f;
  f.reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  run first = f.reg.start(f.reg.sync_spec("google_workspace", 1));
  run second = f.reg.start(f.reg.sync_spec("google_workspace", 1));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_FALSE(second.info("ignored"));
  first.finish(task_status::successful);
  const auto st = f.reg.sync_status("google_workspace", 1);
  ASSERT_EQ(st->tasks.size(), 1u);
  const std::string msgs = f.messages_of(st->tasks[0]);
  EXPECT_NE(msgs.find(R"("log_level":"info","logger":"google_workspace_sync","event":"A sync request was skipped)"),
            std::string::npos)
      << msgs;
  // Once released, the next sync runs.
  run third = f.reg.start(f.reg.sync_spec("google_workspace", 1));
  EXPECT_TRUE(third);
  third.finish(task_status::successful);
}

TEST(Provider, LockIsReleasedWhenTheHandleIsDestroyedOrTheRunFails) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  { run r = f.reg.start(f.reg.sync_spec("scim", 3)); }
  EXPECT_FALSE(f.reg.sync_status("scim", 3)->is_running);
  EXPECT_EQ(f.reg.sync_status("scim", 3)->last_sync_status, sync_outcome::error);
  run r = f.reg.start(f.reg.sync_spec("scim", 3));
  ASSERT_TRUE(r);
  r.fail(std::make_exception_ptr(std::runtime_error("HTTP 503 from SCIM endpoint")));
  EXPECT_FALSE(f.reg.sync_status("scim", 3)->is_running);
}

TEST(Provider, LocksOfDifferentProvidersAreIndependent) {
  engine_fixture f;
  f.reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  f.reg.register_provider("google_workspace", 4, "Other Workspace");
  run a = f.reg.start(f.reg.sync_spec("google_workspace", 1));
  run b = f.reg.start(f.reg.sync_spec("google_workspace", 4));
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  a.finish(task_status::successful);
  EXPECT_TRUE(f.reg.sync_status("google_workspace", 4)->is_running);
  b.finish(task_status::successful);
}

TEST(Provider, LastSyncStatusFollowsTheLatestFinishedRun) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  auto sync = [&](task_status s, bool with_info) {
    run r = f.reg.start(f.reg.sync_spec("scim", 3));
    if (with_info) r.info("synced 10 users");
    f.clock->advance(1s);
    r.finish(s);
    return f.reg.sync_status("scim", 3);
  };
  auto st = sync(task_status::successful, true);
  EXPECT_EQ(st->last_sync_status, sync_outcome::info);
  const auto success_at = st->last_successful_sync;
  ASSERT_TRUE(success_at);
  st = sync(task_status::warning, false);
  EXPECT_EQ(st->last_sync_status, sync_outcome::warning);
  EXPECT_EQ(st->last_successful_sync, success_at) << "kept from the earlier successful run";
  st = sync(task_status::error, true);
  EXPECT_EQ(st->last_sync_status, sync_outcome::error);
  st = sync(task_status::successful, false);
  EXPECT_EQ(st->last_sync_status, sync_outcome::done);
  EXPECT_GT(*st->last_successful_sync, *success_at);

  // Running after a finished run keeps the finished outcome.
  run r = f.reg.start(f.reg.sync_spec("scim", 3));
  EXPECT_EQ(f.reg.sync_status("scim", 3)->last_sync_status, sync_outcome::done);
  r.finish(task_status::successful);
}

TEST(Provider, LastSuccessfulSyncOutlivesTheRecord) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::successful);
  f.clock->advance(7h);
  const auto st = f.reg.sync_status("scim", 3);
  EXPECT_TRUE(st->tasks.empty()) << "the record expired";
  EXPECT_TRUE(st->last_successful_sync);
}

// Review of 5651371: finish releases the lock when the ring closes, then publishes the outcome;
// the next sync may start and finish in between. A late publisher must not replace a later
// sync's outcome, nor move the last successful sync back in time.
TEST(Provider, ALateFinishNeverReplacesALaterSyncsOutcome) {
  detail::provider_state p("scim/3", provider_info{"scim", 3, "Acme SCIM", "scim_sync", "acme-scim"}, nullptr);
  EXPECT_EQ(p.last_outcome(), -1);
  p.note_outcome(0, sync_outcome::error);  // restored: taken while nothing is known
  EXPECT_EQ(p.last_outcome(), static_cast<int>(sync_outcome::error));
  p.note_outcome(2, sync_outcome::warning);  // sync 2 published first
  p.note_outcome(1, sync_outcome::done);  // sync 1, late
  p.note_outcome(0, sync_outcome::error);  // a restore after the process synced
  EXPECT_EQ(p.last_outcome(), static_cast<int>(sync_outcome::warning));
  p.note_outcome(3, sync_outcome::error);
  EXPECT_EQ(p.last_outcome(), static_cast<int>(sync_outcome::error));

  p.note_success(2'000);
  p.note_success(1'000);
  EXPECT_EQ(p.last_success_us.load(), 2'000);
}

// Syncs are numbered in lock order, so the outcome shown is the newest sync's, whatever the
// order in which two finishes publish.
TEST(Provider, SyncsAreNumberedInTheOrderTheyTakeTheLock) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::error);
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::successful);
  EXPECT_EQ(f.reg.sync_status("scim", 3)->last_sync_status, sync_outcome::done);
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::warning);
  EXPECT_EQ(f.reg.sync_status("scim", 3)->last_sync_status, sync_outcome::warning);
}

// A clock at the very start of wall_time's range: the last successful sync is kept in
// microseconds and must convert back without overflowing (UBSan reports it under the asan preset).
TEST(Provider, LastSuccessfulSyncAtTheStartOfTimeConvertsBack) {
  engine_fixture f;
  f.clock->set_wall(wall_time::min());
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.start(f.reg.sync_spec("scim", 3)).finish(task_status::successful);
  const auto st = f.reg.sync_status("scim", 3);
  ASSERT_TRUE(st->last_successful_sync);
  EXPECT_GE(*st->last_successful_sync, wall_time::min());
  EXPECT_LT(*st->last_successful_sync - wall_time::min(), std::chrono::microseconds{1});
}

// Regression (R10, P3): a spec naming a provider's task and uid without `.provider` took the
// plain path: it ran beside the lock holder and never updated last_sync_status.
TEST(Provider, ASpecNamingTheProvidersTaskWithoutTheProviderIsItsSync) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  run plain = f.reg.start({.name = "scim_sync", .uid = "acme-scim"});
  ASSERT_TRUE(plain);
  EXPECT_TRUE(f.reg.sync_status("scim", 3)->is_running) << "it holds the provider's lock";
  EXPECT_FALSE(f.reg.start(f.reg.sync_spec("scim", 3))) << "a provider sync is refused meanwhile";
  EXPECT_FALSE(f.reg.start({.name = "scim_sync", .uid = "acme-scim"})) << "and so is another plain one";
  plain.finish(task_status::warning);
  const auto st = f.reg.sync_status("scim", 3);
  EXPECT_EQ(st->last_sync_status, sync_outcome::warning);
  ASSERT_EQ(st->tasks.size(), 1u);
  const std::string msgs = f.messages_of(st->tasks[0]);
  EXPECT_EQ(std::count(msgs.begin(), msgs.end(), '{'), 4) << "two skip messages (object + attributes each): " << msgs;
}

TEST(Provider, CheckSpecSaysWhatStartWouldRefuse) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  EXPECT_FALSE(f.reg.check_spec(f.reg.sync_spec("scim", 3)));
  EXPECT_FALSE(f.reg.check_spec({.name = "t"}));
  EXPECT_EQ(f.reg.check_spec({.name = ""}), make_error_code(errc::invalid_spec));
  EXPECT_EQ(f.reg.check_spec({.name = "", .uid = "", .description = "", .provider = provider_ref{"scim", 9}}),
            make_error_code(errc::unknown_provider));
  EXPECT_EQ(f.reg.check_spec({.name = "other", .uid = "", .description = "", .provider = provider_ref{"scim", 3}}),
            make_error_code(errc::invalid_spec));
  EXPECT_THROW(f.reg.start({.name = "other", .uid = "", .description = "", .provider = provider_ref{"scim", 3}}),
               std::invalid_argument);
}

TEST(Provider, PrefilledSyncTaskShowsInStatus) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.prefill(f.reg.sync_spec("scim", 3));
  const auto st = f.reg.sync_status("scim", 3);
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_TRUE(st->tasks[0].prefilled());
}

// A manual clock that runs a hook (once) the next time the wall clock is read: it stops a
// thread at a chosen point inside the engine, deterministically.
class hooked_clock final : public clock_source {
 public:
  wall_time wall_now() const noexcept override {
    if (auto hook = std::exchange(hook_, nullptr)) hook();
    return inner_.wall_now();
  }
  mono_time mono_now() const noexcept override { return inner_.mono_now(); }
  void on_next_wall_read(std::function<void()> hook) { hook_ = std::move(hook); }

 private:
  manual_clock inner_;
  mutable std::function<void()> hook_;
};

// Regression (R7), deterministic: finish reads the wall clock after closing the run's ring and
// before moving the run out of `running`. A start in that window was refused by the finished
// run, and its skip message was lost because the holder's ring was closed.
TEST(Provider, AStartWhileTheHolderIsFinishingGetsTheLock) {
  boost::asio::io_context io;
  auto clock = std::make_shared<hooked_clock>();
  registry reg(io, registry_options{{}, clock});
  reg.register_provider("scim", 3, "Acme SCIM");
  run first = reg.start(reg.sync_spec("scim", 3));
  ASSERT_TRUE(first);
  run second;
  clock->on_next_wall_read([&] { second = reg.start(reg.sync_spec("scim", 3)); });
  first.finish(task_status::successful);
  ASSERT_TRUE(second) << "refused by a run that had already stopped accepting messages";
  const auto st = reg.sync_status("scim", 3, true);
  EXPECT_TRUE(st->is_running);
  ASSERT_EQ(st->tasks.size(), 2u);
  EXPECT_TRUE(st->tasks[0].running());
  EXPECT_FALSE(st->tasks[1].running());
  second.finish(task_status::successful);
  EXPECT_FALSE(reg.sync_status("scim", 3)->is_running);
}

// Regression (R7): the lock was "any run of the provider in the running list", so a start
// racing a finish was refused by a run that had already closed its ring, and the skip message
// it appended there was lost. Now the lock ends exactly when the holder's ring closes.
TEST(Provider, StartRacingFinishNeverLosesASkipMessageAndNeverHasTwoHolders) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  const run_spec spec = f.reg.sync_spec("scim", 3);
  // Two threads, at least 100,000 start/finish races, and on until they have collided a few
  // thousand times (a loaded machine may run them one after the other for a while).
  constexpr std::uint64_t per_thread = 50'000, min_refusals = 5'000;
  const auto time_limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::atomic<std::uint64_t> refused{0}, skips_recorded{0}, started{0}, attempts{0};
  std::atomic<int> holders{0}, overlaps{0};
  auto racer = [&] {
    for (std::uint64_t i = 0; i < per_thread || (refused.load() < min_refusals &&
                                                 std::chrono::steady_clock::now() < time_limit);
         ++i) {
      attempts.fetch_add(1);
      run r = f.reg.start(spec);
      if (!r) {
        refused.fetch_add(1);
        continue;
      }
      started.fetch_add(1);
      if (holders.fetch_add(1) != 0) overlaps.fetch_add(1);
      holders.fetch_sub(1);
      const auto record = detail::run_access::record(r);
      r.finish(task_status::successful);
      // The ring is closed now: its count is final, and every skip message a refused start
      // appended to it is in that count (a later one would have been refused and retried).
      skips_recorded.fetch_add(record->ring.appended());
    }
  };
  std::thread a(racer), b(racer);
  a.join();
  b.join();
  EXPECT_EQ(overlaps.load(), 0) << "two runs held the lock at once";
  EXPECT_EQ(refused.load(), skips_recorded.load()) << "every refused start left its message on the holder";
  EXPECT_EQ(started.load() + refused.load(), attempts.load());
  EXPECT_GE(refused.load(), min_refusals) << "the threads hardly raced";
  EXPECT_FALSE(f.reg.sync_status("scim", 3)->is_running);
  EXPECT_EQ(f.reg.records_held(), 1u);
  run next = f.reg.start(spec);
  EXPECT_TRUE(next) << "the lock is free";
}

}  // namespace
