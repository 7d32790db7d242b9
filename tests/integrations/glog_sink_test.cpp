// SPDX-License-Identifier: BSL-1.0
#include <systask/glog/sink.hpp>

#include "bridge_check.hpp"
#include "engine_fixture.hpp"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

using namespace systask;
using systask::test::engine_fixture;
using systask::test::messages_of;

// Registers the sink for one test, and always unregisters it.
struct registered {
  explicit registered(glog_sink& s) : sink(s) { google::AddLogSink(&sink); }
  ~registered() { google::RemoveLogSink(&sink); }
  glog_sink& sink;
};

TEST(GlogSink, MapsSeveritiesTextAndCallSite) {
  engine_fixture f;
  glog_sink sink("ldap");
  registered reg(sink);
  run r = f.reg.start({.name = "ldap_sync"});
  int first_line = 0;
  {
    run_scope scope(r);
    first_line = __LINE__ + 1;
    LOG(INFO) << "bound as " << "cn=admin";
    LOG(WARNING) << "entry without mail: " << 42;
    LOG(ERROR) << "search failed";
    VLOG(0) << "verbose level 0";
  }
  r.finish(task_status::successful);
  const auto got = messages_of(f.reg, "ldap_sync");
  ASSERT_EQ(got.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> want{{"info", "bound as cn=admin"},
                                                              {"warning", "entry without mail: 42"},
                                                              {"error", "search failed"},
                                                              {"info", "verbose level 0"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].level, want[i].first) << i;
    EXPECT_EQ(got[i].event, want[i].second) << i;
    EXPECT_EQ(got[i].logger, "ldap") << i;
    EXPECT_EQ(got[i].file, __FILE__) << i;
    EXPECT_EQ(got[i].line, first_line + static_cast<int>(i)) << i;
  }
  EXPECT_EQ(glog_sink::map_level(google::GLOG_FATAL), log_level::critical);  // FATAL aborts: not logged here
  EXPECT_EQ(sink.routed(), 4u);
}

TEST(GlogSink, MessagesWithNoCurrentRunOrAFinishedRunAreCountedAndGoNowhere) {
  engine_fixture f;
  glog_sink sink;
  registered reg(sink);
  LOG(INFO) << "no run";
  run r = f.reg.start({.name = "t"});
  {
    run_scope scope(r);
    LOG(INFO) << "kept";
    r.finish(task_status::successful);
    LOG(INFO) << "after the finish";
  }
  EXPECT_EQ(sink.routed(), 1u);
  EXPECT_EQ(sink.unrouted(), 1u);
  EXPECT_EQ(sink.refused(), 1u);
  const auto got = messages_of(f.reg, "t");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event, "kept");
  EXPECT_EQ(got[0].logger, "glog");
}

// Three threads log at once, each into its own run: every message in its own run, in order.
TEST(GlogSink, ThreadsLogIntoTheirOwnRuns) {
  constexpr int threads = 3, per_thread = 300;
  engine_fixture f;
  glog_sink sink;
  registered reg(sink);
  std::vector<run> runs;
  for (int t = 0; t < threads; ++t) runs.push_back(f.reg.start({.name = systask::test::numbered("thread_", t)}));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      run_scope scope(runs[static_cast<std::size_t>(t)]);
      for (int i = 0; i < per_thread; ++i) {
        if (i % 3 == 0) {
          LOG(INFO) << "t" << t << " m" << i;
        } else if (i % 3 == 1) {
          LOG(WARNING) << "t" << t << " m" << i;
        } else {
          LOG(ERROR) << "t" << t << " m" << i;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& r : runs) r.finish(task_status::successful);
  EXPECT_EQ(sink.routed(), static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(sink.unrouted() + sink.refused(), 0u);
  constexpr const char* levels[] = {"info", "warning", "error"};
  systask::test::expect_each_thread_in_its_own_run(f.reg, threads, per_thread,
                                                   [&](int i) { return std::string(levels[i % 3]); });
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  google::InitGoogleLogging(argv[0]);
  // The sink is what is tested: no log files, and only FATAL on stderr.
  FLAGS_stderrthreshold = google::GLOG_FATAL;
  for (int severity = google::GLOG_INFO; severity < google::NUM_SEVERITIES; ++severity) {
    google::SetLogDestination(severity, "");
  }
  const int rc = RUN_ALL_TESTS();
  google::ShutdownGoogleLogging();
  return rc;
}
