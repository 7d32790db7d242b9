// SPDX-License-Identifier: BSL-1.0
#include <systask/store/postgresql.hpp>

#include "pg_connection.hpp"
#include "sha256.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <random>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace systask {

std::int64_t pg_lock_key(std::string_view lock_name) noexcept {
  const auto digest = detail::sha256::of(lock_name);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{digest[i]} << (8 * i);
  return static_cast<std::int64_t>(v);
}

std::int64_t pg_provider_lock_key(std::string_view lock_namespace, std::string_view kind, std::int64_t id) noexcept {
  detail::sha256 h;
  h.update("systask/");
  h.update(lock_namespace);
  h.update("/providers/");
  h.update(kind);
  h.update("/");
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, id).ptr;
  h.update(digits, static_cast<std::size_t>(end - digits));
  const auto digest = h.finish();
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{digest[i]} << (8 * i);
  return static_cast<std::int64_t>(v);
}

namespace {

using detail::pg_connection;
using detail::pg_notification;
using detail::pg_result;

constexpr std::string_view skipped_text = "A sync request from another replica was skipped because this sync is still running";
constexpr const char* poll_sql =
    "select classid::int8, objid::int8 from pg_locks where locktype = 'advisory' and granted and objsubid = 1 "
    "and database = (select oid from pg_database where datname = current_database()) and pid <> pg_backend_pid()";

std::string default_replica_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "replica");
  std::string name = host;
  std::replace(name.begin(), name.end(), ':', '_');
  return name + "-" + std::to_string(getpid());
}

void check_options(pg_cluster_lock_options& o) {
  using std::chrono::milliseconds;
  if (o.lock_namespace.empty() || o.lock_namespace.size() > 55 || o.lock_namespace.find('\0') != std::string::npos) {
    throw pg_error("pg_cluster_lock_options::lock_namespace must be 1 to 55 bytes without NUL");
  }
  if (o.poll_interval < milliseconds(10) || o.poll_interval > std::chrono::hours(1)) {
    throw pg_error("pg_cluster_lock_options::poll_interval must be 10 ms to 1 h");
  }
  if (o.connect_timeout < milliseconds(10) || o.connect_timeout > std::chrono::minutes(10)) {
    throw pg_error("pg_cluster_lock_options::connect_timeout must be 10 ms to 10 min");
  }
  if (o.reconnect_max < milliseconds(1) || o.reconnect_max > std::chrono::hours(1) ||
      o.reconnect_min < milliseconds(1) || o.reconnect_min > o.reconnect_max) {
    throw pg_error("pg_cluster_lock_options: need 1 ms <= reconnect_min <= reconnect_max <= 1 h");
  }
  if (o.replica_name.empty()) o.replica_name = default_replica_name();
  if (o.replica_name.size() > 128 || o.replica_name.find_first_of(std::string_view(":\0", 2)) != std::string::npos) {
    throw pg_error("pg_cluster_lock_options::replica_name must be 1 to 128 bytes without ':' or NUL");
  }
}

std::string provider_text(const provider_ref& p) { return p.kind + ":" + std::to_string(p.id); }

// The keys other sessions hold, as a sorted vector swapped whole by the strand and read by any
// thread without a lock (the engine's pinned_view scheme): a reader announces itself in
// `readers_` before loading the pointer; the writer frees the vectors it replaced once it sees
// no reader after the swap (a reader that comes later loads the new vector). Both sides use
// seq_cst, which is what makes "no reader seen after the swap" mean "none holds an old one".
class held_keys {
 public:
  held_keys() : current_(new std::vector<std::int64_t>()) {}
  ~held_keys() { delete current_.load(); }
  held_keys(const held_keys&) = delete;
  held_keys& operator=(const held_keys&) = delete;

