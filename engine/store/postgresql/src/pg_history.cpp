// SPDX-License-Identifier: BSL-1.0
#include <systask/store/pg_history.hpp>
#include <systask/store/postgresql.hpp>

#include <systask/engine/json_escape.hpp>
#include <systask/engine/limits.hpp>
#include <systask/engine/observer.hpp>

#include "pg_connection.hpp"
#include "pg_row_encoding.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

namespace systask {

namespace {

using detail::pg_connection;
using detail::pg_from_nanos;
using detail::pg_hex;
using detail::pg_nanos;
using detail::pg_unhex;
using detail::pg_result;
using row = std::vector<std::optional<std::string>>;
using namespace std::chrono_literals;

// Runs per write statement: the NOTIFY that names them stays under PostgreSQL's 8000 bytes.
constexpr std::size_t batch_runs = 128;

enum class row_state : int { running = 0, finished = 1, interrupted = 2 };

std::string new_uuid() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(byte(rd));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::int64_t to_int(const std::optional<std::string>& v) {
  std::int64_t out = 0;
  if (v) std::from_chars(v->data(), v->data() + v->size(), out);
  return out;
}

// Schema v1. Times are nanoseconds since the epoch as the recording replica's clock read them
// (displayed times); liveness never compares them with another clock (the maintenance owner
// uses locks). `compact` is the engine's compact message format, restored byte for byte.
const char* const schema_meta_statement =
    "create table if not exists systask_meta (key text primary key, value text not null)";

// Version 1, applied when the database's version (systask_meta) is older.
const char* const schema_statements[] = {
    "create table if not exists systask_run ("
    " uuid uuid primary key, namespace text not null, replica uuid not null, name text not null, uid text not null,"
    " description text not null, provider_kind text, provider_id bigint,"
    " state smallint not null,"  // 0 running, 1 finished, 2 interrupted (its replica died)
    " status smallint not null, start_ns bigint not null, finish_ns bigint not null,"
    " duration double precision not null, expires_ns bigint, overflow smallint not null,"
    " appended bigint not null, dropped bigint not null, prefilled boolean not null)",
    "create index if not exists systask_run_finish on systask_run (namespace, finish_ns desc)",
    "create index if not exists systask_run_expires on systask_run (namespace, expires_ns) where expires_ns is not null",
    "create index if not exists systask_run_running on systask_run (namespace, replica) where state = 0",
    "create table if not exists systask_message ("
    " run_uuid uuid not null, seq bigint not null, compact bytea not null, primary key (run_uuid, seq))",
    // The lock key of a name, as pg_lock_key computes it, so that SQL can ask pg_locks about a
    // replica's liveness lock.
    "create or replace function systask_lock_key(name text) returns bigint language sql immutable as $$"
    " select ('x' || string_agg(lpad(to_hex(get_byte(h, 7 - i)), 2, '0'), '' order by i))::bit(64)::bigint"
    " from (select sha256(convert_to(name, 'UTF8')) as h) t, generate_series(0, 7) as i $$",
    "insert into systask_meta values ('schema_version', '1') on conflict (key) do nothing",
};

constexpr const char* run_columns =
    "r.uuid::text, r.name, r.uid, r.description, r.provider_kind, r.provider_id, r.state, r.status, r.start_ns,"
    " r.finish_ns, r.duration, r.expires_ns, r.overflow, r.appended, r.dropped, r.prefilled,"
    " (select string_agg(m.seq::text || ':' || encode(m.compact, 'hex'), ',' order by m.seq)"
    "  from systask_message m where m.run_uuid = r.uuid)";

// What a resync lists before it reads whole rows (pg_history::impl::not_shown reads them).
constexpr const char* light_columns = "select r.uuid::text, r.state, r.appended";

// One statement, so one transaction: the runs, their messages, and the NOTIFY that names them
// (delivered at commit; running rows too, so that other replicas show them running). A finished
// row is final; a running image updates a running row only (its counts; its new messages go in);
// a row of another replica is never overwritten, and an image whose row is not written adds no
// message (a running image queued just after its run's finish would put back messages the finish
// dropped). A run's messages older than the oldest its image holds are deleted: the ring dropped
// them (overwrite_oldest), and the row's counts say so, so that the stored run is the run as the
// engine holds it.
const char* const write_statement =
    "with runs as ("
    " insert into systask_run as r (uuid, namespace, replica, name, uid, description, provider_kind, provider_id, state,"
    "  status, start_ns, finish_ns, duration, expires_ns, overflow, appended, dropped, prefilled)"
    " select x.uuid::uuid, $5, $3::uuid, x.name, x.uid, x.description, x.provider_kind, x.provider_id, x.state,"
    "  x.status, x.start_ns, x.finish_ns, x.duration, x.expires_ns, x.overflow, x.appended, x.dropped, x.prefilled"
    " from jsonb_to_recordset($1::jsonb) as x(uuid text, name text, uid text, description text,"
    "  provider_kind text, provider_id bigint, state smallint, status smallint, start_ns bigint, finish_ns bigint,"
    "  duration double precision, expires_ns bigint, overflow smallint, appended bigint, dropped bigint,"
    "  prefilled boolean)"
    " on conflict (uuid) do update set state = excluded.state, status = excluded.status,"
    "  finish_ns = excluded.finish_ns, duration = excluded.duration, expires_ns = excluded.expires_ns,"
    "  appended = excluded.appended, dropped = excluded.dropped"
    "  where r.replica = excluded.replica and r.state <> 1 and (excluded.state <> 0 or r.state = 0)"
    " returning r.uuid, r.state),"
    " messages as ("
    " insert into systask_message (run_uuid, seq, compact)"
    " select x.run::uuid, x.seq, decode(x.hex, 'hex') from jsonb_to_recordset($2::jsonb) as x(run text, seq bigint, hex text)"
    " join runs on runs.uuid = x.run::uuid"
    " on conflict do nothing),"
    " trimmed as ("
    " delete from systask_message m using runs,"
    "  (select y.run::uuid as run, min(y.seq) as first from jsonb_to_recordset($2::jsonb) as y(run text, seq bigint)"
    "   group by y.run) k"
    " where m.run_uuid = runs.uuid and k.run = runs.uuid and m.seq < k.first)"
    " select pg_notify($4, 'run:' || $3 || ':' || string_agg(uuid::text, ',')) from runs"
    " having count(*) > 0";

// A run whose finish could not be written whole (the queue was full and the registry no longer
// holds the run, or the server refused its row) gets its end alone: state, status and times over
// the row as last written, whose messages and counts stay as they are (so they still balance).
// A row of another replica, or a finished one, is left alone; a run without a row gets none.
const char* const finish_alone_statement =
    "with done as (update systask_run r set state = 1, status = x.status, finish_ns = x.finish_ns,"
    "  duration = x.duration, expires_ns = x.expires_ns"
    " from jsonb_to_recordset($1::jsonb) as x(uuid text, status smallint, finish_ns bigint, duration double precision,"
    "  expires_ns bigint)"
    " where r.uuid = x.uuid::uuid and r.replica = $2::uuid and r.state <> 1 returning r.uuid)"
    " select pg_notify($3, 'run:' || $2 || ':' || string_agg(uuid::text, ',')) from done having count(*) > 0";

// A replica `r` of namespace $1 is alive while its history session holds its liveness lock.
const char* const liveness_condition =
    "exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.granted"
    " and l.database = (select oid from pg_database where datname = current_database())"
    " and ((l.classid::bigint << 32) | l.objid::bigint) = systask_lock_key('systask/' || $1 || '/replica/' || r.replica::text))";

// At most $5 running rows of the dead replicas $3 become interrupted (expiring at $4), named in
// one NOTIFY on $2; answers (nothing, how many) or no row.
const std::string interrupt_statement =
    std::string("with dead as (update systask_run r set state = 2, expires_ns = $4::bigint,"
                " finish_ns = greatest(r.start_ns, (extract(epoch from clock_timestamp()) * 1000000000)::bigint)"
                " where r.uuid in (select d.uuid from systask_run d where d.namespace = $1 and d.state = 0"
                "  and d.replica = any($3::uuid[]) limit $5::int) and not ") +
    liveness_condition +
    " returning r.uuid)"
    " select pg_notify($2, 'run:maintenance:' || string_agg(uuid::text, ',')), count(*) from dead having count(*) > 0";

// At most 1,000 expired runs of namespace $2 (expires <= $1) and their messages; answers how many.
const char* const purge_statement =
    "with gone as (delete from systask_run where uuid in (select uuid from systask_run"
    " where namespace = $2 and expires_ns <= $1::bigint limit 1000) returning uuid),"
    " messages as (delete from systask_message m using gone where m.run_uuid = gone.uuid)"
    " select count(*) from gone";

run_image image_of(const row& r) {
  run_image im;
  im.uuid = r[0].value_or("");
  im.name = r[1].value_or("");
  im.uid = r[2].value_or("");
  im.description = r[3].value_or("");
  if (r[4]) im.provider = provider_ref{*r[4], to_int(r[5])};
  const auto state = static_cast<row_state>(to_int(r[6]));
  im.status = static_cast<task_status>(std::clamp<std::int64_t>(to_int(r[7]), 0, 255));
  im.start = pg_from_nanos(to_int(r[8]));
  im.finish = pg_from_nanos(to_int(r[9]));
  im.duration = r[10] ? std::strtod(r[10]->c_str(), nullptr) : 0.0;
  if (r[11]) im.expires = pg_from_nanos(to_int(r[11]));
  im.overflow = static_cast<overflow_policy>(std::clamp<std::int64_t>(to_int(r[12]), 0, 255));
  im.appended = static_cast<std::uint64_t>(to_int(r[13]));
  im.dropped = static_cast<std::uint64_t>(to_int(r[14]));
  im.prefilled = r[15] && *r[15] == "t";
  im.interrupted = state == row_state::interrupted;
  im.running = state == row_state::running;
  if (r[16]) {
    std::string_view all = *r[16];
    while (!all.empty()) {
      const std::size_t comma = std::min(all.find(','), all.size());
      const std::string_view one = all.substr(0, comma);
      const std::size_t colon = one.find(':');
      stored_message m;
      std::from_chars(one.data(), one.data() + colon, m.seq);
      m.compact = pg_unhex(one.substr(colon + 1));
      im.messages.push_back(std::move(m));
      all.remove_prefix(std::min(comma + 1, all.size()));
    }
  }
  return im;
}

// A text as a JSON string PostgreSQL can store: text columns cannot hold NUL (jsonb refuses
// \u0000), which the engine allows in names; it becomes U+FFFD, as other bad bytes do.
void append_pg_text(std::string& out, std::string_view text) {
  if (text.find('\0') == std::string_view::npos) {
    append_json_string(out, text);
    return;
  }
  std::string safe;
  for (char c : text) {
    if (c == '\0') {
      safe += "\xEF\xBF\xBD";
    } else {
      safe += c;
    }
  }
  append_json_string(out, safe);
}

// One run as a JSON object for jsonb_to_recordset (messages separately).
void append_run_json(std::string& out, const run_image& im, row_state state) {
  out += "{\"uuid\":";
  append_pg_text(out, im.uuid);
  out += ",\"name\":";
  append_pg_text(out, im.name);
  out += ",\"uid\":";
  append_pg_text(out, im.uid);
  out += ",\"description\":";
  append_pg_text(out, im.description);
  out += ",\"provider_kind\":";
  if (im.provider) {
    append_pg_text(out, im.provider->kind);
    out += ",\"provider_id\":" + std::to_string(im.provider->id);
  } else {
    out += "null,\"provider_id\":null";
  }
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.17g", im.duration);
  out += ",\"state\":" + std::to_string(static_cast<int>(state)) +
         ",\"status\":" + std::to_string(static_cast<int>(im.status)) + ",\"start_ns\":" + std::to_string(pg_nanos(im.start)) +
         ",\"finish_ns\":" + std::to_string(pg_nanos(im.finish)) + ",\"duration\":" + duration + ",\"expires_ns\":" +
         (im.expires ? std::to_string(pg_nanos(*im.expires)) : std::string("null")) +
         ",\"overflow\":" + std::to_string(static_cast<int>(im.overflow)) + ",\"appended\":" + std::to_string(im.appended) +
         ",\"dropped\":" + std::to_string(im.dropped) + ",\"prefilled\":" + (im.prefilled ? "true" : "false") + "}";
}

// The rows' fault, not the connection's or the server's state (a shutdown, a restart, a full
// disk come with other SQLSTATE classes and are retried): data exceptions (22), integrity (23), a
// program limit such as a row too large (54), a trigger's raise (P0).
bool refused_by_rows(const std::string& sqlstate) {
  const std::string cls = sqlstate.substr(0, 2);
  return cls == "22" || cls == "23" || cls == "54" || cls == "P0";
}

struct queued_run {
  run_image image;
  bool finished = false;
};

// A finish that was not written: what `finish_alone_statement` needs, without the messages.
struct lost_finish {
  std::string uuid;
  task_status status;
  wall_time finish;
  double duration;
  std::optional<wall_time> expires;
  bool refused;  // the server refused the whole run: only its end is tried again

