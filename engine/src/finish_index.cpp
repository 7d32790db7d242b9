// SPDX-License-Identifier: BSL-1.0
#include "finish_index.hpp"

#include "registry_state.hpp"

#include <algorithm>
#include <tuple>

namespace systask::detail {
namespace {

constexpr std::size_t log_mask = finish_index::log_capacity - 1;
static_assert((finish_index::log_capacity & log_mask) == 0, "the ring's capacity is a power of two");

// A reader rebuilds the snapshot when more than this many entries changed since it was built
// (or the ring is half way round): beyond that, reading the changed entries one by one costs
// more than the share of a rebuild they make necessary.
std::size_t rebuild_threshold(std::size_t items) noexcept { return 64 + items / 16; }

// The sort keys of one record, in the order the page wants them.
struct keys {
  wall_time finish;
  std::uint64_t hi;
  std::uint64_t lo;
};

// Whether `a` comes before `b` in the page: finish time (descending when newest_first), ties by
// uuid ascending. Canonical lower-case uuids compare as text exactly as their 128 bits do.
bool before(const keys& a, const keys& b, bool newest_first) noexcept {
  if (a.finish != b.finish) return newest_first ? a.finish > b.finish : a.finish < b.finish;
  return std::tie(a.hi, a.lo) < std::tie(b.hi, b.lo);
}

keys keys_of(const record_core& r) noexcept {
  const auto bits = parse_uuid(r.uuid).value_or(uuid_bits{});
  return {r.finish_wall, bits.hi, bits.lo};
}

// A record read from an entry's current view (an entry that changed since the snapshot).
struct fresh {
  keys k;
  std::shared_ptr<const record_core> record;
};

}  // namespace

finish_index::finish_index() : log_(std::make_unique<std::atomic<task_entry*>[]>(log_capacity)) {}

void finish_index::note_change(task_entry& entry) noexcept {
  const std::uint64_t seq = changes_.fetch_add(1, std::memory_order_seq_cst);
  log_[seq & log_mask].store(&entry, std::memory_order_seq_cst);
}

finish_index::snapshot_ptr finish_index::current() const {
  pinned_view<snapshot_ptr>::pin pin(snapshot_);
  return pin.view();
}

finish_index::snapshot_ptr finish_index::rebuild(const registry_state& state) const {
  auto next = std::make_shared<snapshot>();
  // Every change noted from here on is read by the queries of this snapshot; every change
  // noted before is in the views the pass below reads (a view is installed before its note).
  next->start_seq = changes_.load(std::memory_order_seq_cst);
  const wall_time now = state.clock.wall_now();
  state.tasks.for_each([&](task_entry& e) {
    entry_pin pin(e);
    for (const auto& r : pin.view().finished) {
      if (r->expired_at(now)) continue;
      const keys k = keys_of(*r);
      next->items.push_back({k.finish, k.hi, k.lo, r->expires, &e, r.get(), r->status});
    }
  });
  std::sort(next->items.begin(), next->items.end(), [](const item& a, const item& b) {
    return std::tie(a.status, a.finish, a.uuid_hi, a.uuid_lo) < std::tie(b.status, b.finish, b.uuid_hi, b.uuid_lo);
  });
  built_.fetch_add(1, std::memory_order_relaxed);
  snapshot_ptr built = std::move(next);
  // Published unless a reader published a snapshot at least as recent meanwhile.
  snapshot_.replace([&](const snapshot_ptr& cur) -> std::optional<snapshot_ptr> {
    if (cur && cur->start_seq >= built->start_seq) return std::nullopt;
    return built;
  });
  snapshot_.try_reclaim();
  return built;
}

bool finish_index::noted_between(std::uint64_t from, std::uint64_t to, std::vector<task_entry*>& out) const {
  if (to - from > log_capacity) return false;
  for (std::uint64_t seq = from; seq < to; ++seq) {
    // A slot whose note is still being written holds an older entry (or none): that update has
    // not returned yet, and reading an extra entry costs only time.
    if (task_entry* e = log_[seq & log_mask].load(std::memory_order_seq_cst)) out.push_back(e);
  }
  // Had a writer overwritten a slot read above, its number, taken before its store, would be
  // counted here.
  if (changes_.load(std::memory_order_seq_cst) - from > log_capacity) return false;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return true;
}

finish_index::page finish_index::query(const registry_state& state, std::optional<task_status> status,
                                       bool newest_first, std::size_t offset, std::size_t limit) const {
  // Snapshots replaced while some reader held a pin wait on the retired list: each query ends by
  // offering them to be freed, so one no reader uses is not kept until the next rebuild.
  struct reclaim_at_exit {
    pinned_view<snapshot_ptr>& view;
    ~reclaim_at_exit() { view.try_reclaim(); }
  } reclaim{snapshot_};
  snapshot_ptr s = current();
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (!s || changes_.load(std::memory_order_seq_cst) - s->start_seq > log_capacity / 2) s = rebuild(state);
    bool stale = false;
    if (auto p = try_query(state, *s, status, newest_first, offset, limit, stale)) return std::move(*p);
    // Too much changed since the snapshot, or a page record changed under this reader.
    s = stale ? rebuild(state) : current();
  }
  // Writers kept changing the page's entries: a pass over every entry does not depend on them.
  return full_pass(state, status, newest_first, offset, limit);
}

