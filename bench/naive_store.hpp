// SPDX-License-Identifier: BSL-1.0
#pragma once

// The two lock-based stores systask is measured against, each doing the job systask does (start
// runs, record their messages, finish them, serve the sync-status body):
// - naive_store: what a C++ programmer writes first. One std::mutex over everything; a run's
//   messages are plain structs in a std::deque bounded by popping the front; the body is written
//   at read time with RapidJSON over the plain structs.
// - shared_mutex_store: the same render-on-write design as systask behind a lock. Each message
//   is rendered with RapidJSON when logged (outside the lock) and copied into a slot of a
//   std::vector<std::string> ring under a std::shared_mutex; readers splice the rendered
//   messages with RawValue under the shared lock. It is the peer that says whether systask's
//   lock-free ring earns its complexity.

#include "plain_model.hpp"
#include "rapidjson_peers.hpp"

#include <deque>
#include <iterator>
#include <list>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace systask::bench {

/// A random version-4 UUID, as a user without a UUID library writes it.
inline std::string random_uuid() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  std::uint64_t hi = gen(), lo = gen();
  hi = (hi & ~0xF000ull) | 0x4000ull;
  lo = (lo & ~(3ull << 62)) | (2ull << 62);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  for (std::uint64_t v : {hi, lo}) {
    for (int i = 15; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[static_cast<std::size_t>(pos++)] = hex[(v >> (i * 4)) & 15];
    }
  }
  return out;
}

/// authentik 2025.8's outcome of a finished sync, by the same rule as systask.
inline sync_outcome outcome_of(task_status s, bool logged_info) {
  if (s == task_status::error) return sync_outcome::error;
  if (s == task_status::warning) return sync_outcome::warning;
  return logged_info ? sync_outcome::info : sync_outcome::done;
}

class naive_store {
 public:
  struct run : basic_plain_run<std::deque<plain_message>> {
    mono_time mono_start;
    bool logged_info = false;
    std::string key;
  };

  /// A store stamping with `clock` (which must outlive it); like systask's defaults: 6 hours of
  /// retention, one finished run kept per task key, 4,096 messages kept per run.
  explicit naive_store(const clock_source& clock, std::size_t history_depth = 1, std::size_t max_messages = 4096)
      : clock_(&clock), depth_(history_depth), max_messages_(max_messages) {}

  /// Starts a run; `uuid` empty: a random one. The pointer stays valid until `finish`.
  run* start(std::string_view name, std::string_view uid, std::string_view description, std::string uuid = {}) {
    run r;
    r.uuid = uuid.empty() ? random_uuid() : std::move(uuid);
    r.name = name;
    r.uid = uid;
    r.description = description;
    r.key.reserve(name.size() + 1 + uid.size());
    r.key.append(name).append(":").append(uid);
    r.start = clock_->wall_now();
    r.mono_start = clock_->mono_now();
    std::lock_guard lock(mutex_);
    auto& task = tasks_[r.key];
    task.running.push_back(std::move(r));
    return &task.running.back();
  }

  void log(run* r, const message_input& in) {
    plain_message m = plain_of(in, clock_->wall_now());
    std::lock_guard lock(mutex_);
    if (in.level == log_level::info) r->logged_info = true;
    r->messages.push_back(std::move(m));
    if (r->messages.size() > max_messages_) r->messages.pop_front();
  }

  void finish(run* r, task_status status) {
    const wall_time now = clock_->wall_now();
    const mono_time mono = clock_->mono_now();
    std::lock_guard lock(mutex_);
    r->finish = now;
    r->duration = std::chrono::duration<double>(mono - r->mono_start).count();
    r->status = status;
    r->expires = now + std::chrono::hours(6);
    auto& task = tasks_[r->key];
    if (status == task_status::successful) task.last_success = now;
    task.last_outcome = outcome_of(status, r->logged_info);
    task.finished.push_front(std::move(*r));
    while (task.finished.size() > depth_) task.finished.pop_back();
    for (auto it = task.running.begin(); it != task.running.end(); ++it) {
      if (&*it == r) {
        task.running.erase(it);
        break;
      }
    }
  }

