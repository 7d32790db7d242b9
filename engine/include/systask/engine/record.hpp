// SPDX-License-Identifier: BSL-1.0
#pragma once

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace systask {

class registry;

namespace detail {
struct record_core;
class registry_state;
struct registry_access;
}  // namespace detail

/// Names a provider: its kind (`google_workspace`, `microsoft_entra`, `scim`, ...) and id.
struct provider_ref {
  std::string kind;
  std::int64_t id = 0;
};

/// A consistent, read-only view of one run, taken at one instant. It keeps the run's record
/// alive while it exists, so it may be held and read after the run expires or the registry is
/// gone. A run that had finished when the view was taken is shown finished with all its finish
/// fields; one still running is shown with status `unknown`, the snapshot time as finish time
/// and the time elapsed so far as duration. Every method may be called from any thread.
class task_record {
 public:
  std::string_view uuid() const noexcept;
  std::string_view name() const noexcept;
  std::string_view uid() const noexcept;   ///< "" when the task has no uid
  std::string_view description() const noexcept;
  wall_time start_time() const noexcept;
  wall_time finish_time() const noexcept;  ///< the snapshot time while running
  double duration() const noexcept;        ///< seconds, monotonic, >= 0
  task_status status() const noexcept;     ///< `unknown` while running
  std::optional<wall_time> expires() const noexcept;  ///< nullopt: never expires
  bool expiring() const noexcept { return expires().has_value(); }
  bool running() const noexcept { return running_; }
  bool prefilled() const noexcept;          ///< the "has not been run yet" placeholder
  /// The provider whose sync this run is; nullopt for any other run. Allocates (the kind).
  std::optional<provider_ref> provider() const;
  /// What the run's full message ring did with one more message.
  overflow_policy overflow() const noexcept;
  /// Messages accepted (retained or dropped). Exact once the run finished.
  std::uint64_t messages_appended() const noexcept;
  /// Messages lost: overwritten or refused by a full ring, or (at finish) still being written
  /// by a `log` that raced the finish. Exact once the run finished.
  std::uint64_t messages_dropped() const noexcept;

  /// Appends the run's messages as a JSON array (`[LogEvent, ...]`) to `out`: the stored
  /// fragments in append order, plus one `warning` LogEvent from logger `systask` where messages
  /// were dropped. Never blocks writers. Allocates only to grow `out`.
  void write_messages_json(std::string& out) const;

  /// Calls `f(std::uint64_t seq, std::string_view compact)` for every retained message whose
  /// sequence number is >= `from_seq`, in sequence order. `seq` is the message's place in the
  /// run (0 for its first message, counting dropped ones), so it is stable: a store that wrote
  /// the messages up to seq n asks for `n + 1` next. `compact` is the message in the compact
  /// format (`compact_message_format_version`; `expand_compact_message` turns it into the
  /// LogEvent JSON), valid during the call only. The loss marker is not a message: it is
  /// rendered from `messages_dropped()`. Works on running and finished runs alike; never blocks
  /// writers. On a running run a message still being written is skipped while later ones are
  /// given, so resuming from the highest seq seen + 1 can miss it until the run finishes: a store
  /// that must be exact writes the finished run in full (observers' `on_finished`), keyed by
  /// (uuid, seq) so that rewriting what it has is harmless. Any
  /// thread; uses about 9 KiB of stack; exceptions from `f` propagate. Returns how many
  /// messages it gave.
  template <class F>
    requires std::is_invocable_v<F&, std::uint64_t, std::string_view>
  std::size_t for_each_message(std::uint64_t from_seq, F&& f) const {
    return visit_messages(
        from_seq,
        [](void* context, std::uint64_t seq, std::string_view compact) {
          (*static_cast<std::remove_reference_t<F>*>(context))(seq, compact);
        },
        const_cast<void*>(static_cast<const void*>(std::addressof(f))));
  }

 private:
  friend class registry;                 // the only place views are taken
  friend class detail::registry_state;   // observers are given views of the runs they hear of
  friend struct detail::registry_access; // tests view a record as it is
  // `now` is the snapshot instant.
  task_record(std::shared_ptr<const detail::record_core> record, wall_time now_wall, mono_time now_mono) noexcept;

  using visit_fn = void (*)(void* context, std::uint64_t seq, std::string_view compact);
  std::size_t visit_messages(std::uint64_t from_seq, visit_fn fn, void* context) const;

  std::shared_ptr<const detail::record_core> record_;
  bool running_;
  wall_time finish_;
  double duration_;
  task_status status_;
  std::optional<wall_time> expires_;
};

}  // namespace systask
