// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test helper: the global operator new of the binary that links failing_allocator.cpp can be
// made to fail on one thread, to test what code does when memory runs out. (A translation unit
// of its own, so that no caller sees the replaced operators inlined.)

#include <cstddef>

namespace systask::test {

/// From now on, every operator new on this thread throws std::bad_alloc (true) or works (false).
void set_allocations_fail(bool fail) noexcept;
/// Allocations refused on this thread since the last `reset_allocations_refused`.
std::size_t allocations_refused() noexcept;
void reset_allocations_refused() noexcept;

}  // namespace systask::test
