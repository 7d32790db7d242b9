// SPDX-License-Identifier: BSL-1.0
#pragma once

// What a store (a database behind the registry: SQLite, PostgreSQL) and the engine exchange:
// images of runs and providers to persist and to restore, and the status a store reports for
// /metrics. No database header here: the backends are their own libraries.

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/record.hpp>

#include <boost/describe/enum.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace systask {

/// The text of the `error` message that `registry::restore` appends to a run that was running
/// when its process ended (logger: the task's name; timestamp: the image's finish time).
inline constexpr std::string_view interrupted_run_event = "The process ended while the task was running";

/// One retained message as a store keeps it.
struct stored_message {
  std::uint64_t seq = 0;  ///< its place in the run (see task_record::for_each_message)
  std::string compact;    ///< the message in the compact format (compact_message_format_version)
};

/// Everything a store keeps of one run, and everything `registry::restore` needs to serve it
/// again byte for byte. `make_run_image` fills it from a task_record.
struct run_image {
  std::string uuid;                       ///< canonical 8-4-4-4-12 hex UUID in lower case, not nil
  std::string name;                       ///< task name, non-empty
  std::string uid;                        ///< "" for none
  std::string description;                ///< may be ""
  std::optional<provider_ref> provider;   ///< set for a provider sync
  wall_time start{};                      ///< start time
  wall_time finish{};                     ///< finish time (interrupted: the last time the store knew it alive)
  double duration = 0;                    ///< seconds, >= 0
  task_status status = task_status::unknown;  ///< final status (ignored when `interrupted`)
  std::optional<wall_time> expires;       ///< nullopt: never expires (ignored when `interrupted`)
  overflow_policy overflow = overflow_policy::overwrite_oldest;  ///< where the loss marker goes
  std::uint64_t appended = 0;             ///< messages accepted, retained or dropped
  std::uint64_t dropped = 0;              ///< messages lost: appended - messages.size() when finished
  std::vector<stored_message> messages;   ///< retained messages, strictly increasing seq
  /// The "has not been run yet" placeholder of `registry::prefill`: restored as one, so the
  /// task's first finished run replaces it.
  bool prefilled = false;
  /// The run was still running when its process ended. Restored as status `error` with an
  /// `error` message `interrupted_run_event` after the stored messages, `expires` computed
  /// from its task's retention, and every message it accepted but the store never got counted
  /// as dropped.
  bool interrupted = false;
  /// The run is still running on another replica (`registry::mirror` only; `restore` refuses
  /// it): shown as running, with the messages and counts of the image, until an image of the
  /// same run replaces it. `finish` is when the other replica last wrote it; `status` and
  /// `expires` are ignored.
  bool running = false;
};

/// What a store keeps of one provider: its sync's last outcomes, which outlive the records.
struct provider_image {
  std::string kind;                          ///< the provider's kind
  std::int64_t id = 0;                       ///< the provider's id
  std::optional<wall_time> last_success;     ///< finish of its last successful sync
  std::optional<sync_outcome> last_outcome;  ///< outcome of its last finished sync (not `running`)
};

/// One image that `registry::restore` refused, and why.
struct restore_error {
  std::string item;    ///< "run <uuid>" or "provider <kind> <id>"
  std::string reason;  ///< what is wrong with it
};

/// What `registry::restore` did with the images it was given. Every image is counted once:
/// runs given = restored + expired + superseded + refused runs.
struct restore_report {
  std::size_t runs_restored = 0;       ///< now held and served
  std::size_t runs_expired = 0;        ///< skipped: expired already
  std::size_t runs_superseded = 0;     ///< skipped: beyond the task's history depth, or removed by a later success of a task that keeps none
  std::size_t providers_restored = 0;  ///< providers whose state was applied
  std::vector<restore_error> errors;   ///< refused images (runs and providers), in input order
  std::vector<std::string> interrupted;  ///< uuids of restored `interrupted` runs, now finished as `error`
};

/// The health of a store, as /metrics shows it.
enum class store_state : unsigned char {
  ok,         ///< writing normally
  degraded,   ///< writes fail and are retried; recording continues in memory
  read_only,  ///< serves what it loaded, writes nothing (e.g. a database from a newer schema)
  disabled,   ///< not in use (e.g. the file could not be opened); memory only
};
BOOST_DESCRIBE_ENUM(store_state, ok, degraded, read_only, disabled)

/// One more series a store reports beyond the common ones (e.g. PostgreSQL's mirror staleness),
/// shown in /metrics as `systask_store_<name>{backend="..."}`.
struct store_metric {
  std::string name;      ///< [a-z0-9_], starting with a letter, e.g. "mirror_stale_seconds"
  std::string help;      ///< one sentence for the # HELP line
  bool counter = false;  ///< a counter (only grows); false: a gauge
  double value = 0;
};

/// A histogram of a store's own (e.g. how long cluster lock requests waited for their answer):
/// /metrics shows it as `systask_store_<name>_bucket`, `_sum` and `_count`.
struct store_histogram {
  std::string name;                   ///< as store_metric::name, e.g. "lock_acquire_wait_seconds"
  std::string help;                   ///< one sentence for the # HELP line
  std::vector<double> bounds;         ///< bucket upper bounds, ascending; a +Inf bucket follows
  std::vector<std::uint64_t> counts;  ///< per bucket, not cumulative: bounds.size() + 1 entries
  double sum = 0;                     ///< of the observations
};

/// A store's counters. Finished runs handed to the store: pending + written + dropped.
struct store_stats {
  std::string backend;             ///< "sqlite", "postgresql", ...: one attached store per name
  store_state state = store_state::ok;
  std::string reason;              ///< why the state is not `ok` ("" when it is)
  std::uint64_t pending = 0;       ///< finished runs waiting to be written
  std::uint64_t written = 0;       ///< finished runs written, ever
  std::uint64_t dropped = 0;       ///< finished runs that will never be written (queue full, observer events lost)
  std::uint64_t write_errors = 0;  ///< failed write attempts, ever
  std::optional<wall_time> last_success;  ///< when a write last succeeded
  std::vector<store_metric> extra;        ///< the backend's own series, in a stable order
  std::vector<store_histogram> histograms;  ///< the backend's own histograms, in a stable order
};

/// What a store implements so that the registry's /metrics can show it (`registry::attach_store`).
class store_status_source {
 public:
  virtual ~store_status_source() = default;
  /// The store's counters now. Any thread, concurrently with the store's work; must not block
  /// and must not throw (an implementation catches its own allocation failures).
  virtual store_stats stats() const noexcept = 0;

 protected:
  store_status_source() = default;
  store_status_source(const store_status_source&) = default;
  store_status_source& operator=(const store_status_source&) = default;
};

/// The image of a run, for a store: its fields and its retained messages (`for_each_message`
/// from 0). A finished run's image restores byte for byte. A running run's image has status
/// `unknown`, the snapshot time as finish and no expiry; its `appended` covers every message
/// given, and `dropped` is the rest. Any thread; allocates.
run_image make_run_image(const task_record& run);

}  // namespace systask
