// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <boost/system/error_code.hpp>

#include <exception>
#include <type_traits>

namespace systask {

/// Errors that systask's asynchronous operations report through their completion handlers.
enum class errc {
  sync_already_running = 1,  ///< a provider sync was requested while another holds its sync lock
  invalid_spec = 2,      ///< the run_spec has an empty task name, or a name or uid that is not its provider's
  unknown_provider = 3,  ///< the run_spec names a provider that is not registered
  start_failed = 4,      ///< an unexpected exception kept the run from starting (see docs/engine.md)
  sync_running_elsewhere = 5,    ///< another replica holds the provider's cluster sync lock (cluster_lock.hpp)
  cluster_lock_unavailable = 6,  ///< the cluster lock service could not answer; the sync did not start
};

/// The category of `systask::errc`.
const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

namespace detail {

/// The error_code for an exception that kept a run from starting: std::bad_alloc ->
/// `asio::error::no_memory`; boost::system::system_error and std::system_error -> their code;
/// std::invalid_argument -> `errc::invalid_spec`; anything else -> `errc::start_failed`.
boost::system::error_code start_error(std::exception_ptr e) noexcept;

}  // namespace detail

}  // namespace systask

template <>
struct boost::system::is_error_code_enum<systask::errc> : std::true_type {};
