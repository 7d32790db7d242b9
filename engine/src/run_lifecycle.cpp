// SPDX-License-Identifier: BSL-1.0
// Run lifecycle: task keys and their configuration, start, prefill, append and finish.

#include "registry_state.hpp"

#include "render_buffer.hpp"
#include "thread_scratch.hpp"
#include "uuid.hpp"

#include <systask/engine/limits.hpp>
#include <systask/engine/render.hpp>

#include <algorithm>
#include <stdexcept>

namespace systask::detail {

namespace {

constexpr std::string_view skipped_sync_event = "A sync request was skipped because this sync is still running";
constexpr std::string_view prefill_event = "Task has not been run yet.";

std::uint32_t level_bit(log_level l) noexcept { return 1u << static_cast<unsigned>(l); }

task_status worst_of_messages(std::uint32_t levels) noexcept {
  if (levels & (level_bit(log_level::critical) | level_bit(log_level::exception) | level_bit(log_level::error))) {
    return task_status::error;
  }
  if (levels & (level_bit(log_level::warning) | level_bit(log_level::warn))) return task_status::warning;
  return task_status::unknown;
}


std::size_t bucket_of(double seconds) noexcept {
  std::size_t i = 0;
  while (i < duration_buckets.size() && seconds > duration_buckets[i]) ++i;
  return i;
}

void validate(const task_options& o) {
  if (o.history_depth < 1) throw std::invalid_argument("systask: task_options.history_depth must be at least 1");
  if (o.max_messages < 1 || o.max_messages > (1u << 20)) {
    throw std::invalid_argument("systask: task_options.max_messages must be in 1..1048576");
  }
  if (o.retention.count() < 0) throw std::invalid_argument("systask: task_options.retention must not be negative");
  if (o.retention > task_options::max_retention && o.retention != task_options::never_expire) {
    throw std::invalid_argument(
        "systask: task_options.retention must be at most 100 years (3155760000 s); use "
        "task_options::never_expire to keep finished runs forever");
  }
}

void validate(const registry_options& o) {
  if (o.observer_queue_capacity < 1 || o.observer_queue_capacity > (std::size_t{1} << 24)) {
    throw std::invalid_argument("systask: registry_options.observer_queue_capacity must be in 1..16777216");
  }
}

// finish + retention, where the arithmetic happens: validate() bounds the retention, and a
// finish time near the end of wall_time's range (a manual or broken clock) saturates instead
// of overflowing. nullopt: never expires.
std::optional<wall_time> expiry_of(wall_time finish, std::chrono::seconds retention) noexcept {
  if (retention == task_options::never_expire) return std::nullopt;
  const auto r = std::chrono::duration_cast<wall_time::duration>(std::min(retention, task_options::max_retention));
  if (finish > wall_time::max() - r) return wall_time::max();
  return finish + r;
}

// The fixed fields of a new run of `entry` (texts are views: the caller keeps them alive until
// the record is made, which copies them).
run_fields fields_of(const task_entry& e, const provider_state* p, const task_options& o, std::string_view uuid,
                     std::string_view description, const clock_source& clock, bool prefilled) noexcept {
  run_fields f;
  f.uuid = uuid;
  f.name = e.name;
  f.uid = e.uid;
  f.description = description;
  if (p) {
    f.provider_kind = p->info.kind;
    f.provider_id = p->info.id;
  }
  f.retention = o.retention;
  f.policy = o.policy;
  f.overflow = o.overflow;
  f.keep_on_success = o.keep_on_success;
  f.prefilled = prefilled;
  f.start_wall = clock.wall_now();
  f.start_mono = clock.mono_now();
  return f;
}

const clock_source& checked_clock(const registry_options& o) {
  if (!o.clock) throw std::invalid_argument("systask: registry_options.clock is null");
  return *o.clock;
}

}  // namespace

sync_outcome outcome_of(task_status s, std::uint32_t levels) noexcept {
  switch (s) {
    case task_status::error: return sync_outcome::error;
    case task_status::warning: return sync_outcome::warning;
    default: return (levels & level_bit(log_level::info)) ? sync_outcome::info : sync_outcome::done;
  }
}

registry_state::registry_state(registry::executor_type ex, registry_options opts)
    : executor_link(std::move(ex), opts.on_background_error),
      options((validate(opts.default_task), validate(opts), std::move(opts))),
      clock(checked_clock(options)) {}

std::string registry_state::task_key(std::string_view name, std::string_view uid) {
  // Length-prefixed so that no (name, uid) pair can collide with another.
  std::string key = std::to_string(name.size());
  key += ':';
  key += name;
  key += uid;
  return key;
}

std::string registry_state::provider_key(std::string_view kind, std::int64_t id) {
  std::string key = std::to_string(kind.size());
  key += ':';
  key += kind;
  key += std::to_string(id);
  return key;
}

const task_options* registry_state::options_for(std::string_view name) {
  std::lock_guard lock(config_mutex);
  auto it = configured.find(name);
  return it != configured.end() ? it->second : &options.default_task;
}

void registry_state::configure(std::string_view name, const task_options& opts) {
  if (name.empty()) throw std::invalid_argument("systask: configure_task needs a task name");
  validate(opts);
  std::lock_guard lock(config_mutex);
  // Options objects are kept until the registry dies: a run starting concurrently may hold the
  // previous pointer. Reconfiguration is rare, so this costs little.
  options_store.push_back(std::make_unique<task_options>(opts));
  const task_options* stored = options_store.back().get();
  configured.insert_or_assign(std::string(name), stored);
  tasks.for_each([&](task_entry& e) {
    if (e.name == name) e.options.store(stored, std::memory_order_release);
  });
}

task_entry& registry_state::entry_for(std::string_view name, std::string_view uid) {
  const std::string key = task_key(name, uid);
  bool created = false;
  task_entry& entry = *tasks.find_or_insert(key, [&] {
    created = true;
    return std::make_unique<task_entry>(key, std::string(name), std::string(uid), options_for(name));
  });
  if (created) {
    // A configure() of this name may have run after the options were read above and walked
    // the entries before this one was inserted: read them again, under the configuration
    // mutex, so that this store and configure's are ordered.
    std::lock_guard lock(config_mutex);
    auto it = configured.find(name);
    entry.options.store(it != configured.end() ? it->second : &options.default_task, std::memory_order_release);
  }
  return entry;
}

provider_state* registry_state::find_provider(std::string_view kind, std::int64_t id) const {
  return providers.find(provider_key(kind, id));
}

bool registry_state::append(run_record& record, log_level level, std::string_view logger, std::string_view event,
                            attributes attrs) noexcept {
  char buf[limits::message_bytes];
  const std::size_t n = render_compact(buf, clock.wall_now(), level, logger, event, attrs);
  // The level bit goes in before the ring's ticket is taken: finish reads the levels after it
  // closed the ring, and the close's CAS on the ticket counter comes after every accepted
  // ticket's fetch_add, so every accepted message's level counts towards the final status. (A
  // message refused because the run finished meanwhile may still have set its bit: the outcome
  // of a log racing a finish is unspecified.)
  const std::uint32_t bit = level_bit(level);
  if (!(record.levels_seen.load(std::memory_order_relaxed) & bit)) {
    record.levels_seen.fetch_or(bit, std::memory_order_relaxed);
  }
  return record.ring.append({buf, n});
}

errc registry_state::check_spec(const run_spec& spec, provider_state** provider) const {
  if (spec.provider) {
    provider_state* p = find_provider(spec.provider->kind, spec.provider->id);
    if (!p) return errc::unknown_provider;
    if (provider) *provider = p;
    if ((!spec.name.empty() && spec.name != p->info.task_name) || (!spec.uid.empty() && spec.uid != p->info.uid)) {
      return errc::invalid_spec;
    }
    return {};
  }
  if (spec.name.empty()) return errc::invalid_spec;
  return {};
}

provider_state* registry_state::sync_provider(const run_spec& spec) const {
  provider_state* provider = nullptr;
  if (check_spec(spec, &provider) != errc{}) return nullptr;
  if (provider) return provider;
  // A spec naming a provider's sync task without `.provider` (see start): the entry knows.
  const task_entry* entry =
      tasks.find(task_key(make_safe_text(spec.name, limits::name_bytes), make_safe_text(spec.uid, limits::name_bytes)));
  return entry ? entry->provider.load(std::memory_order_acquire) : nullptr;
}

run registry_state::start(const run_spec& spec, bool cluster_checked) {
  provider_state* provider = nullptr;
  task_entry* entry = nullptr;
  switch (check_spec(spec, &provider)) {
    case errc::unknown_provider:
      throw std::invalid_argument("systask: no provider registered as " + spec.provider->kind + " " +
                                  std::to_string(spec.provider->id));
    case errc::invalid_spec:
      if (!spec.provider) throw std::invalid_argument("systask: a run needs a task name");
      throw std::invalid_argument("systask: a provider sync runs as " + provider->info.task_name + ":" +
                                  provider->info.uid);
    default:
      break;
  }
  if (provider) {
    entry = provider->entry;
  } else {
    entry = &entry_for(make_safe_text(spec.name, limits::name_bytes), make_safe_text(spec.uid, limits::name_bytes));
    // A spec that names a provider's sync task without `.provider` is that provider's sync: it
    // takes the lock and updates the provider's status like one (the entry knows its provider).
    provider = entry->provider.load(std::memory_order_acquire);
  }
  if (provider && !cluster_checked && cluster_lock.load(std::memory_order_acquire) != nullptr) {
    throw std::logic_error("systask: a cluster sync lock is attached, so the sync of provider " + provider->info.kind +
                           " " + std::to_string(provider->info.id) +
                           " must start through async_run (start cannot wait for the cluster lock)");
  }

  const task_options* opts = entry->options.load(std::memory_order_acquire);
  const std::string uuid = make_uuid_v4();
  const std::string description = make_safe_text(spec.description, limits::description_bytes);
  auto record = std::make_shared<run_record>(fields_of(*entry, provider, *opts, uuid, description, clock, false),
                                             entry, provider, opts->max_messages);
  // Indexed before it becomes visible, so a reader that sees the run can find it by uuid.
  uuids.insert(record->uuid, entry);

  for (;;) {
    std::shared_ptr<run_record> holder;
    view_change change;
    bool started = false;
    try {
      started = update_view(*entry, [&](const task_view& current) -> std::optional<task_view> {
        holder.reset();
        change = {};
        if (provider) {
          for (const auto& r : current.running) {
            if (holds_lock(*r, provider)) {
              holder = r;  // the lock is taken: do not start
              return std::nullopt;
            }
          }
        }
        task_view next = settle_finished(current, entry->options.load(std::memory_order_acquire)->history_depth, change);
        next.running.push_back(record);
        return next;
      });
    } catch (...) {
      uuids.erase(record->uuid);
      throw;
    }
    if (started) {
      // Numbered while it holds the lock: no other sync of this provider can start until this
      // one's ring closes, which only its handle (not yet returned) can do.
      if (provider) record->provider_sync = provider->syncs_started.fetch_add(1, std::memory_order_relaxed) + 1;
      records_held.fetch_add(1, std::memory_order_relaxed);
      account(*entry, change);
      if (observing()) enqueue_event(event_kind::started, record);
      return run(std::move(record), shared_from_this());
    }
    // Refused: the holder records that a sync was skipped. Its ring accepts the message exactly
    // when the holder still holds the lock; if it closed meanwhile, the lock is free: retry.
    if (append(*holder, log_level::info, holder->name, skipped_sync_event, {})) {
      uuids.erase(record->uuid);
      return run{};
    }
  }
}

void registry_state::prefill(const run_spec& spec) {
  task_entry* entry = nullptr;
  if (spec.provider) {
    provider_state* provider = find_provider(spec.provider->kind, spec.provider->id);
    if (!provider) throw std::invalid_argument("systask: no provider registered as " + spec.provider->kind);
    entry = provider->entry;
  } else {
    if (spec.name.empty()) throw std::invalid_argument("systask: prefill needs a task name");
    entry = &entry_for(make_safe_text(spec.name, limits::name_bytes), make_safe_text(spec.uid, limits::name_bytes));
  }
  const wall_time now = clock.wall_now();
  const std::string uuid = make_uuid_v4();
  const std::string description = make_safe_text(spec.description, limits::description_bytes);
  run_fields f = fields_of(*entry, nullptr, *entry->options.load(std::memory_order_acquire), uuid, description,
                           clock, true);
  f.start_wall = now;
  char message[limits::message_bytes];
  packed_messages packed;
  packed.add(0, {message, render_compact(message, now, log_level::info, entry->name, prefill_event, {})});
  // Never expires, status unknown (authentik's placeholder), finished at its start.
  auto record = std::make_shared<frozen_record>(f, now, 0.0, task_status::unknown, std::nullopt, packed, 1);
  uuids.insert(record->uuid, entry);
  bool added = false;
  try {
    added = update_view(*entry, [&](const task_view& current) -> std::optional<task_view> {
      if (!current.running.empty() || !current.finished.empty()) return std::nullopt;
      task_view next;
      next.elsewhere = current.elsewhere;
      next.finished.push_back(record);
      return next;
    });
  } catch (...) {
    uuids.erase(record->uuid);
    throw;
  }
  if (added) {
    records_held.fetch_add(1, std::memory_order_relaxed);
  } else {
    uuids.erase(record->uuid);
  }
}

task_status registry_state::finish(run_record& record, task_status requested, std::string_view failure) noexcept {
  if (registry_gone()) return record.is_finished() ? record.status : task_status::unknown;
  int expected = run_record::running;
  if (!record.phase.compare_exchange_strong(expected, run_record::finishing, std::memory_order_acq_rel)) {
    return record.is_finished() ? record.status : task_status::unknown;
  }
  if (!failure.empty()) {
    append(record, log_level::error, record.name, failure, {});
    requested = task_status::error;
  }
  record.ring.close();

  const std::uint32_t levels = record.levels_seen.load(std::memory_order_acquire);
  task_status status = requested;
  if (record.policy == status_policy::worst_message && rank(worst_of_messages(levels)) > rank(status)) {
    status = worst_of_messages(levels);
  }
  record.status = status;
  record.finish_wall = clock.wall_now();
  record.finish_mono = clock.mono_now();
  record.duration = std::max(0.0, std::chrono::duration<double>(record.finish_mono - record.start_mono).count());
  if (record.kept()) record.expires = expiry_of(record.finish_wall, record.retention);

  // The frozen form: the retained messages packed into one buffer, which stands for the run
  // in the view from now on. Its counts are exact: appended is final now that the ring is
  // closed, and a message a late appender is still writing is not packed, so it counts as
  // dropped. Out of memory, the live record stands in (its ring counts the same way).
  std::array<std::uint64_t, 8> by_level{};
  std::uint64_t dropped = 0;
  try {
    packed_messages fallback;  // used only while the thread's thread_locals are being destroyed
    packed_messages& scratch = thread_scratch<packed_messages>::get(fallback);
    scratch.bytes.clear();
    scratch.count = 0;
    if (pack_ring(record.ring, scratch, by_level)) {
      auto frozen = std::make_shared<frozen_record>(record.fields(), record, scratch, record.ring.appended());
      dropped = frozen->dropped();
      record.frozen = std::move(frozen);
    }
    // A run of large messages leaves a large scratch: do not keep it for the thread's life.
    if (scratch.bytes.capacity() > (std::size_t{1} << 20)) std::string().swap(scratch.bytes);
  } catch (...) {
    record.frozen.reset();
  }
  if (!record.frozen) dropped = record.ring.dropped();

  task_entry& entry = *record.entry;
  entry.finished_by_status[static_cast<std::size_t>(status)].fetch_add(1, std::memory_order_relaxed);
  entry.histogram[bucket_of(record.duration)].fetch_add(1, std::memory_order_relaxed);
  entry.duration_sum.fetch_add(record.duration, std::memory_order_relaxed);
  for (std::size_t l = 0; l < by_level.size(); ++l) {
    if (by_level[l] != 0) entry.messages_by_level[l].fetch_add(by_level[l], std::memory_order_relaxed);
  }
  // Release: registry::counters reads this total before the runs' phases (see there).
  entry.dropped_messages.fetch_add(dropped, std::memory_order_release);
  // Truncated toward zero, not floored: the value converts back to wall_time without
  // overflowing even for a finish at wall_time::min() (a broken or manual clock).
  const std::int64_t finish_us =
      std::chrono::duration_cast<std::chrono::microseconds>(record.finish_wall.time_since_epoch()).count();
  if (status == task_status::successful) entry.note_success(finish_us);

  if (provider_state* p = record.provider) {
    // The lock was released when the ring closed: a later sync may have published already.
    if (status == task_status::successful) p->note_success(finish_us);
    p->note_local_finish(finish_us);
    p->note_outcome(record.provider_sync, outcome_of(status, levels));
  }
  record.phase.store(run_record::finished, std::memory_order_release);

  view_change change;
  try {
    const bool moved_here = update_view(entry, [&](const task_view& current) -> std::optional<task_view> {
      change = {};
      task_view next = settle_finished(current, entry.options.load(std::memory_order_acquire)->history_depth, change);
      if (change.moved == 0) return std::nullopt;  // another update moved this run already
      return next;
    });
    // That other update may not have noted the entry for the finish-time index yet: note it
    // here, after seeing its view, so a list taken once this finish returns re-reads the entry.
    if (!moved_here) by_finish.note_change(entry);
  } catch (...) {
    // Out of memory while copying the view: the run stays in the running list, finished. It
    // holds no lock (its ring is closed) and readers show it finished; the next update of this
    // entry, by any thread, moves it and does its accounting (see settle_finished).
    if (observing()) enqueue_event(event_kind::finished, standing_record(record));
    return status;
  }
  account(entry, change);
  if (observing()) enqueue_event(event_kind::finished, standing_record(record));
  return status;
}

std::shared_ptr<const record_core> registry_state::standing_record(run_record& record) noexcept {
  if (record.frozen) return record.frozen;
  // The live record stands in; a run handle, the view or a reader holds it, so this is safe.
  return std::static_pointer_cast<const record_core>(record.shared_from_this());
}

task_view settle_finished(const task_view& current, std::size_t depth, view_change& change) {
  task_view next;
  std::vector<const std::shared_ptr<run_record>*> done;
  next.running.reserve(current.running.size());
  for (const auto& r : current.running) {
    if (r->is_finished()) {
      done.push_back(&r);
    } else {
      next.running.push_back(r);
    }
  }
  next.elsewhere = current.elsewhere;
  if (done.empty()) {
    next.finished = current.finished;
    return next;
  }
  change.moved = done.size();
  // Oldest finish first, so that each run lands where an update of its own would have put it.
  std::sort(done.begin(), done.end(), [](const auto* a, const auto* b) { return (*a)->finish_mono < (*b)->finish_mono; });
  std::vector<std::shared_ptr<const record_core>> finished = current.finished;  // newest first
  bool added = false;
  for (const auto* d : done) {
    const run_record& r = **d;
    // Its frozen form goes to `finished` (the live record, if freezing ran out of memory).
    std::shared_ptr<const record_core> standing = r.frozen ? r.frozen : std::shared_ptr<const record_core>(*d);
    if (!r.kept()) {
      // authentik deletes the task's records on success
      change.removed.insert(change.removed.end(), finished.begin(), finished.end());
      change.removed.push_back(std::move(standing));
      finished.clear();
      continue;
    }
    finished.insert(finished.begin(), std::move(standing));
    if (r.expires) change.expiries.push_back(*r.expires);
    added = true;
  }
  next.finished.reserve(std::min(finished.size(), depth));
  for (auto& r : finished) {
    if ((added && r->prefilled) || next.finished.size() >= depth) {
      change.removed.push_back(std::move(r));
    } else {
      next.finished.push_back(std::move(r));
    }
  }
  return next;
}

void registry_state::account(task_entry& entry, const view_change& change) noexcept {
  records_held.fetch_sub(change.removed.size(), std::memory_order_relaxed);
  for (const auto& r : change.removed) uuids.erase(r->uuid);
  for (const wall_time when : change.expiries) schedule_expiry(entry, when);
}

}  // namespace systask::detail