  /// Any thread; lock-free, never allocates.
  bool contains(std::int64_t key) const noexcept {
    readers_.fetch_add(1, std::memory_order_seq_cst);
    const std::vector<std::int64_t>* keys = current_.load(std::memory_order_seq_cst);
    const bool found = std::binary_search(keys->begin(), keys->end(), key);
    readers_.fetch_sub(1, std::memory_order_release);
    return found;
  }
  /// The strand only (the one writer).
  const std::vector<std::int64_t>& keys() const noexcept { return *current_.load(std::memory_order_relaxed); }
  /// The strand only. `keys` sorted, without duplicates.
  void set(std::vector<std::int64_t> keys) {
    if (retired_.size() == retired_.capacity()) retired_.reserve(2 * retired_.size() + 4);  // no throw after the swap
    auto next = std::make_unique<const std::vector<std::int64_t>>(std::move(keys));
    retired_.emplace_back(current_.exchange(next.release(), std::memory_order_seq_cst));
    if (readers_.load(std::memory_order_seq_cst) == 0) retired_.clear();
  }

 private:
  std::atomic<const std::vector<std::int64_t>*> current_;
  mutable std::atomic<std::uint64_t> readers_{0};
  std::vector<std::unique_ptr<const std::vector<std::int64_t>>> retired_;
};

}  // namespace

struct pg_cluster_lock::impl : std::enable_shared_from_this<pg_cluster_lock::impl> {
  using strand_type = pg_connection::strand_type;
  enum class mode : unsigned char {
    acquiring,  // pg_try_advisory_lock in flight
    server,     // the server holds it for this session
    local,      // this replica's lock only: taken while unavailable, or lost with its connection
  };
  struct lease_entry {
    provider_ref provider;
    run_ref holder;
    std::uint64_t id = 0;
    mode how = mode::acquiring;
    std::string lost_warning;  // said to the holder once it is attached, if lost before
  };

  impl(boost::asio::any_io_executor executor, pg_cluster_lock_options o)
      : strand(boost::asio::make_strand(executor)),
        options(std::move(o)),
        info(pg_connection::prepare(options.conninfo)),
        channel("systask_" + options.lock_namespace),
        listen_sql("LISTEN " + pg_connection::quote_identifier(channel)),
        reconnect_timer(strand),
        poll_timer(strand),
        backoff(options.reconnect_min),
        rng(std::random_device{}()) {}

  // -- strand state
  strand_type strand;
  pg_cluster_lock_options options;
  detail::pg_conninfo info;
  std::string channel;
  std::string listen_sql;
  std::shared_ptr<pg_connection> conn;
  boost::asio::steady_timer reconnect_timer;
  boost::asio::steady_timer poll_timer;
  std::chrono::milliseconds backoff;
  std::minstd_rand rng;
  std::uint64_t epoch = 0;  // one per connection: stale timer handlers see a newer one
  bool closed = false;
  bool poll_in_flight = false;
  bool poll_again = false;
  std::string last_error = "not connected yet";
  std::unordered_map<std::int64_t, lease_entry> leases;
  std::uint64_t next_id = 1;

  // -- read from any thread
  held_keys elsewhere;  // written on the strand
  std::atomic<bool> up{false};
  std::atomic<int> pid{0};
  std::atomic<std::uint64_t> n_connects{0}, n_acquired{0}, n_elsewhere{0}, n_unavailable{0}, n_lost{0}, n_polls{0};
  // How long acquires waited for their answer (pg_cluster_lock_stats::wait_histogram).
  std::array<std::atomic<std::uint64_t>, pg_lock_wait_buckets.size() + 1> wait_buckets{};
  std::atomic<std::uint64_t> wait_ns_sum{0};

