// SPDX-License-Identifier: BSL-1.0
// Run images, the form in which a store keeps runs: made from records (make_run_image) and
// turned back into frozen records (registry_state::restore).

#include "registry_state.hpp"

#include "render_buffer.hpp"

#include <systask/engine/limits.hpp>
#include <systask/engine/render.hpp>
#include <systask/engine/store.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace systask {

run_image make_run_image(const task_record& r) {
  run_image im;
  im.uuid = r.uuid();
  im.name = r.name();
  im.uid = r.uid();
  im.description = r.description();
  im.provider = r.provider();
  im.start = r.start_time();
  im.finish = r.finish_time();
  im.duration = r.duration();
  im.status = r.status();
  im.expires = r.expires();
  im.overflow = r.overflow();
  im.prefilled = r.prefilled();
  const std::uint64_t appended = r.messages_appended();
  r.for_each_message(0, [&](std::uint64_t seq, std::string_view compact) {
    im.messages.push_back(stored_message{seq, std::string(compact)});
  });
  // Finished: the counts are final and every retained message was given, so the rest is what
  // was dropped. Running: messages may have been appended after the count was read.
  im.appended = appended;
  if (!im.messages.empty()) im.appended = std::max(im.appended, im.messages.back().seq + 1);
  im.appended = std::max<std::uint64_t>(im.appended, im.messages.size());
  im.dropped = im.appended - im.messages.size();
  return im;
}

