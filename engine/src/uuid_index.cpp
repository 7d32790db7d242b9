// SPDX-License-Identifier: BSL-1.0
// The uuid index: which task entry holds the run with a given uuid (see uuid_index.hpp).

#include "uuid_index.hpp"

#include <algorithm>
#include <array>
#include <bit>

namespace systask::detail {

namespace {

// Hex digit values, 0xff for every other byte: a table instead of three ranges tested per
// character, so parsing does not branch on the data (it runs twice per run: index, unindex).
constexpr std::array<std::uint8_t, 256> hex_values = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xff);
  for (int c = 0; c < 10; ++c) t[static_cast<std::size_t>('0' + c)] = static_cast<std::uint8_t>(c);
  for (int c = 0; c < 6; ++c) {
    t[static_cast<std::size_t>('a' + c)] = static_cast<std::uint8_t>(10 + c);
    t[static_cast<std::size_t>('A' + c)] = static_cast<std::uint8_t>(10 + c);
  }
  return t;
}();

// Where the 32 hex digits of 8-4-4-4-12 are.
constexpr std::array<std::uint8_t, 32> digit_at = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11, 12, 14, 15, 16, 17,
                                                   19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35};

}  // namespace

std::optional<uuid_bits> parse_uuid(std::string_view text) noexcept {
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') {
    return std::nullopt;
  }
  uuid_bits bits;
  std::uint8_t seen = 0;  // or of every digit's value: 0xff in it means a byte was no hex digit
  for (std::size_t i = 0; i < 16; ++i) {
    const std::uint8_t hi = hex_values[static_cast<unsigned char>(text[digit_at[i]])];
    const std::uint8_t lo = hex_values[static_cast<unsigned char>(text[digit_at[i + 16]])];
    seen |= hi | lo;
    bits.hi = (bits.hi << 4) | (hi & 0xf);
    bits.lo = (bits.lo << 4) | (lo & 0xf);
  }
  if (seen & 0x80) return std::nullopt;
  return bits;
}

std::uint64_t uuid_index::mix(const uuid_bits& k) noexcept {
  // splitmix64's finalizer over both halves: restored uuids need not be random.
  std::uint64_t z = k.hi ^ (k.lo * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::shared_ptr<uuid_index::table> uuid_index::current_table(shard& s) noexcept {
  pinned_view<table_view>::pin pin(s.view);
  return pin.view().t;
}

void uuid_index::insert(std::string_view uuid, task_entry* entry) {
  const auto key = parse_uuid(uuid);
  if (!key) return;
  const std::uint64_t h = mix(*key);
  shard& s = shard_of(h);
  std::lock_guard lock(s.write_mutex);
  // Only writers replace and free tables, and they hold this mutex: the current table stays
  // valid until this call replaces it, and the copy keeps the old one while it is copied.
  std::shared_ptr<table> current = current_table(s);
  table* t = current.get();
  if (!t || (s.taken + 1) * 2 > t->mask + 1) {
    // Rebuild without the removed slots, at most a quarter full: grows, or shrinks back after
    // many removals. Everything is allocated before the new table is published.
    const std::size_t live = s.taken - s.removed;
    const std::size_t size = std::max<std::size_t>(16, std::bit_ceil((live + 1) * 4));
    auto fresh = std::make_shared<table>(table{size - 1, std::make_unique<slot[]>(size)});
    if (t) {
      for (std::size_t i = 0; i <= t->mask; ++i) {
        const slot& from = t->slots[i];
        if (from.state.load(std::memory_order_relaxed) != 1) continue;
        const uuid_bits k{from.hi.load(std::memory_order_relaxed), from.lo.load(std::memory_order_relaxed)};
        std::size_t j = (mix(k) >> 6) & fresh->mask;
        while (fresh->slots[j].state.load(std::memory_order_relaxed) != 0) j = (j + 1) & fresh->mask;
        slot& to = fresh->slots[j];
        to.hi.store(k.hi, std::memory_order_relaxed);
        to.lo.store(k.lo, std::memory_order_relaxed);
        to.entry.store(from.entry.load(std::memory_order_relaxed), std::memory_order_relaxed);
        to.state.store(1, std::memory_order_relaxed);  // published with the table
      }
    }
    s.view.replace([&](const table_view&) -> std::optional<table_view> { return table_view{fresh}; });
    s.taken = live;
    s.removed = 0;
    t = fresh.get();
  }
  std::size_t i = (h >> 6) & t->mask;
  while (t->slots[i].state.load(std::memory_order_relaxed) != 0) i = (i + 1) & t->mask;
  slot& to = t->slots[i];
  to.hi.store(key->hi, std::memory_order_relaxed);
  to.lo.store(key->lo, std::memory_order_relaxed);
  to.entry.store(entry, std::memory_order_relaxed);
  to.state.store(1, std::memory_order_release);
  ++s.taken;
  s.view.try_reclaim();  // a replaced table, once no reader is pinned (else at a later write)
}

void uuid_index::erase(std::string_view uuid) noexcept {
  const auto key = parse_uuid(uuid);
  if (!key) return;
  const std::uint64_t h = mix(*key);
  shard& s = shard_of(h);
  std::lock_guard lock(s.write_mutex);
  const std::shared_ptr<table> current = current_table(s);
  table* t = current.get();
  if (!t) return;
  for (std::size_t i = (h >> 6) & t->mask;; i = (i + 1) & t->mask) {
    slot& sl = t->slots[i];
    const std::uint8_t state = sl.state.load(std::memory_order_relaxed);
    if (state == 0) return;
    if (state == 1 && sl.hi.load(std::memory_order_relaxed) == key->hi &&
        sl.lo.load(std::memory_order_relaxed) == key->lo) {
      sl.state.store(2, std::memory_order_release);
      ++s.removed;
      break;
    }
  }
  s.view.try_reclaim();
}

task_entry* uuid_index::find(std::string_view uuid) const noexcept {
  const auto key = parse_uuid(uuid);
  if (!key) return nullptr;
  const std::uint64_t h = mix(*key);
  const shard& s = shard_of(h);
  pinned_view<table_view>::pin pin(s.view);
  const table* t = pin.view().t.get();
  if (!t) return nullptr;
  // A table is at most half full, so the probe ends at an empty slot.
  for (std::size_t i = (h >> 6) & t->mask;; i = (i + 1) & t->mask) {
    const slot& sl = t->slots[i];
    const std::uint8_t state = sl.state.load(std::memory_order_acquire);
    if (state == 0) return nullptr;
    // A removed slot may hold this uuid from an earlier life (a record restored again after
    // it left): keep probing past it.
    if (state == 1 && sl.hi.load(std::memory_order_relaxed) == key->hi &&
        sl.lo.load(std::memory_order_relaxed) == key->lo) {
      return sl.entry.load(std::memory_order_relaxed);
    }
  }
}

std::size_t uuid_index::size() const noexcept {
  std::size_t n = 0;
  for (shard& s : shards_) {
    std::lock_guard lock(s.write_mutex);
    n += s.taken - s.removed;
  }
  return n;
}

}  // namespace systask::detail
