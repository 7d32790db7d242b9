// SPDX-License-Identifier: BSL-1.0
// The engine's side of a cluster sync lock (cluster_lock.hpp): what async_run, start and the
// status reads do with the answers of a lock service. The service here is scripted in process;
// the PostgreSQL one is tested against a real server in tests/store/pg/.
#include <systask/engine/async_run.hpp>
#include <systask/engine/schedule.hpp>

#include "engine_fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <set>

namespace {

using namespace systask;
using systask::test::engine_fixture;
namespace asio = boost::asio;

// Answers each request with the next scripted answer (acquired when the script is empty), on a
// thread of its own context: never inline, as the interface requires.
class scripted_lock final : public cluster_sync_lock {
 public:
  struct lease final : cluster_lock_lease {
    lease(scripted_lock& o, provider_ref p) : owner(o), provider(std::move(p)) {}
    ~lease() override {
      std::lock_guard guard(owner.mutex);
      ++owner.released;
    }
    void attach(run_ref holder) noexcept override {
      std::lock_guard guard(owner.mutex);
      owner.attached.push_back(holder);
    }
    scripted_lock& owner;
    provider_ref provider;
  };

  explicit scripted_lock(asio::io_context& answers) : answers_(answers) {}

  void async_acquire(const provider_ref& provider, acquire_handler done) override {
    cluster_lock_answer answer;
    {
      std::lock_guard guard(mutex);
      ++requests;
      if (!script.empty()) {
        answer = std::move(script.front());
        script.pop_front();
      } else {
        answer.status = cluster_lock_status::acquired;
      }
    }
    if (answer.status == cluster_lock_status::acquired) answer.lease = std::make_shared<lease>(*this, provider);
    asio::post(answers_, [done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  bool held_elsewhere(std::string_view kind, std::int64_t id) const noexcept override {
    std::lock_guard guard(mutex);
    return elsewhere.contains(std::string(kind) + "/" + std::to_string(id));
  }

  mutable std::mutex mutex;
  std::deque<cluster_lock_answer> script;
  std::set<std::string> elsewhere;
  std::vector<run_ref> attached;
  int requests = 0;
  int released = 0;

 private:
  asio::io_context& answers_;
};

// A registry with one provider and a scripted lock whose answers come from a second context,
// run by the same test thread.
struct cluster_fixture {
  cluster_fixture() {
    f.reg.register_provider("google_workspace", 1, "Acme Workspace");
    f.reg.set_cluster_lock(lock);
  }
  template <class Pred>
  bool run_until(Pred done) {
    return f.run_until([&] {
      answers.restart();
      answers.poll();
      return done();
    });
  }
  run_spec sync() const { return f.reg.sync_spec("google_workspace", 1); }

  engine_fixture f;
  asio::io_context answers;
  std::shared_ptr<scripted_lock> lock = std::make_shared<scripted_lock>(answers);
};

using outcome = std::optional<std::pair<boost::system::error_code, task_status>>;

TEST(ClusterLock, AcquiredLockRunsTheBodyAndIsReleasedAfterTheFinish) {
  cluster_fixture c;
  outcome result;
  int released_during_body = -1;
  async_run(
      c.f.reg, c.sync(),
      [&](run& r) {
        r.info("syncing");
        std::lock_guard guard(c.lock->mutex);
        released_during_body = c.lock->released;
      },
      [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); });
  ASSERT_TRUE(c.run_until([&] { return result.has_value(); }));
  EXPECT_FALSE(result->first);
  EXPECT_EQ(result->second, task_status::successful);
  EXPECT_EQ(released_during_body, 0) << "held for the whole body";
  std::lock_guard guard(c.lock->mutex);
  EXPECT_EQ(c.lock->requests, 1);
  EXPECT_EQ(c.lock->released, 1) << "the lease goes with the finish";
  ASSERT_EQ(c.lock->attached.size(), 1u) << "the holder run is named to the service";
  EXPECT_FALSE(c.lock->attached[0].log(log_level::info, "t", "after the finish")) << "it was this run";
}

TEST(ClusterLock, CancelledWhileWaitingForTheLockRunsNothingAndReleasesIt) {
  cluster_fixture c;
  asio::cancellation_signal signal;
  outcome result;
  bool ran = false;
  async_run(c.f.reg, c.sync(), [&](run&) { ran = true; },
            asio::bind_cancellation_slot(signal.slot(),
                                         [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); }));
  // Run the registry's side only, until the request reached the service (its answer waits).
  ASSERT_TRUE(c.f.run_until([&] {
    std::lock_guard guard(c.lock->mutex);
    return c.lock->requests == 1;
  }));
  signal.emit(asio::cancellation_type::terminal);  // on this thread, which runs the registry's executor
  ASSERT_TRUE(c.run_until([&] { return result.has_value(); }));
  EXPECT_EQ(result->first, asio::error::operation_aborted);
  EXPECT_EQ(result->second, task_status::unknown);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(c.f.reg.sync_status("google_workspace", 1, true)->tasks.empty()) << "nothing recorded";
  std::lock_guard guard(c.lock->mutex);
  EXPECT_EQ(c.lock->released, 1) << "the lease the answer carried is released";
}

TEST(ClusterLock, HeldElsewhereRefusesWithoutRecordingOrRunningTheBody) {
  cluster_fixture c;
  c.lock->script.push_back({cluster_lock_status::held_elsewhere, "replica b", nullptr});
  outcome result;
  bool ran = false;
  async_run(c.f.reg, c.sync(), [&](run&) { ran = true; },
            [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); });
  ASSERT_TRUE(c.run_until([&] { return result.has_value(); }));
  EXPECT_EQ(result->first, make_error_code(errc::sync_running_elsewhere));
  EXPECT_EQ(result->second, task_status::unknown);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(c.f.reg.sync_status("google_workspace", 1, true)->tasks.empty())
      << "the holder's replica records the skipped request, not this one";
}

TEST(ClusterLock, UnavailableLockRecordsAnErrorRunSayingWhy) {
  cluster_fixture c;
  c.lock->script.push_back({cluster_lock_status::unavailable, "connection refused", nullptr});
  outcome result;
  bool ran = false;
  async_run(c.f.reg, c.sync(), [&](run&) { ran = true; },
            [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); });
  ASSERT_TRUE(c.run_until([&] { return result.has_value(); }));
  EXPECT_EQ(result->first, make_error_code(errc::cluster_lock_unavailable));
  EXPECT_EQ(result->second, task_status::error);
  EXPECT_FALSE(ran);
  const auto status = c.f.reg.sync_status("google_workspace", 1);
  ASSERT_EQ(status->tasks.size(), 1u);
  EXPECT_EQ(status->tasks[0].status(), task_status::error);
  const std::string messages = engine_fixture::messages_of(status->tasks[0]);
  EXPECT_NE(messages.find("cluster sync lock is unavailable (connection refused)"), std::string::npos) << messages;
  EXPECT_FALSE(status->is_running);
}