  lost_finish(const run_image& im, bool was_refused)
      : uuid(im.uuid), status(im.status), finish(im.finish), duration(im.duration), expires(im.expires), refused(was_refused) {}
};

void append_finish_json(std::string& out, const lost_finish& l) {
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.17g", l.duration);
  out += "{\"uuid\":";
  append_pg_text(out, l.uuid);
  out += ",\"status\":" + std::to_string(static_cast<int>(l.status)) + ",\"finish_ns\":" + std::to_string(pg_nanos(l.finish)) +
         ",\"duration\":" + duration +
         ",\"expires_ns\":" + (l.expires ? std::to_string(pg_nanos(*l.expires)) : std::string("null")) + "}";
}

}  // namespace

struct pg_history::impl final : run_observer, store_status_source, std::enable_shared_from_this<impl> {
  impl(registry& r, pg_history_options o, detail::pg_conninfo info)
      : reg(r),
        options(std::move(o)),
        conninfo(std::move(info)),
        strand(boost::asio::make_strand(r.get_executor())),
        flush_timer(strand),
        resync_timer(strand),
        maintenance_timer(strand),
        reconnect_timer(strand),
        replica(new_uuid()),
        channel("systask_" + options.name_space),
        replica_key(pg_lock_key("systask/" + options.name_space + "/replica/" + replica)),
        maintenance_key(pg_lock_key("systask/" + options.name_space + "/maintenance")),
        migrate_key(pg_lock_key("systask/" + options.name_space + "/migrate")),
        backoff(options.retry_backoff_min) {}

