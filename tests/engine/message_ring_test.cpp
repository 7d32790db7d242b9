// SPDX-License-Identifier: BSL-1.0
#include "message_ring.hpp"

#include "stress_message.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using systask::overflow_policy;
using systask::detail::message_ring;
using namespace systask::test;

std::vector<stress_message> read_all(const message_ring& ring) {
  std::string out;
  ring.copy_to(out, false);
  std::vector<stress_message> got;
  for_each_object(out, [&](std::string_view m) {
    auto parsed = check_stress_message(m);
    EXPECT_TRUE(parsed.has_value()) << "torn or malformed: " << m;
    if (parsed) got.push_back(*parsed);
  });
  return got;
}

struct ring_case {
  std::size_t capacity;
  overflow_policy policy;
};

class RingLoss : public ::testing::TestWithParam<ring_case> {};

TEST_P(RingLoss, CountsEveryLostMessageExactly) {
  const auto [capacity, policy] = GetParam();
  message_ring ring(capacity, policy);
  for (const std::uint64_t total : {capacity - 1, capacity, capacity + 1, 3 * capacity + 5}) {
    message_ring r(capacity, policy);
    for (std::uint64_t i = 0; i < total; ++i) ASSERT_TRUE(r.append(make_stress_message(0, i)));
    const auto got = read_all(r);
    EXPECT_EQ(r.appended(), total);
    EXPECT_EQ(got.size(), std::min<std::uint64_t>(total, capacity));
    EXPECT_EQ(r.appended(), got.size() + r.dropped()) << "appended = retained + dropped";
    // overwrite_oldest keeps the newest, drop_newest the oldest, both in append order.
    const std::uint64_t first = policy == overflow_policy::overwrite_oldest && total > capacity ? total - capacity : 0;
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq, first + i);
  }
}

INSTANTIATE_TEST_SUITE_P(CapacitiesAndPolicies, RingLoss,
                         ::testing::Values(ring_case{1, overflow_policy::overwrite_oldest},
                                           ring_case{2, overflow_policy::overwrite_oldest},
                                           ring_case{64, overflow_policy::overwrite_oldest},
                                           ring_case{4096, overflow_policy::overwrite_oldest},
                                           ring_case{1, overflow_policy::drop_newest},
                                           ring_case{2, overflow_policy::drop_newest},
                                           ring_case{64, overflow_policy::drop_newest},
                                           ring_case{4096, overflow_policy::drop_newest}),
                         [](const auto& c) {
                           return std::to_string(c.param.capacity) +
                                  (c.param.policy == overflow_policy::overwrite_oldest ? "_overwrite" : "_drop");
                         });

TEST(Ring, RoundsCapacityUpToAPowerOfTwo) {
  EXPECT_EQ(message_ring(0, overflow_policy::overwrite_oldest).capacity(), 1u);
  EXPECT_EQ(message_ring(3, overflow_policy::overwrite_oldest).capacity(), 4u);
  EXPECT_EQ(message_ring(4096, overflow_policy::overwrite_oldest).capacity(), 4096u);
}

TEST(Ring, StoresMessagesLongerThanTheInlinePartWhole) {
  message_ring ring(4, overflow_policy::overwrite_oldest);
  const std::string big = "{\"x\":\"" + std::string(5000, 'y') + "\"}";
  const std::string small = "{\"x\":1}";
  ASSERT_TRUE(ring.append(big));
  ASSERT_TRUE(ring.append(small));
  ASSERT_TRUE(ring.append(big));
  std::string out;
  EXPECT_EQ(ring.copy_to(out, false), 3u);
  EXPECT_EQ(out, big + "," + small + "," + big);
}

// Dead rings give their full-size chunks to the next rings (message_ring.cpp's chunk pool): a
// ring built from them must start as empty as a fresh one, whatever the dead ring held.
TEST(Ring, ARingOnRecycledChunksShowsOnlyItsOwnMessages) {
  const std::string big = "{\"x\":\"" + std::string(3000, 'y') + "\"}";
  for (int round = 0; round < 3; ++round) {
    {
      std::vector<std::unique_ptr<message_ring>> dead;
      for (int r = 0; r < 8; ++r) {
        dead.push_back(std::make_unique<message_ring>(4096, overflow_policy::overwrite_oldest));
        for (int i = 0; i < 200; ++i) ASSERT_TRUE(dead.back()->append(i % 3 == 0 ? big : make_stress_message(r, i)));
      }
    }
    message_ring ring(4096, overflow_policy::overwrite_oldest);
    for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(ring.append(make_stress_message(1, i)));
    const auto got = read_all(ring);
    ASSERT_EQ(got.size(), 5u);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq, i);
    EXPECT_EQ(ring.dropped(), 0u);
    // A slot reused from a chunk whose slot held a spill takes a long message again.
    ASSERT_TRUE(ring.append(big));
    std::string out;
    EXPECT_EQ(ring.copy_to(out, false), 6u);
    EXPECT_EQ(out.substr(out.size() - big.size()), big);
  }
}

