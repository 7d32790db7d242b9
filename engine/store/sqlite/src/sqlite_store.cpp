// SPDX-License-Identifier: BSL-1.0
// The SQLite store: process lock, schema, start-up restore, and the store thread that writes
// batches (docs/store.md).

#include <systask/store/sqlite.hpp>

#include "sqlite_db.hpp"

#include <systask/engine/render.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <list>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace systask {

namespace {

using namespace sqlite_detail;
using steady = std::chrono::steady_clock;

constexpr std::int64_t no_time = std::numeric_limits<std::int64_t>::min();
// Finished runs queued past this wake the store thread before its interval ends, so that a
// burst is written in a few large transactions rather than waiting and filling the queue.
constexpr std::size_t early_wake_batch = 4096;

std::int64_t nanos(wall_time t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
wall_time from_nanos(std::int64_t ns) noexcept {
  return wall_time(std::chrono::duration_cast<wall_time::duration>(std::chrono::nanoseconds(ns)));
}

// Version 1 of the schema. Times are nanoseconds since the Unix epoch (what wall_time holds, so
// a restored run renders the same timestamps); messages are the engine's compact fragments.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  uid TEXT NOT NULL,
  description TEXT NOT NULL,
  provider_kind TEXT,
  provider_id INTEGER,
  start_ns INTEGER NOT NULL,
  finish_ns INTEGER NOT NULL,
  duration REAL NOT NULL,
  status INTEGER NOT NULL,
  expires_ns INTEGER,
  overflow INTEGER NOT NULL,
  appended INTEGER NOT NULL,
  dropped INTEGER NOT NULL,
  prefilled INTEGER NOT NULL,
  running INTEGER NOT NULL);
CREATE INDEX runs_expires ON runs(expires_ns) WHERE expires_ns IS NOT NULL;
CREATE INDEX runs_key ON runs(name, uid);
CREATE TABLE messages(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  compact BLOB NOT NULL,
  PRIMARY KEY(run_id, seq)) WITHOUT ROWID;
CREATE TABLE providers(
  kind TEXT NOT NULL,
  id INTEGER NOT NULL,
  last_success_ns INTEGER,
  last_outcome INTEGER,
  PRIMARY KEY(kind, id)) WITHOUT ROWID;
)sql";

constexpr const char* upsert_run_sql = R"sql(
INSERT INTO runs(uuid, name, uid, description, provider_kind, provider_id, start_ns, finish_ns, duration, status,
                 expires_ns, overflow, appended, dropped, prefilled, running)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
ON CONFLICT(uuid) DO UPDATE SET name = excluded.name, uid = excluded.uid, description = excluded.description,
  provider_kind = excluded.provider_kind, provider_id = excluded.provider_id, start_ns = excluded.start_ns,
  finish_ns = excluded.finish_ns, duration = excluded.duration, status = excluded.status,
  expires_ns = excluded.expires_ns, overflow = excluded.overflow, appended = excluded.appended,
  dropped = excluded.dropped, prefilled = excluded.prefilled, running = excluded.running
  WHERE runs.running = 1 OR excluded.running = 0
RETURNING id)sql";

