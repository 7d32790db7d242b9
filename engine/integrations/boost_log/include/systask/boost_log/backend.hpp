// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/current_run.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/run_ref.hpp>

#include <boost/log/attributes/attribute.hpp>
#include <boost/log/attributes/attribute_name.hpp>
#include <boost/log/core/record_view.hpp>
#include <boost/log/sinks/basic_sink_backend.hpp>
#include <boost/log/trivial.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace systask {

/// The name of the Boost.Log attribute that carries the run (a `systask::run_ref` value).
inline constexpr char boost_log_run_attribute_name[] = "systask.run";

/// A Boost.Log attribute whose value, taken when a record is made, is the run current on the
/// logging thread (`current_run()`; an empty `run_ref` when there is none). Add it once, as a
/// global attribute named `boost_log_run_attribute_name`; the value is copied into each
/// record, so the run travels with the record to an asynchronous frontend's thread. Any
/// thread; making a value allocates (as every Boost.Log attribute value does).
class current_run_attribute : public boost::log::attribute {
 public:
  current_run_attribute();
};

/// Options of `boost_log_backend`.
struct boost_log_options {
  std::string logger = "boost.log";  ///< logger of a record without a "Channel" (std::string) attribute
};

/// A Boost.Log sink backend (target `systask::boost_log`) that appends each record to the run
/// named by its `systask.run` attribute: filled by `current_run_attribute`, or by a scoped
/// attribute (`BOOST_LOG_SCOPED_THREAD_ATTR(systask::boost_log_run_attribute_name,
/// boost::log::attributes::constant<systask::run_ref>(run.ref()))`). Because the run is read
/// from the record, not from the consuming thread, it works behind `synchronous_sink` and
/// `asynchronous_sink` alike.
///
/// Mapping: the "Message" attribute -> `event`; "Severity" of type
/// `boost::log::trivial::severity_level` (trace, debug -> debug, info -> info, warning ->
/// warning, error -> error, fatal -> critical) or of type `systask::log_level` (as is), `info`
/// when absent; "Channel" (std::string) -> `logger`; "File" (std::string) and "Line" (int),
/// when present, -> attributes `file` and `line`. A record without a run is counted
/// (`unrouted()`) and goes nowhere.
///
/// `consume` never throws, never blocks (the run's append is lock-free) and may be called by
/// several threads at once (concurrent feeding, so the frontend takes no lock for it).
class boost_log_backend
    : public boost::log::sinks::basic_sink_backend<boost::log::sinks::concurrent_feeding> {
 public:
  /// May throw std::bad_alloc.
  explicit boost_log_backend(boost_log_options options = {});

  /// Appends `rec` to its run. Any thread; noexcept.
  void consume(const boost::log::record_view& rec) noexcept;

  /// The systask level of a Boost.Log trivial severity. No allocation.
  static log_level map_level(boost::log::trivial::severity_level level) noexcept;

  /// Records appended to a run. Lock-free.
  std::uint64_t routed() const noexcept { return routed_.load(std::memory_order_relaxed); }
  /// Records without a run (no `systask.run` attribute, or an empty one). Lock-free.
  std::uint64_t unrouted() const noexcept { return unrouted_.load(std::memory_order_relaxed); }
  /// Records their run refused (finished, or its registry gone). Lock-free.
  std::uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }

 private:
  boost_log_options options_;
  // Looked up once: making an attribute_name from a string takes Boost.Log's name registry lock.
  boost::log::attribute_name run_name_, message_name_, severity_name_, channel_name_, file_name_, line_name_;
  std::atomic<std::uint64_t> routed_{0};
  std::atomic<std::uint64_t> unrouted_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace systask
