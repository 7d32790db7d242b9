// SPDX-License-Identifier: BSL-1.0
// systask::spdlog: a host's existing spdlog calls land in the systask run they are made in.
// Both patterns of docs/integration.md: a synchronous logger with the current-run sink, and an
// async logger per run whose sink holds the run.
#include <systask/engine.hpp>
#include <systask/spdlog/sink.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/async.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace asio = boost::asio;

namespace {

// Host code that knows nothing of systask: it logs through its usual spdlog logger.
void import_users(spdlog::logger& log, int count) {
  for (int i = 0; i < count; ++i) {
    if (i == 2) SPDLOG_LOGGER_WARN(&log, "user {} has no email address", i);
  }
  log.info("imported {} users", count);
}

}  // namespace

int main() {
  asio::io_context io;
  systask::registry reg(io);

  // 1. A synchronous logger with the current-run sink: whatever is logged while a run is
  //    current on this thread (run_scope, or async_run's body at every resumption) is the
  //    run's message; the rest is counted as unrouted and goes nowhere.
  auto sink = std::make_shared<systask::spdlog_sink>();
  auto log = std::make_shared<spdlog::logger>("importer", sink);
  bool done = false;
  systask::async_run(
      reg, {.name = "user_import", .uid = "nightly"},
      [&](systask::run&) -> asio::awaitable<void> {
        import_users(*log, 3);
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
        co_await pause.async_wait(asio::use_awaitable);
        log->info("still the same run after a co_await");
      },
      [&](boost::system::error_code, systask::task_status) { done = true; });
  while (!done) io.run_one();
  log->info("outside any run: counted, not stored");

  // 2. An async logger calls its sinks on spdlog's pool thread, where no run is current: give
  //    each run its own logger whose sink holds the run, and deliver before finishing.
  auto pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);  // one worker: see flush_and_wait
  systask::run r = reg.start({.name = "report_export"});
  auto run_sink = std::make_shared<systask::spdlog_sink>(r.ref());
  auto export_log = std::make_shared<spdlog::async_logger>("exporter", run_sink, pool);  // shared: spdlog needs it
  export_log->info("exported {} rows", 1200);
  run_sink->flush_and_wait(*export_log);  // spdlog 1.10: flush() alone does not wait
  r.finish(systask::task_status::successful);

  for (const char* name : {"user_import", "report_export"}) {
    std::string json;
    reg.tasks(name, name[0] == 'u' ? "nightly" : "").at(0).write_messages_json(json);
    std::printf("%s: %s\n", name, json.c_str());
  }
  std::printf("unrouted: %llu\n", static_cast<unsigned long long>(sink->unrouted()));
  return sink->routed() == 3 && sink->unrouted() == 1 && run_sink->routed() == 1 ? 0 : 1;
}