// flock on `<db>.lock`: one process per database file. The holder writes its pid into the file
// so that a refused process can name it.
class process_lock {
 public:
  explicit process_lock(const std::string& db_path) : path_(db_path + ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0 && (errno == EACCES || errno == EROFS)) fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw std::system_error(errno, std::system_category(), "systask sqlite store: cannot open the lock file " + path_);
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      std::string holder;
      char buf[32] = {};
      const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      if (n > 0) holder.assign(buf, static_cast<std::size_t>(n));
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      ::close(fd_);
      fd_ = -1;
      if (e == EWOULDBLOCK) {
        throw sqlite_store_error("systask sqlite store: the database " + db_path +
                                 " is in use by another process" + (holder.empty() ? "" : " (pid " + holder + ")") +
                                 " holding " + path_ + "; one process per database file");
      }
      throw std::system_error(e, std::system_category(), "systask sqlite store: cannot lock " + path_);
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
      // Best effort: the pid is a courtesy for the message above, the flock is the lock.
      [[maybe_unused]] const ssize_t w = ::pwrite(fd_, pid.data(), pid.size(), 0);
    }
  }
  ~process_lock() { release(); }
  process_lock(const process_lock&) = delete;
  process_lock& operator=(const process_lock&) = delete;
  void release() noexcept {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

void check_options(const sqlite_store_options& o) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  auto bad = [](const std::string& what) { throw sqlite_store_error("systask sqlite store: " + what); };
  if (o.path.empty()) bad("the database path is empty");
  if (o.flush_interval < milliseconds(1) || o.flush_interval > hours(1)) bad("flush_interval must be 1 ms .. 1 h");
  if (o.queue_capacity < 1 || o.queue_capacity > 16'777'216) bad("queue_capacity must be 1 .. 16,777,216");
  if (o.purge_batch < 1 || o.purge_batch > 1'000'000) bad("purge_batch must be 1 .. 1,000,000");
  if (o.retry_backoff_max < milliseconds(1) || o.retry_backoff_max > hours(1)) bad("retry_backoff_max must be 1 ms .. 1 h");
  if (o.retry_backoff_min < milliseconds(1) || o.retry_backoff_min > o.retry_backoff_max) {
    bad("retry_backoff_min must be 1 ms .. retry_backoff_max");
  }
  if (o.close_timeout < milliseconds(0) || o.close_timeout > hours(1)) bad("close_timeout must be 0 .. 1 h");
  if (o.busy_timeout < milliseconds(0) || o.busy_timeout > std::chrono::minutes(1)) bad("busy_timeout must be 0 .. 1 min");
}

// What the store thread keeps of a running run between two flushes.
struct running_entry {
  std::uint64_t next_seq = 0;  // messages below this are in the file
};

}  // namespace

struct sqlite_store::impl final : run_observer, store_status_source {
  impl(registry& r, sqlite_store_options o) : reg(r), opt(std::move(o)), clock(reg.options().clock) {}

  registry& reg;
  const sqlite_store_options opt;
  std::shared_ptr<const clock_source> clock;
  std::optional<process_lock> lock;
  sqlite3* db = nullptr;
  bool writable = false;  // set at open, constant afterwards
  restore_report report;

  // Counters and state (read by stats() on any thread).
  std::atomic<std::uint64_t> pending{0}, written{0}, dropped{0}, write_errors{0};
  std::atomic<std::int64_t> last_success_ns{no_time};
  std::atomic<store_state> state{store_state::ok};
  mutable std::mutex reason_mu;
  std::string reason;

  // What the observer hands the store thread, under `mu`.
  mutable std::mutex mu;
  std::condition_variable wake;
  std::condition_variable attempt_ended;
  // Finished runs not yet taken by the thread. A list, so that the thread takes a whole batch and
  // gives it back after a failed write by splicing: O(1) under `mu`, and nothing to allocate.
  std::list<run_image> queue;
  std::unordered_map<std::string, running_entry> running;
  std::optional<wall_time> purge_until;
  bool closed = false;    // no more events are accepted
  bool stopping = false;  // the thread writes what is left and ends
  std::uint64_t flush_requests = 0, flush_served = 0;
  bool last_attempt_ok = false;
  std::thread thread;

  // Statements, used on the store thread only (and at open, before it starts).
  statement upsert_run, trim_messages, clear_messages, insert_message, upsert_provider, purge, key_rows, delete_run;

  // ---- state and hook ----
  void log(store_state s, const std::string& message) noexcept {
    if (!opt.on_log) return;
    try {
      opt.on_log(s, message);
    } catch (...) {  // a hook that throws must not take the store down
    }
  }
  void set_state(store_state s, const std::string& why) noexcept {
    try {
      std::lock_guard g(reason_mu);
      reason = why;
    } catch (...) {
    }
    state.store(s, std::memory_order_release);
  }

