// SPDX-License-Identifier: BSL-1.0
#include "message_ring.hpp"

#include <systask/engine/limits.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <mutex>
#include <vector>

// Under AddressSanitizer a pooled chunk is poisoned, so a use after its ring died is still caught.
#if defined(__SANITIZE_ADDRESS__)
#define SYSTASK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYSTASK_ASAN 1
#endif
#endif
#ifdef SYSTASK_ASAN
#include <sanitizer/asan_interface.h>
#define SYSTASK_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SYSTASK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define SYSTASK_POISON(p, n) ((void)(p), (void)(n))
#define SYSTASK_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace systask::detail {

namespace {
// A spill buffer: word 0 holds its capacity in data words, the data starts at word 1. Keeping
// the capacity inside the buffer lets a reader bound its copy by the buffer it actually holds.
constexpr std::size_t min_spill_words = 32;
}

struct alignas(64) message_ring::slot {
  std::atomic<std::uint64_t> seq{0};    // 0 empty, writing(t) or published(t)
  std::atomic<std::uint32_t> length{0};  // bytes of the message
  // Words of a message longer than the inline part: allocated when first needed, replaced by a
  // larger one (the old one retired to the ring) when outgrown, freed with the ring.
  std::atomic<std::atomic<std::uint64_t>*> spill{nullptr};
  std::atomic<std::uint64_t> words[inline_bytes / 8];

  ~slot() { delete[] spill.load(std::memory_order_relaxed); }
};
static_assert(sizeof(std::atomic<std::uint64_t>) == 8);
const std::size_t message_ring::full_chunk_bytes_ = sizeof(slot) * max_chunk_slots;

namespace {
// Full-size chunks (max_chunk_slots slots, 16 KiB) that dead rings gave back, handed to the next
// rings. Without it, malloc carves each new run's small allocations out of the 16 KiB the last
// run freed, the next chunk no longer fits in what is left, and a host that keeps many small
// finished runs holds about 16 KiB of free heap for each (bench/memory_bench.cpp, task_keys:
// 1.6 GB resident for 100,000 task keys whose records hold 140 MB). Bounded, so that a burst of
// runs does not pin its chunks for ever. Only ever try_lock'ed: a thread that finds the pool busy
// allocates or frees as it would without a pool, so a writer's first append never waits for
// another thread here.
class chunk_pool {
 public:
  static constexpr std::size_t capacity = 128;  // 2 MiB at most

  /// Never destroyed: a ring owned by a static may die after every other static.
  static chunk_pool& instance() {
    static auto* pool = new chunk_pool;  // NOLINT(cppcoreguidelines-owning-memory)
    return *pool;
  }
  /// A chunk with every slot reset, or nullptr (pool empty or busy).
  void* take(std::size_t bytes) noexcept {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || size_ == 0) return nullptr;
    void* chunk = chunks_[--size_];
    SYSTASK_UNPOISON(chunk, bytes);
    return chunk;
  }
  /// True when the pool kept `chunk` (every slot reset); false when it is full or busy.
  bool give(void* chunk, std::size_t bytes) noexcept {
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || size_ == capacity) return false;
    SYSTASK_POISON(chunk, bytes);
    chunks_[size_++] = chunk;
    return true;
  }

 private:
  std::mutex mutex_;
  std::size_t size_ = 0;
  std::array<void*, capacity> chunks_{};
};
}  // namespace

message_ring::message_ring(std::size_t capacity, overflow_policy policy)
    : mask_(std::bit_ceil(std::max<std::size_t>(capacity, 1)) - 1),
      chunk_slots_(std::min(mask_ + 1, max_chunk_slots)),
      policy_(policy),
      chunks_(std::make_unique<std::atomic<slot*>[]>((mask_ + 1) / chunk_slots_)) {
  static_assert(sizeof(slot) == slot_bytes, "slot layout changed: update inline_bytes and docs/engine.md");
}

