// SPDX-License-Identifier: BSL-1.0
#include <systask/api/facade.hpp>
#include <systask/engine/render.hpp>

#include "api_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdio>
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

TEST(Metrics, BatchJobMetricsLastSuccessMessagesByLevelAndProviderSyncs) {
  task_options o;
  o.retention = 60s;
  api_fixture f;
  f.reg.configure_task("job", o);
  f.reg.register_provider("scim", 3, "Acme");
  f.reg.register_provider("scim", 4, "Other");
  const wall_time success_at = f.clock->wall_now() + 1500ms;
  {
    run r = f.reg.start({.name = "job"});
    r.info("a");
    r.info("b");
    r.warning("c");
    f.clock->advance(1500ms);
    r.finish(task_status::successful);
  }
  {
    run r = f.reg.start({.name = "job"});
    r.error("d");
    f.clock->advance(1s);
    r.finish(task_status::error);  // not a success: the last success stays the first run's
  }
  run sync = f.reg.start(f.reg.sync_spec("scim", 3));
  sync.info("counted only once the sync finishes");
  // The records expire; the last success is kept.
  f.poll();
  f.clock->advance(2min);
  f.reg.reclaim_expired();
  f.poll();
  ASSERT_TRUE(f.reg.tasks("job", "").empty());
  const std::string text = api::render_metrics(f.reg);
  const std::string job = R"({name="job",uid=""})";
  char expected[64];
  std::snprintf(expected, sizeof expected, " %.1f\n",
                std::chrono::duration<double>(success_at.time_since_epoch()).count());
  EXPECT_NE(text.find("# TYPE systask_last_success_timestamp_seconds gauge\n"), std::string::npos);
  EXPECT_NE(text.find("systask_last_success_timestamp_seconds" + job + expected), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE systask_messages_total counter\n"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_messages_total{name="job",uid="",level="info"} 2)" "\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(systask_messages_total{name="job",uid="",level="warning"} 1)" "\n"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_messages_total{name="job",uid="",level="error"} 1)" "\n"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_messages_total{name="job",uid="",level="debug"} 0)" "\n"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_messages_total{name="scim_sync",uid="acme",level="info"} 0)" "\n"),
            std::string::npos)
      << "a running run's messages are not counted yet";
  EXPECT_EQ(text.find(R"(systask_last_success_timestamp_seconds{name="scim_sync")"), std::string::npos)
      << "no success yet";
  EXPECT_NE(text.find("# TYPE systask_provider_sync_running gauge\n"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_provider_sync_running{kind="scim",id="3"} 1)" "\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(systask_provider_sync_running{kind="scim",id="4"} 0)" "\n"), std::string::npos);
  sync.finish(task_status::successful);
  const std::string after = api::render_metrics(f.reg);
  EXPECT_NE(after.find(R"(systask_provider_sync_running{kind="scim",id="3"} 0)" "\n"), std::string::npos);
  EXPECT_NE(after.find(R"(systask_messages_total{name="scim_sync",uid="acme",level="info"} 1)" "\n"),
            std::string::npos);
  EXPECT_NE(after.find(R"(systask_last_success_timestamp_seconds{name="scim_sync",uid="acme"})"), std::string::npos);
  EXPECT_EQ(text.find("systask_store_"), std::string::npos) << "no store attached: no store metrics";
}

// A store whose counters are what the test sets.
struct fixed_store : store_status_source {
  store_stats s;
  store_stats stats() const noexcept override { return s; }
};

