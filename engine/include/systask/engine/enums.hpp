// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace systask {

/// Severity of a logged message; the names are authentik's `LogLevelEnum`, in its order.
enum class log_level : unsigned char { critical, exception, error, warn, warning, info, debug, notset };
BOOST_DESCRIBE_ENUM(log_level, critical, exception, error, warn, warning, info, debug, notset)

/// How a run ended; the names are authentik's `SystemTaskStatusEnum`.
enum class task_status : unsigned char { unknown, successful, warning, error };
BOOST_DESCRIBE_ENUM(task_status, unknown, successful, warning, error)

/// How a finished run's status is decided (per task).
enum class status_policy : unsigned char {
  explicit_status,  ///< the status the code set (authentik 2024.10)
  worst_message,    ///< the worse of the explicit status and the worst message level (authentik 2025.8)
};
BOOST_DESCRIBE_ENUM(status_policy, explicit_status, worst_message)

/// What a full message ring does with one more message.
enum class overflow_policy : unsigned char {
  overwrite_oldest,  ///< keep the newest messages (default)
  drop_newest,       ///< keep the first messages, count the rest as dropped
};
BOOST_DESCRIBE_ENUM(overflow_policy, overwrite_oldest, drop_newest)

/// Outcome of a provider's most recent finished sync, as authentik 2025.8 reports it.
enum class sync_outcome : unsigned char { running, done, info, warning, error };
BOOST_DESCRIBE_ENUM(sync_outcome, running, done, info, warning, error)

namespace detail {

// Names of a described enum, indexed by the enumerator's value. Built once, at compile time,
// from Boost.Describe, so that there is no hand-written table to drift from the enum.
template <class Enum>
constexpr auto make_enum_names() {
  using D = boost::describe::describe_enumerators<Enum>;
  std::array<std::string_view, boost::mp11::mp_size<D>::value> names{};
  boost::mp11::mp_for_each<D>([&](auto e) { names[static_cast<std::size_t>(e.value)] = e.name; });
  return names;
}

template <class Enum>
inline constexpr auto enum_names = make_enum_names<Enum>();

}  // namespace detail

/// The wire name of a described systask enum (`log_level::warn` -> "warn"). Any thread; no allocation.
template <class Enum>
  requires boost::describe::has_describe_enumerators<Enum>::value
constexpr std::string_view to_string(Enum e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < detail::enum_names<Enum>.size() ? detail::enum_names<Enum>[i] : std::string_view{};
}

/// Parses a wire name back into the enum; nullopt for anything else. Any thread; no allocation.
template <class Enum>
  requires boost::describe::has_describe_enumerators<Enum>::value
constexpr std::optional<Enum> from_string(std::string_view name) noexcept {
  const auto& names = detail::enum_names<Enum>;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

/// Python-logging severity of a level (critical 50 ... notset 0); higher is worse.
constexpr int severity(log_level level) noexcept {
  constexpr int by_level[] = {50, 40, 40, 30, 30, 20, 10, 0};
  return by_level[static_cast<std::size_t>(level)];
}

/// Rank of a status for "the worse of two" (unknown < successful < warning < error).
constexpr int rank(task_status s) noexcept { return static_cast<int>(s); }

}  // namespace systask
