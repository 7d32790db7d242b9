// SPDX-License-Identifier: BSL-1.0
#pragma once

// A per-thread scratch object that stays usable while the thread's thread_local objects are
// being destroyed. A host may finish a run from a static object's destructor (a run handle held
// by a global, abandoned at exit); the C++ runtime destroys the main thread's thread_locals
// before the statics, so a plain `thread_local T` would be used after its destructor ran (heap
// corruption, found by the contention benchmark's static run). The flag is trivially
// destructible, so it can still be read then; after teardown the caller's own object is used.

namespace systask::detail {

template <class T>
class thread_scratch {
 public:
  /// The thread's scratch object, or `fallback` once the thread's thread_locals are destroyed.
  static T& get(T& fallback) noexcept {
    if (gone_) return fallback;
    thread_local holder h;
    return gone_ ? fallback : h.value;
  }

 private:
  struct holder {
    T value;
    ~holder() { gone_ = true; }
  };
  static inline thread_local bool gone_ = false;
};

}  // namespace systask::detail
