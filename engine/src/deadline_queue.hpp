// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <deque>
#include <functional>
#include <queue>
#include <vector>

namespace systask::detail {

/// Deadlines, earliest first, for a queue where most deadlines arrive in order.
///
/// An expiry deadline is a finish time plus its task's retention, so the deadlines of one
/// retention arrive in increasing order; with a few retentions they form a few increasing
/// sequences interleaved. Each such sequence gets a FIFO *lane* (a push appends to the lane whose
/// last deadline is the latest one not after it: the best fit, as in patience sorting), and a pop
/// takes the earliest lane front. Push and pop cost O(lanes) and touch the ends of the lanes
/// only, where a binary heap costs O(log n) with cache misses down its levels: what makes expiry
/// cost grow with what lives (docs/PERFORMANCE.md, target 8). A deadline that fits no lane
/// when every lane is taken (the wall clock stepped back, many retentions) goes to a heap
/// beside them, so the order is always exact.
///
/// `T` has a `when` member ordered by `<`. Not thread-safe (the registry's strand owns it).
/// `push` may throw std::bad_alloc and then leaves the queue as it was.
template <class T, std::size_t MaxLanes = 8>
class deadline_queue {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  /// The earliest deadline. Requires !empty().
  const T& top() const noexcept {
    const T* best = heap_.empty() ? nullptr : &heap_.top();
    for (std::size_t i = 0; i < lane_count_; ++i) {
      const T& front = lanes_[i].front();
      if (!best || front.when < best->when) best = &front;
    }
    return *best;
  }

  void push(const T& d) {
    std::deque<T>* fit = nullptr;
    for (std::size_t i = 0; i < lane_count_; ++i) {
      auto& lane = lanes_[i];
      if (!(d.when < lane.back().when) && (!fit || fit->back().when < lane.back().when)) fit = &lane;
    }
    if (!fit && lane_count_ < MaxLanes) {
      lanes_[lane_count_].push_back(d);  // strong guarantee: a failed push_back leaves it empty
      ++lane_count_;
    } else if (fit) {
      fit->push_back(d);
    } else {
      heap_.push(d);
    }
    ++size_;
  }

  /// Removes the earliest deadline. Requires !empty(). Never throws.
  void pop() noexcept {
    std::deque<T>* best_lane = nullptr;
    const T* best = heap_.empty() ? nullptr : &heap_.top();
    for (std::size_t i = 0; i < lane_count_; ++i) {
      const T& front = lanes_[i].front();
      if (!best || front.when < best->when) {
        best = &front;
        best_lane = &lanes_[i];
      }
    }
    --size_;
    if (!best_lane) {
      heap_.pop();
      return;
    }
    best_lane->pop_front();
    if (best_lane->empty()) {
      // Keep the lanes in use first: swap the emptied one with the last in use.
      std::swap(*best_lane, lanes_[lane_count_ - 1]);
      --lane_count_;
    }
  }

  /// Lanes in use (tests: in-order deadlines use one lane, never the heap).
  std::size_t lanes() const noexcept { return lane_count_; }
  /// Deadlines in the heap beside the lanes (tests).
  std::size_t in_heap() const noexcept { return heap_.size(); }

 private:
  struct later {
    bool operator()(const T& a, const T& b) const noexcept { return b.when < a.when; }
  };
  std::array<std::deque<T>, MaxLanes> lanes_;
  std::size_t lane_count_ = 0;
  std::priority_queue<T, std::vector<T>, later> heap_;
  std::size_t size_ = 0;
};

}  // namespace systask::detail
