// Prints the metrics of a registry with finished, failed, running and lossy runs, and a task
// name given as invalid UTF-8, so that `promtool check metrics` can judge the real output (see
// tests/CMakeLists.txt).

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
  std::fputs(api::render_metrics(reg).c_str(), stdout);
  running.finish(task_status::successful);
  return 0;
}