  void observe_wait(std::chrono::steady_clock::duration waited) {
    const double seconds = std::chrono::duration<double>(waited).count();
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(pg_lock_wait_buckets.begin(), pg_lock_wait_buckets.end(), seconds) - pg_lock_wait_buckets.begin());
    wait_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    wait_ns_sum.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count()),
                          std::memory_order_relaxed);
  }

  std::int64_t key_of(const provider_ref& p) const noexcept {
    return pg_provider_lock_key(options.lock_namespace, p.kind, p.id);
  }

  void log(pg_log_level level, const std::string& message) const noexcept {
    if (!options.on_log) return;
    try {
      options.on_log(level, message);
    } catch (...) {  // the host's hook must not break the lock
    }
  }

  void set_elsewhere(std::int64_t key, bool held) {
    const auto& current = elsewhere.keys();
    const bool present = std::binary_search(current.begin(), current.end(), key);
    if (present == held) return;
    std::vector<std::int64_t> next = current;
    if (held) {
      next.insert(std::lower_bound(next.begin(), next.end(), key), key);
    } else {
      next.erase(std::lower_bound(next.begin(), next.end(), key));
    }
    elsewhere.set(std::move(next));
  }

  // ---- connection life
  void connect() {
    if (closed) return;
    std::weak_ptr<impl> w = weak_from_this();
    pg_connection::callbacks cb;
    cb.on_connected = [w] {
      if (auto s = w.lock()) s->on_connected();
    };
    cb.on_notify = [w](pg_notification n) {
      if (auto s = w.lock()) s->on_notify(n);
    };
    cb.on_closed = [w](std::string why) {
      if (auto s = w.lock()) s->on_closed(std::move(why));
    };
    cb.on_notice = [w](std::string_view notice) {
      if (auto s = w.lock()) s->log(pg_log_level::info, "server notice on the lock connection: " + std::string(notice));
    };
    conn = pg_connection::create(strand, info, options.connect_timeout, std::move(cb));
    conn->start();
  }

  void on_connected() {
    ++epoch;
    backoff = options.reconnect_min;
    pid.store(conn->backend_pid(), std::memory_order_release);
    up.store(true, std::memory_order_release);
    n_connects.fetch_add(1, std::memory_order_relaxed);
    log(pg_log_level::info, "cluster sync lock: connected (backend pid " + std::to_string(conn->backend_pid()) + ")");
    std::weak_ptr<impl> w = weak_from_this();
    conn->query(listen_sql, {}, [w](pg_result r) {
      auto s = w.lock();
      if (s && !r.ok && !s->closed) s->log(pg_log_level::error, "cluster sync lock: LISTEN failed: " + r.error);
    });
    retake();
    poll();
    schedule_poll();
  }

  void on_closed(std::string why) {
    conn.reset();
    up.store(false, std::memory_order_release);
    pid.store(0, std::memory_order_release);
    last_error = why;
    poll_timer.cancel();
    poll_in_flight = false;
    poll_again = false;
    if (closed) return;
    for (auto& [key, e] : leases) {
      if (e.how != mode::server) continue;
      e.how = mode::local;
      n_lost.fetch_add(1, std::memory_order_relaxed);
      const std::string warning = "cluster sync lock lost: " + why;
      if (!e.holder || !e.holder.log_as_task(log_level::warning, warning)) e.lost_warning = warning;
      log(pg_log_level::warning, "cluster sync lock of provider " + provider_text(e.provider) + " lost: " + why);
      if (options.on_lock_lost) {
        try {
          options.on_lock_lost(e.provider, e.holder);
        } catch (...) {  // the host's hook must not break the lock
        }
      }
    }
    const auto jitter = std::uniform_int_distribution<long long>(0, backoff.count() / 4)(rng);
    const auto wait = backoff + std::chrono::milliseconds(jitter);
    backoff = std::min(backoff * 2, options.reconnect_max);
    log(pg_log_level::warning, "cluster sync lock: connection failed or lost (" + why + "); reconnecting in " +
                                   std::to_string(wait.count()) + " ms");
    reconnect_timer.expires_after(wait);
    std::weak_ptr<impl> w = weak_from_this();
    reconnect_timer.async_wait([w](boost::system::error_code ec) {
      auto s = w.lock();
      if (!ec && s && !s->conn) s->connect();
    });
  }

  void shutdown() {
    closed = true;
    reconnect_timer.cancel();
    poll_timer.cancel();
    if (conn) conn->close();  // what is queued answers with an error, so pending acquires answer
    conn.reset();
    leases.clear();
    up.store(false, std::memory_order_release);
    pid.store(0, std::memory_order_release);
  }

  bool online() const noexcept { return conn && conn->connected(); }

  void notify(std::string payload) {
    if (!online()) return;
    std::weak_ptr<impl> w = weak_from_this();
    std::vector<std::optional<std::string>> params{channel, std::move(payload)};
    conn->query("select pg_notify($1, $2)", std::move(params), [w](pg_result r) {
      auto s = w.lock();
      if (s && !r.ok && !s->closed) s->log(pg_log_level::warning, "cluster sync lock: NOTIFY failed: " + r.error);
    });
  }

  // ---- the view of locks held elsewhere
  void poll() {
    if (!online()) return;
    if (poll_in_flight) {
      poll_again = true;
      return;
    }
    poll_in_flight = true;
    std::weak_ptr<impl> w = weak_from_this();
    conn->query(poll_sql, {}, [w](pg_result r) {
      auto s = w.lock();
      if (!s) return;
      s->poll_in_flight = false;
      if (r.ok) {
        std::vector<std::int64_t> keys;
        keys.reserve(r.rows.size());
        for (const auto& row : r.rows) {
          if (row.size() != 2 || !row[0] || !row[1]) continue;
          const std::uint64_t hi = std::stoull(*row[0]);
          const std::uint64_t lo = std::stoull(*row[1]);
          keys.push_back(static_cast<std::int64_t>((hi << 32) | (lo & 0xffffffffu)));
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        s->elsewhere.set(std::move(keys));
        s->n_polls.fetch_add(1, std::memory_order_relaxed);
      } else if (!s->closed) {
        s->log(pg_log_level::warning, "cluster sync lock: reading pg_locks failed: " + r.error);
      }
      if (s->poll_again) {
        s->poll_again = false;
        s->poll();
      }
    });
  }

  void schedule_poll() {
    poll_timer.expires_after(options.poll_interval);
    std::weak_ptr<impl> w = weak_from_this();
    poll_timer.async_wait([w, e = epoch](boost::system::error_code ec) {
      auto s = w.lock();
      if (ec || !s || s->epoch != e || !s->online()) return;
      s->poll();
      s->schedule_poll();
    });
  }

  void on_notify(const pg_notification& n) {
    if (n.sender_pid == pid.load(std::memory_order_relaxed) || n.channel != channel) return;
    const std::string_view payload = n.payload;
    if (payload.starts_with("lock:")) {
      // Notifications of two sessions can arrive out of the order of their locks (A unlocks,
      // B locks and notifies, A notifies): read the truth rather than trust the payload.
      poll();
      return;
    }
    if (!payload.starts_with("skip:")) return;
    // skip:<kind>:<id>:<replica>; the kind may contain ':', the id and the replica do not.
    const std::string_view rest = payload.substr(5);
    const auto replica_colon = rest.rfind(':');
    if (replica_colon == std::string_view::npos) return;
    const auto id_colon = rest.rfind(':', replica_colon == 0 ? 0 : replica_colon - 1);
    if (id_colon == std::string_view::npos || id_colon >= replica_colon) return;
    const std::string_view kind = rest.substr(0, id_colon);
    const std::string_view digits = rest.substr(id_colon + 1, replica_colon - id_colon - 1);
    std::int64_t id = 0;
    const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (parsed.ec != std::errc{} || parsed.ptr != digits.data() + digits.size()) return;
    const auto it = leases.find(pg_provider_lock_key(options.lock_namespace, kind, id));
    if (it == leases.end() || it->second.how == mode::acquiring) return;
    const std::string_view replica = rest.substr(replica_colon + 1);
    const attribute attrs[] = {{"replica", replica}};
    it->second.holder.log_as_task(log_level::info, skipped_text, attributes{attrs, 1});
  }

  // ---- acquire, attach, release
  void answer(cluster_sync_lock::acquire_handler& done, cluster_lock_answer a) {
    switch (a.status) {
      case cluster_lock_status::acquired:
        n_acquired.fetch_add(1, std::memory_order_relaxed);
        break;
      case cluster_lock_status::held_elsewhere:
        n_elsewhere.fetch_add(1, std::memory_order_relaxed);
        break;
      case cluster_lock_status::unavailable:
        n_unavailable.fetch_add(1, std::memory_order_relaxed);
        break;
    }
    done(std::move(a));
  }

  std::shared_ptr<cluster_lock_lease> make_lease(std::int64_t key, std::uint64_t id);

  void unavailable_or_local(std::int64_t key, const provider_ref& provider, cluster_sync_lock::acquire_handler& done,
                            const std::string& why) {
    cluster_lock_answer a;
    if (!closed && options.local_only_when_unavailable) {
      const std::uint64_t id = next_id++;
      leases[key] = lease_entry{provider, {}, id, mode::local, {}};
      a.status = cluster_lock_status::acquired;
      a.reason = "the cluster sync lock is unavailable (" + why +
                 "): this sync runs with this replica's local lock only, and may run on another replica too";
      a.lease = make_lease(key, id);
    } else {
      a.status = cluster_lock_status::unavailable;
      a.reason = closed ? "the cluster sync lock service is closed" : why;
    }
    answer(done, std::move(a));
  }

  void acquire(const provider_ref& provider, cluster_sync_lock::acquire_handler done) {
    const std::int64_t key = key_of(provider);
    if (closed) {
      unavailable_or_local(key, provider, done, "closed");
      return;
    }
    if (leases.count(key) != 0) {
      // A session's advisory locks are re-entrant: asking the server would say yes.
      cluster_lock_answer a;
      a.status = cluster_lock_status::held_elsewhere;
      a.reason = "held by this replica";
      answer(done, std::move(a));
      return;
    }
    if (!online()) {
      unavailable_or_local(key, provider, done, "the database is unreachable: " + last_error);
      return;
    }
    const std::uint64_t id = next_id++;
    leases[key] = lease_entry{provider, {}, id, mode::acquiring, {}};
    std::weak_ptr<impl> w = weak_from_this();
    // One round trip: the try and the notification that tells the others (taken: every
    // replica re-reads pg_locks; refused: the holder records the skipped request), delivered
    // when the statement's implicit transaction commits.
    std::vector<std::optional<std::string>> params{std::to_string(key), channel, "lock:" + provider_text(provider) + ":1",
                                                   "skip:" + provider_text(provider) + ":" + options.replica_name};
    conn->query("select got, pg_notify($2, case when got then $3 else $4 end)"
                " from (select pg_try_advisory_lock($1::int8) as got) as try",
                std::move(params), [w, key, id, provider, done = std::move(done)](pg_result r) mutable {
                  auto s = w.lock();
                  if (!s) {
                    cluster_lock_answer a;
                    a.reason = "the cluster sync lock service is closed";
                    done(std::move(a));
                    return;
                  }
                  s->acquired(key, id, provider, done, r);
                });
  }

  void acquired(std::int64_t key, std::uint64_t id, const provider_ref& provider,
                cluster_sync_lock::acquire_handler& done, const pg_result& r) {
    const auto it = leases.find(key);
    const bool mine = it != leases.end() && it->second.id == id;
    if (mine) leases.erase(it);
    if (!r.ok || r.rows.size() != 1 || r.rows[0].empty() || !r.rows[0][0]) {
      // A statement that failed after its try took the lock (its NOTIFY refused, say) leaves
      // the lock held: a session advisory lock outlives the rollback. Released here, on a
      // live session (a dead one released it with itself); an unlock of a lock not held only
      // warns. It goes before any later acquire of the key, which queues behind it.
      if (online()) conn->query("select pg_advisory_unlock($1::int8)", {std::to_string(key)}, [](pg_result) {});
      unavailable_or_local(key, provider, done, r.ok ? "unexpected answer to pg_try_advisory_lock" : r.error);
      return;
    }
    if (*r.rows[0][0] == "t") {
      const std::uint64_t lease_id = next_id++;
      leases[key] = lease_entry{provider, {}, lease_id, mode::server, {}};
      set_elsewhere(key, false);
      cluster_lock_answer a;
      a.status = cluster_lock_status::acquired;
      a.lease = make_lease(key, lease_id);
      answer(done, std::move(a));
      return;
    }
    set_elsewhere(key, true);
    cluster_lock_answer a;
    a.status = cluster_lock_status::held_elsewhere;
    answer(done, std::move(a));
  }

  void attach(std::int64_t key, std::uint64_t id, run_ref holder) {
    const auto it = leases.find(key);
    if (it == leases.end() || it->second.id != id) return;
    it->second.holder = std::move(holder);
    if (!it->second.lost_warning.empty()) {
      it->second.holder.log_as_task(log_level::warning, it->second.lost_warning);
      it->second.lost_warning.clear();
    }
  }

  void release(std::int64_t key, std::uint64_t id) {
    const auto it = leases.find(key);
    if (it == leases.end() || it->second.id != id) return;
    const mode how = it->second.how;
    const provider_ref provider = std::move(it->second.provider);
    leases.erase(it);
    if (how == mode::server) unlock(key, provider);
  }

  void unlock(std::int64_t key, const provider_ref& provider) {
    if (!online()) return;  // the server released it with the session
    std::weak_ptr<impl> w = weak_from_this();
    // One round trip: the unlock and its notification (delivered at the statement's commit).
    std::vector<std::optional<std::string>> params{std::to_string(key), channel, "lock:" + provider_text(provider) + ":0"};
    conn->query("select pg_advisory_unlock($1::int8), pg_notify($2, $3)", std::move(params), [w, provider](pg_result r) {
      auto s = w.lock();
      if (!s || s->closed) return;
      if (!r.ok || r.rows.size() != 1 || r.rows[0].empty() || !r.rows[0][0] || *r.rows[0][0] != "t") {
        s->log(pg_log_level::warning, "cluster sync lock of provider " + provider_text(provider) +
                                          ": unlock failed: " + (r.ok ? "not held" : r.error));
      }
    });
  }

  // After a reconnection: take again the keys this replica's runs still lease.
  void retake() {
    // Collected first: a query's handler may change `leases` (it runs inline on a failed connection).
    std::vector<std::tuple<std::int64_t, std::uint64_t, provider_ref>> wanted;
    for (const auto& [key, e] : leases) {
      if (e.how == mode::local) wanted.emplace_back(key, e.id, e.provider);
    }
    for (auto& [key, id, provider] : wanted) {
      if (!online()) return;
      std::weak_ptr<impl> w = weak_from_this();
      std::vector<std::optional<std::string>> params{std::to_string(key)};
      conn->query("select pg_try_advisory_lock($1::int8)", std::move(params),
                  [w, key = key, id = id, provider = std::move(provider)](pg_result r) {
                    auto s = w.lock();
                    if (!s || s->closed || !r.ok || r.rows.size() != 1 || !r.rows[0][0]) return;
                    const bool taken = *r.rows[0][0] == "t";
                    const auto it = s->leases.find(key);
                    if (it == s->leases.end() || it->second.id != id) {
                      if (taken) s->unlock(key, provider);  // released meanwhile
                      return;
                    }
                    if (taken) {
                      it->second.how = mode::server;
                      s->set_elsewhere(key, false);
                      s->notify("lock:" + provider_text(provider) + ":1");
                      s->log(pg_log_level::info, "cluster sync lock of provider " + provider_text(provider) + " taken again");
                      return;
                    }
                    const std::string warning =
                        "cluster sync lock not taken again after the reconnection: another replica holds it now, "
                        "so this sync may run on two replicas at once";
                    if (!it->second.holder || !it->second.holder.log_as_task(log_level::warning, warning)) {
                      it->second.lost_warning = warning;
                    }
                    s->set_elsewhere(key, true);
                    s->log(pg_log_level::warning, "cluster sync lock of provider " + provider_text(provider) +
                                                      " is held by another replica after the reconnection");
                  });
    }
  }
};

