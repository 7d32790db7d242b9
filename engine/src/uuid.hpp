// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <string>

namespace systask::detail {

/// A random RFC 4122 version-4 UUID, lower-case and hyphenated. Any thread.
std::string make_uuid_v4();

}  // namespace systask::detail