  // A query handler that holds the history weakly: a connection's queue must not keep the
  // history (and so the connection itself) alive once nothing else does.
  template <class F>
  pg_connection::query_handler weakly(F f) {
    return [w = weak_from_this(), f = std::move(f)](pg_result r) mutable {
      if (auto s = w.lock()) f(*s, std::move(r));
    };
  }

  // ---- observer (on the registry's strand): queue, never wait -------------------------------
  void on_started(const task_record& run) override {
    if (!run.running()) return;  // its on_finished follows with the whole run
    enqueue(make_run_image(run), false);
  }
  void on_finished(const task_record& run) override { enqueue(make_run_image(run), true); }
  void on_dropped(const dropped_events& d) override { dropped.fetch_add(d.finished, std::memory_order_relaxed); }
  void on_expired(wall_time now) override {
    // Forget the uuids of runs gone from the registry: the sets stay as large as what it holds.
    std::lock_guard guard(mutex);
    std::erase_if(own, [&](const auto& e) { return e.second && *e.second <= now; });
    std::erase_if(mirrored, [&](const auto& e) { return e.second.forget_at && *e.second.forget_at <= now; });
  }

  void enqueue(run_image im, bool finished) {
    {
      std::lock_guard guard(mutex);
      own.insert_or_assign(im.uuid, finished ? im.expires : std::nullopt);
      if (read_only_db.load(std::memory_order_relaxed)) {
        dropped.fetch_add(finished, std::memory_order_relaxed);  // never written: counted once
        return;
      }
      if (queue.size() >= options.queue_capacity) {
        // A start only means no running row for that run (so no interrupted row if its process
        // dies before the finish is written). A finish is kept aside and written once there is
        // room (mend_lost_finishes): its row may say running, which the other replicas would
        // show for as long as this one lives. Beyond as many again, it is dropped.
        if (finished && lost.size() < options.queue_capacity) {
          lost.emplace_back(im, false);
          ++handed;
        } else {
          dropped.fetch_add(finished, std::memory_order_relaxed);
        }
        return;
      }
      finished_queued += finished;
      ++handed;
      queue.push_back({std::move(im), finished});
      if (kick_posted) return;  // one post wakes the strand for every run queued until it runs
      kick_posted = true;
    }
    boost::asio::post(strand, [self = shared_from_this()] {
      {
        std::lock_guard guard(self->mutex);
        self->kick_posted = false;
      }
      self->write_some();
    });
  }

  // ---- status --------------------------------------------------------------------------------
  store_stats stats() const noexcept override {
    store_stats s;
    try {
      std::lock_guard guard(mutex);
      s.backend = "postgresql";
      s.state = state;
      s.reason = reason;
      s.pending = finished_queued + finished_in_flight + lost.size() + mending;
      s.written = written;
      s.dropped = dropped.load(std::memory_order_relaxed);
      s.write_errors = write_errors;
      s.last_success = last_success;
      const bool up = ready.load();
      const double stale =
          up || !unsynced_since ? 0.0
                                : std::chrono::duration<double>(std::chrono::steady_clock::now() - *unsynced_since).count();
      s.extra.reserve(9);
      s.extra.push_back({"connected", "1 while the history's connection is up and its first resync done.", false,
                         up ? 1.0 : 0.0});
      s.extra.push_back({"mirror_stale_seconds",
                         "0 while connected; else for how long other replicas' runs may have been missed.", false, stale});
      s.extra.push_back({"mirror_rows_read_total",
                         "Rows of other replicas' runs read whole (with their messages), by notifications and resyncs.",
                         true, static_cast<double>(rows_read.load(std::memory_order_relaxed))});
      s.extra.push_back({"mirrored_runs_total", "Images of other replicas' runs shown in this registry: each run, and each newer state of a run shown (more messages, finished).", true,
                         static_cast<double>(mirrored_runs.load(std::memory_order_relaxed))});
      if (options.cluster_lock) {
        const pg_cluster_lock_stats l = options.cluster_lock->stats();
        s.extra.push_back({"lock_connected", "1 while the cluster lock's connection is up.", false, l.connected ? 1.0 : 0.0});
        s.extra.push_back({"lock_acquired_total", "Cluster sync locks acquired.", true, static_cast<double>(l.acquired)});
        s.extra.push_back({"lock_held_elsewhere_total", "Cluster sync lock requests refused: held by another replica.",
                           true, static_cast<double>(l.held_elsewhere)});
        s.extra.push_back({"lock_unavailable_total", "Cluster sync lock requests that could not be answered.", true,
                           static_cast<double>(l.unavailable)});
        s.extra.push_back({"lock_lost_total", "Cluster sync locks lost while held (their connection dropped).", true,
                           static_cast<double>(l.locks_lost)});
        s.histograms.push_back({"lock_acquire_wait_seconds",
                                "How long cluster sync lock requests waited for their answer, whatever it was.",
                                std::vector<double>(pg_lock_wait_buckets.begin(), pg_lock_wait_buckets.end()),
                                std::vector<std::uint64_t>(l.wait_histogram.begin(), l.wait_histogram.end()),
                                l.wait_seconds_sum});
      }
    } catch (...) {
      // Allocation failure copying the texts: the counters without them.
      s.reason.clear();
      s.extra.clear();
      s.histograms.clear();
    }
    return s;
  }

  // The host's hook, never after close() returned (the host may have destroyed what it uses).
  void log(store_state st, std::string_view message) {
    if (!options.on_log) return;
    std::lock_guard guard(host_mutex);
    if (detached) return;
    try {
      options.on_log(st, message);
    } catch (...) {
    }
  }

  void set_state(store_state st, std::string why) {
    bool changed = false;
    {
      std::lock_guard guard(mutex);
      changed = state != st || reason != why;
      state = st;
      reason = why;
    }
    cv.notify_all();
    if (changed) log(st, why.empty() ? std::string_view("connected") : std::string_view(why));
  }

