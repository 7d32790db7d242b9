// SPDX-License-Identifier: BSL-1.0
#include <systask/api/auth.hpp>

#include <gtest/gtest.h>

#include <type_traits>

namespace {

using systask::api::permission;
using systask::api::permissions;
using systask::api::principal;

// The whole set algebra works at compile time, and nothing in it is an integer.
static_assert((permission::run_task | permission::sync_object).contains(permission::sync_object));
static_assert(!permissions{}.contains(permission::view_provider));
static_assert(!std::is_convertible_v<permissions, unsigned>);
static_assert(!std::is_convertible_v<unsigned, permissions>);

TEST(Permissions, OrCombinesAndAndIntersects) {
  const permissions viewer = permission::view_provider | permission::view_systemtask;
  EXPECT_TRUE(viewer.contains(permission::view_provider));
  EXPECT_TRUE(viewer.contains(permission::view_systemtask));
  EXPECT_FALSE(viewer.contains(permission::run_task));
  EXPECT_FALSE(viewer.contains(permission::view_provider | permission::run_task)) << "contains means all of them";
  EXPECT_EQ(viewer & (permission::view_systemtask | permission::sync_object), permissions(permission::view_systemtask));
  EXPECT_TRUE((viewer & permission::sync_object).empty());
  permissions p;
  p |= permission::run_task;
  p |= viewer;
  EXPECT_EQ(p, permission::view_provider | permission::view_systemtask | permission::run_task);
  p &= permission::run_task;
  EXPECT_EQ(p, permissions(permission::run_task));
}

TEST(Permissions, AllHoldsEachPermissionAndEmptyHoldsNone) {
  for (auto one : {permission::view_provider, permission::view_systemtask, permission::run_task, permission::sync_object}) {
    EXPECT_TRUE(permissions::all().contains(one));
    EXPECT_FALSE(permissions{}.contains(one));
    EXPECT_TRUE(principal({"x", permissions::all()}).can(one));
    EXPECT_FALSE(principal({"x", {}}).can(one));
  }
  EXPECT_TRUE(permissions{}.empty());
  EXPECT_TRUE(permissions::all().contains(permissions{}));
  EXPECT_EQ(systask::api::all_permissions, permissions::all());
}

}  // namespace
