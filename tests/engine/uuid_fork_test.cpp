// SPDX-License-Identifier: BSL-1.0
// Run uuids stay unique across fork: a forked child (a pre-fork server's worker, a replica a
// test forks) must not continue its parent's random stream.

#include "uuid.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

namespace {

using systask::detail::make_uuid_v4;

TEST(UuidFork, AForkedChildMakesOtherUuidsThanItsParent) {
  (void)make_uuid_v4();  // this thread's generator exists before the fork
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::string out;
    for (int i = 0; i < 4; ++i) out += make_uuid_v4();
    const bool ok = ::write(fds[1], out.data(), out.size()) == static_cast<ssize_t>(out.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  std::set<std::string> parent;
  for (int i = 0; i < 4; ++i) parent.insert(make_uuid_v4());
  char buf[4 * 36];
  ssize_t got = 0;
  while (got < static_cast<ssize_t>(sizeof buf)) {
    const ssize_t n = ::read(fds[0], buf + got, sizeof buf - static_cast<std::size_t>(got));
    if (n <= 0) break;
    got += n;
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof buf));
  for (int i = 0; i < 4; ++i) {
    const std::string u(buf + i * 36, 36);
    EXPECT_FALSE(parent.contains(u)) << "the child repeated its parent's uuid " << u;
  }
}

}  // namespace
