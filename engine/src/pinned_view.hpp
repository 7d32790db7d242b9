// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

namespace systask::detail {

/// One immutable `View` that writers replace whole (copy-on-write) while readers read it
/// without locks and without ever waiting.
///
/// Readers pin (`pin`: one seq_cst increment of a reader count), load the current view, copy
/// out what they need and unpin. A writer builds the next view from the current one and
/// installs it with a seq_cst CAS; the replaced view is *retired* (pushed on an intrusive
/// stack), not freed. `try_reclaim` takes the whole retired stack and frees it only if the
/// reader count is zero at that moment; otherwise it puts the stack back and says so, and the
/// caller retries later (the registry does that from a deferred pass on its strand).
///
/// Why zero means safe: every view in the taken batch was unlinked by a seq_cst CAS that
/// happens-before the seq_cst load of the reader count. A reader whose increment precedes that
/// load in the single total order of seq_cst operations is counted (or has already unpinned);
/// one whose increment follows it loads the view pointer later still, so it can only see a view
/// installed after every unlinking CAS, never one in the batch (see docs/architecture.md).
///
/// Liveness: freeing needs a moment with no reader pinned. A view read continuously by
/// overlapping readers is kept until such a moment comes.
///
/// Thread safety: every member may be called from any thread. `View` must be default
/// constructible (the initial view) and movable.
template <class View>
class pinned_view {
 public:
  /// Holds the pin for one read. Never blocks, never allocates.
  class pin {
   public:
    explicit pin(const pinned_view& p) noexcept : p_(p) { p_.readers_.fetch_add(1, std::memory_order_seq_cst); }
    ~pin() { p_.readers_.fetch_sub(1, std::memory_order_release); }
    pin(const pin&) = delete;
    pin& operator=(const pin&) = delete;
    /// The current view; valid while the pin lives.
    const View& view() const noexcept { return p_.current_.load(std::memory_order_seq_cst)->view; }

   private:
    const pinned_view& p_;
  };

  /// What `try_reclaim` did.
  enum class reclaim_result { nothing_retired, freed, readers_pinned };

  /// Starts with a default-constructed view. Allocates.
  pinned_view() : current_(new node{}) {}
  /// Frees the current view and every retired one: no reader may be pinned any more.
  ~pinned_view() {
    delete current_.load(std::memory_order_acquire);
    free_list(retired_.load(std::memory_order_acquire));
  }
  pinned_view(const pinned_view&) = delete;
  pinned_view& operator=(const pinned_view&) = delete;

  /// Replaces the view with `make_next(current)` (a `std::optional<View>`; nullopt leaves the
  /// view as it is and returns false). `make_next` may run more than once when writers race;
  /// each call must start from the view it is given. The replaced view is retired: call
  /// `try_reclaim` afterwards. Lock-free; allocates one node; exceptions from `make_next` or
  /// the allocation propagate and leave the view unchanged.
  template <class MakeNext>
  bool replace(MakeNext&& make_next) {
    for (;;) {
      pin p(*this);
      node* current = current_.load(std::memory_order_seq_cst);
      std::optional<View> next_view = make_next(std::as_const(current->view));
      if (!next_view) return false;
      auto next = std::make_unique<node>(node{std::move(*next_view), nullptr});
      if (current_.compare_exchange_strong(current, next.get(), std::memory_order_seq_cst)) {
        next.release();
        push_retired(current, current);
        return true;
      }
    }
  }

  /// Frees the retired views if no reader is pinned now; otherwise keeps them for a later call.
  /// Any thread; never blocks, never allocates.
  reclaim_result try_reclaim() noexcept {
    node* batch = retired_.exchange(nullptr, std::memory_order_acq_rel);
    if (!batch) return reclaim_result::nothing_retired;
    if (readers_.load(std::memory_order_seq_cst) == 0) {
      free_list(batch);
      return reclaim_result::freed;
    }
    node* tail = batch;
    while (tail->next_retired) tail = tail->next_retired;
    push_retired(batch, tail);
    return reclaim_result::readers_pinned;
  }

  /// Whether replaced views wait to be freed (a snapshot: for tests and diagnostics).
  bool has_retired() const noexcept { return retired_.load(std::memory_order_acquire) != nullptr; }

 private:
  struct node {
    View view{};
    node* next_retired = nullptr;
  };

  static void free_list(node* n) noexcept {
    while (n) delete std::exchange(n, n->next_retired);
  }

  // Pushes the chain first..last (linked by next_retired) onto the retired stack.
  void push_retired(node* first, node* last) noexcept {
    node* head = retired_.load(std::memory_order_relaxed);
    do {
      last->next_retired = head;
    } while (!retired_.compare_exchange_weak(head, first, std::memory_order_release, std::memory_order_relaxed));
  }

  // The view pointer and the reader count are written by different threads (writers, readers):
  // each on its own cache line.
  alignas(64) std::atomic<node*> current_;
  alignas(64) mutable std::atomic<std::uint64_t> readers_{0};
  std::atomic<node*> retired_{nullptr};
};

}  // namespace systask::detail
