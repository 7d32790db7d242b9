// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <boost/asio/execution_context.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace systask::detail {

class registry_state;

/// Ties the registries that use an execution context to that context's lifetime. When the
/// context shuts down (its destructor, or `shutdown()`), every registry state still attached is
/// detached: it drops its strand and posts nothing more, so run handles and registries that
/// outlive the context never touch its dead services.
class registry_service final : public boost::asio::execution_context::service {
 public:
  using key_type = registry_service;
  static boost::asio::execution_context::id id;

  explicit registry_service(boost::asio::execution_context& context);

  /// Attaches `state` (detached at once if the context has already shut down). Any thread;
  /// takes the service's mutex (registries are created rarely). Allocates.
  void attach(const std::shared_ptr<registry_state>& state);

 private:
  void shutdown() override;

  std::mutex mutex_;
  // Weak: a registry state dies with its last registry, run handle or pending handler, and
  // never calls back into the service (which may already be gone by then).
  std::vector<std::weak_ptr<registry_state>> states_;
  bool shut_down_ = false;
};

}  // namespace systask::detail
