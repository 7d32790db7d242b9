// SPDX-License-Identifier: BSL-1.0
// The pin/retire primitive on its own: a replaced view is freed at once when nobody reads it,
// kept while a reader is pinned, and under concurrent readers and writers no reader ever sees
// a freed or half-built view and every view is freed exactly once.

#include "pinned_view.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using systask::detail::pinned_view;

std::atomic<std::int64_t> live_views{0};

// A view that counts its instances and carries a value twice, so a reader can tell a whole
// view from a freed or torn one (and ASan reports any read of a freed one).
struct counted_view {
  static constexpr std::uint64_t magic = 0x5eed'1e55'c0ff'ee00;
  std::uint64_t value = 0;
  std::uint64_t check = magic;
  counted_view() { live_views.fetch_add(1); }
  counted_view(std::uint64_t v) : value(v), check(magic ^ v) { live_views.fetch_add(1); }
  counted_view(const counted_view& o) : value(o.value), check(o.check) { live_views.fetch_add(1); }
  counted_view(counted_view&& o) noexcept : value(o.value), check(o.check) { live_views.fetch_add(1); }
  counted_view& operator=(const counted_view&) = default;
  ~counted_view() {
    check = 0;
    live_views.fetch_sub(1);
  }
  bool whole() const { return check == (magic ^ value); }
};

using result = pinned_view<counted_view>::reclaim_result;

std::optional<counted_view> next_of(const counted_view& v) { return counted_view(v.value + 1); }

TEST(PinnedView, ReplacedViewIsFreedAtOnceWhenNobodyReads) {
  const auto before = live_views.load();
  {
    pinned_view<counted_view> p;
    EXPECT_TRUE(p.replace(next_of));
    EXPECT_TRUE(p.has_retired());
    EXPECT_EQ(p.try_reclaim(), result::freed);
    EXPECT_FALSE(p.has_retired());
    EXPECT_EQ(p.try_reclaim(), result::nothing_retired);
    EXPECT_EQ(live_views.load(), before + 1) << "only the current view is alive";
    EXPECT_EQ(pinned_view<counted_view>::pin(p).view().value, 1u);
  }
  EXPECT_EQ(live_views.load(), before);
}

TEST(PinnedView, ReplacedViewIsKeptWhileAReaderIsPinned) {
  pinned_view<counted_view> p;
  {
    pinned_view<counted_view>::pin pin(p);
    const counted_view& seen = pin.view();
    EXPECT_TRUE(p.replace(next_of));
    EXPECT_EQ(p.try_reclaim(), result::readers_pinned);
    EXPECT_TRUE(p.has_retired());
    EXPECT_TRUE(seen.whole()) << "the view the reader holds is not freed";
    EXPECT_EQ(seen.value, 0u);
  }
  EXPECT_EQ(p.try_reclaim(), result::freed);
  EXPECT_FALSE(p.has_retired());
}

TEST(PinnedView, DecliningOrThrowingMakeNextLeavesTheViewAsItIs) {
  pinned_view<counted_view> p;
  EXPECT_FALSE(p.replace([](const counted_view&) -> std::optional<counted_view> { return std::nullopt; }));
  EXPECT_THROW(p.replace([](const counted_view&) -> std::optional<counted_view> { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_FALSE(p.has_retired());
  EXPECT_EQ(pinned_view<counted_view>::pin(p).view().value, 0u);
}

TEST(PinnedView, ConcurrentReadersNeverSeeAFreedViewAndEveryReplacementCounts) {
  constexpr int writers = 2, readers = 2, per_writer = 20'000;
  const auto before = live_views.load();
  {
    pinned_view<counted_view> p;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> torn{0}, reads{0};
    std::atomic<int> readers_started{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&] {
        // Writers start once every reader reads, so that reads and replacements overlap.
        while (readers_started.load() < readers) std::this_thread::yield();
        for (int i = 0; i < per_writer; ++i) {
          p.replace(next_of);
          p.try_reclaim();
        }
      });
    }
    for (int r = 0; r < readers; ++r) {
      threads.emplace_back([&] {
        std::uint64_t last = 0;
        readers_started.fetch_add(1);
        while (!stop.load(std::memory_order_relaxed)) {
          pinned_view<counted_view>::pin pin(p);
          const counted_view& v = pin.view();
          // Values only grow: a reader never goes back to an older view.
          if (!v.whole() || v.value < last) torn.fetch_add(1);
          last = v.value;
          reads.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    for (int w = 0; w < writers; ++w) threads[w].join();
    stop.store(true);
    for (int r = 0; r < readers; ++r) threads[writers + r].join();
    EXPECT_EQ(torn.load(), 0u);
    EXPECT_GT(reads.load(), 0u);
    EXPECT_EQ(pinned_view<counted_view>::pin(p).view().value, std::uint64_t{writers * per_writer})
        << "every replacement is applied exactly once";
    p.try_reclaim();  // nobody reads now: whatever a pinned reader held back is freed
    EXPECT_FALSE(p.has_retired());
    EXPECT_EQ(live_views.load(), before + 1);
  }
  EXPECT_EQ(live_views.load(), before);
}

}  // namespace