namespace {

class pg_lease final : public cluster_lock_lease {
 public:
  pg_lease(std::weak_ptr<pg_cluster_lock::impl> owner, std::int64_t key, std::uint64_t id)
      : owner_(std::move(owner)), key_(key), id_(id) {}
  ~pg_lease() override {
    if (auto s = owner_.lock()) {
      try {
        boost::asio::post(s->strand, [s, key = key_, id = id_] { s->release(key, id); });
      } catch (...) {  // out of memory: the lock stays until the connection ends
        s->log(pg_log_level::error, "cluster sync lock: could not queue a release (out of memory)");
      }
    }
  }
  pg_lease(const pg_lease&) = delete;
  pg_lease& operator=(const pg_lease&) = delete;

  void attach(run_ref holder) noexcept override {
    if (auto s = owner_.lock()) {
      try {
        boost::asio::post(s->strand, [s, key = key_, id = id_, holder = std::move(holder)] { s->attach(key, id, holder); });
      } catch (...) {  // out of memory: the run is not told of a loss
      }
    }
  }

 private:
  std::weak_ptr<pg_cluster_lock::impl> owner_;
  std::int64_t key_;
  std::uint64_t id_;
};

}  // namespace

std::shared_ptr<cluster_lock_lease> pg_cluster_lock::impl::make_lease(std::int64_t key, std::uint64_t id) {
  return std::make_shared<pg_lease>(weak_from_this(), key, id);
}

