// SPDX-License-Identifier: BSL-1.0
// Attribute values: built in place inside a log call, never from a named array or object
// (whose items are already gone), and read only as the kind they hold.

#include <systask/engine/attribute.hpp>

#include <gtest/gtest.h>

#include <type_traits>

namespace {

using systask::array;
using systask::attribute;
using systask::attribute_value;
using systask::object;

// The compile-time half of tests/engine/compile_fail: only a temporary converts.
static_assert(std::is_convertible_v<array&&, attribute_value>);
static_assert(!std::is_convertible_v<array&, attribute_value>);
static_assert(!std::is_convertible_v<const array&, attribute_value>);
static_assert(std::is_convertible_v<object&&, attribute_value>);
static_assert(!std::is_convertible_v<object&, attribute_value>);
static_assert(!std::is_convertible_v<const object&, attribute_value>);
static_assert(!std::is_base_of_v<attribute_value, array> && !std::is_base_of_v<attribute_value, object>);

// Reads a value the way a log call does: while the full-expression that built it lives.
std::size_t size_of(const attribute& a) {
  return a.value.type() == attribute_value::kind::array ? a.value.as_array().size() : a.value.as_object().size();
}

TEST(Attribute, TemporaryArraysAndObjectsNestInsideOneExpression) {
  EXPECT_EQ(size_of({"ids", array{1, 2u, "three", array{4}, object{{"pk", 7}}}}), 5u);
  EXPECT_EQ(size_of({"user", object{{"pk", 7}, {"tags", array{"a", "b"}}}}), 2u);
  const attribute_value nested = attribute_value::make_array({});
  EXPECT_EQ(nested.type(), attribute_value::kind::array);
  EXPECT_TRUE(nested.as_array().empty());
}

TEST(Attribute, AccessorsReadTheKindTheValueHolds) {
  EXPECT_EQ(attribute_value(-3).as_int(), -3);
  EXPECT_EQ(attribute_value(3u).as_uint(), 3u);
  EXPECT_TRUE(attribute_value(true).as_bool());
  EXPECT_EQ(attribute_value(0.5).as_double(), 0.5);
  EXPECT_EQ(attribute_value("x").as_string(), "x");
  EXPECT_EQ(attribute_value(nullptr).type(), attribute_value::kind::null);
}

#ifndef NDEBUG
TEST(AttributeDeathTest, ReadingAnotherKindAssertsInDebugBuilds) {
  EXPECT_DEATH((void)attribute_value(3).as_string(), "kind");
  EXPECT_DEATH((void)attribute_value("x").as_int(), "kind");
}
#endif

}  // namespace
