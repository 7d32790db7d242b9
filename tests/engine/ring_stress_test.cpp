// SPDX-License-Identifier: BSL-1.0
// Counting stress: several writers append to one ring while a reader copies it; what went in
// must equal what came out plus what was counted as dropped, with each writer's order kept and
// no torn message. Sizes scale with SYSTASK_STRESS_MESSAGES (messages per writer).

#include "message_ring.hpp"

#include "stress_message.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using systask::overflow_policy;
using systask::detail::message_ring;
using namespace systask::test;

std::uint64_t messages_per_writer() {
  if (const char* env = std::getenv("SYSTASK_STRESS_MESSAGES")) return std::strtoull(env, nullptr, 10);
  return 20'000;
}

struct stress_case {
  unsigned writers;
  std::size_t capacity;
  overflow_policy policy;
};

class RingStress : public ::testing::TestWithParam<stress_case> {};

TEST_P(RingStress, AppendedEqualsRetainedPlusDroppedWithOrderKeptAndNothingTorn) {
  // Plain variables, not a structured binding: clang 14 cannot capture bindings in lambdas.
  const unsigned writers = GetParam().writers;
  const std::size_t capacity = GetParam().capacity;
  const overflow_policy policy = GetParam().policy;
  const std::uint64_t per_writer = messages_per_writer();
  message_ring ring(capacity, policy);

  // Pre-render so that the writers spend their time in the ring, not in formatting.
  std::vector<std::vector<std::string>> messages(writers);
  for (unsigned w = 0; w < writers; ++w) {
    for (std::uint64_t i = 0; i < per_writer; ++i) messages[w].push_back(make_stress_message(w, i));
  }

  std::atomic<bool> go{false}, done{false};
  std::atomic<std::uint64_t> torn{0}, reads{0};
  std::thread reader([&] {
    while (!go.load()) std::this_thread::yield();
    std::string out;
    do {
      out.clear();
      ring.copy_to(out, false);
      std::vector<std::uint64_t> last(writers, 0);
      std::vector<bool> seen(writers, false);
      for_each_object(out, [&](std::string_view m) {
        auto parsed = check_stress_message(m);
        if (!parsed || parsed->writer >= writers) {
          torn.fetch_add(1);
          return;
        }
        // Order within one copy is append order, so each writer's numbers must increase.
        if (seen[parsed->writer] && parsed->seq <= last[parsed->writer]) torn.fetch_add(1);
        seen[parsed->writer] = true;
        last[parsed->writer] = parsed->seq;
      });
      reads.fetch_add(1);
    } while (!done.load());
  });

  std::vector<std::thread> threads;
  for (unsigned w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      while (!go.load()) std::this_thread::yield();
      for (const auto& m : messages[w]) ASSERT_TRUE(ring.append(m));
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  done.store(true);
  reader.join();

  std::string out;
  ring.copy_to(out, false);
  std::uint64_t retained = 0;
  std::vector<std::int64_t> last(writers, -1);
  for_each_object(out, [&](std::string_view m) {
    auto parsed = check_stress_message(m);
    ASSERT_TRUE(parsed) << "torn message after quiescence: " << m;
    ASSERT_LT(parsed->writer, writers);
    EXPECT_GT(static_cast<std::int64_t>(parsed->seq), last[parsed->writer]) << "order or duplicate";
    last[parsed->writer] = static_cast<std::int64_t>(parsed->seq);
    ++retained;
  });
  const std::uint64_t appended = writers * per_writer;
  EXPECT_EQ(ring.appended(), appended);
  EXPECT_EQ(appended, retained + ring.dropped()) << "retained " << retained << " dropped " << ring.dropped();
  EXPECT_LE(retained, ring.capacity());
  EXPECT_EQ(torn.load(), 0u) << "over " << reads.load() << " concurrent reads";
  if (policy == overflow_policy::drop_newest) {
    EXPECT_EQ(retained, std::min<std::uint64_t>(appended, ring.capacity()));
  }
}

std::vector<stress_case> cases() {
  std::vector<stress_case> out;
  for (unsigned writers : {2u, 4u, 8u}) {
    for (std::size_t capacity : {1u, 2u, 64u, 4096u}) {
      for (auto policy : {overflow_policy::overwrite_oldest, overflow_policy::drop_newest}) {
        out.push_back({writers, capacity, policy});
      }
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(WritersCapacitiesPolicies, RingStress, ::testing::ValuesIn(cases()), [](const auto& c) {
  return std::to_string(c.param.writers) + "w_" + std::to_string(c.param.capacity) +
         (c.param.policy == overflow_policy::overwrite_oldest ? "_overwrite" : "_drop");
});

}  // namespace
