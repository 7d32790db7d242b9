// SPDX-License-Identifier: BSL-1.0
#include <systask/boost_log/backend.hpp>

#include <boost/log/attributes/attribute_value_impl.hpp>
#include <boost/log/attributes/value_extraction.hpp>

#include <string_view>
#include <utility>

namespace systask {

namespace {

class current_run_impl final : public boost::log::attribute::impl {
 public:
  boost::log::attribute_value get_value() override { return boost::log::attributes::make_attribute_value(current_run()); }
};

}  // namespace

current_run_attribute::current_run_attribute() : boost::log::attribute(new current_run_impl()) {}

boost_log_backend::boost_log_backend(boost_log_options options)
    : options_(std::move(options)),
      run_name_(boost_log_run_attribute_name),
      message_name_("Message"),
      severity_name_("Severity"),
      channel_name_("Channel"),
      file_name_("File"),
      line_name_("Line") {}

log_level boost_log_backend::map_level(boost::log::trivial::severity_level level) noexcept {
  namespace trivial = boost::log::trivial;
  switch (level) {
    case trivial::trace:
    case trivial::debug:
      return log_level::debug;
    case trivial::info:
      return log_level::info;
    case trivial::warning:
      return log_level::warning;
    case trivial::error:
      return log_level::error;
    case trivial::fatal:
      return log_level::critical;
  }
  return log_level::info;
}

void boost_log_backend::consume(const boost::log::record_view& rec) noexcept {
  namespace logging = boost::log;
  try {
    const auto run = logging::extract<run_ref>(run_name_, rec);
    if (!run || !*run) {
      unrouted_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    log_level level = log_level::info;
    if (const auto trivial_level = logging::extract<logging::trivial::severity_level>(severity_name_, rec)) {
      level = map_level(*trivial_level);
    } else if (const auto own_level = logging::extract<log_level>(severity_name_, rec)) {
      level = *own_level;
    }
    const auto channel = logging::extract<std::string>(channel_name_, rec);
    const auto message = logging::extract<std::string>(message_name_, rec);
    const auto file = logging::extract<std::string>(file_name_, rec);
    const auto line = logging::extract<int>(line_name_, rec);
    attribute where[2];
    std::size_t n = 0;
    if (file) where[n++] = {"file", std::string_view(*file)};
    if (line) where[n++] = {"line", *line};
    const std::string_view logger = channel ? std::string_view(*channel) : std::string_view(options_.logger);
    const std::string_view event = message ? std::string_view(*message) : std::string_view();
    const bool ok = run->log(level, logger, event, attributes{where, n});
    (ok ? routed_ : refused_).fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    // Extraction does not throw for the types above; should Boost.Log ever do so, the record
    // is lost and counted rather than thrown into the host's logging call.
    unrouted_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace systask
