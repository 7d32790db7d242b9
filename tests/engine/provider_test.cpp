#include <systask/engine/registry.hpp>

#include "engine_fixture.hpp"

#include <gtest/gtest.h>

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

TEST(Provider, PrefilledSyncTaskShowsInStatus) {
  engine_fixture f;
  f.reg.register_provider("scim", 3, "Acme SCIM");
  f.reg.prefill(f.reg.sync_spec("scim", 3));
  const auto st = f.reg.sync_status("scim", 3);
  ASSERT_EQ(st->tasks.size(), 1u);
  EXPECT_TRUE(st->tasks[0].prefilled());
}

}  // namespace