TEST(ClusterLock, AcquiredWithAReasonRecordsItAsAWarning) {
  cluster_fixture c;
  c.lock->script.push_back({cluster_lock_status::acquired, "database unreachable: local lock only", nullptr});
  outcome result;
  async_run(c.f.reg, c.sync(), [](run&) {}, [&](boost::system::error_code ec, task_status s) { result.emplace(ec, s); });
  ASSERT_TRUE(c.run_until([&] { return result.has_value(); }));
  EXPECT_FALSE(result->first);
  const auto status = c.f.reg.sync_status("google_workspace", 1);
  ASSERT_EQ(status->tasks.size(), 1u);
  const std::string messages = engine_fixture::messages_of(status->tasks[0]);
  EXPECT_NE(messages.find("\"log_level\":\"warning\""), std::string::npos) << messages;
  EXPECT_NE(messages.find("local lock only"), std::string::npos) << messages;
}

TEST(ClusterLock, LocalSyncRunningSkipsLocallyWithoutAskingTheService) {
  cluster_fixture c;
  outcome first, second;
  bool release = false;
  async_run(
      c.f.reg, c.sync(),
      [&](run&) -> asio::awaitable<task_status> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (!release) {
          t.expires_after(std::chrono::milliseconds(1));
          co_await t.async_wait(asio::use_awaitable);
        }
        co_return task_status::successful;
      },
      [&](boost::system::error_code ec, task_status s) { first.emplace(ec, s); });
  ASSERT_TRUE(c.run_until([&] { return c.f.reg.sync_status("google_workspace", 1)->is_running; }));
  async_run(c.f.reg, c.sync(), [](run&) {}, [&](boost::system::error_code ec, task_status s) { second.emplace(ec, s); });
  ASSERT_TRUE(c.run_until([&] { return second.has_value(); }));
  EXPECT_EQ(second->first, make_error_code(errc::sync_already_running));
  {
    std::lock_guard guard(c.lock->mutex);
    EXPECT_EQ(c.lock->requests, 1) << "a sync running here answers without the service";
  }
  release = true;
  ASSERT_TRUE(c.run_until([&] { return first.has_value(); }));
  const auto status = c.f.reg.sync_status("google_workspace", 1);
  ASSERT_EQ(status->tasks.size(), 1u);
  EXPECT_NE(engine_fixture::messages_of(status->tasks[0]).find("skipped"), std::string::npos)
      << "the local skip message, as without a cluster lock";
}

