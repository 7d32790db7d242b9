// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/errc.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace systask {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "systask"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::sync_already_running: return "a sync of this provider is already running";
      case errc::invalid_spec: return "invalid run spec: an empty task name, or a name or uid that is not the provider's";
      case errc::unknown_provider: return "the run spec names a provider that is not registered";
      case errc::start_failed: return "the run could not be started: an unexpected exception";
      case errc::sync_running_elsewhere: return "a sync of this provider is already running on another replica";
      case errc::cluster_lock_unavailable:
        return "the cluster sync lock is unavailable, so the sync did not start";
    }
    return "unknown systask error";
  }
};

}  // namespace

namespace detail {

boost::system::error_code start_error(std::exception_ptr e) noexcept {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return boost::asio::error::no_memory;
  } catch (const boost::system::system_error& x) {
    return x.code();
  } catch (const std::system_error& x) {
    return x.code();
  } catch (const std::invalid_argument&) {
    return errc::invalid_spec;  // start's own refusals (async_run checks the spec first)
  } catch (...) {
    return errc::start_failed;
  }
}

}  // namespace detail

const boost::system::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace systask