pg_cluster_lock::pg_cluster_lock(boost::asio::any_io_executor executor, pg_cluster_lock_options options) {
  check_options(options);
  try {
    impl_ = std::make_shared<impl>(std::move(executor), std::move(options));
  } catch (const std::invalid_argument& e) {
    throw pg_error(e.what());
  }
  boost::asio::post(impl_->strand, [s = impl_] { s->connect(); });
}

pg_cluster_lock::~pg_cluster_lock() {
  try {
    boost::asio::post(impl_->strand, [s = impl_] { s->shutdown(); });
  } catch (...) {  // out of memory: the connection closes with the last reference
  }
}

void pg_cluster_lock::async_acquire(const provider_ref& provider, acquire_handler done) {
  // Timed from the call to the answer, whatever the answer: the wait a starting sync sees.
  acquire_handler timed = [w = std::weak_ptr<impl>(impl_), asked = std::chrono::steady_clock::now(),
                           done = std::move(done)](cluster_lock_answer a) {
    if (auto s = w.lock()) s->observe_wait(std::chrono::steady_clock::now() - asked);
    done(std::move(a));
  };
  boost::asio::post(impl_->strand, [s = impl_, provider, timed = std::move(timed)]() mutable {
    s->acquire(provider, std::move(timed));
  });
}