TEST(ClusterLock, HeldElsewhereMakesIsRunningTrueWithoutARun) {
  cluster_fixture c;
  EXPECT_FALSE(c.f.reg.sync_status("google_workspace", 1)->is_running);
  {
    std::lock_guard guard(c.lock->mutex);
    c.lock->elsewhere.insert("google_workspace/1");
  }
  const auto status = c.f.reg.sync_status("google_workspace", 1);
  EXPECT_TRUE(status->is_running);
  EXPECT_EQ(status->last_sync_status, sync_outcome::running) << "no outcome known yet";
  const auto summaries = c.f.reg.providers();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_TRUE(summaries[0].sync_running);
}

TEST(ClusterLock, StartRefusesProviderSyncsButNotOtherTasks) {
  cluster_fixture c;
  EXPECT_THROW((void)c.f.reg.start(c.sync()), std::logic_error);
  run_spec by_name{.name = "google_workspace_sync", .uid = "acme-workspace"};
  EXPECT_THROW((void)c.f.reg.start(by_name), std::logic_error) << "a provider's sync by its task key too";
  run other = c.f.reg.start({.name = "cleanup"});
  EXPECT_TRUE(other);
  other.finish(task_status::successful);
  EXPECT_TRUE(c.f.reg.sync_status("google_workspace", 1)->tasks.empty()) << "nothing recorded by the refusal";
}

TEST(ClusterLock, ASchedulerCountsASyncRunningElsewhereAsSkipped) {
  cluster_fixture c;
  c.lock->script.push_back({cluster_lock_status::held_elsewhere, "replica b", nullptr});
  scheduler sched(c.f.reg);
  std::optional<boost::system::error_code> done;
  schedule_spec spec;
  spec.run = c.sync();
  spec.body = [](run&) -> asio::awaitable<task_status> { co_return task_status::successful; };
  spec.interval = std::chrono::hours(1);
  spec.paused = true;
  spec.on_done = [&](boost::system::error_code ec, task_status) { done = ec; };
  const schedule_info added = sched.add(spec);
  ASSERT_TRUE(sched.send_now(added.id));
  ASSERT_TRUE(c.run_until([&] { return done.has_value(); }));
  EXPECT_EQ(*done, make_error_code(errc::sync_running_elsewhere));
  const auto info = sched.find(added.id);
  EXPECT_EQ(info->skipped, 1u);
  EXPECT_FALSE(info->last_start_error) << "a skip, not a failure to start";
  EXPECT_FALSE(info->last_run);
}

TEST(ClusterLock, SetOnceAndNeverNull) {
  engine_fixture f;
  EXPECT_EQ(f.reg.cluster_lock(), nullptr);
  EXPECT_THROW(f.reg.set_cluster_lock(nullptr), std::invalid_argument);
  asio::io_context answers;
  auto lock = std::make_shared<scripted_lock>(answers);
  f.reg.set_cluster_lock(lock);
  EXPECT_EQ(f.reg.cluster_lock(), lock);
  EXPECT_THROW(f.reg.set_cluster_lock(lock), std::logic_error);
}

TEST(ClusterLock, SyncProviderResolvesBothSpellingsOfASync) {
  engine_fixture f;
  f.reg.register_provider("scim", 7, "HR Directory");
  const auto by_ref = f.reg.sync_provider(f.reg.sync_spec("scim", 7));
  ASSERT_TRUE(by_ref);
  EXPECT_EQ(by_ref->kind, "scim");
  EXPECT_EQ(by_ref->id, 7);
  run_spec by_name{.name = "scim_sync", .uid = "hr-directory"};
  const auto by_key = f.reg.sync_provider(by_name);
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->id, 7);
  run_spec other{.name = "cleanup"};
  EXPECT_FALSE(f.reg.sync_provider(other));
  run_spec unknown{.provider = provider_ref{"scim", 8}};
  EXPECT_FALSE(f.reg.sync_provider(unknown));
}

}  // namespace
