#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace systask::api {

/// What a caller may do (authentik's permission names).
enum class permission : std::uint32_t {
  view_provider = 1u << 0,    ///< read a provider's sync status
  view_systemtask = 1u << 1,  ///< list and retrieve system tasks (and see `tasks` in sync status)
  run_task = 1u << 2,         ///< re-run a system task
  sync_object = 1u << 3,      ///< sync one object now
};

/// Every permission at once.
inline constexpr std::uint32_t all_permissions = 0xF;

/// Who a token belongs to and what it may do.
struct principal {
  std::string name;                 ///< for logs
  std::uint32_t permissions = 0;    ///< bitwise or of `permission`
  bool can(permission p) const noexcept { return (permissions & static_cast<std::uint32_t>(p)) != 0; }
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