message_ring::~message_ring() {
  // Tickets from this count on never touched a slot (the ring was closed, or never went that
  // far), so a ring that did not wrap resets only the slots its tickets reached: a short run
  // does not pay for the 16 KiB of a whole chunk.
  const std::uint64_t claimed = appended();
  // Only a claimed ticket allocates its chunk (append -> slot_for), so the chunks past the last
  // claimed ticket's are null: not even looked at (a run with no message looks at none; the
  // loop over all 64 chunk pointers of a default ring was a tenth of a start + finish).
  const std::size_t chunk_count = (mask_ + 1) / chunk_slots_;
  const std::size_t reached =
      claimed > mask_ ? chunk_count : static_cast<std::size_t>((claimed + chunk_slots_ - 1) / chunk_slots_);
  for (std::size_t i = 0; i < reached; ++i) {
    slot* c = chunks_[i].load(std::memory_order_acquire);
    if (!c) continue;
    if (chunk_slots_ == max_chunk_slots) {
      // No one else holds the ring: reset each slot used as a fresh one would be, then offer it.
      const std::uint64_t first = static_cast<std::uint64_t>(i) * chunk_slots_;
      const std::size_t used =
          claimed > mask_ ? chunk_slots_
                          : static_cast<std::size_t>(std::min<std::uint64_t>(chunk_slots_, claimed - std::min(claimed, first)));
      for (std::size_t k = 0; k < used; ++k) {
        delete[] c[k].spill.exchange(nullptr, std::memory_order_relaxed);
        c[k].seq.store(0, std::memory_order_relaxed);
        c[k].length.store(0, std::memory_order_relaxed);
      }
      if (chunk_pool::instance().give(c, full_chunk_bytes_)) continue;
    }
    delete[] c;
  }
  for (auto* r = retired_spills_.load(std::memory_order_acquire); r;) {
    auto* next = reinterpret_cast<std::atomic<std::uint64_t>*>(r[1].load(std::memory_order_relaxed));
    delete[] r;
    r = next;
  }
}

message_ring::slot* message_ring::slot_for(std::uint64_t ticket) noexcept {
  const std::size_t index = ticket & mask_;
  std::atomic<slot*>& chunk = chunks_[index / chunk_slots_];
  slot* c = chunk.load(std::memory_order_acquire);
  if (!c) {
    slot* fresh = nullptr;
    if (chunk_slots_ == max_chunk_slots) fresh = static_cast<slot*>(chunk_pool::instance().take(full_chunk_bytes_));
    if (!fresh) fresh = new (std::nothrow) slot[chunk_slots_];
    if (!fresh) return nullptr;
    if (chunk.compare_exchange_strong(c, fresh, std::memory_order_acq_rel, std::memory_order_acquire)) {
      c = fresh;
    } else if (chunk_slots_ != max_chunk_slots || !chunk_pool::instance().give(fresh, full_chunk_bytes_)) {
      delete[] fresh;  // another writer installed the chunk first
    }
  }
  return c + index % chunk_slots_;
}

const message_ring::slot* message_ring::find_slot(std::uint64_t ticket) const noexcept {
  const std::size_t index = ticket & mask_;
  const slot* c = chunks_[index / chunk_slots_].load(std::memory_order_acquire);
  return c ? c + index % chunk_slots_ : nullptr;
}

bool message_ring::claim_overwrite(slot& s, std::uint64_t ticket) noexcept {
  std::uint64_t seq = s.seq.load(std::memory_order_acquire);
  for (;;) {
    if (seq & writing_bit) return false;                    // an older writer is still in the slot
    if (seq != 0 && ticket_of(seq) > ticket) return false;  // a newer message already replaced ours
    if (s.seq.compare_exchange_weak(seq, writing(ticket), std::memory_order_acquire, std::memory_order_acquire)) {
      if (seq != 0) dropped_.fetch_add(1, std::memory_order_acq_rel);  // the oldest message is overwritten
      return true;
    }
  }
}

