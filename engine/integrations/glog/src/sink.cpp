// SPDX-License-Identifier: BSL-1.0
#include <systask/glog/sink.hpp>

#include <string_view>
#include <utility>

namespace systask {

glog_sink::glog_sink(std::string logger) : logger_(std::move(logger)) {}

std::optional<log_level> glog_sink::map_level(google::LogSeverity severity) noexcept {
  switch (severity) {
    case google::GLOG_INFO:
      return log_level::info;
    case google::GLOG_WARNING:
      return log_level::warning;
    case google::GLOG_ERROR:
      return log_level::error;
    case google::GLOG_FATAL:
      return log_level::critical;
    default:
      return std::nullopt;
  }
}

void glog_sink::send(google::LogSeverity severity, const char* full_filename, const char*, int line,
                     const google::LogMessageTime&, const char* message, std::size_t message_len) noexcept {
  const std::optional<log_level> level = map_level(severity);
  const run_ref run = current_run();
  if (!run || !level) {
    unrouted_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const attribute where[] = {{"file", full_filename ? full_filename : ""}, {"line", line}};
  const bool ok = run.log(*level, logger_, std::string_view(message ? message : "", message ? message_len : 0),
                          attributes{where});
  (ok ? routed_ : refused_).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace systask