namespace detail {

namespace {

std::optional<wall_time> expiry_after(wall_time finish, std::chrono::seconds retention) noexcept {
  if (retention == task_options::never_expire) return std::nullopt;
  const auto r = std::chrono::duration_cast<wall_time::duration>(std::min(retention, task_options::max_retention));
  if (finish > wall_time::max() - r) return wall_time::max();
  return finish + r;
}

std::int64_t micros(wall_time t) noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// Why a text is not what the engine would have stored (repaired and capped at start).
bool stored_text(std::string_view text, std::size_t cap) { return make_safe_text(text, cap) == text; }

// Why `im` cannot be restored as it stands ("" when it can). Texts, numbers and messages only;
// the provider and uuid checks need the registry.
std::string check_image(const run_image& im) {
  const auto bits = parse_uuid(im.uuid);
  if (!bits) return "the uuid is not a canonical 8-4-4-4-12 hex UUID";
  if (bits->hi == 0 && bits->lo == 0) return "the uuid is the nil UUID";
  // Lookups (the API lower-cases the path) and the duplicate checks compare exactly.
  if (std::any_of(im.uuid.begin(), im.uuid.end(), [](char c) { return c >= 'A' && c <= 'F'; })) {
    return "the uuid has upper-case hex digits (the engine writes and finds uuids in lower case)";
  }
  if (im.name.empty()) return "the task name is empty";
  if (!stored_text(im.name, limits::name_bytes)) return "the task name is not valid UTF-8 of at most 256 bytes";
  if (!stored_text(im.uid, limits::name_bytes)) return "the uid is not valid UTF-8 of at most 256 bytes";
  if (!stored_text(im.description, limits::description_bytes)) {
    return "the description is not valid UTF-8 of at most 1024 bytes";
  }
  if (!std::isfinite(im.duration) || im.duration < 0) return "the duration is not a finite number >= 0";
  if (im.running && im.interrupted) return "an image is running or interrupted, not both";
  if (!im.interrupted && static_cast<std::size_t>(im.status) >= enum_names<task_status>.size()) {
    return "the status is not a task_status";
  }
  if (static_cast<std::size_t>(im.overflow) >= enum_names<overflow_policy>.size()) {
    return "the overflow policy is not an overflow_policy";
  }
  for (std::size_t i = 0; i < im.messages.size(); ++i) {
    if (i > 0 && im.messages[i].seq <= im.messages[i - 1].seq) {
      return "the messages' sequence numbers do not strictly increase (at message " + std::to_string(i) + ")";
    }
    const std::string_view error = compact_message_error(im.messages[i].compact);
    if (!error.empty()) return "message " + std::to_string(i) + " is not a compact message: " + std::string(error);
  }
  if (!im.interrupted) {
    if (im.appended < im.messages.size() || im.appended - im.messages.size() != im.dropped) {
      return "the counts do not balance: appended (" + std::to_string(im.appended) + ") must be the messages (" +
             std::to_string(im.messages.size()) + ") plus dropped (" + std::to_string(im.dropped) + ")";
    }
    if (!im.messages.empty() && im.messages.back().seq >= im.appended) {
      return "a message's sequence number is not below appended";
    }
  } else if (!im.messages.empty() && im.messages.back().seq == std::numeric_limits<std::uint64_t>::max()) {
    return "a message's sequence number leaves no room for the interruption message";
  }
  return {};
}

// A valid image on its way in.
struct candidate {
  run_image* image;
  task_entry* entry;
  provider_state* provider;
  std::size_t order;  // in the input, for stable ordering of equal finish times
  task_status status;
  std::optional<wall_time> expires;
};

// Whether `r` is a mirrored record that an image of uuid `uuid` replaces (registry::mirror).
bool replaceable(const record_core& r, std::string_view uuid) noexcept { return r.mirrored && r.uuid == uuid; }

}  // namespace

restore_report registry_state::restore(std::vector<run_image> runs, std::vector<provider_image> provider_images,
                                       bool mirror) {
  restore_report report;
  const wall_time now = clock.wall_now();
  const mono_time mono = clock.mono_now();

  for (const provider_image& p : provider_images) {
    provider_state* ps = find_provider(p.kind, p.id);
    const auto item = [&] { return "provider " + make_safe_text(p.kind, limits::name_bytes) + " " + std::to_string(p.id); };
    if (!ps) {
      report.errors.push_back({item(), "no provider is registered as this kind and id (register providers before restore)"});
      continue;
    }
    if (p.last_outcome && (*p.last_outcome == sync_outcome::running ||
                           static_cast<std::size_t>(*p.last_outcome) >= enum_names<sync_outcome>.size())) {
      report.errors.push_back({item(), "last_outcome must be the outcome of a finished sync (not running)"});
      continue;
    }
    if (p.last_success) {
      const std::int64_t us = micros(*p.last_success);
      ps->note_success(us);
      ps->entry->note_success(us);
    }
    if (p.last_outcome) {
      // Number 0: a sync finished in this process already is newer than any image.
      ps->note_outcome(0, *p.last_outcome);
    }
    ++report.providers_restored;
  }

  // Check every image on its own; keep the valid ones.
  std::vector<candidate> valid;
  valid.reserve(runs.size());
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    run_image& im = runs[i];
    auto refuse = [&](std::string reason) {
      report.errors.push_back({"run " + make_safe_text(im.uuid, 64), std::move(reason)});
    };
    if (std::string reason = check_image(im); !reason.empty()) {
      refuse(std::move(reason));
      continue;
    }
    if (im.running && !mirror) {
      refuse("the run is running: only registry::mirror shows runs of other replicas as running");
      continue;
    }
    if (!seen.insert(im.uuid).second) {
      refuse("another image has the same uuid");
      continue;
    }
    // Held already: refused, unless mirroring and the record held is a mirror (then the image,
    // a newer state of that run, replaces it in the update below).
    task_entry* holder = uuids.find(im.uuid);
    if (holder) {
      entry_pin pin(*holder);
      const auto& v = pin.view();
      const auto same = [&](const auto& r) { return r->uuid == im.uuid; };
      const auto mirrored = [&](const auto& r) { return replaceable(*r, im.uuid); };
      if (std::any_of(v.running.begin(), v.running.end(), same)) {
        refuse("the registry holds a run with this uuid already (a run of this process)");
        continue;
      }
      const bool held_finished = std::any_of(v.finished.begin(), v.finished.end(), same);
      const auto running_mirror = std::find_if(v.elsewhere.begin(), v.elsewhere.end(), mirrored);
      const bool held = held_finished || running_mirror != v.elsewhere.end();
      const bool held_mirror = std::any_of(v.finished.begin(), v.finished.end(), mirrored) ||
                               running_mirror != v.elsewhere.end();
      if (held && !(mirror && held_mirror)) {
        refuse(mirror ? "the registry holds a run with this uuid already (not a mirrored one: never replaced)"
                      : "the registry holds a run with this uuid already");
        continue;
      }
      // An older state than the one shown: a running image of a run shown finished, or with
      // fewer messages than the running one shown.
      if (held && im.running &&
          (held_finished || (*running_mirror)->appended() > im.appended)) {
        refuse("an older state of the run than the one shown (a running image of a finished run, or fewer messages)");
        continue;
      }
      if (!held) holder = nullptr;  // it left its view meanwhile
    }
    provider_state* ps = nullptr;
    task_entry* entry = nullptr;
    if (im.provider) {
      ps = find_provider(im.provider->kind, im.provider->id);
      if (!ps) {
        refuse("no provider is registered as " + make_safe_text(im.provider->kind, limits::name_bytes) + " " +
               std::to_string(im.provider->id) + " (register providers before restore)");
        continue;
      }
      if (im.name != ps->info.task_name || im.uid != ps->info.uid) {
        refuse("the task " + im.name + "/" + im.uid + " is not the sync task of provider " + ps->info.kind + " " +
               std::to_string(ps->info.id) + " (" + ps->info.task_name + "/" + ps->info.uid + ")");
        continue;
      }
      entry = ps->entry;
    } else {
      entry = &entry_for(im.name, im.uid);
      ps = entry->provider.load(std::memory_order_acquire);  // the task key is a provider's sync
    }
    if (holder && holder != entry) {
      refuse("the registry holds a run with this uuid for another task");
      continue;
    }
    const task_options& o = *entry->options.load(std::memory_order_acquire);
    candidate c{&im, entry, ps, i, im.status, im.expires};
    if (im.interrupted) {
      c.status = task_status::error;
      c.expires = expiry_after(im.finish, o.retention);
    }
    if (im.running) {
      c.status = task_status::unknown;
      c.expires = std::nullopt;
    }
    if (c.status == task_status::successful) {
      entry->note_success(micros(im.finish));
      if (ps) {
        ps->note_success(micros(im.finish));
      }
    }
    if (mirror && ps && !im.running && !im.prefilled && !im.interrupted) {
      // Another replica's sync: its outcome is the provider's last when it finished last. The
      // levels are those of the messages it kept (the dropped ones' are not known here). An
      // interrupted one sets none: its time is when it was marked, not when it ended, and its
      // replica may still finish it.
      std::uint32_t levels = 0;
      for (const stored_message& m : im.messages) {
        const auto level = static_cast<unsigned char>(m.compact[compact_level_offset]);
        if (level < 32) levels |= 1u << level;
      }
      ps->note_mirrored_outcome(micros(im.finish), outcome_of(c.status, levels));
    }
    valid.push_back(c);
  }