  void count_error() {
    std::lock_guard guard(mutex);
    ++write_errors;
  }

  // ---- connection (on the strand) ------------------------------------------------------------
  void connect() {
    if (closed) return;
    detail::pg_connection::callbacks cb;
    std::weak_ptr<impl> weak = weak_from_this();
    cb.on_connected = [weak] {
      if (auto self = weak.lock()) self->on_connected();
    };
    cb.on_notify = [weak](detail::pg_notification n) {
      if (auto self = weak.lock()) self->on_notify(n.payload);
    };
    cb.on_closed = [weak](std::string why) {
      if (auto self = weak.lock()) self->on_closed(std::move(why));
    };
    conn = pg_connection::create(strand, conninfo, 10s, std::move(cb));
    conn->start();
  }

  void on_closed(std::string why) {
    conn.reset();
    {
      std::lock_guard guard(mutex);
      ready = false;
      if (!unsynced_since) unsynced_since = std::chrono::steady_clock::now();
    }
    writing = false;
    maintenance_owner = false;
    asking_maintenance = false;
    dead_since.clear();
    if (closed) return;
    set_state(store_state::degraded, "PostgreSQL unreachable, retrying: " + why);
    // Up to 25% jitter, so that replicas cut off together do not come back in lockstep.
    static thread_local std::minstd_rand jitter{std::random_device{}()};
    const auto wait = backoff + backoff * static_cast<long>(jitter() % 256) / 1024;
    reconnect_timer.expires_after(wait);
    backoff = std::min(backoff * 2, options.retry_backoff_max);
    reconnect_timer.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      if (auto self = w.lock(); self && !ec) self->connect();
    });
  }

  // The connect sequence, one statement after the other on the one session: the migration (in
  // one transaction under a transaction-scoped advisory lock; the version is read first, so a
  // newer schema is never touched), then the liveness lock, LISTEN and the first resync.
  void on_connected() {
    auto c = conn;
    setup_error.clear();
    // A failed step aborts the transaction: the statements queued after it fail too, the
    // final "commit" rolls it back, and the last step drops the connection and retries.
    auto step = [c](const char* what, auto then) {
      return [c, what, then](impl& s, pg_result r) mutable {
        if (c != s.conn) return;
        if (!r.ok) {
          if (s.setup_error.empty()) s.setup_error = std::string(what) + ": " + r.error;
          return;
        }
        then(s, r);
      };
    };
    c->query("begin", {}, weakly(step("begin", [](impl&, const pg_result&) {})));
    c->query("select pg_advisory_xact_lock($1)", {std::to_string(migrate_key)},
             weakly(step("migration lock", [](impl&, const pg_result&) {})));
    c->query(schema_meta_statement, {}, weakly(step("migration", [](impl&, const pg_result&) {})));
    c->query("select value from systask_meta where key = 'schema_version'", {},
             weakly(step("schema version", [c, step](impl& s, const pg_result& r) {
               const std::int64_t v = r.rows.empty() ? 0 : to_int(r.rows[0][0]);
               s.schema_seen = v;
               s.read_only = v > pg_schema_version;
               s.read_only_db.store(s.read_only, std::memory_order_relaxed);
               // Queued from here, before the commit below is sent: a schema of this version
               // or a newer one is left as it is.
               if (v < pg_schema_version) {
                 for (const char* sql : schema_statements) {
                   c->query(sql, {}, s.weakly(step("migration", [](impl&, const pg_result&) {})));
                 }
               }
               s.after_schema(c);
             })));
  }

  void after_schema(const std::shared_ptr<pg_connection>& c) {
    c->query("commit", {}, weakly([](impl&, pg_result) {}));
    c->query("select pg_try_advisory_lock($1)", {std::to_string(replica_key)}, weakly([](impl&, pg_result) {}));
    c->query("listen " + pg_connection::quote_identifier(channel), {}, weakly([](impl&, pg_result) {}));
    c->query("select 1", {}, weakly([c](impl& s, pg_result r) {
      if (c != s.conn || !r.ok) return;
      if (!s.setup_error.empty()) {
        s.drop_connection(c, "schema setup failed: " + s.setup_error);
        return;
      }
      s.backoff = s.options.retry_backoff_min;
      if (s.read_only) {
        s.set_state(store_state::read_only, "the database's schema (version " + std::to_string(s.schema_seen) +
                                                ") is newer than this library's (" + std::to_string(pg_schema_version) +
                                                "): nothing is written");
      } else {
        s.set_state(store_state::ok, "");
      }
      s.resync([c](impl& self, bool ok) {
        if (c != self.conn) return;
        if (!ok) {
          // Without its first resync the mirror would be incomplete: start over.
          self.drop_connection(c, "the first resync failed");
          return;
        }
        {
          std::lock_guard guard(self.mutex);
          self.ready = true;
          self.unsynced_since.reset();
        }
        self.cv.notify_all();
        self.write_some();
      });
      s.arm_timers();
    }));
  }

  void drop_connection(const std::shared_ptr<pg_connection>& c, std::string why) {
    c->close();  // no callback after close: on_closed is called here
    on_closed(std::move(why));
  }

  void arm_timers() {
    if (timers_armed) return;
    timers_armed = true;
    tick(flush_timer, options.flush_interval, [](impl& s) {
      s.flush_running();
      s.mend_lost_finishes();
      s.write_some();
    });
    tick(resync_timer, options.resync_interval, [](impl& s) {
      if (s.ready) s.resync([](impl&, bool) {});
    });
    tick(maintenance_timer, options.maintenance_interval, [](impl& s) { s.maintain(); });
  }

  template <class Work>
  void tick(boost::asio::steady_timer& timer, std::chrono::milliseconds every, Work work) {
    timer.expires_after(every);
    timer.async_wait([w = weak_from_this(), &timer, every, work](boost::system::error_code ec) {
      auto self = w.lock();
      if (ec || !self || self->closed) return;
      work(*self);
      self->tick(timer, every, work);
    });
  }

  // ---- writing (on the strand) -----------------------------------------------------------------
  // The new messages of this replica's running runs, every flush interval, so that a run whose
  // process dies is restored (interrupted) with what it logged until about then.
  void flush_running() {
    if (!ready || read_only || closed) return;
    std::vector<std::string> running;
    {
      std::lock_guard guard(mutex);
      for (const auto& [uuid, expires] : own) {
        if (!expires) running.push_back(uuid);
      }
    }
    std::unordered_map<std::string, std::uint64_t> still_running;
    for (const auto& uuid : running) {
      std::optional<task_record> rec;
      {
        std::lock_guard guard(host_mutex);
        if (detached) return;
        rec = reg.find_task(uuid);
      }
      if (!rec || !rec->running()) continue;
      const std::uint64_t appended = rec->messages_appended();
      still_running.emplace(uuid, appended);
      const auto seen = flushed_appended.find(uuid);
      if (seen != flushed_appended.end() && seen->second == appended) continue;
      enqueue(make_run_image(*rec), false);
    }
    flushed_appended = std::move(still_running);
  }

  void write_some() {
    if (!ready || writing || !conn || read_only || closed) return;
    std::vector<queued_run> batch;
    // After a statement failed on a live connection, runs go one at a time, so that one that
    // cannot be written (the server refuses it) is found, dropped and counted, and the others
    // are written.
    const std::size_t limit = isolating > 0 ? 1 : batch_runs;
    {
      std::lock_guard guard(mutex);
      while (!queue.empty() && batch.size() < limit) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
        if (batch.back().finished) {
          --finished_queued;
          ++finished_in_flight;
        }
      }
    }
    if (batch.empty()) return;
    // A run queued several times in one batch (started and finished, or two running images
    // when a write took longer than a flush interval) is written once: one INSERT ... ON
    // CONFLICT DO UPDATE may not touch a row twice (SQLSTATE 21000, which would fail the batch
    // on every retry). By its finished image if it has one (a running image read just before
    // the finish may queue after it), else by its newest.
    std::unordered_map<std::string_view, std::size_t> newest;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto [it, first] = newest.try_emplace(batch[i].image.uuid, i);
      if (!first && !batch[it->second].finished) it->second = i;
    }
    std::string runs = "[", messages = "[";
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& q = batch[i];
      if (newest[q.image.uuid] != i) continue;
      if (runs.size() > 1) runs += ',';
      append_run_json(runs, q.image, q.finished ? row_state::finished : row_state::running);
      for (const auto& m : q.image.messages) {
        if (messages.size() > 1) messages += ',';
        messages += "{\"run\":\"" + q.image.uuid + "\",\"seq\":" + std::to_string(m.seq) + ",\"hex\":\"" + pg_hex(m.compact) + "\"}";
      }
    }
    runs += ']';
    messages += ']';
    writing = true;
    auto shared_batch = std::make_shared<std::vector<queued_run>>(std::move(batch));
    conn->query(write_statement, {runs, messages, replica, channel, options.name_space},
                weakly([shared_batch, c = conn](impl& s, pg_result r) { s.written_batch(c, *shared_batch, r); }));
  }

  // The finishes kept aside (queue full, or refused by the server), each written again: the whole
  // run, queued, while the registry still holds it and there is room; else its end alone
  // (finish_alone_statement), after which it counts as dropped (the messages logged since its
  // last running image are not in the database). Ends alone wait until nothing is queued or being
  // written: a running image still queued would otherwise write the row after its end.
  void mend_lost_finishes() {
    if (!ready || read_only || closed || !conn) return;
    std::vector<lost_finish> todo;
    {
      std::lock_guard guard(mutex);
      if (lost.empty() || mending > 0) return;
      todo.assign(std::make_move_iterator(lost.begin()), std::make_move_iterator(lost.end()));
      lost.clear();
    }
    std::vector<lost_finish> alone, later;
    for (auto& l : todo) {
      std::optional<task_record> rec;
      if (!l.refused) {
        std::lock_guard guard(host_mutex);
        if (detached) return;
        rec = reg.find_task(l.uuid);
      }
      if (!rec || rec->running()) {
        alone.push_back(std::move(l));
        continue;
      }
      run_image im = make_run_image(*rec);
      std::lock_guard guard(mutex);
      if (queue.size() < options.queue_capacity) {
        ++finished_queued;  // already counted in `handed` when it was kept aside
        queue.push_back({std::move(im), true});
      } else {
        later.push_back(std::move(l));
      }
    }
    {
      std::lock_guard guard(mutex);
      if (writing || !queue.empty()) {
        std::move(alone.begin(), alone.end(), std::back_inserter(later));
        alone.clear();
      }
      std::move(later.begin(), later.end(), std::back_inserter(lost));
    }
    if (alone.empty()) return;
    std::string finishes = "[";
    for (const auto& l : alone) {
      if (finishes.size() > 1) finishes += ',';
      append_finish_json(finishes, l);
    }
    finishes += ']';
    {
      std::lock_guard guard(mutex);
      mending = alone.size();
    }
    conn->query(finish_alone_statement, {finishes, replica, channel},
                weakly([alone = std::move(alone), c = conn](impl& s, pg_result r) mutable {
                  // Refused (see written_batch) on a live connection: given up, not retried forever.
                  const bool refused = !r.ok && c == s.conn && c->connected() && refused_by_rows(r.sqlstate);
                  {
                    std::lock_guard guard(s.mutex);
                    s.mending = 0;
                    if (!r.ok) ++s.write_errors;
                    if (r.ok || refused) {
                      s.dropped.fetch_add(alone.size(), std::memory_order_relaxed);
                      s.handed_done += alone.size();
                    } else {
                      for (auto& l : alone) s.lost.push_back(std::move(l));  // tried again next flush
                    }
                  }
                  s.cv.notify_all();
                  if (!r.ok) s.log(store_state::degraded, "writing the end of runs whose finish was not written failed: " + r.error);
                }));
  }

  void written_batch(const std::shared_ptr<pg_connection>& c, std::vector<queued_run>& batch, const pg_result& r) {
    writing = false;
    std::size_t finished = 0;
    for (const auto& q : batch) finished += q.finished;
    // Sent alone, a run the server refuses is dropped rather than retried forever.
    const bool refused = !r.ok && c == conn && conn && conn->connected() && refused_by_rows(r.sqlstate);
    const bool drop = refused && batch.size() == 1;
    {
      std::lock_guard guard(mutex);
      finished_in_flight -= finished;
      if (r.ok) {
        written += finished;
        handed_done += batch.size();
        last_success = std::chrono::system_clock::now();
      } else if (drop) {
        // Its end alone is tried next (mend_lost_finishes): a running row written earlier
        // would otherwise be shown running by the other replicas.
        ++write_errors;
        for (const auto& q : batch) {
          if (q.finished) lost.emplace_back(q.image, true);
        }
        handed_done += batch.size() - finished;
      } else {
        // Put back in front, in order: the write is idempotent, so a batch that may have
        // committed before the failure is simply sent again.
        ++write_errors;
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
          finished_queued += it->finished;
          queue.push_front(std::move(*it));
        }
      }
    }
    cv.notify_all();
    if (r.ok) {
      if (isolating > 0) --isolating;
      if (!read_only) set_state(store_state::ok, "");
      write_some();
    } else if (drop) {
      log(store_state::degraded, "a run could not be written and is dropped (the server refused it): " + r.error);
      write_some();
    } else if (refused) {
      isolating = batch_runs;  // the next runs one by one
      set_state(store_state::degraded, "a write was refused, retrying run by run: " + r.error);
      write_some();
    } else {
      set_state(store_state::degraded, "write failed, retrying: " + r.error);
    }
  }

  // ---- mirroring (on the strand) -------------------------------------------------------------
  void on_notify(const std::string& payload) {
    // "run:<replica>:<uuid>,<uuid>..."
    if (!payload.starts_with("run:")) return;
    const std::size_t colon = payload.find(':', 4);
    if (colon == std::string::npos || payload.compare(4, colon - 4, replica) == 0) return;
    std::string list = "{" + payload.substr(colon + 1) + "}";
    fetch("select " + std::string(run_columns) + " from systask_run r where r.uuid = any($1::uuid[]) and r.namespace = $2",
          {list, options.name_space}, [](impl&, bool) {});
  }

  // The unexpired finished and interrupted runs of the other replicas, newest first, up to
  // resync_limit; then all their running runs (as many as run at once: no limit). Each in two
  // steps: the runs' uuids, states and message counts first, then, in batches of resync_batch,
  // the whole rows (with their messages) of those not shown as they are. A resync every minute
  // then reads what changed, not up to resync_limit runs with every message each time.
  void resync(std::function<void(impl&, bool)> then) {
    if (!conn) return;
    conn->query(std::string(light_columns) + " from systask_run r where r.namespace = $4"
                " and r.state <> 0 and r.replica <> $1::uuid and (r.expires_ns is null or r.expires_ns > $2)"
                " order by r.finish_ns desc limit $3",
                {replica, std::to_string(pg_nanos(std::chrono::system_clock::now())),
                 std::to_string(options.resync_limit), options.name_space},
                weakly([then = std::move(then)](impl& s, pg_result r) {
                  auto wanted = std::make_shared<std::vector<std::string>>();
                  if (r.ok) *wanted = s.not_shown(r.rows);
                  s.fetch_batches(wanted, 0, [then, listed_ok = r.ok](impl& s2, bool fetched_ok) {
                    s2.resync_running([then, ok = listed_ok && fetched_ok](impl& self, bool running_ok) {
                      then(self, ok && running_ok);
                    });
                  });
                }));
  }

  // Every running run of the other replicas: those shown running that are not among them are
  // forgotten (finished since, which the notification that follows shows, or deleted), and those
  // not shown as they are (new, or with more messages) are read whole.
  void resync_running(std::function<void(impl&, bool)> then) {
    if (!conn) return;
    conn->query(std::string(light_columns) + " from systask_run r where r.namespace = $2 and r.state = 0"
                " and r.replica <> $1::uuid",
                {replica, options.name_space}, weakly([then = std::move(then)](impl& s, pg_result r) {
                  if (!r.ok) return then(s, false);
                  s.forget_running_except(r.rows);
                  s.fetch_batches(std::make_shared<std::vector<std::string>>(s.not_shown(r.rows)), 0, then);
                }));
  }

  // Forgets the runs shown running whose uuid is not among `rows` (every running row).
  void forget_running_except(const std::vector<row>& rows) {
    std::vector<std::string> gone;
    {
      std::lock_guard guard(mutex);
      std::unordered_set<std::string_view> listed;
      for (const auto& r : rows) {
        if (r[0]) listed.insert(*r[0]);
      }
      for (const auto& [uuid, m] : mirrored) {
        if (m.state == row_state::running && !listed.contains(uuid)) gone.push_back(uuid);
      }
      for (const auto& uuid : gone) mirrored.erase(uuid);
    }
    if (gone.empty()) return;
    std::lock_guard guard(host_mutex);
    if (detached) return;
    reg.forget_mirrored(gone);
  }

  // The uuids of `rows` (light_columns) that are neither this replica's nor shown as
  // they are (mirror's rule), in the rows' order.
  std::vector<std::string> not_shown(const std::vector<row>& rows) {
    std::vector<std::string> out;
    std::lock_guard guard(mutex);
    for (const auto& r : rows) {
      if (!r[0] || own.contains(*r[0])) continue;
      const auto row_is = static_cast<row_state>(to_int(r[1]));
      const auto seen = mirrored.find(*r[0]);
      if (seen != mirrored.end() && seen->second.state == row_is &&
          (row_is != row_state::running || seen->second.appended == static_cast<std::uint64_t>(to_int(r[2])))) {
        continue;
      }
      out.push_back(*r[0]);
    }
    return out;
  }

  // Reads and shows the runs `uuids[from..]`, resync_batch at a time, one query after another;
  // then `then(all read)`.
  void fetch_batches(std::shared_ptr<std::vector<std::string>> uuids, std::size_t from,
                     std::function<void(impl&, bool)> then, bool ok_so_far = true) {
    if (from >= uuids->size()) return then(*this, ok_so_far);
    const std::size_t to = std::min(uuids->size(), from + resync_batch);
    std::string list = "{";
    for (std::size_t i = from; i < to; ++i) list += (i > from ? "," : "") + (*uuids)[i];
    list += '}';
    fetch("select " + std::string(run_columns) + " from systask_run r where r.uuid = any($1::uuid[]) and r.namespace = $2",
          {list, options.name_space},
          [uuids = std::move(uuids), to, then = std::move(then), ok_so_far](impl& s, bool ok) mutable {
            s.fetch_batches(std::move(uuids), to, std::move(then), ok_so_far && ok);
          });
  }
  static constexpr std::size_t resync_batch = 256;

  // Reads whole rows (run_columns) and shows their runs.
  void fetch(std::string sql, row params, std::function<void(impl&, bool)> then) {
    if (!conn) return;
    conn->query(std::move(sql), std::move(params), weakly([then = std::move(then)](impl& s, pg_result r) {
      s.rows_read.fetch_add(r.rows.size(), std::memory_order_relaxed);
      if (r.ok) s.mirror(r.rows);
      then(s, r.ok);
    }));
  }

  // Shows the rows' runs in the registry (registry::mirror): each run once per state, and a
  // running one again whenever it has more messages.
  void mirror(const std::vector<row>& rows) {
    std::vector<run_image> images;
    {
      std::lock_guard guard(mutex);
      for (const auto& r : rows) {
        if (!r[0] || own.contains(*r[0])) continue;
        const auto row_is = static_cast<row_state>(to_int(r[6]));
        const auto appended = static_cast<std::uint64_t>(to_int(r[13]));
        const auto seen = mirrored.find(*r[0]);
        if (seen != mirrored.end() && seen->second.state == row_is &&
            (row_is != row_state::running || seen->second.appended == appended)) {
          continue;  // shown as it is
        }
        images.push_back(image_of(r));
        // Forgotten when it expires (on_expired); an interrupted run's expiry is computed by
        // restore from its task's retention, so it is kept for the retention of interrupted
        // rows; a running one is kept until it is replaced.
        const run_image& im = images.back();
        const std::optional<wall_time> forget_at =
            im.running       ? std::nullopt
            : im.interrupted ? std::optional<wall_time>(std::chrono::system_clock::now() + options.interrupted_retention)
                             : im.expires;
        mirrored.insert_or_assign(im.uuid, mirror_state{forget_at, row_is, appended});
      }
    }
    if (images.empty()) return;
    std::vector<provider_image> providers;
    for (const auto& im : images) {
      if (!im.provider || im.interrupted || im.running) continue;
      provider_image p{im.provider->kind, im.provider->id, std::nullopt, std::nullopt};
      if (im.status == task_status::successful) p.last_success = im.finish;
      providers.push_back(std::move(p));
    }
    std::string refused;
    std::vector<std::string> retry;  // not shown: asked again by the next notification or resync
    {
      // Never into a registry the host may be destroying: close() waits for this and stops it.
      std::lock_guard guard(host_mutex);
      if (detached) return;
      std::vector<std::string> uuids;
      for (const auto& im : images) uuids.push_back(im.uuid);
      // The items the registry names a provider image by in its refusals (run_images.cpp).
      std::vector<std::string> provider_items;
      for (const auto& p : providers) {
        provider_items.push_back("provider " + make_safe_text(p.kind, limits::name_bytes) + " " + std::to_string(p.id));
      }
      try {
        const restore_report report = reg.mirror(std::move(images), std::move(providers));
        mirrored_runs.fetch_add(report.runs_restored, std::memory_order_relaxed);
        std::size_t new_refusals = 0;
        const restore_error* first_new = nullptr;
        for (const auto& e : report.errors) {
          if (e.item.starts_with("run ")) retry.push_back(e.item.substr(4));
          const std::size_t why = std::hash<std::string>{}(e.reason);
          const auto [at, inserted] = refusals_logged.try_emplace(e.item, why);
          if (inserted || at->second != why) {
            at->second = why;
            if (!new_refusals++) first_new = &e;
          }
        }
        if (new_refusals) {
          refused = std::to_string(new_refusals) + " run(s) or provider(s) of other replicas refused, first: " +
                    first_new->item + ": " + first_new->reason;
        }
        // Shown now: a later refusal of it is news again.
        if (!refusals_logged.empty()) {
          const std::unordered_set<std::string_view> still_refused(retry.begin(), retry.end());
          for (const auto& uuid : uuids) {
            if (!still_refused.contains(uuid)) refusals_logged.erase("run " + uuid);
          }
          std::unordered_set<std::string_view> refused_items;
          for (const auto& e : report.errors) refused_items.insert(e.item);
          for (const auto& item : provider_items) {
            if (!refused_items.contains(item)) refusals_logged.erase(item);
          }
        }
        if (refusals_logged.size() > refused_memory) refusals_logged.clear();
      } catch (...) {
        refused = "out of memory while restoring runs of other replicas";  // what was restored stays
        retry = std::move(uuids);  // applying one again replaces it with itself
      }
    }
    if (!retry.empty()) {
      std::lock_guard guard(mutex);
      for (const auto& uuid : retry) mirrored.erase(uuid);
    }
    if (!refused.empty()) {
      count_error();
      log(store_state::ok, "mirror: " + refused);
    }
  }

  // ---- maintenance (on the strand; one owner among the replicas) ---------------------------
  void maintain() {
    if (!ready || !conn || read_only) return;
    if (!maintenance_owner) {
      // Asked again only while not the owner, one request at a time: a session that takes an
      // advisory lock it holds holds it twice (research/persistence.md 4.9).
      if (asking_maintenance) return;
      asking_maintenance = true;
      conn->query("select pg_try_advisory_lock($1)", {std::to_string(maintenance_key)},
                  weakly([c = conn](impl& s, pg_result r) {
                    s.asking_maintenance = false;
                    if (c != s.conn) return;  // answered on a connection that is gone
                    if (r.ok && !r.rows.empty() && r.rows[0][0] == "t") {
                      s.maintenance_owner = true;
                      s.maintain();
                    }
                  }));
      return;
    }
    // Runs left running by a replica whose liveness lock is gone (its session ended: the
    // process died, or its connection did) become interrupted, and the others are told. A
    // replica is given `interrupt_grace` to come back first: a connection that drops and
    // reconnects (a server restart) takes its lock again, and its runs go on.
    conn->query(std::string("select distinct r.replica::text from systask_run r where r.namespace = $1 and r.state = 0"
                            " and not ") + liveness_condition,
                {options.name_space}, weakly([](impl& s, pg_result r) {
                  if (!s.conn) return;
                  if (!r.ok) {
                    s.log(store_state::degraded, "maintenance: reading dead replicas failed: " + r.error);
                    return;
                  }
                  const auto now = std::chrono::steady_clock::now();
                  std::map<std::string, std::chrono::steady_clock::time_point> still_dead;
                  std::string overdue;
                  for (const auto& row : r.rows) {
                    if (!row[0]) continue;
                    const auto seen = s.dead_since.find(*row[0]);
                    const auto since = seen == s.dead_since.end() ? now : seen->second;
                    still_dead.emplace(*row[0], since);
                    if (now - since >= s.options.interrupt_grace) overdue += (overdue.empty() ? "" : ",") + *row[0];
                  }
                  s.dead_since = std::move(still_dead);
                  if (!overdue.empty()) s.interrupt("{" + overdue + "}");
                }));
    purge(0);
  }

  // Marks the running runs of the given dead replicas interrupted, 128 at a time (the NOTIFY
  // that names them stays under PostgreSQL's 8000 bytes), until none is left.
  void interrupt(std::string replicas) {
    if (!conn) return;
    const std::string expires = std::to_string(pg_nanos(std::chrono::system_clock::now() + options.interrupted_retention));
    conn->query(interrupt_statement, {options.name_space, channel, replicas, expires, std::to_string(batch_runs)},
                weakly([replicas](impl& s, pg_result r) {
                  if (!r.ok) {
                    s.log(store_state::degraded, "maintenance: marking runs interrupted failed: " + r.error);
                    return;
                  }
                  // A full batch: there may be more.
                  if (!r.rows.empty() && r.rows[0].size() > 1 && to_int(r.rows[0][1]) == static_cast<std::int64_t>(batch_runs)) {
                    s.interrupt(replicas);
                  }
                }));
  }

  // Deletes expired rows in batches of 1,000, at most 10 batches a pass (so a pass stays short
  // and the writes go on between passes).
  void purge(int batches_done) {
    if (!conn || batches_done >= 10) return;
    conn->query(purge_statement, {std::to_string(pg_nanos(std::chrono::system_clock::now())), options.name_space},
                weakly([batches_done](impl& s, pg_result r) {
                  if (!r.ok) {
                    s.log(store_state::degraded, "maintenance: purging expired rows failed: " + r.error);
                    return;
                  }
                  if (!r.rows.empty() && to_int(r.rows[0][0]) == 1000) s.purge(batches_done + 1);
                }));
  }

  void shutdown() {
    closed = true;
    flush_timer.cancel();
    resync_timer.cancel();
    maintenance_timer.cancel();
    reconnect_timer.cancel();
    if (conn) conn->close();
    conn.reset();
  }

  registry& reg;
  const pg_history_options options;
  const detail::pg_conninfo conninfo;
  boost::asio::strand<boost::asio::any_io_executor> strand;
  boost::asio::steady_timer flush_timer, resync_timer, maintenance_timer, reconnect_timer;
  const std::string replica;
  const std::string channel;
  const std::int64_t replica_key, maintenance_key, migrate_key;
  std::chrono::milliseconds backoff;

  // Strand only.
  std::shared_ptr<pg_connection> conn;
  bool writing = false, timers_armed = false, maintenance_owner = false, read_only = false, closed = false;
  bool asking_maintenance = false;
  std::size_t isolating = 0;  // runs still to be written one at a time after a refused statement
  // This replica's running runs: messages appended when their messages were last queued.
  std::unordered_map<std::string, std::uint64_t> flushed_appended;
  // Maintenance owner only: replicas seen without their liveness lock, since when.
  std::map<std::string, std::chrono::steady_clock::time_point> dead_since;
  std::int64_t schema_seen = 0;
  std::string setup_error;  // the first failure of the connect sequence
  std::atomic<bool> ready{false};

  // Shared with the observer and stats(): the mutex.
  mutable std::mutex mutex;
  mutable std::condition_variable cv;
  std::deque<queued_run> queue;
  bool kick_posted = false;
  // Uuids of this replica's runs, with the time they expire from the registry (nullopt: not yet
  // known, e.g. still running); and of the runs mirrored, with what was shown of them.
  std::unordered_map<std::string, std::optional<wall_time>> own;
  struct mirror_state {
    std::optional<wall_time> forget_at;  // when it leaves the registry (nullopt: not known yet)
    row_state state;
    std::uint64_t appended;  // messages the shown image had accepted (running runs grow)
  };
  std::unordered_map<std::string, mirror_state> mirrored;
  // What the registry refused to show ("run <uuid>", "provider <kind> <id>"), with a hash of
  // the reason logged. A refused run is offered again at every resync and whenever its row
  // changes (its provider may be registered meanwhile) but logged and counted once per run and
  // reason, not once per resync or flush. Strand only. Bounded: cleared once it outgrows
  // refused_memory (each refusal is then logged once more).
  std::unordered_map<std::string, std::size_t> refusals_logged;
  static constexpr std::size_t refused_memory = 10'000;
  // Finishes not written yet that did not fit the queue or that the server refused (at most
  // queue_capacity), and how many are being written alone now.
  std::deque<lost_finish> lost;
  std::size_t mending = 0;
  std::uint64_t finished_queued = 0, finished_in_flight = 0, written = 0, write_errors = 0;
  std::uint64_t handed = 0, handed_done = 0;
  std::optional<wall_time> last_success;
  // Since when the mirror has not been known complete (nullopt: connected and resynced).
  std::optional<std::chrono::steady_clock::time_point> unsynced_since = std::chrono::steady_clock::now();
  store_state state = store_state::degraded;
  std::string reason = "connecting";
  std::atomic<std::uint64_t> dropped{0}, mirrored_runs{0}, rows_read{0};
  std::atomic<bool> closed_once{false};
  std::atomic<bool> read_only_db{false};  // read_only, for the observer

  // What touches the host's objects (the registry's restore, the log hook) holds it; close()
  // sets `detached` under it, so nothing does once close() returned.
  std::mutex host_mutex;
  bool detached = false;
};

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw pg_error(std::string("pg_history_options: ") + what);
}

}  // namespace