std::optional<finish_index::page> finish_index::try_query(const registry_state& state, const snapshot& s,
                                                          std::optional<task_status> status, bool newest_first,
                                                          std::size_t offset, std::size_t limit, bool& stale) const {
  const std::uint64_t seen = changes_.load(std::memory_order_seq_cst);
  std::vector<task_entry*> changed;
  if (!noted_between(s.start_seq, seen, changed)) {
    stale = true;
    return std::nullopt;
  }
  if (changed.size() > rebuild_threshold(s.items.size())) {
    stale = true;
    return std::nullopt;
  }
  const wall_time now = state.clock.wall_now();

  // The changed entries' records, read from their views now, in page order.
  std::vector<fresh> fresh_records;
  for (task_entry* e : changed) {
    entry_pin pin(*e);
    for (const auto& r : pin.view().finished) {
      if (r->expired_at(now) || (status && r->status != *status)) continue;
      fresh_records.push_back({keys_of(*r), r});
    }
  }
  std::sort(fresh_records.begin(), fresh_records.end(),
            [&](const fresh& a, const fresh& b) { return before(a.k, b.k, newest_first); });

  // One cursor per status group of the snapshot, each walking its group in page order: forward
  // when oldest first; when newest first, groups of equal finish times from the back, each
  // group forward (its uuids ascending).
  struct cursor {
    const item* lo;
    const item* hi;
    const item* pos = nullptr;
    const item* group_end = nullptr;  // newest first: the end of the group `pos` is in
  };
  const auto group_start = [](const item* lo, const item* end) {
    const item* b = end - 1;
    while (b != lo && (b - 1)->finish == b->finish) --b;
    return b;
  };
  std::vector<cursor> cursors;
  const auto by_status = [](const item& i, task_status st) { return i.status < st; };
  for (auto st : {task_status::unknown, task_status::successful, task_status::warning, task_status::error}) {
    if (status && st != *status) continue;
    const item* lo = std::lower_bound(s.items.data(), s.items.data() + s.items.size(), st, by_status);
    const item* hi = std::upper_bound(lo, s.items.data() + s.items.size(), st,
                                      [](task_status v, const item& i) { return v < i.status; });
    if (lo == hi) continue;
    cursor c{lo, hi};
    if (newest_first) {
      c.group_end = hi;
      c.pos = group_start(lo, hi);
    } else {
      c.pos = lo;
    }
    cursors.push_back(c);
  }
  const auto done = [&](const cursor& c) { return newest_first ? c.group_end == c.lo : c.pos == c.hi; };
  const auto advance = [&](cursor& c) {
    ++c.pos;
    if (!newest_first) return;
    if (c.pos != c.group_end) return;
    c.group_end = group_start(c.lo, c.group_end);
    if (c.group_end != c.lo) c.pos = group_start(c.lo, c.group_end);
  };
  const auto skip = [&](const item& i) {
    return (i.expires && *i.expires <= now) || std::binary_search(changed.begin(), changed.end(), i.entry);
  };
  for (auto& c : cursors) {
    while (!done(c) && skip(*c.pos)) advance(c);
  }

  // Merge the cursors and the fresh records; count every match, keep the page's.
  struct slot {
    const item* from_snapshot = nullptr;
    std::size_t from_fresh = 0;
  };
  std::vector<slot> picked;
  const std::size_t end = limit > SIZE_MAX - offset ? SIZE_MAX : offset + limit;
  std::uint64_t total = 0;
  std::size_t next_fresh = 0;
  for (;;) {
    cursor* best = nullptr;
    for (auto& c : cursors) {
      if (done(c)) continue;
      if (!best || before({c.pos->finish, c.pos->uuid_hi, c.pos->uuid_lo},
                          {best->pos->finish, best->pos->uuid_hi, best->pos->uuid_lo}, newest_first)) {
        best = &c;
      }
    }
    const bool fresh_next =
        next_fresh < fresh_records.size() &&
        (!best || before(fresh_records[next_fresh].k, {best->pos->finish, best->pos->uuid_hi, best->pos->uuid_lo},
                         newest_first));
    if (!best && !fresh_next) break;
    if (total >= offset && total < end) {
      picked.push_back(fresh_next ? slot{nullptr, next_fresh} : slot{best->pos, 0});
    }
    ++total;
    if (fresh_next) {
      ++next_fresh;
    } else {
      do advance(*best);
      while (!done(*best) && skip(*best->pos));
    }
  }

  // The page's records. A snapshot item is followed only if its record is still in its entry's
  // view (so still alive, held by the pinned view) and is still the record the item describes
  // (an address freed and reused by a newer record of the entry, whose notes this reader may
  // not have seen yet, differs in uuid); otherwise its entry changed after the changes were read
  // and the page is taken again.
  page out;
  out.total = total;
  out.records.reserve(picked.size());
  std::vector<task_entry*> page_entries;
  for (const auto& p : picked) {
    if (!p.from_snapshot) {
      out.records.push_back(fresh_records[p.from_fresh].record);
      continue;
    }
    entry_pin pin(*p.from_snapshot->entry);
    const auto& finished = pin.view().finished;
    const auto found = std::find_if(finished.begin(), finished.end(),
                                    [&](const auto& r) { return r.get() == p.from_snapshot->record; });
    if (found == finished.end()) return std::nullopt;
    const item& it = *p.from_snapshot;
    const keys k = keys_of(**found);
    if (k.hi != it.uuid_hi || k.lo != it.uuid_lo || k.finish != it.finish || (*found)->status != it.status) {
      return std::nullopt;
    }
    out.records.push_back(*found);
    page_entries.push_back(p.from_snapshot->entry);
  }
  // A page entry noted since the changes were read changed under this reader: take the page
  // again rather than mix its old place in the order with its new records.
  std::vector<task_entry*> since;
  if (!noted_between(seen, changes_.load(std::memory_order_seq_cst), since)) return std::nullopt;
  for (task_entry* e : page_entries) {
    if (std::binary_search(since.begin(), since.end(), e)) return std::nullopt;
  }
  return out;
}

finish_index::page finish_index::full_pass(const registry_state& state, std::optional<task_status> status,
                                           bool newest_first, std::size_t offset, std::size_t limit) const {
  const wall_time now = state.clock.wall_now();
  std::vector<fresh> all;
  state.tasks.for_each([&](task_entry& e) {
    entry_pin pin(e);
    for (const auto& r : pin.view().finished) {
      if (r->expired_at(now) || (status && r->status != *status)) continue;
      all.push_back({keys_of(*r), r});
    }
  });
  page out;
  out.total = all.size();
  if (offset >= all.size()) return out;
  const std::size_t end = std::min(all.size(), limit > SIZE_MAX - offset ? SIZE_MAX : offset + limit);
  const auto cmp = [&](const fresh& a, const fresh& b) { return before(a.k, b.k, newest_first); };
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(end), all.end(), cmp);
  for (std::size_t i = offset; i < end; ++i) out.records.push_back(std::move(all[i].record));
  return out;
}

}  // namespace systask::detail
