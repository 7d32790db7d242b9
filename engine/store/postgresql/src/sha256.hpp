// SPDX-License-Identifier: BSL-1.0
#pragma once

// A small SHA-256 (FIPS 180-4) for the cluster lock's key derivation: systask links no crypto
// library, and the key needs nothing more (tests/store/pg checks it against NIST's vectors and
// against PostgreSQL's own sha256()).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace systask::detail {

/// Incremental SHA-256. Not thread-safe (one object per thread); never allocates or throws.
class sha256 {
 public:
  using digest = std::array<std::uint8_t, 32>;

  sha256() noexcept;
  /// Appends bytes to the message.
  void update(const void* data, std::size_t size) noexcept;
  void update(std::string_view text) noexcept { update(text.data(), text.size()); }
  /// The digest of everything appended; the object must not be updated afterwards.
  digest finish() noexcept;

  /// One-shot digest of `text`.
  static digest of(std::string_view text) noexcept {
    sha256 h;
    h.update(text);
    return h.finish();
  }

 private:
  void block(const std::uint8_t* p) noexcept;

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // bytes appended
};

}  // namespace systask::detail
