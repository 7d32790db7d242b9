// SPDX-License-Identifier: BSL-1.0
// Replaces every form of the global operator new and delete for the test binary it is linked
// into; see failing_allocator.hpp. Memory comes from malloc / posix_memalign and goes back to
// free, so the sanitizers still see every block.

#include "failing_allocator.hpp"

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace {

struct control {
  bool fail_all = false;
  std::size_t refused = 0;
  long countdown = -1;  // allocations left before the one that fails; -1: none armed
  bool fired = false;
  std::size_t hook_size = 0;
  std::function<void()>* hook = nullptr;
  bool hook_called = false;
};
thread_local control ctl;

bool should_fail() noexcept {
  if (ctl.fail_all) {
    ++ctl.refused;
    return true;
  }
  if (ctl.countdown == 0) {
    ctl.countdown = -1;
    ctl.fired = true;
    return true;
  }
  if (ctl.countdown > 0) --ctl.countdown;
  return false;
}

void* allocate(std::size_t n, std::size_t align, bool nothrow) {
  if (ctl.hook && n == ctl.hook_size) {
    std::function<void()>* hook = std::exchange(ctl.hook, nullptr);
    ctl.hook_called = true;
    (*hook)();
  }
  if (should_fail()) {
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  void* p = nullptr;
  if (align > alignof(std::max_align_t)) {
    if (posix_memalign(&p, align, n ? n : 1) != 0) p = nullptr;
  } else {
    p = std::malloc(n ? n : 1);
  }
  if (!p && !nothrow) throw std::bad_alloc();
  return p;
}

}  // namespace

namespace systask::test {

failing_allocations::failing_allocations() noexcept {
  ctl.fail_all = true;
  ctl.refused = 0;
}
failing_allocations::~failing_allocations() { ctl.fail_all = false; }
std::size_t failing_allocations::refused() const noexcept { return ctl.refused; }

fail_nth_allocation::fail_nth_allocation(std::size_t n) noexcept {
  ctl.fired = false;
  ctl.countdown = static_cast<long>(n);
}
fail_nth_allocation::~fail_nth_allocation() { ctl.countdown = -1; }
bool fail_nth_allocation::fired() const noexcept { return ctl.fired; }

on_allocation::on_allocation(std::size_t size, std::function<void()> hook) noexcept : hook_(std::move(hook)) {
  ctl.hook_called = false;
  ctl.hook_size = size;
  ctl.hook = &hook_;
}
on_allocation::~on_allocation() { ctl.hook = nullptr; }
bool on_allocation::called() const noexcept { return ctl.hook_called; }

}  // namespace systask::test

void* operator new(std::size_t n) { return allocate(n, 0, false); }
void* operator new[](std::size_t n) { return allocate(n, 0, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n, 0, true); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a), false); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, static_cast<std::size_t>(a), true);
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate(n, static_cast<std::size_t>(a), true);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