  /// The sync-status body of task (name, uid), finished runs newest first, written into `buf`
  /// under the lock, then copied out.
  std::string status(std::string_view name, std::string_view uid, rapidjson::StringBuffer& buf) {
    std::string key;
    key.reserve(name.size() + 1 + uid.size());
    key.append(name).append(":").append(uid);
    std::lock_guard lock(mutex_);
    const auto& task = tasks_[key];
    status_view v{!task.running.empty(), task.finished, task.last_success, task.last_outcome};
    if (v.is_running) v.last_sync_status = sync_outcome::running;
    return status_body(v, buf);
  }

 private:
  struct task_runs {
    std::list<run> running;
    std::deque<run> finished;
    std::optional<wall_time> last_success;
    std::optional<sync_outcome> last_outcome;
  };
  struct status_view {
    bool is_running;
    const std::deque<run>& tasks;
    std::optional<wall_time> last_successful_sync;
    std::optional<sync_outcome> last_sync_status;
  };

  const clock_source* clock_;
  std::size_t depth_, max_messages_;
  std::mutex mutex_;
  std::unordered_map<std::string, task_runs> tasks_;
};

/// One running provider sync whose messages live in a ring of pre-rendered LogEvents behind a
/// std::shared_mutex. Appends render outside the lock and copy into a slot's existing capacity
/// under the exclusive lock (no allocation in the steady state); status reads hold the shared
/// lock while they write the body.
class shared_mutex_store {
 public:
  /// `header` names the run (uuid, name, uid, description); it starts now on `clock`.
  shared_mutex_store(const clock_source& clock, std::size_t capacity, rendered_run header)
      : clock_(&clock), slots_(capacity), header_(std::move(header)) {
    header_.start = clock.wall_now();
    mono_start_ = clock.mono_now();
    for (auto& s : slots_) s.reserve(512);
  }

  void log(const message_input& in) {
    thread_local rapidjson::StringBuffer buf;
    const std::string_view rendered = render_message(clock_->wall_now(), in, buf);
    std::unique_lock lock(mutex_);
    slots_[head_ % slots_.size()].assign(rendered);
    ++head_;
  }

  /// Messages logged so far. Any thread.
  std::uint64_t appended() const {
    std::shared_lock lock(mutex_);
    return head_;
  }

  /// The provider's sync-status body with the running run, as systask shows it with
  /// include_running=true, written into `buf` under the shared lock.
  std::string status(rapidjson::StringBuffer& buf) const {
    running_view run{header_.uuid,         header_.name, header_.uid, header_.description, header_.start, {}, 0,
                     task_status::unknown, {this, 0, 0}, std::nullopt};
    run.finish = clock_->wall_now();
    run.duration = std::chrono::duration<double>(clock_->mono_now() - mono_start_).count();
    std::shared_lock lock(mutex_);
    run.messages.first = head_ > slots_.size() ? head_ - slots_.size() : 0;
    run.messages.last = head_;
    status_view v{true, {&run, 1}, std::nullopt, sync_outcome::running};
    return status_body(v, buf);
  }

 private:
  // The retained messages, oldest first.
  struct ring_range {
    const shared_mutex_store* store = nullptr;
    std::uint64_t first = 0, last = 0;
    struct iterator {
      const shared_mutex_store* store;
      std::uint64_t i;
      const std::string& operator*() const { return store->slots_[i % store->slots_.size()]; }
      iterator& operator++() {
        ++i;
        return *this;
      }
      bool operator!=(const iterator& o) const { return i != o.i; }
    };
    iterator begin() const { return {store, first}; }
    iterator end() const { return {store, last}; }
  };
  // The running run as systask shows it: its header borrowed from the store, finish = now.
  struct running_view {
    std::string_view uuid, name, uid, description;
    wall_time start, finish;
    double duration = 0;
    task_status status = task_status::unknown;
    ring_range messages;
    std::optional<wall_time> expires;
  };
  struct status_view {
    bool is_running;
    std::span<const running_view> tasks;
    std::optional<wall_time> last_successful_sync;
    std::optional<sync_outcome> last_sync_status;
  };

  const clock_source* clock_;
  mutable std::shared_mutex mutex_;
  std::vector<std::string> slots_;
  std::uint64_t head_ = 0;
  rendered_run header_;
  mono_time mono_start_;
};

}  // namespace systask::bench
