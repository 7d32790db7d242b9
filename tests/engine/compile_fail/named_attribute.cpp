// SPDX-License-Identifier: BSL-1.0
// Compiled by tests/engine/compile_fail/expect_failure.cmake: as it is, it must compile; with
// one of the SYSTASK_NAMED_* macros defined it must not, because a named systask::array or
// systask::object already points at a dead initializer list.

#include <systask/engine/attribute.hpp>

int main() {
  auto ids = systask::array{1, 2};
  auto user = systask::object{{"pk", 7}};
#if defined(SYSTASK_NAMED_ARRAY)
  const systask::attribute a{"ids", ids};
#elif defined(SYSTASK_NAMED_OBJECT)
  const systask::attribute a{"user", user};
#elif defined(SYSTASK_NAMED_CONST_ARRAY)
  const auto& held = ids;
  const systask::attribute_value a = held;
#else
  // Temporaries are fine (inside a log call they live until the call returns).
  const systask::attribute a{"ids", systask::array{1, systask::object{{"pk", 7}}}};
#endif
  (void)a;
  (void)ids;
  (void)user;
  return 0;
}
