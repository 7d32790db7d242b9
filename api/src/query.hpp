// SPDX-License-Identifier: BSL-1.0
#pragma once

// Parsing of what arrives in a URL: path segments and query parameters.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace systask::api::detail {

/// Strict percent-decoding of a path segment; nullopt for a malformed escape.
std::optional<std::string> decode_segment(std::string_view s);

/// Query parameters in order, decoded (`+` is a space; a malformed escape is kept literally, as
/// Django does). Repeated keys are kept; `last` returns the last one, as Django's `get` does.
class query_params {
 public:
  explicit query_params(std::string_view query);
  const std::string* last(std::string_view key) const noexcept;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// A decimal integer in 1..2^63-1 (no sign, no spaces); nullopt otherwise.
std::optional<std::int64_t> parse_positive_id(std::string_view s) noexcept;

/// A UUID written 8-4-4-4-12 in hex (either case), returned lower-case; nullopt otherwise.
std::optional<std::string> parse_uuid(std::string_view s);

/// DRF's boolean words (true/false, 1/0, yes/no, on/off, any case); nullopt otherwise. No
/// allocation, whatever the length of `s`.
std::optional<bool> parse_bool(std::string_view s) noexcept;

}  // namespace systask::api::detail
