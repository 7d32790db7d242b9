// SPDX-License-Identifier: BSL-1.0
#include <systask/spdlog/sink.hpp>

#include <spdlog/logger.h>

#include <string_view>
#include <thread>

namespace systask {

std::optional<log_level> spdlog_sink::map_level(::spdlog::level::level_enum level) noexcept {
  switch (level) {
    case ::spdlog::level::trace:
    case ::spdlog::level::debug:
      return log_level::debug;
    case ::spdlog::level::info:
      return log_level::info;
    case ::spdlog::level::warn:
      return log_level::warning;
    case ::spdlog::level::err:
      return log_level::error;
    case ::spdlog::level::critical:
      return log_level::critical;
    default:  // off, n_levels: not severities of a message
      return std::nullopt;
  }
}

void spdlog_sink::log(const ::spdlog::details::log_msg& msg) noexcept {
  const std::optional<log_level> level = map_level(msg.level);
  if (!level) return;
  const run_ref run = fixed_ ? *fixed_ : current_run();
  if (!run) {
    unrouted_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // spdlog's string_view_t is fmt's when spdlog uses an external fmt (Debian's build).
  const std::string_view logger(msg.logger_name.data(), msg.logger_name.size());
  const std::string_view event(msg.payload.data(), msg.payload.size());
  const attribute where[] = {{"file", msg.source.filename ? msg.source.filename : ""}, {"line", msg.source.line}};
  const attributes attrs = msg.source.empty() ? attributes{} : attributes{where};
  const bool ok = logger.empty() ? run.log_as_task(*level, event, attrs) : run.log(*level, logger, event, attrs);
  (ok ? routed_ : refused_).fetch_add(1, std::memory_order_relaxed);
}

void spdlog_sink::flush() noexcept { flushes_.fetch_add(1, std::memory_order_release); }

void spdlog_sink::set_pattern(const std::string&) {}

void spdlog_sink::set_formatter(std::unique_ptr<::spdlog::formatter>) {}

bool spdlog_sink::flush_and_wait(::spdlog::logger& logger, std::chrono::milliseconds timeout) {
  const std::uint64_t before = flushes();
  logger.flush();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (flushes() == before) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

}  // namespace systask
