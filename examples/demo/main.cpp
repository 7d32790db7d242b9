// SPDX-License-Identifier: BSL-1.0
// systask-demo: a small but real host. It embeds systask's engine on an Asio thread pool,
// syncs a generated directory to three providers on schedules the way an identity provider
// does, and serves the authentik-compatible API over HTTP. `systask-demo --help` lists the flags.

#include "directory.hpp"
#include "events.hpp"
#include "progress.hpp"
#include "provider_sync.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>
#include <systask/engine/timestamp.hpp>
#include <systask/http/server.hpp>
#include <systask/store/sqlite.hpp>
#if SYSTASK_DEMO_POSTGRESQL
#include <systask/store/pg_history.hpp>
#include <systask/store/postgresql.hpp>
#endif

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct flags {
  std::size_t users = 2000;
  std::size_t groups = 200;
  std::chrono::seconds interval{30};
  std::string cron;  // a crontab instead of the interval
  demo::sync_settings sync;
  // Real syncs are mostly clean: the chance that a sync has at least one failed object (a
  // warning), which sets the per-object failure rate from the directory's size, unless
  // --failure-rate sets that directly.
  double warning_rate = 0.2;
  bool failure_rate_given = false;
  std::string listen = "127.0.0.1:9000";
  std::string token;
  bool once = false;
  std::chrono::seconds hold{0};
  std::uint64_t seed = std::random_device{}();
  bool progress = true;
  bool json = false;         // NDJSON events on stdout instead of the progress display
  bool markup_user = false;  // a user named like markup, which every provider rejects
  unsigned threads = 2;
  std::string store = "sqlite:systask-demo.db";  // --store: "memory", "sqlite:PATH" or a postgresql:// URI
};

constexpr const char* usage = R"usage(systask-demo: an identity-provider-like host that syncs a generated directory to
Google Workspace, Microsoft Entra and SCIM providers and serves authentik's API for it.

Examples:
  systask-demo                               sync 2000 users every 30 s; the status page is at
                                             http://127.0.0.1:9000/ui/ (the token is printed)
  systask-demo --once --users 200            one sync per provider, its JSON on stdout, then exit
  systask-demo --users 20000 --interval 5    a bigger directory, synced every 5 s
  systask-demo --listen 0.0.0.0:9000 --token "$(openssl rand -hex 20)"
                                             serve other hosts with a chosen token
  systask-demo --json | jq -c 'select(.event == "run_finished")'
                                             one JSON event per line instead of the bars

Usage: systask-demo [flags]

  --users N             users in the generated directory (default 2000)
  --groups N            groups in the generated directory (default 200)
  --interval SECONDS    each provider syncs, and the cleanup runs, every SECONDS (default 30);
                        a sync still running then is not started twice
  --cron EXPR           a 5-field crontab (UTC) instead of --interval, e.g. '*/5 * * * *'
  --latency MS          simulated remote latency per page of 100 objects (default 40)
  --warning-rate P      chance that a sync has failed objects (a warning), 0..1 (default 0.2)
  --failure-rate P      chance that one object fails permanently, 0..1 (default: from
                        --warning-rate and the directory's size)
  --transient-rate P    chance that one object fails transiently and is retried (default 0.03)
  --hard-failure-rate P chance that a sync fails hard part-way, 0..1 (default 0.05)
  --listen HOST:PORT    where to serve the API (default 127.0.0.1:9000; port 0 picks one)
  --token TOKEN         bearer token for the API (default: $SYSTASK_TOKEN, else generated)
  --once                one sync per provider, print each provider's sync-status JSON
                        (one line each, on stdout) and exit 0; the schedules stay paused
  --hold SECONDS        with --once: keep serving the API this long before exiting (default 0)
  --seed N              random seed, for repeatable runs
  --threads N           worker threads of the Asio pool (default 2)
  --no-progress         no live progress display
  --store STORE         where the history is kept: sqlite:PATH (default sqlite:systask-demo.db,
                        in the working directory; survives a restart), memory, or a libpq URI
                        postgresql://USER@HOST:PORT/DB: replicas of the demo started with the
                        same URI share one history and one sync lock per provider
                        (docs/store.md, "Replicas"; scripts/replicas starts two)
  --json                one JSON event per line on stdout (run_started, run_finished,
                        schedule_skipped, schedule_failed, ...; docs/demo.md) instead of the
                        progress display; the banner goes to stderr. Not with --once
  --markup-user         add a user named <script>alert("systask")</script> to the directory;
                        every provider rejects that name with a warning (to see the status page
                        show server text as text)
  --version             print the version and exit
  --help                this text

Colours: only on a terminal, and never when NO_COLOR is set (non-empty) or TERM=dumb.
Exit status: 0 on success, 2 for bad flags, 1 when the API cannot be served.
)usage";

