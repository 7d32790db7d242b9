// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <boost/asio/execution_context.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace systask::detail {

class scheduler_state;

/// Ties the schedulers that use an execution context to that context's lifetime, as
/// registry_service does for registries: when the context shuts down (its destructor, or
/// `shutdown()`), every scheduler state still attached is detached (it drops its strand and
/// its timer and posts nothing more), so schedulers and runs that outlive the context never
/// touch its dead services.
class schedule_service final : public boost::asio::execution_context::service {
 public:
  using key_type = schedule_service;
  static boost::asio::execution_context::id id;

  explicit schedule_service(boost::asio::execution_context& context);

  /// Attaches `state` (detached at once if the context has already shut down). Any thread;
  /// takes the service's mutex (schedulers are created rarely). Allocates.
  void attach(const std::shared_ptr<scheduler_state>& state);

 private:
  void shutdown() override;

  std::mutex mutex_;
  // Weak: a scheduler state dies with its scheduler and its last pending handler or run, and
  // never calls back into the service.
  std::vector<std::weak_ptr<scheduler_state>> states_;
  bool shut_down_ = false;
};

}  // namespace systask::detail