pg_history::pg_history(registry& reg, pg_history_options o) {
  check(!o.name_space.empty() && o.name_space.size() <= 55 && o.name_space.find('\0') == std::string::npos,
        "name_space must be 1 to 55 bytes without NUL");
  check(o.flush_interval >= 1ms && o.flush_interval <= 1min, "flush_interval must be 1 ms .. 1 min");
  check(o.resync_interval >= 1s && o.resync_interval <= 1h, "resync_interval must be 1 s .. 1 h");
  check(o.maintenance_interval >= 10ms && o.maintenance_interval <= 1h, "maintenance_interval must be 10 ms .. 1 h");
  check(o.interrupt_grace >= 0ms && o.interrupt_grace <= 1h, "interrupt_grace must be 0 .. 1 h");
  check(o.interrupted_retention >= 1min && o.interrupted_retention <= std::chrono::hours(24 * 366),
        "interrupted_retention must be 1 min .. 366 days");
  check(o.queue_capacity >= 1 && o.queue_capacity <= 16'777'216, "queue_capacity must be 1 .. 16,777,216");
  check(o.resync_limit >= 1 && o.resync_limit <= 1'000'000, "resync_limit must be 1 .. 1,000,000");
  check(o.retry_backoff_min >= 1ms && o.retry_backoff_min <= o.retry_backoff_max && o.retry_backoff_max <= 1h,
        "retry backoff must be 1 ms <= min <= max <= 1 h");
  detail::pg_conninfo info;
  try {
    info = detail::pg_connection::prepare(o.conninfo);
  } catch (const std::invalid_argument& e) {
    throw pg_error(e.what());
  }
  impl_ = std::make_shared<impl>(reg, std::move(o), std::move(info));
  reg.attach_store(impl_);
  try {
    reg.add_observer(impl_);
  } catch (...) {
    reg.detach_store(impl_);
    throw;
  }
  boost::asio::post(impl_->strand, [self = impl_] { self->connect(); });
}