[[noreturn]] void bad_flag(const std::string& message) {
  std::fprintf(stderr, "systask-demo: %s\nTry 'systask-demo --help'.\n", message.c_str());
  std::exit(2);
}

template <class T>
T parse_number(const std::string& flag, const std::string& text, T min, T max) {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || value < min || value > max) {
    bad_flag(flag + " needs a number from " + std::to_string(min) + " to " + std::to_string(max) + ", not '" + text +
             "'");
  }
  return value;
}

double parse_rate(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0 && v <= 1)) bad_flag(flag + " needs a probability from 0 to 1");
  return v;
}

flags parse_flags(int argc, char** argv) {
  flags f;
  f.sync.hard_failure_rate = 0.05;  // an occasional failure, as real syncs have
  if (const char* env = std::getenv("SYSTASK_TOKEN")) f.token = env;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad_flag(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (flag == "--version") {
      std::printf("systask-demo %s\n", systask::version_string);
      std::exit(0);
    } else if (flag == "--json") {
      f.json = true;
    } else if (flag == "--markup-user") {
      f.markup_user = true;
    } else if (flag == "--users") {
      f.users = parse_number<std::size_t>(flag, value(), 0, 10'000'000);
    } else if (flag == "--groups") {
      f.groups = parse_number<std::size_t>(flag, value(), 0, 1'000'000);
    } else if (flag == "--interval") {
      f.interval = std::chrono::seconds(parse_number<long>(flag, value(), 1, 86'400));
    } else if (flag == "--cron") {
      f.cron = value();
      try {
        systask::crontab check(f.cron);
      } catch (const std::invalid_argument& e) {
        bad_flag(std::string("--cron: ") + e.what());
      }
    } else if (flag == "--latency") {
      f.sync.latency = std::chrono::milliseconds(parse_number<long>(flag, value(), 0, 60'000));
    } else if (flag == "--failure-rate") {
      f.sync.object_failure_rate = parse_rate(flag, value());
      f.failure_rate_given = true;
    } else if (flag == "--warning-rate") {
      f.warning_rate = parse_rate(flag, value());
    } else if (flag == "--transient-rate") {
      f.sync.transient_rate = parse_rate(flag, value());
    } else if (flag == "--hard-failure-rate") {
      f.sync.hard_failure_rate = parse_rate(flag, value());
    } else if (flag == "--listen") {
      f.listen = value();
      const auto colon = f.listen.rfind(':');
      if (colon == std::string::npos || colon == 0) bad_flag("--listen needs HOST:PORT, not '" + f.listen + "'");
      parse_number<unsigned>(flag, f.listen.substr(colon + 1), 0, 65535);
    } else if (flag == "--token") {
      f.token = value();
      if (f.token.empty() || f.token.find_first_of(" \t\r\n") != std::string::npos) {
        bad_flag("--token needs a non-empty token without spaces");
      }
    } else if (flag == "--once") {
      f.once = true;
    } else if (flag == "--hold") {
      f.hold = std::chrono::seconds(parse_number<long>(flag, value(), 0, 86'400));
    } else if (flag == "--seed") {
      f.seed = parse_number<std::uint64_t>(flag, value(), 0, UINT64_MAX);
    } else if (flag == "--threads") {
      f.threads = parse_number<unsigned>(flag, value(), 1, 256);
    } else if (flag == "--no-progress") {
      f.progress = false;
    } else if (flag == "--store") {
      f.store = value();
      const bool postgresql = f.store.starts_with("postgresql://") || f.store.starts_with("postgres://");
      if (f.store != "memory" && !postgresql && (!f.store.starts_with("sqlite:") || f.store.size() == 7)) {
        bad_flag("--store needs sqlite:PATH, memory or postgresql://..., not '" + f.store + "'");
      }
#if !SYSTASK_DEMO_POSTGRESQL
      if (postgresql) bad_flag("--store postgresql://... needs systask::store_postgresql, which this build lacks");
#endif
    } else {
      bad_flag("unknown flag '" + flag + "'");
    }
  }
  if (f.json && f.once) bad_flag("--json and --once both use stdout: choose one");
  if (!f.failure_rate_given) {
    // P(no object fails) = (1 - p)^objects = 1 - warning_rate.
    const double objects = static_cast<double>(std::max<std::size_t>(1, f.users + f.groups));
    f.sync.object_failure_rate = f.warning_rate >= 1 ? 1 : 1 - std::pow(1 - f.warning_rate, 1 / objects);
  }
  if (f.token.empty()) {
    std::random_device rd;
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 0; i < 40; ++i) f.token.push_back(hex[rd() % 16]);
  }
  return f;
}

struct provider_def {
  const char* kind;
  std::int64_t id;
  const char* name;
};
constexpr std::array<provider_def, 3> providers = {{{"google_workspace", 1, "Acme Google Workspace"},
                                                     {"microsoft_entra", 2, "Acme Entra"},
                                                     {"scim", 3, "Acme SCIM"}}};

// Waits (at most 5 s) until the store has heard of every run this process finished (the
// registry tells it on its strand), then writes: a stop right after a sync keeps that sync.
void drain_store(const systask::registry& reg, systask::sqlite_store& store) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    std::uint64_t finished = 0;
    for (const auto& c : reg.counters()) {
      for (const auto n : c.finished_by_status) finished += n;
    }
    const auto s = store.stats();
    if (s.pending + s.written + s.dropped >= finished || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(10ms);
  }
  store.flush();
}

}  // namespace

int main(int argc, char** argv) {
  const flags f = parse_flags(argc, argv);
  // With --once or --json stdout carries only JSON; everything for people goes to stderr.
  std::FILE* human = f.once || f.json ? stderr : stdout;

  asio::thread_pool pool(f.threads);
  // The demo's own timers and the signal set are not thread-safe, and the pool has several
  // threads: every use of them below runs on this one strand.
  const auto control = asio::make_strand(pool);
  // The registry's executor is a strand too. async_run's coroutines run on it, and so does the
  // scheduler (its strand is on this one): a cancellation from the scheduler never runs at the
  // same time as the sync it cancels. The sync bodies mostly wait; HTTP connections keep the
  // whole pool.
  systask::registry reg(asio::make_strand(pool));
  for (const auto& p : providers) reg.register_provider(p.kind, p.id, p.name);
  reg.prefill({.name = "source_ldap_sync", .uid = "acme-ldap", .description = "Sync the Acme LDAP source"});
  // With a store, each provider keeps a short history of syncs, so that a restart shows more
  // than the last one.
  if (f.store != "memory") {
    systask::task_options sync_history;
    sync_history.history_depth = 10;
    for (const auto& p : providers) reg.configure_task(std::string(p.kind) + "_sync", sync_history);
  }
  // The history from the last run of the demo, before anything is served. Declared after the
  // registry, so closed before it.
  std::optional<systask::sqlite_store> store;
  const bool replicated = f.store.starts_with("postgres");
#if SYSTASK_DEMO_POSTGRESQL
  // Replicas: one sync lock per provider across every demo started with this URI (taken by the
  // scheduler's async_run), and one history. Both connect in the background; the demo waits a
  // little for the history's first resync so that its first page shows the others' runs.
  std::optional<systask::pg_history> history;
  if (replicated) {
    auto log = [human](std::string_view what, std::string_view message) {
      std::fprintf(human, "%.*s: %.*s\n", static_cast<int>(what.size()), what.data(), static_cast<int>(message.size()),
                   message.data());
      std::fflush(human);
    };
    try {
      systask::pg_cluster_lock_options lo;
      lo.conninfo = f.store;
      lo.on_log = [log](systask::pg_log_level, std::string_view message) { log("cluster lock", message); };
      auto lock = std::make_shared<systask::pg_cluster_lock>(pool.get_executor(), lo);
      reg.set_cluster_lock(lock);
      systask::pg_history_options ho;
      ho.conninfo = f.store;
      ho.on_log = [log](systask::store_state, std::string_view message) { log("store", message); };
      ho.cluster_lock = lock;  // its counters in /metrics
      history.emplace(reg, ho);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "systask-demo: %s\n", e.what());
      return 1;
    }
    const bool ready = history->wait_ready(10s);
    std::fprintf(human, "store: postgresql, replica %s (%s)\n", history->replica_id().c_str(),
                 ready ? "connected" : "not connected yet: recording in memory, retrying");
  }
#endif
  if (f.store != "memory" && !replicated) {
    systask::sqlite_store_options so;
    so.path = f.store.substr(7);
    so.on_log = [human](systask::store_state, std::string_view message) {
      std::fprintf(human, "store: %.*s\n", static_cast<int>(message.size()), message.data());
      std::fflush(human);
    };
    try {
      store.emplace(reg, so);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "systask-demo: %s\n", e.what());
      return 1;
    }
    std::fprintf(human, "store: sqlite %s (%zu runs restored, %zu interrupted)\n", so.path.c_str(),
                 store->restored().runs_restored, store->restored().interrupted.size());
  } else if (!replicated) {
    std::fprintf(human, "store: memory (nothing survives a restart)\n");
  }

  demo::directory dir = demo::directory::generate(f.users, f.groups);
  if (f.markup_user) dir.users.push_back({static_cast<long>(dir.users.size() + 1), demo::markup_user_name});
  std::array<demo::provider_progress, 3> progress;
  for (std::size_t i = 0; i < providers.size(); ++i) progress[i].kind = providers[i].kind;
  std::atomic<std::uint64_t> run_counter{0};
  // A dumb terminal cannot move the cursor: it gets the plain lines, as a pipe does.
  const char* term = std::getenv("TERM");
  const bool dumb = term && std::string_view(term) == "dumb";
  const bool show_progress = f.progress && !f.json && !dumb && isatty(fileno(human));
  // Colour only on a terminal, and never when NO_COLOR is non-empty (no-color.org) or TERM=dumb.
  const char* no_color = std::getenv("NO_COLOR");
  const bool colour = show_progress && !(no_color && *no_color);
  std::shared_ptr<demo::json_events> events;
  if (f.json) {
    events = std::make_shared<demo::json_events>(stdout, *reg.options().clock);
    reg.add_observer(events);
  }

  // --once waits for the first sync of each provider (counted on the scheduler's strand).
  int once_remaining = static_cast<int>(providers.size());
  std::promise<void> all_synced;

  // The periodic syncs and the cleanup are schedules: the scheduler starts each run through
  // async_run on the registry's executor, never two of one schedule at a time, and records the
  // last run of each. Declared after the registry, so destroyed before it.
  systask::scheduler sched(reg);
  std::array<std::string, 4> schedule_ids;  // three provider syncs, then the cleanup
  auto cadence = [&](systask::schedule_spec& spec) {
    if (!f.cron.empty()) {
      spec.crontab = f.cron;
    } else {
      spec.interval = f.interval;
    }
    spec.paused = f.once;  // --once runs each schedule once, by hand
  };
  for (std::size_t i = 0; i < providers.size(); ++i) {
    const auto& p = providers[i];
    systask::schedule_spec spec;
    spec.run = reg.sync_spec(p.kind, p.id, std::string("Run full sync for ") + p.name);
    spec.identifier = spec.run.name + ":" + std::to_string(p.id);
    cadence(spec);
    // A fresh simulated sync per run: outcomes vary from run to run as real syncs do.
    spec.body = [&, i](systask::run& r) -> asio::awaitable<systask::task_status> {
      demo::provider_sync body(providers[i].kind, dir, progress[i], f.sync, f.seed + 7919 * run_counter++);
      co_return co_await body(r);
    };
    spec.on_done = [&, i](boost::system::error_code ec, systask::task_status status) {
      if (events && ec) {
        events->event(ec == systask::errc::sync_already_running ? "schedule_skipped" : "schedule_failed",
                      {{"schedule", schedule_ids[i]}, {"reason", ec.message()}});
      }
      if (ec == systask::errc::sync_already_running) {
        // The registry left a message on the running sync; say it here too, without a terminal.
        if (f.progress && !show_progress && !f.json) {
          std::fprintf(human, "%s: skipped a sync, one is still running\n", providers[i].kind);
          std::fflush(human);
        }
        return;
      }
      // Without a terminal to redraw on, say once per sync how it ended.
      if (f.progress && !show_progress && !f.json) {
        const auto st = reg.sync_status(providers[i].kind, providers[i].id);
        const double secs = st && !st->tasks.empty() ? st->tasks.front().duration() : 0;
        std::fprintf(human, "%s: sync %s: %ld/%ld objects in %.2fs, %ld warnings\n", providers[i].kind,
                     ec ? ec.message().c_str() : std::string(systask::to_string(status)).c_str(),
                     progress[i].done.load(), progress[i].total.load(), secs, progress[i].warnings.load());
        std::fflush(human);
      }
      if (once_remaining > 0 && --once_remaining == 0) all_synced.set_value();
    };
    schedule_ids[i] = sched.add(std::move(spec)).id;
  }
  {
    systask::schedule_spec spec;
    spec.run = {.name = "directory_cleanup", .uid = "", .description = "Remove stale sync objects"};
    spec.identifier = "directory_cleanup";
    cadence(spec);
    spec.body = [](systask::run& r) -> asio::awaitable<systask::task_status> {
      r.info("Removed stale provider objects", {{"removed", 0}});
      co_return systask::task_status::successful;
    };
    schedule_ids[3] = sched.add(std::move(spec)).id;
  }
  // POST /api/v3/events/system_tasks/{uuid}/run/ re-runs a task: through its schedule, so that a
  // run started by hand is not started twice and shows as the schedule's last run.
  for (std::size_t i = 0; i < providers.size(); ++i) {
    reg.set_runner(std::string(providers[i].kind) + "_sync",
                   [&sched, id = schedule_ids[i]](const systask::run_spec&) { sched.send_now(id); });
  }
  reg.set_runner("directory_cleanup", [&sched, id = schedule_ids[3]](const systask::run_spec&) { sched.send_now(id); });

  auto tokens = std::make_shared<systask::api::static_tokens>();
  tokens->add(f.token, {"demo", systask::api::permissions::all()});
  systask::api::facade_options api_options;
  api_options.tokens = tokens;
  // The library's default keeps /metrics behind a token; this demo opts out so that the curl
  // line it prints works as it is (said next to that line, and in docs/demo.md).
  api_options.metrics_public = true;
  // /api/v3/tasks/schedules/ and /api/v3/systask/providers/ serve these schedules.
  api_options.schedules = &sched;
  for (const auto& p : providers) {
    api_options.sync_object_handlers[p.kind] = [kind = std::string(p.kind)](const systask::api::sync_object_request& req,
                                                                           systask::api::sync_object_log& log) {
      const bool user = req.sync_object_model == "authentik.core.models.User";
      log.log(systask::log_level::info, std::string(demo::verbose_name(kind)) + "@" + req.sync_object_model,
              std::string("Synced ") + (user ? "user " : "group ") + req.sync_object_id,
              {{"obj", req.sync_object_id}, {"dry_run", req.override_dry_run}});
    };
  }
  const systask::api::facade api(reg, api_options);

  systask::http::server_options http_options;
  const auto colon = f.listen.rfind(':');
  http_options.address = f.listen.substr(0, colon);
  if (http_options.address.size() > 2 && http_options.address.front() == '[') {
    http_options.address = http_options.address.substr(1, http_options.address.size() - 2);
  }
  http_options.port = static_cast<unsigned short>(std::stoul(f.listen.substr(colon + 1)));
  // No access_log (the default): the demo's screen is for progress; see docs/http.md.
  systask::http::server http(pool.get_executor(), api, http_options);
  try {
    http.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "systask-demo: cannot serve the API on %s: %s\n", f.listen.c_str(), e.what());
    return 1;
  }
  const std::string base = "http://" + (http_options.address.find(':') != std::string::npos
                                            ? "[" + http_options.address + "]"
                                            : http_options.address) +
                           ":" + std::to_string(http.port());
  std::fprintf(human, "systask-demo: %zu users, %zu groups, 3 providers; API on %s\n", f.users, f.groups,
               base.c_str());
  if (f.once) {
    std::fprintf(human, "schedules: paused (--once syncs each provider once)\n");
  } else if (!f.cron.empty()) {
    std::fprintf(human, "schedules: provider syncs and directory_cleanup on '%s' (UTC), next at %s\n", f.cron.c_str(),
                 systask::format_timestamp(sched.find(schedule_ids[0])->next_run).c_str());
  } else {
    std::fprintf(human, "schedules: provider syncs and directory_cleanup every %lds\n",
                 static_cast<long>(f.interval.count()));
  }
  std::fprintf(human, "listening on %s\ntoken: %s\n\nTry:\n", base.c_str(), f.token.c_str());
  std::fprintf(human, "  curl -s -H 'Authorization: Bearer %s' %s/api/v3/providers/google_workspace/1/sync/status/\n",
               f.token.c_str(), base.c_str());
  std::fprintf(human,
               "  curl -s -H 'Authorization: Bearer %s' '%s/api/v3/providers/scim/3/sync/status/?include_running=true'\n",
               f.token.c_str(), base.c_str());
  std::fprintf(human, "  curl -s -H 'Authorization: Bearer %s' '%s/api/v3/events/system_tasks/?ordering=-start_timestamp'\n",
               f.token.c_str(), base.c_str());
  std::fprintf(human, "  curl -s %s/metrics    # no token: this demo makes /metrics public (metrics_public)\n",
               base.c_str());
  std::fprintf(human, "Status page: %s/ui/    (paste the token above when it asks)\n\n", base.c_str());
  std::fflush(human);
  if (events) events->event("listening", {{"url", base}, {"ui", base + "/ui/"}});

  // Timers on `control`: the progress display and the --hold wait.
  demo::progress_display display(progress, human, show_progress, colour);  // drawn on `control` only
  std::atomic<bool> stopping{false};
  asio::steady_timer draw_timer(control), hold_timer(control);
  asio::signal_set signals(control, SIGINT, SIGTERM);
  std::function<void()> draw = [&] {
    if (stopping) return;
    display.draw();
    draw_timer.expires_after(display.terminal() ? 200ms : 5s);
    draw_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) draw();
    });
  };
  if (show_progress) asio::post(control, draw);

  std::promise<void> finished;
  auto shutdown = [&] {  // any thread
    if (stopping.exchange(true)) return;
    // No more fires; the syncs in progress are cancelled (each run ends as "cancelled").
    sched.stop();
    asio::post(control, [&] {
      draw_timer.cancel();
      hold_timer.cancel();
      signals.cancel();
      http.stop([&] { finished.set_value(); });
    });
  };
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) shutdown();
  });

  if (f.once) {
    for (const auto& id : schedule_ids) sched.send_now(id);
    all_synced.get_future().wait();
    if (show_progress) asio::post(control, [&] { display.draw(); });
    for (const auto& p : providers) {
      const std::string target = std::string("/api/v3/providers/") + p.kind + "/" + std::to_string(p.id) + "/sync/status/";
      systask::api::request req = systask::api::request::from_target("GET", target);
      const std::string auth = "Bearer " + f.token;
      req.headers.emplace_back("Authorization", auth);
      const auto res = api.handle(req);
      std::printf("%s\n", res.body.c_str());
    }
    std::fflush(stdout);
    if (f.hold.count() > 0) {
      asio::post(control, [&] {
        if (stopping) return;  // a signal came first
        hold_timer.expires_after(f.hold);
        hold_timer.async_wait([&](boost::system::error_code ec) {
          if (!ec) shutdown();
        });
      });
    } else {
      shutdown();
    }
    finished.get_future().wait();
  } else {
    // Each schedule runs once at start (as authentik sends a schedule on startup), then on its
    // cadence.
    for (const auto& id : schedule_ids) sched.send_now(id);
    finished.get_future().wait();
    if (events) events->event("stopped", {});
    std::fprintf(human, "\nsystask-demo: stopped\n");
  }
  if (store) drain_store(reg, *store);
#if SYSTASK_DEMO_POSTGRESQL
  if (history) history->wait_written(5s);
#endif
  pool.stop();  // the registry's expiry timer would keep the pool busy for hours
  pool.join();
  return 0;
}
