// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace systask::detail {

/// Insert-only hash index from a string key to a stable `Value*` (Value has `key()`).
/// Lookups and iteration are lock-free: they read an open-addressing table published by
/// pointer. Inserts (new task keys, new providers: rare) serialize on a mutex among themselves
/// and never make a reader wait. Values and outgrown tables live until the index dies, so a
/// reader can never hold a dangling pointer; growth doubles, so old tables cost at most as much
/// as the current one.
template <class Value>
class concurrent_index {
 public:
  concurrent_index() { publish(16); }

  Value* find(std::string_view key) const noexcept {
    const table* t = table_.load(std::memory_order_acquire);
    for (std::size_t i = hash(key) & t->mask;; i = (i + 1) & t->mask) {
      Value* v = t->slots[i].load(std::memory_order_acquire);
      if (!v) return nullptr;
      if (v->key() == key) return v;
    }
  }

  /// Returns the value for `key`, creating it with `make()` (-> std::unique_ptr<Value>) if absent.
  template <class Make>
  Value* find_or_insert(std::string_view key, Make&& make) {
    if (Value* v = find(key)) return v;
    std::lock_guard lock(insert_mutex_);
    if (Value* v = find(key)) return v;
    std::unique_ptr<Value> fresh = make();
    if ((count_ + 1) * 2 > tables_.back()->mask + 1) grow();
    Value* v = fresh.get();
    values_.push_back(std::move(fresh));  // strong guarantee: on failure `fresh` still owns it
    place(*tables_.back(), v);
    ++count_;
    return v;
  }

  /// Visits every value inserted before the call began (and maybe some inserted meanwhile).
  template <class F>
  void for_each(F&& f) const {
    const table* t = table_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i <= t->mask; ++i) {
      if (Value* v = t->slots[i].load(std::memory_order_acquire)) f(*v);
    }
  }

 private:
  struct table {
    std::size_t mask;
    std::unique_ptr<std::atomic<Value*>[]> slots;
  };

  static std::size_t hash(std::string_view key) noexcept { return std::hash<std::string_view>{}(key); }

  static void place(table& t, Value* v) noexcept {
    std::size_t i = hash(v->key()) & t.mask;
    while (t.slots[i].load(std::memory_order_relaxed)) i = (i + 1) & t.mask;
    t.slots[i].store(v, std::memory_order_release);
  }

  // Every allocation comes before the new table is published, so a failure (std::bad_alloc)
  // leaves the index as it was: the old table stays current and owned.
  void publish(std::size_t size) {
    auto t = std::make_unique<table>(table{size - 1, std::make_unique<std::atomic<Value*>[]>(size)});
    tables_.push_back(std::move(t));
    table_.store(tables_.back().get(), std::memory_order_release);
  }

  void grow() {
    const std::size_t size = (tables_.back()->mask + 1) * 2;
    auto t = std::make_unique<table>(table{size - 1, std::make_unique<std::atomic<Value*>[]>(size)});
    for (const auto& v : values_) place(*t, v.get());
    tables_.push_back(std::move(t));
    table_.store(tables_.back().get(), std::memory_order_release);
  }

  std::atomic<table*> table_{nullptr};
  std::mutex insert_mutex_;
  std::vector<std::unique_ptr<table>> tables_;
  std::vector<std::unique_ptr<Value>> values_;
  std::size_t count_ = 0;
};

}  // namespace systask::detail
