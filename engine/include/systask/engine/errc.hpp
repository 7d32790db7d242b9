#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace systask {

/// Errors that systask's asynchronous operations report through their completion handlers.
enum class errc {
  sync_already_running = 1,  ///< a provider sync was requested while another holds its sync lock
};

/// The category of `systask::errc`.
const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace systask

template <>
struct boost::system::is_error_code_enum<systask::errc> : std::true_type {};