  store_stats stats() const noexcept override {
    store_stats s;
    try {
      s.backend = "sqlite";
      std::lock_guard g(reason_mu);
      s.reason = reason;
    } catch (...) {  // allocation failure: the counters are still worth having
    }
    s.state = state.load(std::memory_order_acquire);
    {
      // Under the queue's mutex, so that the three add up: a run moves between them only with
      // it held, and it is never held during I/O (a few microseconds at most).
      std::lock_guard g(mu);
      s.dropped = dropped.load(std::memory_order_relaxed);
      s.written = written.load(std::memory_order_relaxed);
      s.pending = pending.load(std::memory_order_relaxed);
    }
    s.write_errors = write_errors.load(std::memory_order_relaxed);
    if (const auto t = last_success_ns.load(std::memory_order_relaxed); t != no_time) s.last_success = from_nanos(t);
    return s;
  }

  // ---- observer (the registry's strand) ----
  void on_started(const task_record& run) override {
    if (!writable || !opt.flush_running) return;
    std::lock_guard g(mu);
    if (closed) return;
    running.try_emplace(std::string(run.uuid()));
  }

  void on_finished(const task_record& run) override {
    if (!writable) {
      std::lock_guard g(mu);
      dropped.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    std::optional<run_image> im;
    try {
      im = make_run_image(run);
    } catch (...) {
      {
        std::lock_guard g(mu);
        dropped.fetch_add(1, std::memory_order_acq_rel);
      }
      throw;  // the registry counts and reports it
    }
    bool wake_now = false;
    {
      std::lock_guard g(mu);
      running.erase(std::string(run.uuid()));
      if (closed || pending.load(std::memory_order_relaxed) >= opt.queue_capacity) {
        dropped.fetch_add(1, std::memory_order_acq_rel);
        return;
      }
      queue.push_back(std::move(*im));
      pending.fetch_add(1, std::memory_order_acq_rel);
      wake_now = queue.size() >= early_wake_batch;
    }
    if (wake_now) wake.notify_one();
  }

  void on_expired(wall_time now) override {
    if (!writable) return;
    std::lock_guard g(mu);
    purge_until = now;
  }

  void on_dropped(const dropped_events& d) override {
    // Finished runs the store never heard of: they will never be written.
    std::lock_guard g(mu);
    dropped.fetch_add(d.finished, std::memory_order_acq_rel);
  }

  // ---- open ----
  void open() {
    lock.emplace(opt.path);
    if (!open_connection(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) return;
    try {
      const std::int64_t version = query_integer(db, "PRAGMA user_version");
      const bool file_read_only = sqlite3_db_readonly(db, "main") == 1;
      if (version > sqlite_schema_version) {
        // Never written: reopened read-only so that nothing, not even a journal-mode change,
        // touches it.
        sqlite3_close(db);
        db = nullptr;
        if (!open_connection(SQLITE_OPEN_READONLY)) return;
        become_read_only("the database " + opt.path + " was written by schema version " + std::to_string(version) +
                         ", newer than this build's " + std::to_string(sqlite_schema_version) +
                         ": opened read-only, never written");
        // Its tables may mean something else: nothing is loaded from it.
        return;
      }
      if (version == sqlite_schema_version) {
        // Messages in another build's compact format cannot be served: checked before anything
        // (journal mode, migration) could touch the file, which is then reopened read-only.
        const std::string format = query_text(db, "SELECT value FROM meta WHERE key = 'compact_message_format'");
        if (format != std::to_string(compact_message_format_version)) {
          sqlite3_close(db);
          db = nullptr;
          if (!open_connection(SQLITE_OPEN_READONLY)) return;
          become_read_only(other_format(format));
          return;
        }
      }
      if (file_read_only) {
        become_read_only("the database file " + opt.path + " is read-only: loaded, never written");
        if (version == sqlite_schema_version) load_and_restore();
        return;
      }
      sqlite3_busy_timeout(db, static_cast<int>(opt.busy_timeout.count()));
      const std::string mode = query_text(db, "PRAGMA journal_mode = WAL");
      if (mode != "wal") throw failure(SQLITE_ERROR, "could not switch to WAL (journal_mode is " + mode + ")");
      exec(db, opt.synchronous == sqlite_synchronous::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
      exec(db, "PRAGMA foreign_keys = ON");
      migrate();
      const std::string format = query_text(db, "SELECT value FROM meta WHERE key = 'compact_message_format'");
      if (format != std::to_string(compact_message_format_version)) {
        // Only after a migration from an older schema: reported the same way.
        become_read_only(other_format(format));
        return;
      }
      prepare();
      writable = true;
      load_and_restore();
    } catch (const failure& f) {
      disable("the database " + opt.path + " cannot be used (" + f.what() +
              "): left untouched, recording in memory only");
    }
  }

  std::string other_format(const std::string& format) const {
    return "the database " + opt.path + " holds messages in compact format " + format + ", not this build's " +
           std::to_string(compact_message_format_version) + ": opened read-only, never written";
  }

  bool open_connection(int flags) {
    const int rc = sqlite3_open_v2(opt.path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      disable("the database " + opt.path + " cannot be opened (" + msg + "): recording in memory only");
      return false;
    }
    sqlite3_extended_result_codes(db, 1);
    return true;
  }

  void become_read_only(const std::string& why) {
    writable = false;
    set_state(store_state::read_only, why);
    log(store_state::read_only, why);
  }

  void disable(const std::string& why) noexcept {
    writable = false;
    finalize_statements();
    if (db) {
      sqlite3_close_v2(db);
      db = nullptr;
    }
    set_state(store_state::disabled, why);
    log(store_state::disabled, why);
  }

  void finalize_statements() noexcept {
    upsert_run = {};
    trim_messages = {};
    clear_messages = {};
    insert_message = {};
    upsert_provider = {};
    purge = {};
    key_rows = {};
    delete_run = {};
  }

  void migrate() {
    exec(db, "BEGIN IMMEDIATE");
    try {
      // Read again inside the transaction: the lock makes us the only writer, but the file may
      // have been replaced since the first read.
      const std::int64_t version = query_integer(db, "PRAGMA user_version");
      if (version < 1) {
        exec(db, schema_v1);
        statement s(db, "INSERT INTO meta(key, value) VALUES('compact_message_format', ?1)");
        s.bind(1, std::to_string(compact_message_format_version)).run();
        exec(db, "PRAGMA user_version = 1");
      }
      exec(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void prepare() {
    upsert_run = statement(db, upsert_run_sql);
    trim_messages = statement(db, "DELETE FROM messages WHERE run_id = ?1 AND (seq < ?2 OR seq > ?3)");
    clear_messages = statement(db, "DELETE FROM messages WHERE run_id = ?1");
    insert_message = statement(db, "INSERT OR IGNORE INTO messages(run_id, seq, compact) VALUES(?1, ?2, ?3)");
    upsert_provider = statement(db,
                                "INSERT INTO providers(kind, id, last_success_ns, last_outcome) VALUES(?1, ?2, ?3, ?4) "
                                "ON CONFLICT(kind, id) DO UPDATE SET last_success_ns = excluded.last_success_ns, "
                                "last_outcome = excluded.last_outcome");
    purge = statement(db,
                      "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE running = 0 AND expires_ns <= ?1 "
                      "LIMIT ?2)");
    key_rows = statement(db, "SELECT id, uuid FROM runs WHERE name = ?1 AND uid = ?2 AND running = 0");
    delete_run = statement(db, "DELETE FROM runs WHERE id = ?1");
  }

  // Reads the unexpired runs (and those left running) and the providers, restores them into the
  // registry, then writes back what restoring decided: interrupted runs become finished rows,
  // rows the registry does not keep (beyond the history depth) are deleted, and placeholders
  // the host prefilled before opening are added.
  void load_and_restore() {
    const wall_time now = clock->wall_now();
    std::vector<run_image> runs;
    std::vector<provider_image> providers;
    {
      exec(db, "BEGIN");
      try {
        std::unordered_map<std::int64_t, std::size_t> by_id;
        statement s(db,
                    "SELECT id, uuid, name, uid, description, provider_kind, provider_id, start_ns, finish_ns, duration, "
                    "status, expires_ns, overflow, appended, dropped, prefilled, running FROM runs "
                    "WHERE running = 1 OR expires_ns IS NULL OR expires_ns > ?1");
        s.bind(1, nanos(now));
        while (s.step()) {
          run_image im;
          im.uuid = s.text(1);
          im.name = s.text(2);
          im.uid = s.text(3);
          im.description = s.text(4);
          if (!s.is_null(5)) im.provider = provider_ref{std::string(s.text(5)), s.integer(6)};
          im.start = from_nanos(s.integer(7));
          im.finish = from_nanos(s.integer(8));
          im.duration = s.real(9);
          im.status = static_cast<task_status>(std::clamp<std::int64_t>(s.integer(10), 0, 255));
          if (!s.is_null(11)) im.expires = from_nanos(s.integer(11));
          im.overflow = static_cast<overflow_policy>(std::clamp<std::int64_t>(s.integer(12), 0, 255));
          im.appended = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.integer(13)));
          im.dropped = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.integer(14)));
          im.prefilled = s.integer(15) != 0;
          im.interrupted = s.integer(16) != 0;
          by_id.emplace(s.integer(0), runs.size());
          runs.push_back(std::move(im));
        }
        statement m(db, "SELECT run_id, seq, compact FROM messages ORDER BY run_id, seq");
        while (m.step()) {
          const auto it = by_id.find(m.integer(0));
          if (it == by_id.end()) continue;  // an expired run's
          runs[it->second].messages.push_back(
              stored_message{static_cast<std::uint64_t>(m.integer(1)), std::string(m.blob(2))});
        }
        statement p(db, "SELECT kind, id, last_success_ns, last_outcome FROM providers");
        while (p.step()) {
          provider_image pi;
          pi.kind = p.text(0);
          pi.id = p.integer(1);
          if (!p.is_null(2)) pi.last_success = from_nanos(p.integer(2));
          if (!p.is_null(3)) pi.last_outcome = static_cast<sync_outcome>(std::clamp<std::int64_t>(p.integer(3), 0, 255));
          providers.push_back(std::move(pi));
        }
        exec(db, "COMMIT");
      } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
    struct loaded {
      std::string uuid;
      bool interrupted;
    };
    std::vector<loaded> keys;
    keys.reserve(runs.size());
    for (const auto& im : runs) keys.push_back({im.uuid, im.interrupted});

    report = reg.restore(std::move(runs), std::move(providers));
    if (!report.errors.empty()) {
      log(state.load(), std::to_string(report.errors.size()) + " stored image(s) refused by the registry, kept in " +
                            opt.path + "; first: " + report.errors.front().item + ": " + report.errors.front().reason);
    }
    if (!writable) return;

    std::unordered_set<std::string> refused;
    for (const auto& e : report.errors) {
      if (e.item.starts_with("run ")) refused.insert(e.item.substr(4));
    }
    std::unordered_set<std::string> present;
    present.reserve(keys.size());
    try {
      exec(db, "BEGIN IMMEDIATE");
      statement by_uuid(db, "DELETE FROM runs WHERE uuid = ?1");
      for (const auto& k : keys) {
        present.insert(k.uuid);
        if (refused.contains(k.uuid)) continue;
        const auto held = reg.find_task(k.uuid);
        if (!held) {
          by_uuid.bind(1, k.uuid).run();  // expired, or beyond the depth: never served again
        } else if (k.interrupted) {
          write_finished(make_run_image(*held));
        }
      }
      for (const auto& r : reg.list_tasks()) {
        if (r.prefilled() && !present.contains(std::string(r.uuid()))) write_finished(make_run_image(r));
      }
      exec(db, "COMMIT");
    } catch (const failure& f) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      // Harmless to leave: the next start-up decides the same from the same rows.
      write_errors.fetch_add(1, std::memory_order_relaxed);
      const std::string why = std::string("writing back the start-up restore failed: ") + f.what();
      set_state(store_state::degraded, why);
      log(store_state::degraded, why);
    }
    purge_until = now;  // rows that expired while the host was down go in bounded batches
  }

  // ---- writing (store thread, or open) ----
  std::int64_t write_row(const run_image& im, bool finished) {
    upsert_run.bind(1, im.uuid).bind(2, im.name).bind(3, im.uid).bind(4, im.description);
    if (im.provider) {
      upsert_run.bind(5, im.provider->kind).bind(6, im.provider->id);
    } else {
      upsert_run.bind_null(5).bind_null(6);
    }
    upsert_run.bind(7, nanos(im.start)).bind(8, nanos(im.finish)).bind(9, im.duration);
    upsert_run.bind(10, static_cast<std::int64_t>(im.status));
    if (im.expires && finished) {
      upsert_run.bind(11, nanos(*im.expires));
    } else {
      upsert_run.bind_null(11);
    }
    upsert_run.bind(12, static_cast<std::int64_t>(im.overflow));
    upsert_run.bind(13, static_cast<std::int64_t>(im.appended)).bind(14, static_cast<std::int64_t>(im.dropped));
    upsert_run.bind(15, std::int64_t{im.prefilled}).bind(16, std::int64_t{!finished});
    if (!upsert_run.step()) return -1;  // a running row for a run written finished already
    const std::int64_t id = upsert_run.integer(0);
    upsert_run.reset();
    return id;
  }

  void write_messages(std::int64_t id, const std::vector<stored_message>& messages) {
    for (const auto& m : messages) {
      insert_message.bind(1, id).bind(2, static_cast<std::int64_t>(m.seq)).bind_blob(3, m.compact).run();
    }
  }

  void write_finished(const run_image& im) {
    const std::int64_t id = write_row(im, true);
    // Messages a running flush wrote that the ring overwrote later are not the run's any more.
    if (im.messages.empty()) {
      clear_messages.bind(1, id).run();
    } else {
      trim_messages.bind(1, id)
          .bind(2, static_cast<std::int64_t>(im.messages.front().seq))
          .bind(3, static_cast<std::int64_t>(im.messages.back().seq))
          .run();
    }
    write_messages(id, im.messages);
  }

  // Rows of this task key the registry no longer holds (cut by the history depth, removed by a
  // success that keeps none): deleted, so that the file does not grow beyond what is served.
  void trim_key(const std::string& name, const std::string& uid) {
    std::unordered_set<std::string> held;
    for (const auto& r : reg.tasks(name, uid)) held.emplace(r.uuid());
    std::vector<std::int64_t> gone;
    key_rows.bind(1, name).bind(2, uid);
    while (key_rows.step()) {
      if (!held.contains(std::string(key_rows.text(1)))) gone.push_back(key_rows.integer(0));
    }
    for (const auto id : gone) delete_run.bind(1, id).run();
  }

  struct running_flush {
    std::string uuid;
    std::uint64_t next_seq = 0;  // after the write
    bool gone = false;           // not running any more: forgotten
  };

  // One transaction: the batch of finished runs, their providers' state, trimming, the running
  // runs' new messages, a bounded purge. Returns "" or what failed.
  std::string write_cycle(const std::list<run_image>& batch, std::vector<running_flush>& runs,
                          std::optional<wall_time> purge_to, bool& purge_more) {
    try {
      exec(db, "BEGIN IMMEDIATE");
      std::set<std::pair<std::string, std::int64_t>> providers;
      std::set<std::pair<std::string, std::string>> keys;
      for (const auto& im : batch) {
        write_finished(im);
        if (im.provider) providers.emplace(im.provider->kind, im.provider->id);
        keys.emplace(im.name, im.uid);
      }
      for (const auto& [kind, id] : providers) {
        const auto s = reg.sync_status(kind, id);
        if (!s) continue;
        upsert_provider.bind(1, kind).bind(2, id);
        if (s->last_successful_sync) {
          upsert_provider.bind(3, nanos(*s->last_successful_sync));
        } else {
          upsert_provider.bind_null(3);
        }
        if (s->last_sync_status && *s->last_sync_status != sync_outcome::running) {
          upsert_provider.bind(4, static_cast<std::int64_t>(*s->last_sync_status));
        } else {
          upsert_provider.bind_null(4);
        }
        upsert_provider.run();
      }
      for (const auto& [name, uid] : keys) trim_key(name, uid);
      for (auto& r : runs) {
        const auto view = reg.find_task(r.uuid);
        if (!view || !view->running()) {  // finished: its on_finished writes it whole
          r.gone = true;
          continue;
        }
        run_image im;
        im.uuid = view->uuid();
        im.name = view->name();
        im.uid = view->uid();
        im.description = view->description();
        im.provider = view->provider();
        im.start = view->start_time();
        im.finish = view->finish_time();  // the last time the store knew it alive
        im.duration = view->duration();
        im.overflow = view->overflow();
        im.appended = view->messages_appended();
        view->for_each_message(r.next_seq, [&](std::uint64_t seq, std::string_view compact) {
          im.messages.push_back(stored_message{seq, std::string(compact)});
        });
        if (!im.messages.empty()) im.appended = std::max(im.appended, im.messages.back().seq + 1);
        im.dropped = 0;  // recomputed by restore from what the file holds
        const std::int64_t id = write_row(im, false);
        if (id < 0) continue;
        write_messages(id, im.messages);
        if (!im.messages.empty()) r.next_seq = im.messages.back().seq + 1;
      }
      purge_more = false;
      if (purge_to) {
        purge.bind(1, nanos(*purge_to)).bind(2, static_cast<std::int64_t>(opt.purge_batch)).run();
        purge_more = static_cast<std::size_t>(sqlite3_changes(db)) >= opt.purge_batch;
      }
      exec(db, "COMMIT");
      return {};
    } catch (const std::exception& e) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return e.what();
    }
  }

  // ---- the store thread ----
  void thread_main() noexcept {
    auto backoff = opt.retry_backoff_min;
    bool failing = false;
    bool stop_seen = false;
    steady::time_point due = steady::now() + opt.flush_interval;
    steady::time_point give_up = steady::time_point::max();
    std::unique_lock lk(mu);
    for (;;) {
      wake.wait_until(lk, due, [&] {
        return (stopping && !stop_seen) || flush_requests != flush_served || (!failing && queue.size() >= early_wake_batch);
      });
      if (stopping && !stop_seen) {
        stop_seen = true;
        give_up = steady::now() + opt.close_timeout;
        // A write that waits for another connection's lock must not outlast close_timeout.
        sqlite3_busy_timeout(db, static_cast<int>(std::min(opt.busy_timeout, opt.close_timeout).count()));
      }
      const std::uint64_t serving = flush_requests;
      std::list<run_image> batch;
      batch.splice(batch.end(), queue);
      std::vector<running_flush> runs;
      try {
        runs.reserve(running.size());
        for (const auto& [uuid, e] : running) runs.push_back({uuid, e.next_seq});
      } catch (...) {
        runs.clear();  // no memory: this cycle flushes finished runs only
      }
      const auto purge_to = purge_until;
      lk.unlock();

      bool purge_more = false;
      std::string error;
      try {
        error = write_cycle(batch, runs, purge_to, purge_more);
      } catch (...) {
        // write_cycle turns SQLite's failures into `error`; what escapes is out of memory.
        error = "out of memory";
      }

      lk.lock();
      const bool ok = error.empty();
      if (ok) {
        written.fetch_add(batch.size(), std::memory_order_acq_rel);
        pending.fetch_sub(batch.size(), std::memory_order_acq_rel);
        last_success_ns.store(nanos(clock->wall_now()), std::memory_order_relaxed);
        for (const auto& r : runs) {
          if (auto it = running.find(r.uuid); it != running.end()) {
            // A run whose on_finished the registry's queue dropped would stay here forever.
            if (r.gone) {
              running.erase(it);
            } else {
              it->second.next_seq = r.next_seq;
            }
          }
        }
        if (purge_to && !purge_more && purge_until == purge_to) purge_until.reset();
        if (failing || state.load() == store_state::degraded) {
          set_state(store_state::ok, "");
          lk.unlock();
          try {
            log(store_state::ok, "writing to " + opt.path + " works again");
          } catch (...) {  // no memory for the line: the state says it
          }
          lk.lock();
        }
        failing = false;
        backoff = opt.retry_backoff_min;
      } else {
        // Back to the front, in order: they are still pending and still within the capacity.
        queue.splice(queue.begin(), batch);
        write_errors.fetch_add(1, std::memory_order_relaxed);
        std::string why;
        try {
          why = "writing to " + opt.path + " failed (" + error + "); retrying in " + std::to_string(backoff.count()) +
                " ms; recording continues in memory";
        } catch (...) {
          why.clear();  // no memory for the sentence: the state and the counter still say it
        }
        set_state(store_state::degraded, why);
        lk.unlock();
        if (!why.empty()) log(store_state::degraded, why);
        lk.lock();
        failing = true;
      }
      flush_served = serving;
      last_attempt_ok = ok;
      attempt_ended.notify_all();

      if (stopping) {
        if ((ok && queue.empty()) || steady::now() >= give_up) break;
        due = std::min(give_up, steady::now() + (ok ? std::chrono::milliseconds(0) : backoff));
      } else if (!ok) {
        due = steady::now() + backoff;
      } else {
        // More to purge waits for the next interval too: purging is never urgent (expired rows
        // are not served), and one batch per interval keeps each transaction short.
        due = steady::now() + (queue.size() >= early_wake_batch ? std::chrono::milliseconds(0) : opt.flush_interval);
      }
      if (!ok) backoff = std::min(opt.retry_backoff_max, backoff * 2);
    }
    // Given up (close timed out): what is left will never be written.
    const std::uint64_t left = queue.size();
    queue.clear();
    if (left > 0) {
      dropped.fetch_add(left, std::memory_order_acq_rel);
      pending.fetch_sub(left, std::memory_order_acq_rel);
    }
    lk.unlock();
    try {
      if (left > 0) log(state.load(), std::to_string(left) + " finished run(s) not written to " + opt.path + " at close");
    } catch (...) {  // no memory for the line: `dropped` counts them
    }
  }

  bool flush(std::chrono::milliseconds limit) noexcept {
    std::unique_lock lk(mu);
    if (!writable || !thread.joinable() || stopping) return false;
    const std::uint64_t target = ++flush_requests;
    wake.notify_one();
    const bool ended = attempt_ended.wait_for(lk, limit, [&] { return flush_served >= target || stopping; });
    return ended && flush_served >= target && last_attempt_ok;
  }

  // Stops the thread after a final write, closes the file, releases the lock. The caller has
  // removed the observer.
  void close() noexcept {
    {
      std::lock_guard g(mu);
      closed = true;
      stopping = true;
    }
    wake.notify_one();
    if (thread.joinable()) thread.join();
    {
      // Events delivered after removal (a delivery in progress) and found closed were counted
      // as dropped; nothing is pending any more.
      std::lock_guard g(mu);
      running.clear();
    }
    finalize_statements();
    if (db) {
      sqlite3_close_v2(db);
      db = nullptr;
    }
    if (lock) lock->release();
  }

  bool is_closed = false;  // sqlite_store::close ran (owner's thread only)
};

sqlite_store::sqlite_store(registry& reg, sqlite_store_options options) {
  check_options(options);
  impl_ = std::make_shared<impl>(reg, std::move(options));
  try {
    impl_->open();
  } catch (...) {
    // Out of memory, or the restore threw: SQLite's failures are handled inside open(); this
    // leaves nothing behind (connection, open transaction, the file's lock) before it throws.
    impl_->close();
    throw;
  }
  // Attached even when the file cannot be used: /metrics then shows why.
  reg.attach_store(impl_);
  try {
    reg.add_observer(impl_);
    if (impl_->writable) impl_->thread = std::thread([p = impl_.get()] { p->thread_main(); });
  } catch (...) {
    impl_->is_closed = true;
    reg.remove_observer(impl_);
    impl_->close();
    reg.detach_store(impl_);
    throw;
  }
}

sqlite_store::~sqlite_store() { close(); }

void sqlite_store::close() noexcept {
  if (impl_->is_closed) return;
  impl_->is_closed = true;
  // First no more events, then the last write: a delivery still in progress finds the store
  // closed and counts its run as dropped.
  impl_->reg.remove_observer(impl_);
  impl_->close();
  impl_->reg.detach_store(impl_);
}

store_stats sqlite_store::stats() const noexcept { return impl_->stats(); }

const restore_report& sqlite_store::restored() const noexcept { return impl_->report; }

bool sqlite_store::flush(std::chrono::milliseconds limit) noexcept { return impl_->flush(limit); }

const std::string& sqlite_store::path() const noexcept { return impl_->opt.path; }

}  // namespace systask
