// SPDX-License-Identifier: BSL-1.0
// The child process of tests/store/sqlite_store_crash_test.cpp: a host with a SQLite store that
// the test kills, starves of disk, makes read-only or holds. One mode per invocation:
//
//   record DB FLUSH_MS THREADS   records under load until killed. Prints "ready" once the store
//                                is open, then "S <uuid>" when a run starts and
//                                "F <uuid> <steady ns>" when finish() has returned (the test's
//                                ground truth; one write() per line, so lines never interleave).
//   hold DB                      opens the store, prints "ready <pid>", waits for EOF on stdin.
//   fsize DB BYTES               with RLIMIT_FSIZE = BYTES (SIGXFSZ ignored): records until the
//                                store fails to write, then checks that recording went on in
//                                memory with exact counts. Prints "ok ..." and exits 0, or says
//                                what is wrong and exits 1.
//   readonly DB RUNS             (as uid 65534 when run as root) opens a read-only file: the
//                                store must be read_only, serve the RUNS runs stored before, and
//                                count new runs as dropped. Exit status as for fsize.

#include <systask/engine.hpp>
#include <systask/store/sqlite.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace systask;

void say(const std::string& line) {
  const std::string l = line + "\n";
  // One write per line: the test reads a pipe, and lines up to PIPE_BUF never interleave.
  [[maybe_unused]] const ssize_t n = ::write(1, l.data(), l.size());
}

// A registry whose strand runs on its own thread (the store hears of runs there).
struct host {
  explicit host(registry_options o = {}) : reg(io, std::move(o)), work(io.get_executor()), thread([this] { io.run(); }) {}
  ~host() {
    work.reset();
    io.stop();
    thread.join();
  }
  boost::asio::io_context io;
  registry reg;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::thread thread;
};

std::uint64_t finished_ever(const registry& reg) {
  std::uint64_t n = 0;
  for (const auto& c : reg.counters()) {
    for (const auto v : c.finished_by_status) n += v;
  }
  return n;
}

// Waits until the store has heard of every finished run (the strand delivers them).
bool quiesce(const registry& reg, const sqlite_store& store) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto s = store.stats();
    if (s.pending + s.written + s.dropped == finished_ever(reg)) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

int record(const std::string& db, int flush_ms, int threads) {
  registry_options ro;
  ro.default_task.retention = std::chrono::seconds(5);  // the file holds the last 5 s only
  ro.default_task.max_messages = 8;
  host h(ro);
  sqlite_store_options so;
  so.path = db;
  so.flush_interval = std::chrono::milliseconds(flush_ms);
  so.on_log = [](store_state, std::string_view m) { std::cerr << "store: " << m << "\n"; };
  sqlite_store store(h.reg, so);
  if (store.stats().state != store_state::ok) {
    std::cerr << "store not ok: " << store.stats().reason << "\n";
    return 1;
  }
  say("ready");
  std::atomic<std::uint64_t> counter{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(::getpid()) * 131 + static_cast<std::uint64_t>(t));
      for (;;) {
        const std::uint64_t n = counter++;
        run r = h.reg.start({.name = "load", .uid = std::to_string(::getpid()) + "-" + std::to_string(n)});
        say("S " + std::string(r.uuid()));
        const int messages = static_cast<int>(rng() % 12);  // more than max_messages: loss markers
        for (int i = 0; i < messages; ++i) {
          if (rng() % 5 == 0) {
            r.warning(std::string(300, 'w') + " spills", {{"i", i}, {"text", std::string(rng() % 400, 'x')}});
          } else {
            r.info("step", {{"i", i}});
          }
        }
        if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        if (rng() % 10 == 0) {
          // A long run: running across several flushes, so that kills find it running.
          for (int i = 0; i < 10; ++i) {
            r.info("long step", {{"i", i}});
            std::this_thread::sleep_for(10ms);
          }
        }
        const auto status = static_cast<task_status>(1 + rng() % 3);
        r.finish(status);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
        say("F " + std::string(r.uuid()) + " " + std::to_string(ns));
        std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 1500));
      }
    });
  }
  for (auto& w : workers) w.join();  // never: the test kills the process
  return 0;
}

