// SPDX-License-Identifier: BSL-1.0
#pragma once

// Test helper: messages that carry their writer, their sequence number and a checksum of their
// own text, so a reader can tell a whole message from a torn one.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace systask::test {

inline std::uint32_t fnv1a(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

/// `{"w":<writer>,"n":<seq>,"p":"<padding>","c":<checksum of everything before ,"c">}`.
/// Padding length varies with seq so that some messages spill past the slot's inline bytes.
inline std::string make_stress_message(unsigned writer, std::uint64_t seq) {
  const std::size_t pad = (seq * 37 + writer * 11) % 400;
  std::string body = "{\"w\":" + std::to_string(writer) + ",\"n\":" + std::to_string(seq) + ",\"p\":\"" +
                     std::string(pad, static_cast<char>('a' + (seq + writer) % 26)) + "\"";
  const std::uint32_t c = fnv1a(body);
  return body + ",\"c\":" + std::to_string(c) + "}";
}

struct stress_message {
  unsigned writer;
  std::uint64_t seq;
};

/// Parses and verifies one message; nullopt when it is torn or malformed.
inline std::optional<stress_message> check_stress_message(std::string_view m) {
  const auto c = m.rfind(",\"c\":");
  if (c == std::string_view::npos || m.empty() || m.back() != '}') return std::nullopt;
  const std::string_view body = m.substr(0, c);
  const std::string checksum(m.substr(c + 5, m.size() - c - 6));
  if (std::to_string(fnv1a(body)) != checksum) return std::nullopt;
  unsigned w = 0;
  unsigned long long n = 0;
  if (std::sscanf(std::string(body).c_str(), "{\"w\":%u,\"n\":%llu", &w, &n) != 2) return std::nullopt;
  return stress_message{w, n};
}

/// Splits the comma-separated objects that message_ring::copy_to writes (they contain no
/// nested objects, and padding never holds a brace).
template <class F>
void for_each_object(std::string_view list, F&& f) {
  std::size_t start = 0;
  while ((start = list.find('{', start)) != std::string_view::npos) {
    const std::size_t end = list.find('}', start);
    if (end == std::string_view::npos) return;
    f(list.substr(start, end - start + 1));
    start = end + 1;
  }
}

}  // namespace systask::test
