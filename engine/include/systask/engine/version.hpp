// SPDX-License-Identifier: BSL-1.0
#pragma once

// The single source of the version: the top-level CMakeLists.txt parses these three lines.
#define SYSTASK_VERSION_MAJOR 0
#define SYSTASK_VERSION_MINOR 1
#define SYSTASK_VERSION_PATCH 0

namespace systask {

/// The library version as "major.minor.patch".
inline constexpr char version_string[] = "0.1.0";

}  // namespace systask