void message_ring::store(slot& s, std::uint64_t ticket, std::string_view fragment) noexcept {
  // Seqlock writer: the "writing" mark must be visible before any data a reader could copy.
  std::atomic_thread_fence(std::memory_order_release);
  const std::size_t n = std::min(fragment.size(), limits::message_bytes);
  std::atomic<std::uint64_t>* words = s.words;
  if (n > inline_bytes) {
    const std::size_t needed = (n + 7) / 8;
    std::atomic<std::uint64_t>* spill = s.spill.load(std::memory_order_relaxed);
    if (!spill || spill[0].load(std::memory_order_relaxed) < needed) {
      const std::size_t capacity = std::max(std::bit_ceil(needed + 1), min_spill_words) - 1;
      auto* fresh = new (std::nothrow) std::atomic<std::uint64_t>[capacity + 1];
      if (!fresh) {
        // Out of memory: the message is lost, and counted.
        s.seq.store(0, std::memory_order_release);
        dropped_.fetch_add(1, std::memory_order_acq_rel);
        return;
      }
      fresh[0].store(capacity, std::memory_order_relaxed);
      if (spill) {
        // A reader may be copying the old buffer: retire it (its word 1 links the list).
        auto* head = retired_spills_.load(std::memory_order_relaxed);
        do {
          spill[1].store(reinterpret_cast<std::uint64_t>(head), std::memory_order_relaxed);
        } while (!retired_spills_.compare_exchange_weak(head, spill, std::memory_order_release,
                                                        std::memory_order_relaxed));
      }
      s.spill.store(fresh, std::memory_order_release);
      spill = fresh;
    }
    words = spill + 1;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, fragment.data() + i, 8);
    words[i / 8].store(w, std::memory_order_relaxed);
  }
  if (i < n) {
    std::uint64_t w = 0;
    std::memcpy(&w, fragment.data() + i, n - i);
    words[i / 8].store(w, std::memory_order_relaxed);
  }
  s.length.store(static_cast<std::uint32_t>(n), std::memory_order_relaxed);
  s.seq.store(published(ticket), std::memory_order_release);
}

