// SPDX-License-Identifier: BSL-1.0
#include "json_writer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using systask::api::full_name;
using systask::api::detail::to_json;

std::string json_of(const full_name& n) {
  std::string out;
  EXPECT_TRUE(to_json(n, out));
  return out;
}

TEST(JsonWriter, FullNameIsNameColonUidEscapedAndNeverCut) {
  EXPECT_EQ(json_of({"cleanup", ""}), R"("cleanup")");
  EXPECT_EQ(json_of({"scim_sync", "acme-scim"}), R"("scim_sync:acme-scim")");
  EXPECT_EQ(json_of({"a\"b", "c\\d\n"}), R"("a\"b:c\\d\n")");
  // Far beyond any limit a writer could have picked: every byte of both is kept.
  const std::string name(3000, 'n'), uid(2000, 'u');
  EXPECT_EQ(json_of({name, uid}), "\"" + name + ":" + uid + "\"");
}

}  // namespace
