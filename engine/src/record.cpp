#include <systask/engine/record.hpp>

#include "render_buffer.hpp"
#include "run_record.hpp"

#include <systask/engine/render.hpp>

#include <algorithm>

namespace systask {

task_record::task_record(std::shared_ptr<const detail::run_record> record, wall_time now_wall,
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
std::uint64_t task_record::messages_appended() const noexcept { return record_->ring.appended(); }
std::uint64_t task_record::messages_dropped() const noexcept { return record_->ring.dropped(); }

void task_record::write_messages_json(std::string& out) const {
  const detail::message_ring& ring = record_->ring;
  const std::uint64_t dropped = ring.dropped();
  // The loss marker stands where the gap is: before the oldest kept message when the oldest
  // were overwritten, after the newest when the newest were refused.
  auto marker = [&](wall_time at) {
    const std::string event = std::to_string(dropped) + (dropped == 1 ? " message was dropped" : " messages were dropped");
    const attribute attrs[] = {{"dropped", dropped}};
    out += render_log_event(at, log_level::warning, "systask", event, attributes{attrs});
  };
  out.push_back('[');
  if (dropped > 0 && ring.policy() == overflow_policy::overwrite_oldest) {
    marker(record_->start_wall);
    ring.copy_to(out, true, detail::expand_message);
  } else {
    const std::size_t n = ring.copy_to(out, false, detail::expand_message);
    if (dropped > 0) {
      if (n > 0) out.push_back(',');
      marker(finish_);
    }
  }
  out.push_back(']');
}

}  // namespace systask
