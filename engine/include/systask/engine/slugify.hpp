// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <string>
#include <string_view>

namespace systask {

/// The slug of `name` exactly as Django's `slugify(name)` (allow_unicode=False) makes it, which
/// is how authentik derives a provider's uid: NFKD-normalise and drop what is not ASCII;
/// lower-case; delete every character that is not a letter, digit, `_`, whitespace or `-`;
/// turn each run of whitespace and `-` into one `-`; strip `-` and `_` from both ends.
/// `slugify("Acme.Corp") == "acmecorp"`, `slugify("Café Nord") == "cafe-nord"`,
/// `slugify("SCIM_2.0 (prod)") == "scim_20-prod"`, `slugify("!!!") == ""`.
///
/// `name` is UTF-8; each maximal invalid subpart counts as U+FFFD, which keeps nothing. The
/// result holds only `a`-`z`, `0`-`9`, `_` and `-`, and may be longer than `name` (`"㎯"` is
/// "rads2"). Normalisation follows the Unicode version of the generated table (docs/engine.md).
/// Any thread; allocates the returned string only; never throws but `std::bad_alloc`.
std::string slugify(std::string_view name);

}  // namespace systask
