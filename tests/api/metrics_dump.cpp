// SPDX-License-Identifier: BSL-1.0
// Prints the metrics of a registry with finished, failed, running and lossy runs, and a task
// name given as invalid UTF-8, so that `promtool check metrics` can judge the real output (see
// tests/CMakeLists.txt), with two stores attached.

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>

int main() {
  using namespace systask;
  boost::asio::io_context io;
  auto clock = std::make_shared<manual_clock>();
  registry reg(io, registry_options{{}, clock});
  task_options small;
  small.max_messages = 2;
  reg.configure_task("scim_sync", small);
  reg.register_provider("scim", 3, "Acme \"SCIM\" \\ prod");
  for (auto s : {task_status::successful, task_status::warning, task_status::error}) {
    run r = reg.start(reg.sync_spec("scim", 3));
    for (int i = 0; i < 5; ++i) r.info("page");
    clock->advance(std::chrono::milliseconds(700));
    r.finish(s);
  }
  reg.start({.name = "cleanup", .uid = "line\nbreak"}).finish(task_status::successful);
  reg.start({.name = "not\xffutf8"}).finish(task_status::successful);  // repaired when the run starts
  run running = reg.start({.name = "import"});
  // A store, so that promtool checks the systask_store_* lines too: one healthy, one degraded
  // with a backend name that needs escaping.
  struct fixed_store : store_status_source {
    store_stats s;
    store_stats stats() const noexcept override { return s; }
  };
  auto ok = std::make_shared<fixed_store>();
  ok->s = {"sqlite", store_state::ok, "", 2, 40, 1, 0, clock->wall_now(), {}, {}};
  auto bad = std::make_shared<fixed_store>();
  bad->s = {"pg \"primary\"", store_state::degraded, "connection refused", 10, 5, 0, 3, std::nullopt, {}, {}};
  bad->s.extra = {{"connected", "1 while connected.", false, 0}, {"mirrored_runs_total", "Runs mirrored.", true, 12}};
  reg.attach_store(ok);
  reg.attach_store(bad);
  std::fputs(api::render_metrics(reg).c_str(), stdout);
  running.finish(task_status::successful);
  return 0;
}
