// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <concepts>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace systask {

struct attribute;

/// A non-owning view of one structured value: null, boolean, integer, floating point, string,
/// array or object. Built from literals in place, e.g.
/// `{{"obj", "alice"}, {"attempt", 3}, {"retry", true}, {"ids", systask::array{1, 2}}}`, and
/// rendered to JSON inside the `log` call that receives it, so nothing it points to needs to
/// outlive that call (and nothing it points to may die before it: write the attributes inside
/// the call). Constructing one never allocates. Any thread.
class attribute_value {
 public:
  enum class kind : unsigned char { null, boolean, integer, unsigned_integer, floating, string, array, object };

  constexpr attribute_value() noexcept : kind_(kind::null), integer_(0) {}
  constexpr attribute_value(std::nullptr_t) noexcept : attribute_value() {}
  constexpr attribute_value(bool b) noexcept : kind_(kind::boolean), boolean_(b) {}
  template <std::signed_integral T>
    requires(!std::same_as<T, bool>)
  constexpr attribute_value(T i) noexcept : kind_(kind::integer), integer_(i) {}
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  constexpr attribute_value(T u) noexcept : kind_(kind::unsigned_integer), unsigned_(u) {}
  template <std::floating_point T>
  constexpr attribute_value(T d) noexcept : kind_(kind::floating), floating_(static_cast<double>(d)) {}
  constexpr attribute_value(const char* s) noexcept : attribute_value(std::string_view(s ? s : "")) {}
  constexpr attribute_value(std::string_view s) noexcept : kind_(kind::string), size_(s.size()), chars_(s.data()) {}
  attribute_value(const std::string& s) noexcept : attribute_value(std::string_view(s)) {}

  /// An array of the values in `items` (which must outlive the `log` call).
  static constexpr attribute_value make_array(std::span<const attribute_value> items) noexcept {
    attribute_value v;
    v.kind_ = kind::array;
    v.size_ = items.size();
    v.items_ = items.data();
    return v;
  }
  /// An object of the members in `members` (which must outlive the `log` call).
  static constexpr attribute_value make_object(std::span<const attribute> members) noexcept;

  constexpr kind type() const noexcept { return kind_; }
  /// The value; each accessor requires `type()` to be its kind (asserted in debug builds).
  constexpr bool as_bool() const noexcept {
    assert(kind_ == kind::boolean);
    return boolean_;
  }
  constexpr std::int64_t as_int() const noexcept {
    assert(kind_ == kind::integer);
    return integer_;
  }
  constexpr std::uint64_t as_uint() const noexcept {
    assert(kind_ == kind::unsigned_integer);
    return unsigned_;
  }
  constexpr double as_double() const noexcept {
    assert(kind_ == kind::floating);
    return floating_;
  }
  constexpr std::string_view as_string() const noexcept {
    assert(kind_ == kind::string);
    return {chars_, size_};
  }
  constexpr std::span<const attribute_value> as_array() const noexcept {
    assert(kind_ == kind::array);
    return {items_, size_};
  }
  constexpr std::span<const attribute> as_object() const noexcept;

 private:
  kind kind_;
  std::size_t size_ = 0;
  union {
    bool boolean_;
    std::int64_t integer_;
    std::uint64_t unsigned_;
    double floating_;
    const char* chars_;
    const attribute_value* items_;
    const attribute* members_;
  };
};

/// One key/value member of an attribute object.
struct attribute {
  std::string_view key;
  attribute_value value;
};

constexpr attribute_value attribute_value::make_object(std::span<const attribute> members) noexcept {
  attribute_value v;
  v.kind_ = kind::object;
  v.size_ = members.size();
  v.members_ = members.data();
  return v;
}

constexpr std::span<const attribute> attribute_value::as_object() const noexcept {
  assert(kind_ == kind::object);
  return {members_, size_};
}

/// A nested array inside attributes: `{"ids", systask::array{1, 2, "three"}}`.
///
/// Its items live in the braced list's backing array, which dies at the end of the
/// full-expression that wrote it. So only a temporary converts to an `attribute_value`: written
/// inside the `log(...)` call it is safe; a named `array` (which already dangles) does not
/// compile where a value is expected.
class array {
 public:
  constexpr array(std::initializer_list<attribute_value> items) noexcept : items_(items.begin(), items.size()) {}
  constexpr operator attribute_value() && noexcept { return attribute_value::make_array(items_); }
  operator attribute_value() const& = delete;  // a named array: its items are gone

 private:
  std::span<const attribute_value> items_;
};

/// A nested object inside attributes: `{"user", systask::object{{"name", "alice"}, {"id", 7}}}`.
/// Like `array`, only a temporary converts to an `attribute_value`.
class object {
 public:
  constexpr object(std::initializer_list<attribute> members) noexcept : members_(members.begin(), members.size()) {}
  constexpr operator attribute_value() && noexcept { return attribute_value::make_object(members_); }
  operator attribute_value() const& = delete;  // a named object: its members are gone

 private:
  std::span<const attribute> members_;
};

/// The attributes of one message: a view of its top-level members.
using attributes = std::span<const attribute>;

}  // namespace systask
