// SPDX-License-Identifier: BSL-1.0
#include "uuid.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <random>

namespace systask::detail {

namespace {

// Bumped in the child of every fork: a forked process (a pre-fork server's worker, a test's
// child replica) must not continue its parent's stream, or both would make the same uuids.
std::atomic<unsigned> fork_generation{0};

void on_fork_child() noexcept { fork_generation.fetch_add(1, std::memory_order_relaxed); }

std::mt19937_64 seeded() {
  std::random_device rd;
  std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
  return std::mt19937_64(seq);
}

}  // namespace

std::string make_uuid_v4() {
  static const bool fork_hook = (pthread_atfork(nullptr, nullptr, on_fork_child), true);
  (void)fork_hook;
  // One generator per thread, seeded from the OS: no lock, and distinct streams per thread;
  // seeded again in a forked child (the fork copies the generator's state).
  thread_local std::mt19937_64 gen = seeded();
  thread_local unsigned seeded_in = fork_generation.load(std::memory_order_relaxed);
  if (const unsigned now = fork_generation.load(std::memory_order_relaxed); now != seeded_in) {
    gen = seeded();
    seeded_in = now;
  }
  std::uint64_t hi = gen(), lo = gen();
  hi = (hi & ~0xF000ull) | 0x4000ull;                  // version 4
  lo = (lo & ~(3ull << 62)) | (2ull << 62);            // variant 10xx
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](std::uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = hex[(v >> (i * 4)) & 15];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

}  // namespace systask::detail
