// SPDX-License-Identifier: BSL-1.0
#pragma once

// The memory benchmark's global operator new/delete (counting_allocator.cpp): every call
// forwards to malloc/free unchanged, so malloc's own statistics stay exact, and the calls are
// counted. In its own translation unit so that g++ never inlines a replaced operator delete
// into code that sees the matching new.

#include <cstdint>

namespace systask::bench {

/// Calls to any operator new in this process so far. Any thread.
std::uint64_t allocation_count() noexcept;

}  // namespace systask::bench