bool message_ring::append(std::string_view fragment) noexcept {
  const std::uint64_t ticket = head_.fetch_add(1, std::memory_order_acq_rel);
  if (ticket & closed_bit) return false;
  if (policy_ == overflow_policy::drop_newest && ticket > mask_) {
    dropped_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  slot* s = slot_for(ticket);
  if (!s) {
    dropped_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  if (policy_ == overflow_policy::drop_newest) {
    s->seq.store(writing(ticket), std::memory_order_relaxed);  // the slot is ours alone
  } else if (!claim_overwrite(*s, ticket)) {
    dropped_.fetch_add(1, std::memory_order_acq_rel);
    return true;
  }
  store(*s, ticket, fragment);
  return true;
}

void message_ring::close() noexcept {
  // One closer: two storing their counts concurrently could leave the loser's in place.
  if (close_started_.exchange(true, std::memory_order_acq_rel)) return;
  // The count is stored before the closed bit becomes visible, so a reader that sees the bit
  // (acquire) sees the count that goes with it. An appender that moved head meanwhile makes the
  // CAS fail: store the new count and try again. Appenders keep their single fetch_add.
  std::uint64_t head = head_.load(std::memory_order_acquire);
  for (;;) {
    appended_at_close_.store(head, std::memory_order_relaxed);
    if (head_.compare_exchange_weak(head, head | closed_bit, std::memory_order_acq_rel, std::memory_order_acquire)) {
      return;
    }
  }
}

std::uint64_t message_ring::appended() const noexcept {
  const std::uint64_t head = head_.load(std::memory_order_acquire);
  if (head & closed_bit) return appended_at_close_.load(std::memory_order_acquire);
  return head;
}

std::uint64_t message_ring::read_slot(const slot& s, char* buf, std::size_t* len) const noexcept {
  const std::uint64_t seq = s.seq.load(std::memory_order_acquire);
  if (seq == 0 || (seq & writing_bit)) return ~0ull;
  const std::size_t n = s.length.load(std::memory_order_relaxed);
  if (n > limits::message_bytes) return ~0ull;
  std::size_t count = (n + 7) / 8;
  const std::atomic<std::uint64_t>* words = s.words;
  if (n > inline_bytes) {
    const std::atomic<std::uint64_t>* spill = s.spill.load(std::memory_order_acquire);
    if (!spill) return ~0ull;
    // Never read past the buffer in hand, even if `n` came from a newer writer (the sequence
    // check below then discards the copy anyway).
    count = std::min<std::size_t>(count, spill[0].load(std::memory_order_relaxed));
    words = spill + 1;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t w = words[i].load(std::memory_order_relaxed);
    std::memcpy(buf + i * 8, &w, 8);
  }
  // Seqlock reader: the copy is valid only if nobody started rewriting the slot meanwhile.
  std::atomic_thread_fence(std::memory_order_acquire);
  if (s.seq.load(std::memory_order_relaxed) != seq || count * 8 < n) return ~0ull;
  *len = n;
  return ticket_of(seq);
}

std::size_t message_ring::visit(std::uint64_t from_ticket, visit_fn fn, void* context) const {
  const std::uint64_t head = appended();
  const std::uint64_t cap = mask_ + 1;
  // drop_newest keeps tickets [0, capacity); overwrite_oldest keeps the last `capacity` tickets.
  const bool keep_first = policy_ == overflow_policy::drop_newest;
  const std::uint64_t lo = keep_first || head <= cap ? 0 : head - cap;
  const std::uint64_t hi = keep_first ? std::min(head, cap) : head;
  // One message, copied out of the slot before the sequence re-check. On the stack, not per
  // thread: `fn` may visit another ring from inside the call.
  char buf[limits::message_bytes + 8];
  std::size_t visited = 0, len = 0;

  // Survivors: a slot still holding a message older than `lo` because the newer writer of
  // that slot gave way (see append). Rare; they are older than everything else, so they go first.
  // While the run is open, a slot can also look like a survivor because its writer has taken
  // ticket t but not yet claimed the slot; by the time the main pass reads the slot it may hold
  // t. Each slot is shown at most once (the survivor, as read first), so a visit never gives
  // more than the ring's capacity: message t is then missing from this visit, exactly as if the
  // reader had met its writer mid-store. (A finish packs a closed ring whose late appender may
  // be in that state: t then counts as dropped, see pack_ring.)
  std::vector<std::size_t> survivor_slots;  // ring indexes of the survivors shown, sorted
  if (policy_ == overflow_policy::overwrite_oldest && head > cap && from_ticket < lo) {
    std::vector<std::uint64_t> survivors;  // tickets, oldest first
    for (std::uint64_t t = lo; t < hi; ++t) {
      const slot* s = find_slot(t);
      if (!s) continue;
      const std::uint64_t seq = s->seq.load(std::memory_order_acquire);
      if (seq != 0 && !(seq & writing_bit) && ticket_of(seq) < lo && ticket_of(seq) >= from_ticket) {
        survivors.push_back(ticket_of(seq));
      }
    }
    std::sort(survivors.begin(), survivors.end());
    for (std::uint64_t t : survivors) {
      const slot* s = find_slot(t);
      if (s && read_slot(*s, buf, &len) == t) {
        survivor_slots.push_back(t & mask_);
        fn(context, t, {buf, len});
        ++visited;
      }
    }
    std::sort(survivor_slots.begin(), survivor_slots.end());
  }
  for (std::uint64_t t = std::max(lo, from_ticket); t < hi; ++t) {
    if (!survivor_slots.empty() && std::binary_search(survivor_slots.begin(), survivor_slots.end(), t & mask_)) {
      continue;
    }
    const slot* s = find_slot(t);
    if (s && read_slot(*s, buf, &len) == t) {
      fn(context, t, {buf, len});
      ++visited;
    }
  }
  return visited;
}

std::size_t message_ring::copy_to(std::string& out, bool comma_first, expand_fn expand) const {
  struct sink {
    std::string& out;
    bool comma;
    expand_fn expand;
  } s{out, comma_first, expand};
  return visit(
      0,
      [](void* c, std::uint64_t, std::string_view stored) {
        auto& k = *static_cast<sink*>(c);
        if (k.comma) k.out.push_back(',');
        k.comma = true;
        if (k.expand) {
          k.expand(k.out, stored.data(), stored.size());
        } else {
          k.out.append(stored);
        }
      },
      &s);
}

}  // namespace systask::detail
