// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/run.hpp>

#include "registry_state.hpp"

#include <utility>

namespace systask {

run& run::operator=(run&& other) noexcept {
  if (this != &other) {
    abandon();
    record_ = std::move(other.record_);
    registry_ = std::move(other.registry_);
  }
  return *this;
}

run::~run() { abandon(); }

void run::abandon() noexcept {
  if (record_ && !record_->is_finished()) {
    registry_->finish(*record_, task_status::error, "The run's handle was destroyed before the run finished");
  }
  record_.reset();
  registry_.reset();
}

bool run::log(log_level level, std::string_view logger, std::string_view event, attributes attrs) noexcept {
  return record_ && registry_->append(*record_, level, logger, event, attrs);
}

bool run::info(std::string_view event, std::initializer_list<attribute> attrs) noexcept {
  return record_ && log(log_level::info, record_->name, event, attrs);
}
bool run::warning(std::string_view event, std::initializer_list<attribute> attrs) noexcept {
  return record_ && log(log_level::warning, record_->name, event, attrs);
}
bool run::error(std::string_view event, std::initializer_list<attribute> attrs) noexcept {
  return record_ && log(log_level::error, record_->name, event, attrs);
}

task_status run::finish(task_status status) noexcept {
  return record_ ? registry_->finish(*record_, status, {}) : task_status::unknown;
}

task_status run::fail(std::string_view reason) noexcept {
  if (!record_) return task_status::unknown;
  return registry_->finish(*record_, task_status::error, reason.empty() ? std::string_view("failed") : reason);
}

task_status run::fail(std::exception_ptr e) noexcept {
  if (!record_) return task_status::unknown;
  // No std::string here: this is noexcept and may run out of memory. The message is rendered
  // into a stack buffer by finish, and what() stays valid inside its catch block.
  if (!e) return registry_->finish(*record_, task_status::error, "failed (no exception)");
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    const char* what = ex.what();
    return registry_->finish(*record_, task_status::error,
                             what && *what ? std::string_view(what) : std::string_view("exception without a message"));
  } catch (...) {
    return registry_->finish(*record_, task_status::error, "unknown exception");
  }
}

bool run::finished() const noexcept { return !record_ || record_->is_finished() || registry_->registry_gone(); }
std::string_view run::uuid() const noexcept { return record_ ? std::string_view(record_->uuid) : std::string_view(); }
std::string_view run::name() const noexcept { return record_ ? std::string_view(record_->name) : std::string_view(); }
std::string_view run::uid() const noexcept { return record_ ? std::string_view(record_->uid) : std::string_view(); }

}  // namespace systask
