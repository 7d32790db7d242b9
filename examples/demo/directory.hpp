// SPDX-License-Identifier: BSL-1.0
#pragma once

// A generated directory of users and groups, as an identity provider would hold it.

#include <cstddef>
#include <string>
#include <vector>

namespace demo {

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
