// SPDX-License-Identifier: BSL-1.0
#include <systask/engine/record.hpp>

#include "run_record.hpp"

#include <algorithm>

namespace systask {

task_record::task_record(std::shared_ptr<const detail::record_core> record, wall_time now_wall,
                         mono_time now_mono) noexcept
    : record_(std::move(record)), running_(!record_->is_finished()) {
  if (running_) {
    finish_ = now_wall;
    duration_ = std::max(0.0, std::chrono::duration<double>(now_mono - record_->start_mono).count());
    status_ = task_status::unknown;
  } else {
    finish_ = record_->finish_wall;
    duration_ = record_->duration;
    status_ = record_->status;
    expires_ = record_->expires;
  }
}

std::string_view task_record::uuid() const noexcept { return record_->uuid; }
std::string_view task_record::name() const noexcept { return record_->name; }
std::string_view task_record::uid() const noexcept { return record_->uid; }
std::string_view task_record::description() const noexcept { return record_->description; }
wall_time task_record::start_time() const noexcept { return record_->start_wall; }
wall_time task_record::finish_time() const noexcept { return finish_; }
double task_record::duration() const noexcept { return duration_; }
task_status task_record::status() const noexcept { return status_; }
std::optional<wall_time> task_record::expires() const noexcept { return expires_; }
bool task_record::prefilled() const noexcept { return record_->prefilled; }
overflow_policy task_record::overflow() const noexcept { return record_->overflow; }
std::uint64_t task_record::messages_appended() const noexcept { return record_->appended(); }
std::uint64_t task_record::messages_dropped() const noexcept { return record_->dropped(); }

std::optional<provider_ref> task_record::provider() const {
  if (record_->provider_kind.empty()) return std::nullopt;
  return provider_ref{std::string(record_->provider_kind), record_->provider_id};
}

void task_record::write_messages_json(std::string& out) const { record_->write_messages_json(out, finish_); }

std::size_t task_record::visit_messages(std::uint64_t from_seq, visit_fn fn, void* context) const {
  return record_->visit(from_seq, fn, context);
}

}  // namespace systask