int hold(const std::string& db) {
  host h;
  sqlite_store_options so;
  so.path = db;
  sqlite_store store(h.reg, so);
  say("ready " + std::to_string(::getpid()));
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

int fsize(const std::string& db, long bytes) {
  std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead of killing us
  rlimit lim{};
  lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(bytes);
  if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) {
    std::perror("setrlimit");
    return 1;
  }
  host h;
  sqlite_store_options so;
  so.path = db;
  so.flush_interval = 5ms;
  so.retry_backoff_min = 1ms;
  so.retry_backoff_max = 20ms;
  so.close_timeout = 100ms;
  std::atomic<int> degraded_logged{0};
  so.on_log = [&](store_state s, std::string_view) {
    if (s == store_state::degraded) ++degraded_logged;
  };
  sqlite_store store(h.reg, so);
  if (store.stats().state != store_state::ok) {
    std::cout << "store not ok at open: " << store.stats().reason << "\n";
    return 1;
  }
  std::uint64_t finished = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (store.stats().write_errors == 0 && std::chrono::steady_clock::now() < deadline) {
    run r = h.reg.start({.name = "big", .uid = std::to_string(finished)});
    for (int i = 0; i < 20; ++i) r.info("filling the disk", {{"pad", std::string(2000, 'p')}});
    r.finish(task_status::successful);
    ++finished;
    if (finished % 50 == 0) std::this_thread::sleep_for(1ms);
  }
  // Recording goes on in memory while the store fails.
  for (int i = 0; i < 20; ++i) {
    run r = h.reg.start({.name = "after", .uid = std::to_string(i)});
    r.info("recorded while the disk is full");
    r.finish(task_status::warning);
    ++finished;
  }
  if (!quiesce(h.reg, store)) {
    std::cout << "the store never heard of every run\n";
    return 1;
  }
  const auto s = store.stats();
  bool ok = true;
  auto check = [&](bool c, const std::string& what) {
    if (!c) {
      std::cout << "FAILED: " << what << "\n";
      ok = false;
    }
  };
  check(s.write_errors > 0, "no write error with the file size limit");
  check(s.state == store_state::degraded, "state is not degraded: " + s.reason);
  check(s.reason.find(db) != std::string::npos, "the reason does not name the file: " + s.reason);
  check(degraded_logged > 0, "the log hook was not told");
  check(s.pending + s.written + s.dropped == finished, "counts do not balance");
  check(h.reg.tasks("after", "19").size() == 1, "the runs after the failure are not in memory");
  std::cout << (ok ? "ok" : "not ok") << " finished " << finished << " written " << s.written << " pending "
            << s.pending << " dropped " << s.dropped << " write_errors " << s.write_errors << "\n";
  store.close();
  const auto c = store.stats();  // close gave up on what it could not write: counted as dropped
  if (c.pending != 0 || c.pending + c.written + c.dropped != finished) {
    std::cout << "FAILED: counts after close do not balance\n";
    return 1;
  }
  return ok ? 0 : 1;
}

int readonly(const std::string& db, std::size_t runs) {
  if (::geteuid() == 0) {
    // root writes read-only files anyway: become nobody for the test.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
      std::perror("setuid");
      return 1;
    }
    // Changing uid makes the process non-dumpable, and LeakSanitizer (asan preset) cannot then
    // inspect it at exit.
    ::prctl(PR_SET_DUMPABLE, 1);
  }
  host h;
  sqlite_store_options so;
  so.path = db;
  sqlite_store store(h.reg, so);
  auto s = store.stats();
  bool ok = true;
  auto check = [&](bool c, const std::string& what) {
    if (!c) {
      std::cout << "FAILED: " << what << "\n";
      ok = false;
    }
  };
  check(s.state == store_state::read_only, "state is not read_only: " + s.reason);
  check(s.reason.find("read-only") != std::string::npos, "the reason does not say read-only: " + s.reason);
  check(h.reg.list_tasks().size() == runs, "the stored runs are not served: " + std::to_string(h.reg.list_tasks().size()));
  run r = h.reg.start({.name = "new"});
  r.info("recorded in memory");
  r.finish(task_status::successful);
  check(quiesce(h.reg, store), "the store never heard of the run");
  s = store.stats();
  check(s.dropped == 1 && s.written == 0 && s.pending == 0, "the new run is not counted as dropped");
  check(h.reg.tasks("new", "").size() == 1, "the new run is not in memory");
  check(!store.flush(), "a read-only store says it wrote");
  std::cout << (ok ? "ok" : "not ok") << "\n";
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 4 && args[0] == "record") return record(args[1], std::stoi(args[2]), std::stoi(args[3]));
    if (args.size() == 2 && args[0] == "hold") return hold(args[1]);
    if (args.size() == 3 && args[0] == "fsize") return fsize(args[1], std::stol(args[2]));
    if (args.size() == 3 && args[0] == "readonly") return readonly(args[1], std::stoul(args[2]));
  } catch (const std::exception& e) {
    std::cout << "error: " << e.what() << "\n";
    return 2;
  }
  std::cerr << "usage: sqlite_store_child record DB FLUSH_MS THREADS | hold DB | fsize DB BYTES | readonly DB RUNS\n";
  return 2;
}
