// SPDX-License-Identifier: BSL-1.0
#pragma once

// A generated directory of users and groups, as an identity provider would hold it.

#include <cstddef>
#include <string>
#include <vector>

namespace demo {

/// The user --markup-user adds: a name that is markup, as a directory may hold (nothing stops
/// an identity provider's users from naming themselves so). Providers reject it (see
/// provider_sync), so its warning carries the name into the run's messages, the API and the
/// status page, which must show it as text.
inline constexpr const char* markup_user_name = "<script>alert(\"systask\")</script>";

/// Whether a provider accepts `name` as a user or group name: the generated names always pass.
inline bool acceptable_name(const std::string& name) {
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return !name.empty();
}

struct directory_object {
  long pk;
  std::string name;  // username or group name
};

struct directory {
  std::vector<directory_object> users;
  std::vector<directory_object> groups;

  static directory generate(std::size_t users, std::size_t groups) {
    static const char* const first[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                                        "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil"};
    static const char* const teams[] = {"engineering", "sales", "support", "finance", "legal", "ops", "design"};
    directory d;
    d.users.reserve(users);
    for (std::size_t i = 0; i < users; ++i) {
      d.users.push_back({static_cast<long>(i + 1), std::string(first[i % 16]) + "." + std::to_string(i / 16 + 1)});
    }
    d.groups.reserve(groups);
    for (std::size_t i = 0; i < groups; ++i) {
      d.groups.push_back({static_cast<long>(i + 1), std::string(teams[i % 7]) + "-" + std::to_string(i / 7 + 1)});
    }
    return d;
  }
};

}  // namespace demo
