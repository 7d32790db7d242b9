// SPDX-License-Identifier: BSL-1.0
#include "failing_allocator.hpp"

#include <cstddef>
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

// The replaced global operators: malloc and free, unless this thread's allocations fail. Every
// form is replaced, so that no form of the standard library's or a sanitizer's takes part.
namespace {
void* allocate(std::size_t n, std::size_t alignment = 0) {
  if (allocations_fail) {
    ++refused;
    throw std::bad_alloc();
  }
  if (n == 0) n = 1;
  void* p = alignment > alignof(std::max_align_t) ? std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment)
                                                  : std::malloc(n);
  if (!p) throw std::bad_alloc();
  return p;
}
void* allocate_nothrow(std::size_t n, std::size_t alignment = 0) noexcept {
  try {
    return allocate(n, alignment);
  } catch (...) {
    return nullptr;
  }
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
