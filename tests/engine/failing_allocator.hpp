// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test helper: a global operator new replacement (failing_allocator.cpp, linked into the
// allocation-failure test binary only) that can fail allocations or run a hook on demand. Every
// control is per thread and scoped, so gtest's own allocations on other threads, and outside
// the scopes, are untouched. Keep assertions outside the scopes: they allocate.

#include <cstddef>
#include <functional>

namespace systask::test {

/// While alive, every allocation on this thread fails: throwing forms throw std::bad_alloc,
/// nothrow forms return null.
class failing_allocations {
 public:
  failing_allocations() noexcept;
  ~failing_allocations();
  failing_allocations(const failing_allocations&) = delete;
  failing_allocations& operator=(const failing_allocations&) = delete;
  /// Allocations refused so far in this scope.
  std::size_t refused() const noexcept;
};

/// While alive, the allocation number `n` (0: the next one) on this thread fails; the others
/// succeed.
class fail_nth_allocation {
 public:
  explicit fail_nth_allocation(std::size_t n) noexcept;
  ~fail_nth_allocation();
  fail_nth_allocation(const fail_nth_allocation&) = delete;
  fail_nth_allocation& operator=(const fail_nth_allocation&) = delete;
  /// Whether the failure happened (false: fewer than n + 1 allocations were made).
  bool fired() const noexcept;
};

/// While alive, the next allocation of exactly `size` bytes on this thread first calls `hook`
/// (once; allocations the hook makes are not hooked).
class on_allocation {
 public:
  on_allocation(std::size_t size, std::function<void()> hook) noexcept;
  ~on_allocation();
  on_allocation(const on_allocation&) = delete;
  on_allocation& operator=(const on_allocation&) = delete;
  bool called() const noexcept;

 private:
  std::function<void()> hook_;
};

}  // namespace systask::test