TEST(Metrics, StoreMetricsForEachAttachedStore) {
  api_fixture f;
  auto a = std::make_shared<fixed_store>();
  a->s = {"sqlite", store_state::degraded, "disk full", 7, 100, 3, 2, f.clock->wall_now(), {}, {}};
  f.reg.attach_store(a);
  auto twin = std::make_shared<fixed_store>();
  twin->s.backend = "sqlite";
  EXPECT_THROW(f.reg.attach_store(twin), std::invalid_argument) << "one store per backend name";
  EXPECT_THROW(f.reg.attach_store(a), std::invalid_argument);
  EXPECT_THROW(f.reg.attach_store(nullptr), std::invalid_argument);
  ASSERT_EQ(f.reg.store_stats().size(), 1u);
  EXPECT_EQ(f.reg.store_stats()[0].reason, "disk full");
  const std::string text = api::render_metrics(f.reg);
  EXPECT_NE(text.find("# TYPE systask_store_pending_runs gauge\n" R"(systask_store_pending_runs{backend="sqlite"} 7)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(systask_store_written_runs_total{backend="sqlite"} 100)"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_store_dropped_runs_total{backend="sqlite"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_store_write_errors_total{backend="sqlite"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_store_last_success_timestamp_seconds{backend="sqlite"} 1722268288)" "\n"),
            std::string::npos);
  EXPECT_NE(text.find(R"(systask_store_state{backend="sqlite",state="degraded"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(systask_store_state{backend="sqlite",state="ok"} 0)"), std::string::npos);
  EXPECT_EQ(text.find("systask_store_mirror"), std::string::npos) << "no extra series: none shown";
  EXPECT_TRUE(f.reg.detach_store(a));
  EXPECT_FALSE(f.reg.detach_store(a));
  EXPECT_EQ(api::render_metrics(f.reg).find("systask_store_"), std::string::npos);
}

TEST(Metrics, AStoresOwnSeriesAreShownPerBackendUnderOneHeader) {
  api_fixture f;
  auto pg = std::make_shared<fixed_store>();
  pg->s.backend = "postgresql";
  pg->s.extra = {{"mirror_stale_seconds", "Seconds the mirror may have missed.", false, 2.5},
                 {"lock_lost_total", "Locks lost.", true, 3},
                 {"Bad-Name", "skipped", false, 1}};
  auto other = std::make_shared<fixed_store>();
  other->s.backend = "other";
  other->s.extra = {{"lock_lost_total", "Locks lost.", true, 0}};
  f.reg.attach_store(pg);
  f.reg.attach_store(other);
  const std::string text = api::render_metrics(f.reg);
  EXPECT_NE(text.find("# TYPE systask_store_mirror_stale_seconds gauge\n"
                      R"(systask_store_mirror_stale_seconds{backend="postgresql"} 2.5)" "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE systask_store_lock_lost_total counter\n"
                      R"(systask_store_lock_lost_total{backend="postgresql"} 3)" "\n"
                      R"(systask_store_lock_lost_total{backend="other"} 0)" "\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("Bad-Name"), std::string::npos) << "an invalid name is skipped, not rendered";
}

TEST(Metrics, AStoresHistogramsAreShownCumulativeWithSumAndCount) {
  api_fixture f;
  auto pg = std::make_shared<fixed_store>();
  pg->s.backend = "postgresql";
  pg->s.histograms = {{"lock_acquire_wait_seconds", "Waits.", {0.001, 0.01}, {2, 3, 1}, 0.125},
                      {"broken", "counts do not match the bounds", {0.001}, {1}, 0}};
  f.reg.attach_store(pg);
  const std::string text = api::render_metrics(f.reg);
  EXPECT_NE(text.find("# HELP systask_store_lock_acquire_wait_seconds Waits.\n"
                      "# TYPE systask_store_lock_acquire_wait_seconds histogram\n"
                      R"(systask_store_lock_acquire_wait_seconds_bucket{backend="postgresql",le="0.001"} 2)" "\n"
                      R"(systask_store_lock_acquire_wait_seconds_bucket{backend="postgresql",le="0.01"} 5)" "\n"
                      R"(systask_store_lock_acquire_wait_seconds_bucket{backend="postgresql",le="+Inf"} 6)" "\n"
                      R"(systask_store_lock_acquire_wait_seconds_sum{backend="postgresql"} 0.125)" "\n"
                      R"(systask_store_lock_acquire_wait_seconds_count{backend="postgresql"} 6)" "\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("systask_store_broken"), std::string::npos) << "counts that do not match the bounds: skipped";
}

}  // namespace
