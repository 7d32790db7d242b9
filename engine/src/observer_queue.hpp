// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace systask::detail {

/// Bounded multi-producer, single-consumer queue of `T` (D. Vyukov's bounded queue): each cell
/// carries a sequence number that says whose turn it is. A producer claims a position with a CAS
/// on the enqueue counter, fills the cell and publishes it with a release store of its sequence;
/// the consumer reads cells in position order. Push never blocks and never allocates (the cells
/// are allocated at construction); a full queue refuses the push. A producer delayed between
/// its claim and its publication holds up the consumer at that cell (not the other producers)
/// until it publishes.
///
/// Thread safety: `try_push` from any thread; `try_pop` from one consumer at a time (the
/// registry's strand).
template <class T>
class mpsc_queue {
 public:
  /// `capacity` is rounded up to a power of two (at least 2). Allocates the cells.
  explicit mpsc_queue(std::size_t capacity)
      : mask_(std::bit_ceil(std::max<std::size_t>(capacity, 2)) - 1), cells_(std::make_unique<cell[]>(mask_ + 1)) {
    for (std::size_t i = 0; i <= mask_; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  mpsc_queue(const mpsc_queue&) = delete;
  mpsc_queue& operator=(const mpsc_queue&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }

  /// Moves `value` in, or returns false (leaving it) when the queue is full. Lock-free.
  bool try_push(T& value) noexcept {
    std::size_t pos = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      const std::size_t seq = c.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (enqueue_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          c.value = std::move(value);
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the cell still holds the item from one lap ago: full
      } else {
        pos = enqueue_.load(std::memory_order_relaxed);
      }
    }
  }

  /// The oldest published item, or nullopt when there is none (yet). Consumer only.
  std::optional<T> try_pop() noexcept {
    cell& c = cells_[dequeue_ & mask_];
    if (c.seq.load(std::memory_order_acquire) != dequeue_ + 1) return std::nullopt;
    std::optional<T> out(std::move(c.value));
    c.value = T{};
    c.seq.store(dequeue_ + mask_ + 1, std::memory_order_release);
    ++dequeue_;
    return out;
  }

 private:
  struct cell {
    std::atomic<std::size_t> seq{0};
    T value{};
  };

  const std::size_t mask_;
  const std::unique_ptr<cell[]> cells_;
  alignas(64) std::atomic<std::size_t> enqueue_{0};
  alignas(64) std::size_t dequeue_ = 0;  // consumer only
};

}  // namespace systask::detail
