// SPDX-License-Identifier: BSL-1.0
#include <systask/api/auth.hpp>

#include <stdexcept>

namespace systask::api {

static_tokens& static_tokens::add(std::string token, principal who) {
  if (token.empty()) throw std::invalid_argument("systask: an API token must not be empty");
  entries_.emplace_back(std::move(token), std::move(who));
  return *this;
}

std::optional<principal> static_tokens::authenticate(std::string_view token) const {
  // Every stored token is compared in full, and each comparison reads as many bytes as the
  // longer of the two, so the time taken does not reveal how much of a guess was right.
  const principal* found = nullptr;
  for (const auto& [stored, who] : entries_) {
    const std::size_t n = std::max(stored.size(), token.size());
    unsigned diff = stored.size() != token.size() ? 1u : 0u;
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = static_cast<unsigned char>(i < stored.size() ? stored[i] : 0);
      const auto b = static_cast<unsigned char>(i < token.size() ? token[i] : 0);
      diff |= static_cast<unsigned>(a ^ b);
    }
    if (diff == 0 && !token.empty()) found = &who;
  }
  if (!found) return std::nullopt;
  return *found;
}

}  // namespace systask::api