  // Per task key, oldest finish first, as the finishes would have been applied.
  std::sort(valid.begin(), valid.end(), [](const candidate& a, const candidate& b) {
    if (a.entry != b.entry) return a.entry < b.entry;
    if (a.image->finish != b.image->finish) return a.image->finish < b.image->finish;
    return a.order < b.order;
  });
  std::vector<deadline> deadlines;
  for (std::size_t begin = 0; begin < valid.size();) {
    task_entry& entry = *valid[begin].entry;
    std::size_t end = begin;
    while (end < valid.size() && valid[end].entry == &entry) ++end;
    const task_options& o = *entry.options.load(std::memory_order_acquire);

    std::vector<const candidate*> kept;  // newest first, at most history_depth
    std::vector<const candidate*> running;  // mirrored runs still running elsewhere
    for (std::size_t i = begin; i < end; ++i) {
      const candidate& c = valid[i];
      if (c.image->running) {
        running.push_back(&c);
        continue;
      }
      if (!o.keep_on_success && c.status == task_status::successful) {
        // authentik deletes the task's records on a success that is not kept
        report.runs_superseded += kept.size() + 1;
        kept.clear();
        continue;
      }
      if (!c.image->prefilled) {
        // A finished run replaces the "not run yet" placeholder.
        report.runs_superseded += static_cast<std::size_t>(
            std::erase_if(kept, [](const candidate* k) { return k->image->prefilled; }));
      }
      kept.insert(kept.begin(), &c);
      if (kept.size() > o.history_depth) {
        kept.pop_back();
        ++report.runs_superseded;
      }
    }
    std::vector<std::shared_ptr<const record_core>> records;
    std::vector<bool> interrupted;  // by index in `records`
    std::vector<std::shared_ptr<const record_core>> running_records;
    std::vector<std::string_view> group_uuids;  // every image of this entry (mirror: what they replace)
    for (std::size_t i = begin; i < end; ++i) group_uuids.push_back(valid[i].image->uuid);
    kept.insert(kept.end(), running.begin(), running.end());
    for (const candidate* c : kept) {
      if (c->expires && *c->expires <= now) {
        ++report.runs_expired;
        continue;
      }
      const run_image& im = *c->image;
      packed_messages packed;
      for (const stored_message& m : im.messages) packed.add(m.seq, m.compact);
      std::uint64_t appended = im.appended;
      if (im.interrupted) {
        // Every message it accepted that the store never got counts as dropped; the
        // interruption message comes after all of them.
        if (!im.messages.empty()) appended = std::max(appended, im.messages.back().seq + 1);
        appended = std::max<std::uint64_t>(appended, im.messages.size());
        char message[limits::message_bytes];
        packed.add(appended, {message, render_compact(message, im.finish, log_level::error, im.name,
                                                      interrupted_run_event, {})});
        ++appended;
      }
      run_fields f;
      f.uuid = im.uuid;
      f.name = entry.name;
      f.uid = entry.uid;
      f.description = im.description;
      if (c->provider) {
        f.provider_kind = c->provider->info.kind;
        f.provider_id = c->provider->info.id;
      }
      f.retention = o.retention;
      f.policy = o.policy;
      f.overflow = im.overflow;
      f.keep_on_success = o.keep_on_success;
      f.prefilled = im.prefilled && !im.interrupted && !im.running;
      f.mirrored = mirror;
      f.start_wall = im.start;
      f.start_mono = mono;
      if (im.running) {
        // Shown running: its duration grows from its start as the wall clock says now.
        f.start_mono = mono - std::chrono::duration_cast<mono_time::duration>(std::max(now - im.start, wall_time::duration{0}));
        auto record = std::make_shared<frozen_record>(f, im.finish, im.duration, c->status, c->expires, packed, appended);
        record->phase.store(record_core::running, std::memory_order_relaxed);  // published with the view
        running_records.push_back(std::move(record));
        continue;
      }
      auto record = std::make_shared<frozen_record>(f, im.finish, im.duration, c->status, c->expires, packed, appended);
      record->finish_mono = mono;
      records.push_back(std::move(record));
      interrupted.push_back(im.interrupted);
    }
    begin = end;
    if (records.empty() && running_records.empty()) continue;

    // One index slot per record in a view (the index is a multiset): a replaced record's slot
    // goes with it in `account`, the new record's is added here.
    std::vector<std::string_view> indexed;
    try {
      for (const auto& r : records) {
        uuids.insert(r->uuid, &entry);
        indexed.push_back(r->uuid);
      }
      for (const auto& r : running_records) {
        uuids.insert(r->uuid, &entry);
        indexed.push_back(r->uuid);
      }
    } catch (...) {
      for (const auto u : indexed) uuids.erase(u);
      throw;
    }
    view_change change;
    std::size_t restored = 0;
    std::vector<std::shared_ptr<const record_core>> cut;  // restored records beyond the depth
    try {
      update_view(entry, [&](const task_view& current) -> std::optional<task_view> {
        change = {};
        cut.clear();
        restored = 0;
        task_view next = settle_finished(current, o.history_depth, change);
        if (mirror) {
          // A newer state of a mirrored run replaces the one held (whichever list it is in).
          const auto replaced = [&](std::vector<std::shared_ptr<const record_core>>& list) {
            std::erase_if(list, [&](std::shared_ptr<const record_core>& r) {
              const bool out = r->mirrored && std::any_of(group_uuids.begin(), group_uuids.end(),
                                                          [&](std::string_view u) { return r->uuid == u; });
              if (out) change.removed.push_back(r);
              return out;
            });
          };
          replaced(next.finished);
          replaced(next.elsewhere);
          next.elsewhere.insert(next.elsewhere.end(), running_records.begin(), running_records.end());
          restored = running_records.size();
        }
        // Merged newest first; a restored run replaces the "not run yet" placeholder, as a run
        // finishing would. Equal finish times keep the records held already first.
        std::vector<std::shared_ptr<const record_core>> merged;
        merged.reserve(next.finished.size() + records.size());
        for (auto& r : next.finished) {
          if (r->prefilled && !records.empty()) {
            change.removed.push_back(std::move(r));
          } else {
            merged.push_back(std::move(r));
          }
        }
        merged.insert(merged.end(), records.begin(), records.end());
        std::stable_sort(merged.begin(), merged.end(),
                         [](const auto& a, const auto& b) { return a->finish_wall > b->finish_wall; });
        next.finished.clear();
        for (auto& r : merged) {
          const bool is_restored = std::find(records.begin(), records.end(), r) != records.end();
          if (next.finished.size() < o.history_depth) {
            restored += is_restored;
            next.finished.push_back(std::move(r));
          } else if (is_restored) {
            cut.push_back(std::move(r));
          } else {
            change.removed.push_back(std::move(r));
          }
        }
        return next;
      });
    } catch (...) {
      for (const auto u : indexed) uuids.erase(u);
      throw;
    }
    records_held.fetch_add(restored, std::memory_order_relaxed);
    account(entry, change);
    for (const auto& r : cut) uuids.erase(r->uuid);
    report.runs_superseded += cut.size();
    report.runs_restored += restored;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      if (std::find(cut.begin(), cut.end(), r) != cut.end()) continue;
      if (r->expires) deadlines.push_back({*r->expires, &entry});
      // The interrupted ones, so that a store can write back what they became.
      if (interrupted[i]) report.interrupted.push_back(std::string(r->uuid));
    }
  }
  schedule_expiries(std::move(deadlines));
  return report;
}

std::size_t registry_state::forget_mirrored(const std::vector<std::string>& list) {
  std::size_t forgotten = 0;
  for (const std::string& uuid : list) {
    task_entry* entry = uuids.find(uuid);
    if (!entry) continue;
    view_change change;
    bool found = false;
    const bool updated = update_view(*entry, [&](const task_view& current) -> std::optional<task_view> {
      change = {};
      found = false;
      task_view next = settle_finished(current, entry->options.load(std::memory_order_acquire)->history_depth, change);
      const auto forget = [&](std::shared_ptr<const record_core>& r) {
        if (!replaceable(*r, uuid)) return false;
        change.removed.push_back(r);
        found = true;
        return true;
      };
      std::erase_if(next.finished, forget);
      std::erase_if(next.elsewhere, forget);
      if (!found) return std::nullopt;
      return next;
    });
    if (!updated) continue;
    account(*entry, change);
    ++forgotten;
  }
  return forgotten;
}

}  // namespace detail
}  // namespace systask
