// SPDX-License-Identifier: BSL-1.0
#include <systask/boost_log/backend.hpp>

#include "bridge_check.hpp"
#include "engine_fixture.hpp"

#include <boost/log/attributes/constant.hpp>
#include <boost/log/attributes/scoped_attribute.hpp>
#include <boost/log/core.hpp>
#include <boost/log/sinks/async_frontend.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_channel_logger.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/log/utility/manipulators/add_value.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

using namespace systask;
using systask::test::engine_fixture;
using systask::test::messages_of;
namespace logging = boost::log;
namespace trivial = boost::log::trivial;

using channel_logger = logging::sources::severity_channel_logger_mt<trivial::severity_level, std::string>;

// Boost.Log's core is global: each test adds its sink (and the current-run attribute) and
// removes them again.
template <class Frontend>
struct installed {
  installed() : backend(boost::make_shared<boost_log_backend>()), sink(boost::make_shared<Frontend>(backend)) {
    logging::core::get()->add_sink(sink);
    logging::core::get()->add_global_attribute(boost_log_run_attribute_name, current_run_attribute());
  }
  ~installed() {
    logging::core::get()->remove_sink(sink);
    logging::core::get()->remove_global_attribute(
        logging::core::get()->get_global_attributes().find(boost_log_run_attribute_name));
    sink->flush();
  }
  boost::shared_ptr<boost_log_backend> backend;
  boost::shared_ptr<Frontend> sink;
};

using sync_sink = logging::sinks::synchronous_sink<boost_log_backend>;
using async_sink = logging::sinks::asynchronous_sink<boost_log_backend>;

TEST(BoostLogBackend, MapsSeverityChannelMessageAndCallSite) {
  engine_fixture f;
  installed<sync_sink> bridge;
  channel_logger lg(logging::keywords::channel = "importer");
  logging::sources::severity_logger_mt<log_level> own;  // severities of systask's own type
  run r = f.reg.start({.name = "import"});
  {
    run_scope scope(r);
    BOOST_LOG_SEV(lg, trivial::trace) << "t " << 1;
    BOOST_LOG_SEV(lg, trivial::debug) << "d";
    BOOST_LOG_SEV(lg, trivial::info) << "i";
    BOOST_LOG_SEV(lg, trivial::warning) << "w";
    BOOST_LOG_SEV(lg, trivial::error) << "e";
    BOOST_LOG_SEV(lg, trivial::fatal) << "f";
    BOOST_LOG_SEV(own, log_level::exception) << "own level";
    BOOST_LOG_SEV(lg, trivial::info) << logging::add_value("File", std::string("importer.cpp"))
                                     << logging::add_value("Line", 42) << "with a call site";
  }
  r.finish(task_status::successful);
  const auto got = messages_of(f.reg, "import");
  ASSERT_EQ(got.size(), 8u);
  const std::vector<std::pair<std::string, std::string>> want{
      {"debug", "t 1"}, {"debug", "d"},       {"info", "i"},         {"warning", "w"},
      {"error", "e"},   {"critical", "f"},    {"exception", "own level"}, {"info", "with a call site"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].level, want[i].first) << i;
    EXPECT_EQ(got[i].event, want[i].second) << i;
    EXPECT_EQ(got[i].logger, i == 6 ? "boost.log" : "importer") << "no Channel: the backend's logger";
  }
  EXPECT_EQ(got[7].file, "importer.cpp");
  EXPECT_EQ(got[7].line, 42);
  EXPECT_FALSE(got[0].file);
  EXPECT_EQ(bridge.backend->routed(), 8u);
}

TEST(BoostLogBackend, RecordsWithNoRunOrAFinishedRunAreCountedAndGoNowhere) {
  engine_fixture f;
  installed<sync_sink> bridge;
  channel_logger lg(logging::keywords::channel = "c");
  BOOST_LOG_SEV(lg, trivial::info) << "no run";
  run r = f.reg.start({.name = "t"});
  {
    run_scope scope(r);
    BOOST_LOG_SEV(lg, trivial::info) << "kept";
    r.finish(task_status::successful);
    BOOST_LOG_SEV(lg, trivial::info) << "after the finish";
  }
  EXPECT_EQ(bridge.backend->routed(), 1u);
  EXPECT_EQ(bridge.backend->unrouted(), 1u);
  EXPECT_EQ(bridge.backend->refused(), 1u);
  ASSERT_EQ(messages_of(f.reg, "t").size(), 1u);
}

// Three threads log at once, each in its own run, through an asynchronous frontend: the
// frontend's thread consumes the records, and the run travels inside each record. Every
// message lands in its own run, in order, at its level.
TEST(BoostLogBackend, AnAsynchronousFrontendDeliversEachRecordToTheRunOfItsThread) {
  constexpr int threads = 3, per_thread = 300;
  engine_fixture f;
  installed<async_sink> bridge;
  std::vector<run> runs;
  for (int t = 0; t < threads; ++t) runs.push_back(f.reg.start({.name = systask::test::numbered("thread_", t)}));
  constexpr trivial::severity_level sev[] = {trivial::info, trivial::warning, trivial::error};
  constexpr const char* names[] = {"info", "warning", "error"};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      channel_logger lg(logging::keywords::channel = systask::test::numbered("worker_", t));
      run_scope scope(runs[static_cast<std::size_t>(t)]);
      for (int i = 0; i < per_thread; ++i) BOOST_LOG_SEV(lg, sev[i % 3]) << "t" << t << " m" << i;
    });
  }
  for (auto& w : workers) w.join();
  bridge.sink->flush();  // asynchronous_sink::flush waits until the queued records are consumed
  for (auto& r : runs) r.finish(task_status::successful);
  EXPECT_EQ(bridge.backend->routed(), static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(bridge.backend->unrouted() + bridge.backend->refused(), 0u);
  systask::test::expect_each_thread_in_its_own_run(
      f.reg, threads, per_thread, [&](int i) { return std::string(names[i % 3]); },
      [](int t) { return systask::test::numbered("worker_", t); });
}

// A scoped thread attribute naming the run works without the current-run attribute (and
// takes precedence over it: a thread attribute hides a global one of the same name).
TEST(BoostLogBackend, AScopedThreadAttributeNamesTheRun) {
  engine_fixture f;
  auto backend = boost::make_shared<boost_log_backend>();
  auto sink = boost::make_shared<sync_sink>(backend);
  logging::core::get()->add_sink(sink);
  run a = f.reg.start({.name = "a"});
  run b = f.reg.start({.name = "b"});
  channel_logger lg(logging::keywords::channel = "scoped");
  {
    BOOST_LOG_SCOPED_THREAD_ATTR(boost_log_run_attribute_name, logging::attributes::constant<run_ref>(a.ref()));
    run_scope other(b);  // no current-run attribute installed here: the scoped one decides
    BOOST_LOG_SEV(lg, trivial::info) << "to a";
  }
  logging::core::get()->remove_sink(sink);
  a.finish(task_status::successful);
  b.finish(task_status::successful);
  ASSERT_EQ(messages_of(f.reg, "a").size(), 1u);
  EXPECT_TRUE(messages_of(f.reg, "b").empty());
  EXPECT_EQ(backend->routed(), 1u);
}

}  // namespace
