#include <systask/api/facade.hpp>
#include <systask/engine/render.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using namespace std::chrono_literals;
using namespace systask;
using systask::test::api_fixture;

TEST(Metrics, ExposesRunsDurationsAndMessages) {
  api_fixture f;
  task_options o;
  o.history_depth = 5;
  o.max_messages = 2;
  f.reg.configure_task("scim_sync", o);
  f.reg.register_provider("scim", 3, "Acme \"SCIM\"\\prod");
  for (auto s : {task_status::successful, task_status::error}) {
    run r = f.reg.start(f.reg.sync_spec("scim", 3));
    for (int i = 0; i < 3; ++i) r.info("m");
    f.clock->advance(2s);
    r.finish(s);
  }
  run running = f.reg.start({.name = "cleanup"});
  const std::string text = api::render_metrics(f.reg);
  const std::string l = R"({name="scim_sync",uid="acme-scimprod"})";
  EXPECT_NE(text.find("# TYPE systask_runs_finished_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("systask_runs_finished_total" + l.substr(0, l.size() - 1) + R"(,status="successful"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("systask_runs_finished_total" + l.substr(0, l.size() - 1) + R"(,status="error"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find("systask_run_duration_seconds_bucket" + l.substr(0, l.size() - 1) + R"(,le="1"} 0)"),
            std::string::npos);
  EXPECT_NE(text.find("systask_run_duration_seconds_bucket" + l.substr(0, l.size() - 1) + R"(,le="5"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find("systask_run_duration_seconds_bucket" + l.substr(0, l.size() - 1) + R"(,le="+Inf"} 2)"),
            std::string::npos);
  EXPECT_NE(text.find("systask_run_duration_seconds_sum" + l + " 4\n"), std::string::npos);
  EXPECT_NE(text.find("systask_run_duration_seconds_count" + l + " 2\n"), std::string::npos);
  EXPECT_NE(text.find("systask_messages_dropped_total" + l + " 2\n"), std::string::npos) << "1 per run";
  EXPECT_NE(text.find("systask_messages_retained" + l + " 4\n"), std::string::npos);
  EXPECT_NE(text.find("systask_runs_retained" + l + " 2\n"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_runs_running{name="cleanup",uid=""} 1)"), std::string::npos);
  running.finish(task_status::successful);
}

TEST(Metrics, EscapesLabelValues) {
  api_fixture f;
  f.reg.start({.name = "a\"b\\c\nd"}).finish(task_status::successful);
  const std::string text = api::render_metrics(f.reg);
  EXPECT_NE(text.find(R"(name="a\"b\\c\nd")"), std::string::npos) << text;
}

// The engine repairs names given to start(), but a provider's kind becomes its task's name as
// it was registered; the text format requires UTF-8 label values (promtool refuses others).
TEST(Metrics, LabelValuesAreUtf8WhateverTheHostPassed) {
  api_fixture f;
  // A kind is a lookup key: the engine refuses one that is not UTF-8 rather than repair it.
  EXPECT_THROW(f.reg.register_provider("sc\xffim", 3, "Acme"), std::invalid_argument);
  // A task name is repaired when the run starts, so /metrics only ever sees the repaired text.
  f.reg.start({.name = "imp\xffort\xc3", .uid = "u\xfe"}).finish(task_status::successful);
  const std::string text = api::render_metrics(f.reg);
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_NE(text.find("systask_runs_running{name=\"imp\xef\xbf\xbdort\xef\xbf\xbd\",uid=\"u\xef\xbf\xbd\"} 0\n"),
            std::string::npos)
      << text;
}

}  // namespace