bool pg_cluster_lock::held_elsewhere(std::string_view kind, std::int64_t id) const noexcept {
  const std::int64_t key = pg_provider_lock_key(impl_->options.lock_namespace, kind, id);
  return impl_->elsewhere.contains(key);
}

bool pg_cluster_lock::connected() const noexcept { return impl_->up.load(std::memory_order_acquire); }

int pg_cluster_lock::backend_pid() const noexcept { return impl_->pid.load(std::memory_order_acquire); }

pg_cluster_lock_stats pg_cluster_lock::stats() const noexcept {
  pg_cluster_lock_stats s;
  s.connected = impl_->up.load(std::memory_order_acquire);
  s.connects = impl_->n_connects.load(std::memory_order_relaxed);
  s.acquired = impl_->n_acquired.load(std::memory_order_relaxed);
  s.held_elsewhere = impl_->n_elsewhere.load(std::memory_order_relaxed);
  s.unavailable = impl_->n_unavailable.load(std::memory_order_relaxed);
  s.locks_lost = impl_->n_lost.load(std::memory_order_relaxed);
  s.polls = impl_->n_polls.load(std::memory_order_relaxed);
  for (std::size_t b = 0; b < s.wait_histogram.size(); ++b) {
    s.wait_histogram[b] = impl_->wait_buckets[b].load(std::memory_order_relaxed);
  }
  s.wait_seconds_sum = static_cast<double>(impl_->wait_ns_sum.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

const pg_cluster_lock_options& pg_cluster_lock::options() const noexcept { return impl_->options; }

}  // namespace systask
