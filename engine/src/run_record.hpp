#pragma once

#include "message_ring.hpp"

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/options.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace systask::detail {

struct task_entry;
struct provider_state;

/// One run. Everything but the message ring, the level mask and the finish fields is fixed at
/// construction. The finish fields are written once, by the thread that wins the finish, before
/// `phase` becomes `finished` (release) and before the record is published in a task view's
/// finished list (release); a reader that sees either sees them complete.
struct run_record {
  enum phase_t : int { running = 0, finishing = 1, finished = 2 };

  run_record(std::string uuid_, std::string name_, std::string uid_, std::string description_,
             task_entry* entry_, provider_state* provider_, const task_options& options_, wall_time start_wall_,
             mono_time start_mono_, bool prefilled_)
      : uuid(std::move(uuid_)),
        name(std::move(name_)),
        uid(std::move(uid_)),
        description(std::move(description_)),
        entry(entry_),
        provider(provider_),
        retention(options_.retention),
        policy(options_.policy),
        keep_on_success(options_.keep_on_success),
        start_wall(start_wall_),
        start_mono(start_mono_),
        prefilled(prefilled_),
        ring(options_.max_messages, options_.overflow) {}

  const std::string uuid;
  const std::string name;
  const std::string uid;
  const std::string description;
  task_entry* const entry;           // lives as long as the registry state
  provider_state* const provider;    // non-null for a provider sync
  const std::chrono::seconds retention;
  const status_policy policy;
  const bool keep_on_success;
  const wall_time start_wall;
  const mono_time start_mono;
  const bool prefilled;

  message_ring ring;
  std::atomic<std::uint32_t> levels_seen{0};  // bit i: a message of log_level i was appended
  std::atomic<int> phase{running};

  // Finish fields (see above).
  wall_time finish_wall{};
  mono_time finish_mono{};  // orders finishes when one view update moves several runs
  double duration = 0;
  task_status status = task_status::unknown;
  std::optional<wall_time> expires;

  bool is_finished() const noexcept { return phase.load(std::memory_order_acquire) == finished; }
  /// Whether a finished run stays visible (authentik's save_on_success=False removes the task's
  /// records on success). Only meaningful once `is_finished()`.
  bool kept() const noexcept { return keep_on_success || status != task_status::successful; }
  bool expired_at(wall_time now) const noexcept { return expires && *expires <= now; }
};

}  // namespace systask::detail
