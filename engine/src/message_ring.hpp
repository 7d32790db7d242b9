// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/enums.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>

namespace systask::detail {

/// Bounded, multi-producer ring of rendered messages with concurrent, non-blocking readers.
///
/// Writers: one `fetch_add` on the ticket counter claims ticket t and slot t mod capacity; the
/// slot is marked "writing t" with a CAS, the bytes are stored as relaxed atomic words, and the
/// slot is published with a release store of "published t". Readers copy a slot and re-check its
/// sequence (a seqlock), so a message is seen whole or not at all. Nobody waits for anybody:
/// when two writers meet on one slot (only possible when `capacity` appends overlap one slow
/// append), the one that arrives second gives way. If the slot is still being written by an
/// older writer, the newer message is dropped; if the slot already holds a newer message, the
/// older one is. Either way it is counted as dropped, so, always,
/// appended = retained + dropped. See docs/architecture.md for the memory-ordering argument.
///
/// Slots are allocated lazily, a chunk at a time, so a run that logs ten messages does not pay
/// for a ring of 4096; once a chunk exists, appending to it never allocates.
class message_ring {
 public:
  static constexpr std::size_t slot_bytes = 256;                  ///< one slot: four cache lines
  static constexpr std::size_t inline_bytes = slot_bytes - 24;    ///< message bytes stored in the slot itself
  static constexpr std::size_t max_chunk_slots = 64;

  /// `capacity` is rounded up to a power of two (at least 1).
  message_ring(std::size_t capacity, overflow_policy policy);
  ~message_ring();
  message_ring(const message_ring&) = delete;
  message_ring& operator=(const message_ring&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }
  overflow_policy policy() const noexcept { return policy_; }

  /// Appends one rendered message (at most `limits::message_bytes`). Returns false, and counts
  /// nothing, once the ring is closed. Any thread; lock-free; allocates only the first time a
  /// chunk of slots is touched, or when a slot must hold a message longer than `inline_bytes`
  /// and its spill buffer (a power of two, at least 256 bytes) is missing or too small.
  bool append(std::string_view fragment) noexcept;

  /// Rejects every later append (a finished run). An append whose ticket came before the close
  /// may still be storing its message when close returns; it is counted in `appended()`.
  /// Any thread. The first call closes; later ones do nothing (a call concurrent with the first
  /// may return before the first has finished closing). Lock-free: it retries only while
  /// appenders move the ticket counter.
  void close() noexcept;
  /// Whether the ring is closed. Any thread.
  bool closed() const noexcept { return (head_.load(std::memory_order_acquire) & closed_bit) != 0; }

  /// Messages accepted so far (retained or dropped). Once the ring is closed, the exact final
  /// count: a reader that sees the ring closed never sees a smaller number than before.
  std::uint64_t appended() const noexcept;
  /// Messages accepted but lost to overflow, exactly. Read it before `appended()` when
  /// subtracting: a drop is counted only after its message was accepted.
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_acquire); }

  /// Turns one stored message into its output text (appending to `out`).
  using expand_fn = void (*)(std::string& out, const char* stored, std::size_t length);

  /// Appends the retained messages to `out` in append order, separated by commas (and preceded
  /// by one when `comma_first`), each as stored or through `expand`. Returns how many it wrote.
  /// Any thread; never blocks writers.
  std::size_t copy_to(std::string& out, bool comma_first, expand_fn expand = nullptr) const;

  /// Called with one retained message: its ticket (the run's sequence number), and its stored
  /// bytes, valid during the call only.
  using visit_fn = void (*)(void* context, std::uint64_t ticket, std::string_view stored);

  /// Calls `fn` for every retained message whose ticket is >= `from_ticket`, in ticket order
  /// (which is append order per writer). A message being written during the visit is skipped.
  /// Returns how many it visited. Any thread; never blocks writers; exceptions from `fn`
  /// propagate. Uses about 9 KiB of stack (one message's scratch copy).
  std::size_t visit(std::uint64_t from_ticket, visit_fn fn, void* context) const;

 private:
  struct slot;
  static constexpr std::uint64_t closed_bit = 1ull << 63;
  static constexpr std::uint64_t writing_bit = 1;
  static constexpr std::uint64_t published(std::uint64_t t) noexcept { return (t + 1) << 1; }
  static constexpr std::uint64_t writing(std::uint64_t t) noexcept { return published(t) | writing_bit; }
  static constexpr std::uint64_t ticket_of(std::uint64_t seq) noexcept { return (seq >> 1) - 1; }

  static const std::size_t full_chunk_bytes_;                 // a chunk of max_chunk_slots slots
  slot* slot_for(std::uint64_t ticket) noexcept;              // allocates the chunk if needed
  const slot* find_slot(std::uint64_t ticket) const noexcept;  // nullptr when never allocated
  bool claim_overwrite(slot& s, std::uint64_t ticket) noexcept;
  void store(slot& s, std::uint64_t ticket, std::string_view fragment) noexcept;
  // Copies the slot if it holds a published message; returns its ticket or ~0 when not.
  std::uint64_t read_slot(const slot& s, char* buf, std::size_t* len) const noexcept;

  const std::size_t mask_;
  const std::size_t chunk_slots_;
  const overflow_policy policy_;
  std::unique_ptr<std::atomic<slot*>[]> chunks_;

  // Written by every appender / by droppers / by close: each on its own cache line.
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> dropped_{0};
  alignas(64) std::atomic<std::uint64_t> appended_at_close_{0};
  std::atomic<bool> close_started_{false};
  // Spill buffers a slot outgrew: kept until the ring dies, because a reader may still be
  // copying one. Each replacement at least doubles, so they cost at most as much as the live ones.
  // Intrusive list: a retired buffer's word 1 holds the next one.
  std::atomic<std::atomic<std::uint64_t>*> retired_spills_{nullptr};
};

}  // namespace systask::detail