pg_history::~pg_history() { close(); }

void pg_history::close() noexcept {
  if (!impl_ || impl_->closed_once.exchange(true)) return;
  {
    // Waits for a restore or a log call in progress on the strand; none starts afterwards.
    std::lock_guard guard(impl_->host_mutex);
    impl_->detached = true;
  }
  impl_->reg.remove_observer(impl_);
  impl_->reg.detach_store(impl_);
  {
    std::lock_guard guard(impl_->mutex);
    impl_->dropped.fetch_add(impl_->finished_queued + impl_->lost.size(), std::memory_order_relaxed);
    impl_->finished_queued = 0;
    impl_->queue.clear();
    impl_->lost.clear();
  }
  boost::asio::post(impl_->strand, [self = impl_] { self->shutdown(); });
}

store_stats pg_history::stats() const noexcept { return impl_->stats(); }
const std::string& pg_history::replica_id() const noexcept { return impl_->replica; }

bool pg_history::wait_written(std::chrono::milliseconds limit) const noexcept {
  std::unique_lock lock(impl_->mutex);
  const std::uint64_t target = impl_->handed;
  return impl_->cv.wait_for(lock, limit, [&] { return impl_->handed_done >= target || impl_->closed_once; });
}

bool pg_history::wait_ready(std::chrono::milliseconds limit) const noexcept {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, limit, [&] { return impl_->ready.load(); });
}

}  // namespace systask
