// SPDX-License-Identifier: BSL-1.0
// The expiry deadlines' queue: always the earliest first, whatever order the deadlines come in;
// in-order sequences kept in lanes, and the heap used only for what fits no lane.

#include "deadline_queue.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace {

using systask::detail::deadline_queue;

struct due {
  long when;
  int id;
};

std::vector<long> drain(deadline_queue<due, 8>& q) {
  std::vector<long> out;
  while (!q.empty()) {
    out.push_back(q.top().when);
    q.pop();
  }
  return out;
}

TEST(DeadlineQueue, InOrderDeadlinesUseOneLaneAndNoHeap) {
  deadline_queue<due, 8> q;
  for (int i = 0; i < 1000; ++i) q.push({i / 3, i});  // equal deadlines are in order too
  EXPECT_EQ(q.lanes(), 1u);
  EXPECT_EQ(q.in_heap(), 0u);
  EXPECT_EQ(q.size(), 1000u);
  const auto out = drain(q);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  EXPECT_EQ(out.size(), 1000u);
}

TEST(DeadlineQueue, InterleavedRetentionsGetALaneEach) {
  // Two retentions (1 s and 6 h) finishing alternately: two increasing sequences.
  deadline_queue<due, 8> q;
  for (int i = 0; i < 500; ++i) {
    q.push({i + 21'600, i});
    q.push({i + 1, i});
  }
  EXPECT_EQ(q.lanes(), 2u);
  EXPECT_EQ(q.in_heap(), 0u);
  const auto out = drain(q);
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
  EXPECT_EQ(out.front(), 1);
  EXPECT_EQ(q.lanes(), 0u) << "emptied lanes are given back";
}

TEST(DeadlineQueue, AnyOrderComesOutSortedThroughTheHeapBesideTheLanes) {
  std::mt19937 rng(7);
  deadline_queue<due, 8> q;
  std::vector<long> in;
  for (int i = 0; i < 5000; ++i) {
    const long when = static_cast<long>(rng() % 100'000);
    in.push_back(when);
    q.push({when, i});
    if (i % 7 == 0) {  // pops between pushes, as the timer fires between finishes
      const long top = q.top().when;
      EXPECT_EQ(top, *std::min_element(in.begin(), in.end()));
      in.erase(std::min_element(in.begin(), in.end()));
      q.pop();
    }
  }
  EXPECT_EQ(q.lanes(), 8u);
  EXPECT_GT(q.in_heap(), 0u) << "random deadlines outnumber the lanes";
  std::sort(in.begin(), in.end());
  EXPECT_EQ(drain(q), in);
}

}  // namespace
