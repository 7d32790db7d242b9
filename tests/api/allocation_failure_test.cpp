// SPDX-License-Identifier: BSL-1.0
// What the API does when memory runs out inside its noexcept functions: they must neither
// allocate where the caller controls the size nor let std::bad_alloc reach `noexcept` (which
// would terminate the host). This binary's operator new can be made to fail on one thread
// (failing_allocator.cpp).

#include "query.hpp"

#include <systask/api/auth.hpp>
#include <systask/api/facade.hpp>

#include "api_fixture.hpp"
#include "failing_allocator.hpp"

#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

namespace {

using namespace systask;
using systask::test::api_fixture;

// Counts refused allocations from its start, and makes every allocation on this thread fail
// (at once when `now`, otherwise from whenever the code under test says so) until it ends.
struct no_memory {
  explicit no_memory(bool now = true) {
    test::reset_allocations_refused();
    test::set_allocations_fail(now);
  }
  ~no_memory() { test::set_allocations_fail(false); }
  no_memory(const no_memory&) = delete;
  no_memory& operator=(const no_memory&) = delete;
};

TEST(AllocationFailure, ParseBoolAllocatesNothingWhateverTheLength) {
  const std::string long_word(10'000, 'Y');
  std::optional<bool> yes, long_one, no;
  std::size_t refused = 0;
  {
    no_memory guard;
    yes = api::detail::parse_bool("YeS");
    long_one = api::detail::parse_bool(long_word);
    no = api::detail::parse_bool("off");
    refused = test::allocations_refused();
  }
  EXPECT_EQ(yes, std::optional<bool>(true));
  EXPECT_EQ(long_one, std::nullopt);
  EXPECT_EQ(no, std::optional<bool>(false));
  EXPECT_EQ(refused, 0u);
}

// A token authority that fails the way a host's might: by throwing, here once memory is gone.
struct failing_authority final : api::token_authority {
  bool out_of_memory = false;
  std::optional<api::principal> authenticate(std::string_view) const override {
    if (out_of_memory) {
      test::set_allocations_fail(true);  // from here until the test's guard ends, as if memory ran out
      throw std::bad_alloc();
    }
    throw std::runtime_error("token service unreachable");
  }
};

TEST(AllocationFailure, HandleAnswers500WhenTheTokenAuthorityThrows) {
  api_fixture f;
  auto authority = std::make_shared<failing_authority>();
  api::facade_options options;
  options.tokens = authority;
  api::facade api(f.reg, options);
  api::request req = api::request::from_target("GET", "/api/v3/events/system_tasks/");
  req.headers.emplace_back("Authorization", "Bearer t");

  const api::response res = api.handle(req);
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body, R"({"detail":"A server error occurred.","code":"internal_error"})");
  EXPECT_EQ(res.content_type, "application/json; charset=utf-8");
}

TEST(AllocationFailure, HandleAnswers500WithoutMemoryWhenNothingCanBeAllocated) {
  api_fixture f;
  auto authority = std::make_shared<failing_authority>();
  authority->out_of_memory = true;
  api::facade_options options;
  options.tokens = authority;
  api::facade api(f.reg, options);
  api::request req = api::request::from_target("GET", "/api/v3/events/system_tasks/");
  req.headers.emplace_back("Authorization", "Bearer t");

  std::optional<api::response> res;
  std::size_t refused = 0;
  {
    no_memory guard(false);  // routing may allocate; memory runs out inside the authority
    res.emplace(api.handle(req));
    refused = test::allocations_refused();
  }
  EXPECT_EQ(res->status, 500);
  EXPECT_GE(refused, 1u) << "the full 500 body was attempted, and refused";
  EXPECT_EQ(res->body, "") << "out of memory: the status alone";
}

}  // namespace
