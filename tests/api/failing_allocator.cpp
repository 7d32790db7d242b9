#include "failing_allocator.hpp"

#include <cstdlib>
#include <new>

namespace {
thread_local bool allocations_fail = false;
thread_local std::size_t refused = 0;
}  // namespace

namespace systask::test {
void set_allocations_fail(bool fail) noexcept { allocations_fail = fail; }
std::size_t allocations_refused() noexcept { return refused; }
void reset_allocations_refused() noexcept { refused = 0; }
}  // namespace systask::test

// The replaced global operators: malloc and free, unless this thread's allocations fail. The
// array, sized and nothrow forms of the standard library forward to these two.
void* operator new(std::size_t n) {
  if (allocations_fail) {
    ++refused;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
