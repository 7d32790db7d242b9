// systask-demo (engine-only version): starts a few tracked runs on an Asio thread pool, the way
// an identity provider syncs its directory, and prints what the registry holds.
// The HTTP API and the full demo arrive with the facade and HTTP issues.

#include <systask/engine.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <string>

namespace asio = boost::asio;

int main() {
  asio::thread_pool pool(2);
  systask::registry reg(pool);
  reg.register_provider("google_workspace", 1, "Acme Google Workspace");
  reg.register_provider("microsoft_entra", 2, "Acme Entra");
  reg.register_provider("scim", 3, "Acme SCIM");
  reg.prefill({.name = "directory_cleanup", .uid = "", .description = "Remove stale directory objects"});

  auto sync = [](systask::run& r) -> asio::awaitable<systask::task_status> {
    systask::task_status status = systask::task_status::successful;
    for (int page = 0; page < 3; ++page) {
      asio::steady_timer latency(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
      co_await latency.async_wait(asio::use_awaitable);
      r.log(systask::log_level::info, "authentik.lib.sync.outgoing", "Synced page", {{"page", page}, {"objects", 100}});
    }
    if (r.name() == "microsoft_entra_sync") {
      r.log(systask::log_level::warning, "Microsoft Entra Provider@authentik.core.models.User", "Failed to sync user",
            {{"obj", "alice@acme.example"}, {"reason", "HTTP 429, retried 3 times"}});
      status = systask::task_status::warning;
    }
    co_return status;
  };
  std::vector<std::future<systask::task_status>> done;
  for (auto [kind, id] : {std::pair{"google_workspace", 1}, {"microsoft_entra", 2}, {"scim", 3}}) {
    done.push_back(systask::async_run(reg, reg.sync_spec(kind, id), sync, asio::use_future));
  }
  for (auto& d : done) d.get();

  for (auto [kind, id] : {std::pair{"google_workspace", 1}, {"microsoft_entra", 2}, {"scim", 3}}) {
    const auto st = reg.sync_status(kind, id);
    std::printf("%s %d \"%s\": is_running=%s\n", kind, id, st->provider.name.c_str(), st->is_running ? "true" : "false");
    for (const auto& t : st->tasks) {
      std::string messages;
      t.write_messages_json(messages);
      std::printf("  %s:%s status=%s duration=%.3fs expires=%s\n  messages=%s\n", std::string(t.name()).c_str(),
                  std::string(t.uid()).c_str(), std::string(systask::to_string(t.status())).c_str(), t.duration(),
                  systask::format_timestamp(*t.expires()).c_str(), messages.c_str());
    }
  }
  pool.stop();
  pool.join();
  return 0;
}