// A dead ring resets only the slots its tickets reached before it gives its chunk back (a short
// run does not pay for a whole chunk); the next ring must still find every slot it reads fresh,
// whether the dead ring wrapped, stopped part way through a chunk, or was closed early.
TEST(Ring, ARecycledChunkIsFreshWhereverTheDeadRingStopped) {
  for (const std::uint64_t written : {0u, 1u, 10u, 63u, 64u, 65u, 100u, 200u}) {
    for (const bool closed_early : {false, true}) {
      {
        message_ring dead(64, overflow_policy::overwrite_oldest);
        for (std::uint64_t i = 0; i < written; ++i) {
          if (closed_early && i == written / 2) dead.close();
          (void)dead.append(make_stress_message(9, i));
        }
      }
      message_ring ring(64, overflow_policy::overwrite_oldest);
      EXPECT_TRUE(read_all(ring).empty()) << written << (closed_early ? " closed early" : "");
      for (std::uint64_t i = 0; i < 40; ++i) ASSERT_TRUE(ring.append(make_stress_message(1, i)));
      const auto got = read_all(ring);
      ASSERT_EQ(got.size(), 40u) << written << (closed_early ? " closed early" : "");
      for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq, i);
    }
  }
}

TEST(Ring, ReusesASlotFromLongToShortMessages) {
  message_ring ring(1, overflow_policy::overwrite_oldest);
  ring.append("{\"x\":\"" + std::string(1000, 'y') + "\"}");
  ring.append("{\"x\":2}");
  std::string out;
  ring.copy_to(out, false);
  EXPECT_EQ(out, "{\"x\":2}");
  EXPECT_EQ(ring.dropped(), 1u);
}

TEST(Ring, GrowsASlotsSpillBufferWhenALongerMessageComes) {
  message_ring ring(1, overflow_policy::overwrite_oldest);
  for (std::size_t size : {300u, 5000u, 600u, 9000u, 250u}) {
    const std::string m = "{\"x\":\"" + std::string(size, 'y') + "\"}";
    ring.append(m);
    std::string out;
    ASSERT_EQ(ring.copy_to(out, false), 1u);
    EXPECT_EQ(out, m) << size;
  }
}

TEST(Ring, ExpandsStoredMessagesOnTheWayOut) {
  message_ring ring(4, overflow_policy::overwrite_oldest);
  ring.append("a");
  ring.append("b");
  std::string out;
  ring.copy_to(out, false, [](std::string& o, const char* s, std::size_t n) {
    o += '<';
    o.append(s, n);
    o += '>';
  });
  EXPECT_EQ(out, "<a>,<b>");
}

TEST(Ring, RejectsAppendsAfterCloseWithoutCountingThem) {
  message_ring ring(8, overflow_policy::overwrite_oldest);
  ASSERT_TRUE(ring.append("{}"));
  ring.close();
  EXPECT_FALSE(ring.append("{}"));
  EXPECT_FALSE(ring.append("{}"));
  EXPECT_EQ(ring.appended(), 1u);
  EXPECT_EQ(ring.dropped(), 0u);
  std::string out;
  EXPECT_EQ(ring.copy_to(out, true), 1u);
  EXPECT_EQ(out, ",{}");
}

// Regression (R1): close() used to set the closed bit before storing the final count, so a
// reader in between saw a closed ring with no messages at all.
TEST(Ring, AReaderNeverSeesAClosingRingAsEmpty) {
  constexpr int rounds = 50'000;
  std::vector<std::unique_ptr<message_ring>> rings;
  for (int i = 0; i < rounds; ++i) {
    rings.push_back(std::make_unique<message_ring>(4, overflow_policy::overwrite_oldest));
    for (int m = 0; m < 3; ++m) ASSERT_TRUE(rings.back()->append("{}"));
  }
  std::atomic<int> current{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> wrong{0}, reads{0};
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const message_ring& r = *rings[current.load(std::memory_order_acquire)];
      std::string out;
      if (r.appended() != 3 || r.copy_to(out, false) != 3) wrong.fetch_add(1, std::memory_order_relaxed);
      reads.fetch_add(1, std::memory_order_release);
    }
  });
  // Bounded in time too: on a loaded machine each handshake may wait for the scheduler.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int closed_rounds = 0;
  for (int i = 0; i < rounds && std::chrono::steady_clock::now() < deadline; ++i) {
    current.store(i, std::memory_order_release);
    // Let the reader start on this ring, so that its reads overlap the close.
    const std::uint64_t before = reads.load(std::memory_order_acquire);
    while (reads.load(std::memory_order_acquire) == before) std::this_thread::yield();
    rings[i]->close();
    EXPECT_TRUE(rings[i]->closed());
    ++closed_rounds;
  }
  stop.store(true);
  reader.join();
  EXPECT_EQ(wrong.load(), 0u) << "of " << reads.load() << " reads over " << closed_rounds << " closes";
  for (int i = 0; i < closed_rounds; ++i) EXPECT_FALSE(rings[i]->append("{}"));
  EXPECT_EQ(rings[0]->appended(), 3u) << "rejected appends are not counted";
}

TEST(Ring, ConcurrentClosesAgreeOnTheFinalCount) {
  for (int round = 0; round < 500; ++round) {
    message_ring ring(8, overflow_policy::overwrite_oldest);
    std::atomic<int> accepted{0};
    std::thread appender([&] {
      for (int i = 0; i < 20; ++i) accepted += ring.append("{}") ? 1 : 0;
    });
    std::thread closer_a([&] { ring.close(); });
    std::thread closer_b([&] { ring.close(); });
    appender.join();
    closer_a.join();
    closer_b.join();
    ASSERT_TRUE(ring.closed());
    ASSERT_EQ(ring.appended(), static_cast<std::uint64_t>(accepted.load())) << "round " << round;
  }
}

TEST(Ring, EmptyRingCopiesNothing) {
  message_ring ring(4096, overflow_policy::overwrite_oldest);
  std::string out;
  EXPECT_EQ(ring.copy_to(out, false), 0u);
  EXPECT_TRUE(out.empty());
}

}  // namespace
