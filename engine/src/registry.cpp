// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/registry.hpp>

#include <systask/engine/limits.hpp>
#include <systask/engine/render.hpp>

#include "registry_state.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <stdexcept>

namespace systask {

using detail::entry_pin;
using detail::record_core;
using detail::registry_state;
using detail::run_record;
using detail::task_entry;

registry::registry(const executor_type& executor, registry_options options)
    : state_(std::make_shared<registry_state>(executor, std::move(options))) {
  // Detached when the context shuts down, so nothing the state does later (a run finishing,
  // a handler's destructor) touches the dead context.
  detail::executor_link::detach_with_context(state_);
}

namespace detail {

void registry_state::close_registry() noexcept {
  registry_gone_.store(true, std::memory_order_release);
  // Close the rings of the runs still going, so their handles' log calls return false without
  // the append path checking anything more.
  tasks.for_each([](task_entry& e) {
    entry_pin pin(e);
    for (const auto& r : pin.view().running) r->ring.close();
  });
}

}  // namespace detail

registry::~registry() {
  state_->close_registry();
  // Cancel the pending timers on the strand (so that io_context::run can return), then cut the
  // link: handlers already queued still run (they hold the state) and find it stopped.
  state_->with_executor([&](registry_state::strand_type& strand, const executor_type&) {
    boost::asio::post(strand, [s = state_] { s->shutdown(); });
  });
  state_->detach_executor();
}

registry::executor_type registry::get_executor() const noexcept { return state_->executor; }
const registry_options& registry::options() const noexcept { return state_->options; }

void registry::configure_task(std::string_view name, const task_options& options) { state_->configure(name, options); }

run registry::start(const run_spec& spec) { return state_->start(spec); }
run detail::cluster_start::start(registry& reg, const run_spec& spec) { return reg.state_->start(spec, true); }
bool detail::cluster_start::running_here(const registry& reg, const provider_ref& provider) {
  const detail::provider_state* p = reg.state_->find_provider(provider.kind, provider.id);
  if (!p) return false;
  entry_pin pin(*p->entry);
  for (const auto& r : pin.view().running) {
    if (registry_state::holds_lock(*r, p)) return true;
  }
  return false;
}
std::optional<provider_ref> registry::sync_provider(const run_spec& spec) const {
  const detail::provider_state* p = state_->sync_provider(spec);
  if (!p) return std::nullopt;
  return provider_ref{p->info.kind, p->info.id};
}
boost::system::error_code registry::check_spec(const run_spec& spec) const {
  const errc e = state_->check_spec(spec);
  return e == errc{} ? boost::system::error_code{} : make_error_code(e);
}
void registry::prefill(const run_spec& spec) { state_->prefill(spec); }

provider_info registry::register_provider(std::string_view kind, std::int64_t id, std::string_view display_name) {
  constexpr std::string_view task_suffix = "_sync";
  if (kind.empty()) throw std::invalid_argument("systask: a provider needs a kind");
  // The kind is a lookup key (find_provider, sync_spec and sync_status take it as given), so it
  // is refused rather than repaired: a repaired key would not find its own provider. It must
  // leave room for "_sync" within the cap of task names.
  if (!is_valid_utf8(kind) || kind.size() > limits::name_bytes - task_suffix.size()) {
    throw std::invalid_argument("systask: a provider kind must be valid UTF-8 of at most " +
                                std::to_string(limits::name_bytes - task_suffix.size()) + " bytes");
  }
  if (id < 1) throw std::invalid_argument("systask: a provider id must be in 1..2^63-1");
  // The name reaches JSON bodies and /metrics: repaired and capped like every task name.
  const std::string name = make_safe_text(display_name, limits::name_bytes);
  // The uid is authentik's slug of the whole name, cut to the cap of uids if it is longer (it is
  // ASCII, so any cut is on a character boundary) without leaving a '-' or '_' at its end.
  std::string uid = slugify(display_name);
  if (uid.size() > limits::name_bytes) {
    uid.resize(limits::name_bytes);
    uid.erase(uid.find_last_not_of("-_") + 1);
  }
  const std::string key = registry_state::provider_key(kind, id);
  std::lock_guard lock(state_->provider_mutex);
  if (auto* existing = state_->providers.find(key)) {
    if (existing->info.name != name) {
      throw std::invalid_argument("systask: provider " + std::string(kind) + " " + std::to_string(id) +
                                  " is already registered as \"" + existing->info.name + "\"");
    }
    return existing->info;
  }
  provider_info info{std::string(kind), id, name, std::string(kind) + std::string(task_suffix),
                     std::move(uid)};
  task_entry& entry = state_->entry_for(info.task_name, info.uid);
  // Two providers of a kind whose names slugify alike would share one task record, and each
  // one's status would show the other's syncs (authentik keeps provider names unique).
  if (const detail::provider_state* other = entry.provider.load(std::memory_order_acquire)) {
    throw std::invalid_argument("systask: provider " + std::string(kind) + " " + std::to_string(id) + " \"" +
                                name + "\" would share the task " + info.task_name + "/" +
                                info.uid + " with provider " + std::to_string(other->info.id) + " \"" +
                                other->info.name + "\"; give it a distinct name");
  }
  auto* p = state_->providers.find_or_insert(
      key, [&] { return std::make_unique<detail::provider_state>(key, info, &entry); });
  entry.provider.store(p, std::memory_order_release);
  return p->info;
}

std::optional<provider_info> registry::find_provider(std::string_view kind, std::int64_t id) const {
  if (auto* p = state_->find_provider(kind, id)) return p->info;
  return std::nullopt;
}

run_spec registry::sync_spec(std::string_view kind, std::int64_t id, std::string description) const {
  auto* p = state_->find_provider(kind, id);
  if (!p) throw std::out_of_range("systask: no provider registered as " + std::string(kind) + " " + std::to_string(id));
  if (description.empty()) description = "Run full sync for provider \"" + p->info.name + "\"";
  return run_spec{p->info.task_name, p->info.uid, std::move(description), provider_ref{p->info.kind, p->info.id}};
}

namespace {

// Copies the records of one entry out of its current view; the caller builds task_records
// after the pin is released, so the pin is held only for a few pointer copies.
struct entry_copy {
  std::vector<std::shared_ptr<const run_record>> running;
  std::vector<std::shared_ptr<const record_core>> finished;
  std::vector<std::shared_ptr<const record_core>> elsewhere;  // running on other replicas
};

entry_copy copy_entry(task_entry& e) {
  entry_copy c;
  entry_pin pin(e);
  const auto& v = pin.view();
  c.running.assign(v.running.begin(), v.running.end());
  c.finished.assign(v.finished.begin(), v.finished.end());
  c.elsewhere.assign(v.elsewhere.begin(), v.elsewhere.end());
  return c;
}

}  // namespace

std::optional<provider_status> registry::sync_status(std::string_view kind, std::int64_t id, bool include_running) const {
  detail::provider_state* p = state_->find_provider(kind, id);
  if (!p) return std::nullopt;
  const entry_copy c = copy_entry(*p->entry);
  const wall_time now = state_->clock.wall_now();
  const mono_time mono = state_->clock.mono_now();

  provider_status out;
  out.provider = p->info;
  for (const auto& r : c.running) {
    if (r->provider != p) continue;
    // The same definition as the lock itself: a run of this provider whose ring is open.
    if (registry_state::holds_lock(*r, p)) out.is_running = true;
    if (include_running) out.tasks.push_back(task_record(r, now, mono));
  }
  // Shown, but is_running stays the lock's answer: a mirror may lag the other replica.
  if (include_running) {
    for (const auto& r : c.elsewhere) out.tasks.push_back(task_record(r, now, mono));
  }
  if (!out.is_running && state_->held_elsewhere(*p)) out.is_running = true;
  for (const auto& r : c.finished) {
    if (!r->expired_at(now)) out.tasks.push_back(task_record(r, now, mono));
  }
  const std::int64_t success = p->last_success_us.load(std::memory_order_acquire);
  if (success != detail::provider_state::none) {
    out.last_successful_sync = wall_time{std::chrono::microseconds{success}};
  }
  const int outcome = p->last_outcome();
  if (outcome >= 0) {
    out.last_sync_status = static_cast<sync_outcome>(outcome);
  } else if (out.is_running) {
    out.last_sync_status = sync_outcome::running;
  }
  return out;
}

std::vector<task_record> registry::tasks(std::string_view name, std::string_view uid, bool include_running) const {
  std::vector<task_record> out;
  task_entry* e = state_->tasks.find(registry_state::task_key(name, uid));
  if (!e) return out;
  const entry_copy c = copy_entry(*e);
  const wall_time now = state_->clock.wall_now();
  const mono_time mono = state_->clock.mono_now();
  if (include_running) {
    for (const auto& r : c.running) out.push_back(task_record(r, now, mono));
    for (const auto& r : c.elsewhere) out.push_back(task_record(r, now, mono));
  }
  for (const auto& r : c.finished) {
    if (!r->expired_at(now)) out.push_back(task_record(r, now, mono));
  }
  return out;
}

std::vector<task_record> registry::list_tasks() const { return list_tasks(task_filter{}); }

std::vector<task_record> registry::list_tasks(const task_filter& filter) const {
  std::vector<task_record> out;
  const wall_time now = state_->clock.wall_now();
  const mono_time mono = state_->clock.mono_now();
  state_->tasks.for_each([&](task_entry& e) {
    if ((filter.name && e.name != *filter.name) || (filter.uid && e.uid != *filter.uid)) return;
    // Pinned while the matches are copied out: a finished record's fields never change, and the
    // pin keeps the view (and so each record) alive. Nothing is allocated for a record that
    // does not match; out of memory, the pin is released as the exception leaves.
    entry_pin pin(e);
    for (const auto& r : pin.view().finished) {
      if (r->expired_at(now) || (filter.status && r->status != *filter.status)) continue;
      out.push_back(task_record(r, now, mono));
    }
  });
  return out;
}

registry::task_page registry::list_tasks_by_finish(std::optional<task_status> status, bool newest_first,
                                                   std::size_t offset, std::size_t limit) const {
  auto found = state_->by_finish.query(*state_, status, newest_first, offset, limit);
  const wall_time now = state_->clock.wall_now();
  const mono_time mono = state_->clock.mono_now();
  task_page out;
  out.total = found.total;
  out.records.reserve(found.records.size());
  for (auto& r : found.records) out.records.push_back(task_record(std::move(r), now, mono));
  return out;
}

std::optional<task_record> registry::find_task(std::string_view uuid) const {
  task_entry* e = state_->uuids.find(uuid);
  if (!e) return std::nullopt;
  const wall_time now = state_->clock.wall_now();
  const mono_time mono = state_->clock.mono_now();
  // Only the entry's records: pinned, the pointer of the one that matches copied out (no
  // allocation, so this never throws).
  std::shared_ptr<const record_core> found;
  {
    entry_pin pin(*e);
    const auto& v = pin.view();
    for (const auto& r : v.running) {
      if (r->uuid == uuid) {
        found = r;
        break;
      }
    }
    if (!found) {
      for (const auto& r : v.finished) {
        if (r->uuid == uuid && !r->expired_at(now)) {
          found = r;
          break;
        }
      }
    }
    if (!found) {
      for (const auto& r : v.elsewhere) {
        if (r->uuid == uuid) {
          found = r;
          break;
        }
      }
    }
  }
  if (!found) return std::nullopt;
  return task_record(std::move(found), now, mono);
}

std::vector<task_counters> registry::counters() const {
  std::vector<task_counters> out;
  const wall_time now = state_->clock.wall_now();
  state_->tasks.for_each([&](task_entry& e) {
    task_counters c;
    c.name = e.name;
    c.uid = e.uid;
    for (std::size_t i = 0; i < c.finished_by_status.size(); ++i) {
      c.finished_by_status[i] = e.finished_by_status[i].load(std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < c.duration_histogram.size(); ++i) {
      c.duration_histogram[i] = e.histogram[i].load(std::memory_order_relaxed);
    }
    c.duration_sum = e.duration_sum.load(std::memory_order_relaxed);
    // The drops of finished runs are in the entry's total, added by finish after the run left
    // phase `running`; a run still `running` adds its live count. The total is read first
    // (acquire, paired with finish's release add), so a run whose drops it holds is seen past
    // `running` and is not counted twice. A run caught between the two is missed for a moment;
    // the entry's monotone maximum hides that, so the counter never goes down.
    std::uint64_t dropped = e.dropped_messages.load(std::memory_order_acquire);
    const entry_copy copy = copy_entry(e);
    for (const auto& r : copy.running) {
      const int phase = r->phase.load(std::memory_order_acquire);
      if (phase != run_record::finished) ++c.running;
      if (phase == run_record::running) dropped += r->ring.dropped();
      c.retained_messages += r->retained();
    }
    c.running_elsewhere = copy.elsewhere.size();
    for (const auto& r : copy.finished) {
      if (r->expired_at(now)) continue;
      ++c.retained_runs;
      c.retained_messages += r->retained();
    }
    c.dropped_messages = e.report_dropped(dropped);
    for (std::size_t l = 0; l < c.messages_by_level.size(); ++l) {
      c.messages_by_level[l] = e.messages_by_level[l].load(std::memory_order_relaxed);
    }
    const std::int64_t success = e.last_success_us.load(std::memory_order_relaxed);
    if (success != task_entry::no_success) c.last_success = wall_time{std::chrono::microseconds{success}};
    out.push_back(std::move(c));
  });
  return out;
}

std::vector<provider_summary> registry::providers() const {
  std::vector<provider_summary> out;
  state_->providers.for_each([&](detail::provider_state& p) {
    provider_summary s;
    s.provider = p.info;
    {
      entry_pin pin(*p.entry);
      for (const auto& r : pin.view().running) {
        if (registry_state::holds_lock(*r, &p)) s.sync_running = true;
      }
    }
    if (!s.sync_running && state_->held_elsewhere(p)) s.sync_running = true;
    const std::int64_t success = p.last_success_us.load(std::memory_order_acquire);
    if (success != detail::provider_state::none) s.last_successful_sync = wall_time{std::chrono::microseconds{success}};
    const int outcome = p.last_outcome();
    if (outcome >= 0) s.last_sync_status = static_cast<sync_outcome>(outcome);
    out.push_back(std::move(s));
  });
  return out;
}

void registry::set_runner(std::string_view name, runner r) {
  if (name.empty()) throw std::invalid_argument("systask: set_runner needs a task name");
  std::lock_guard lock(state_->runner_mutex);
  state_->runners.insert_or_assign(std::string(name), std::move(r));
}

bool registry::trigger(std::string_view name, std::string_view uid) {
  runner r;
  {
    std::lock_guard lock(state_->runner_mutex);
    auto it = state_->runners.find(name);
    if (it == state_->runners.end() || !it->second) return false;
    r = it->second;
  }
  run_spec spec{std::string(name), std::string(uid), {}, std::nullopt};
  // Keep the description of the task's latest record, and its provider link if it has one.
  if (task_entry* e = state_->tasks.find(registry_state::task_key(name, uid))) {
    const entry_copy c = copy_entry(*e);
    const record_core* latest = !c.running.empty() ? c.running.back().get()
                                : !c.finished.empty() ? c.finished.front().get() : nullptr;
    if (latest) spec.description = latest->description;
    if (const detail::provider_state* p = e->provider.load(std::memory_order_acquire)) {
      spec.provider = provider_ref{p->info.kind, p->info.id};
    }
  }
  return state_->with_executor([&](registry_state::strand_type&, const executor_type& ex) {
    boost::asio::post(ex, [s = state_, r = std::move(r), spec = std::move(spec)] {
      try {
        r(spec);
      } catch (...) {
        s->report_background_error("a runner queued by registry::trigger threw", std::current_exception());
      }
    });
  });
}

std::optional<wall_time> registry::next_expiry() const {
  std::optional<wall_time> next;
  state_->tasks.for_each([&](task_entry& e) {
    const entry_copy c = copy_entry(e);
    for (const auto& r : c.finished) {
      if (r->expires && (!next || *r->expires < *next)) next = r->expires;
    }
  });
  return next;
}

void registry::reclaim_expired() {
  state_->with_executor([&](registry_state::strand_type& strand, const executor_type&) {
    boost::asio::post(strand, [s = state_] { s->reclaim_expired_now(); });
  });
}

std::size_t registry::records_held() const { return state_->records_held.load(std::memory_order_relaxed); }
std::uint64_t registry::background_errors() const noexcept {
  return state_->background_errors();
}

void registry::add_observer(std::shared_ptr<run_observer> observer) { state_->add_observer(std::move(observer)); }
bool registry::remove_observer(const std::shared_ptr<run_observer>& observer) {
  return state_->remove_observer(observer);
}
dropped_events registry::observer_events_dropped() const noexcept { return state_->observer_events_dropped(); }

void registry::set_cluster_lock(std::shared_ptr<cluster_sync_lock> lock) {
  if (!lock) throw std::invalid_argument("systask: set_cluster_lock needs a lock service");
  std::lock_guard guard(state_->stores_mutex);
  if (state_->cluster_lock.load(std::memory_order_relaxed) != nullptr) {
    throw std::logic_error("systask: a cluster sync lock is set already (one per registry)");
  }
  state_->cluster_lock_owner = std::move(lock);
  state_->cluster_lock.store(state_->cluster_lock_owner.get(), std::memory_order_release);
}

std::shared_ptr<cluster_sync_lock> registry::cluster_lock() const noexcept {
  // Published once with release and never reset: seeing the pointer makes the owner readable.
  if (state_->cluster_lock.load(std::memory_order_acquire) == nullptr) return nullptr;
  return state_->cluster_lock_owner;
}

restore_report registry::restore(std::vector<run_image> runs, std::vector<provider_image> providers) {
  return state_->restore(std::move(runs), std::move(providers));
}

restore_report registry::mirror(std::vector<run_image> runs, std::vector<provider_image> providers) {
  return state_->restore(std::move(runs), std::move(providers), true);
}

std::size_t registry::forget_mirrored(const std::vector<std::string>& uuids) { return state_->forget_mirrored(uuids); }

void registry::attach_store(std::shared_ptr<const store_status_source> store) {
  if (!store) throw std::invalid_argument("systask: attach_store needs a store");
  const std::string backend = store->stats().backend;
  std::lock_guard lock(state_->stores_mutex);
  for (const auto& s : state_->stores) {
    if (s == store) throw std::invalid_argument("systask: this store is attached already");
    if (s->stats().backend == backend) {
      throw std::invalid_argument("systask: a store with backend \"" + backend + "\" is attached already");
    }
  }
  state_->stores.push_back(std::move(store));
}

bool registry::detach_store(const std::shared_ptr<const store_status_source>& store) {
  std::lock_guard lock(state_->stores_mutex);
  auto it = std::find(state_->stores.begin(), state_->stores.end(), store);
  if (it == state_->stores.end()) return false;
  state_->stores.erase(it);
  return true;
}

std::vector<systask::store_stats> registry::store_stats() const {
  std::vector<std::shared_ptr<const store_status_source>> stores;
  {
    std::lock_guard lock(state_->stores_mutex);
    stores = state_->stores;
  }
  std::vector<systask::store_stats> out;
  out.reserve(stores.size());
  for (const auto& s : stores) out.push_back(s->stats());
  return out;
}

}  // namespace systask
