// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace systask::api {

/// One thing a caller may do (authentik's permission names).
enum class permission : std::uint8_t {
  view_provider = 1u << 0,    ///< read a provider's sync status
  view_systemtask = 1u << 1,  ///< list and retrieve system tasks (and see `tasks` in sync status)
  run_task = 1u << 2,         ///< re-run a system task
  sync_object = 1u << 3,      ///< sync one object now
};

/// A set of permissions: `permission::run_task | permission::view_systemtask`,
/// `permissions::all()`, `{}` for none. A value type; every operation is constexpr, noexcept
/// and allocation-free.
class permissions {
 public:
  /// The empty set.
  constexpr permissions() noexcept = default;
  /// The set holding `p` alone (implicit: a permission is usable wherever a set is).
  constexpr permissions(permission p) noexcept : bits_(static_cast<std::uint8_t>(p)) {}

  /// Every permission there is.
  static constexpr permissions all() noexcept {
    return permissions(permission::view_provider) | permission::view_systemtask | permission::run_task |
           permission::sync_object;
  }

  /// Whether every permission of `other` is in this set (true for an empty `other`).
  constexpr bool contains(permissions other) const noexcept { return (bits_ & other.bits_) == other.bits_; }
  /// Whether the set holds no permission.
  constexpr bool empty() const noexcept { return bits_ == 0; }

  /// The union.
  friend constexpr permissions operator|(permissions a, permissions b) noexcept { return from_bits(a.bits_ | b.bits_); }
  /// The intersection.
  friend constexpr permissions operator&(permissions a, permissions b) noexcept { return from_bits(a.bits_ & b.bits_); }
  constexpr permissions& operator|=(permissions other) noexcept { return *this = *this | other; }
  constexpr permissions& operator&=(permissions other) noexcept { return *this = *this & other; }
  friend constexpr bool operator==(permissions, permissions) noexcept = default;

 private:
  static constexpr permissions from_bits(unsigned bits) noexcept {
    permissions p;
    p.bits_ = static_cast<std::uint8_t>(bits);
    return p;
  }
  std::uint8_t bits_ = 0;
};

/// Two permissions make a set.
constexpr permissions operator|(permission a, permission b) noexcept { return permissions(a) | permissions(b); }

/// Every permission at once; the same as `permissions::all()`.
inline constexpr permissions all_permissions = permissions::all();

/// Who a token belongs to and what it may do.
struct principal {
  std::string name;                ///< for logs
  api::permissions permissions{};  ///< what this principal may do; empty: nothing
  /// Whether the principal holds `p`. Any thread; no allocation.
  bool can(permission p) const noexcept { return permissions.contains(p); }
};

/// The host's decision of who a bearer token belongs to. Called from any thread, once per
/// request; must be thread-safe.
class token_authority {
 public:
  virtual ~token_authority() = default;
  /// The principal for `token`, or nullopt when the token is unknown.
  virtual std::optional<principal> authenticate(std::string_view token) const = 0;
};

/// A fixed table of tokens. Lookups compare the presented token with every stored one in time
/// that depends only on the lengths involved, never on where the bytes first differ.
class static_tokens final : public token_authority {
 public:
  /// Adds a token (not thread-safe against concurrent `authenticate`: fill the table first).
  /// Throws std::invalid_argument for an empty token.
  static_tokens& add(std::string token, principal who);
  std::optional<principal> authenticate(std::string_view token) const override;

 private:
  std::vector<std::pair<std::string, principal>> entries_;
};

}  // namespace systask::api
