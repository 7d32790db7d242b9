// SPDX-License-Identifier: BSL-1.0
#pragma once

#include "message_ring.hpp"

#include <systask/engine/clock.hpp>
#include <systask/engine/enums.hpp>
#include <systask/engine/options.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace systask::detail {

struct task_entry;
struct provider_state;

/// The fixed fields of a run, as given to a record's constructor (the texts are copied).
struct run_fields {
  std::string_view uuid;
  std::string_view name;
  std::string_view uid;
  std::string_view description;
  std::string_view provider_kind;  // "" when the run is not a provider sync
  std::int64_t provider_id = 0;
  std::chrono::seconds retention{};
  status_policy policy = status_policy::explicit_status;
  overflow_policy overflow = overflow_policy::overwrite_oldest;
  bool keep_on_success = true;
  bool prefilled = false;
  wall_time start_wall{};
  mono_time start_mono{};
  bool mirrored = false;  // recorded by another replica (registry::mirror)
};

/// What every run record has, in either of its two forms:
/// - `run_record`, the *live* form: a run in progress, with its lock-free message ring;
/// - `frozen_record`, the *frozen* form: a finished run whose retained messages are packed into
///   one immutable buffer. A finish builds it and puts it in the task view in place of the live
///   record, whose ring is then freed with the last reference (handle, or a reader's record).
/// Readers (task_record, the registry's reads) see this base only; its message accessors
/// dispatch on `form`. No virtual functions: the two forms are the only ones, and the hot path
/// (append) works on the live form directly. Never deleted through the base: records are made
/// by make_shared of their own type, whose control block destroys them as that type.
///
/// The texts (uuid, name, uid, description, provider kind) live in one allocation; a frozen
/// record puts its packed messages after them in the same buffer.
///
/// Everything but `phase` and the finish fields is fixed at construction. The finish fields are
/// written once, by the thread that wins the finish, before `phase` becomes `finished` (release)
/// and before the record is published in a task view's finished list (release); a reader that
/// sees either sees them complete.
struct record_core {
  enum class form_t : unsigned char { live, frozen };
  enum phase_t : int { running = 0, finishing = 1, finished = 2 };

  const form_t form;
  // Views into `bytes_`.
  std::string_view uuid;
  std::string_view name;
  std::string_view uid;
  std::string_view description;
  std::string_view provider_kind;  // "" when not a provider sync
  const std::int64_t provider_id;
  const std::chrono::seconds retention;
  const status_policy policy;
  const overflow_policy overflow;
  const bool keep_on_success;
  const bool prefilled;
  // Recorded by another replica and put here by registry::mirror: a later image of the same
  // run may replace it (a run of this process is never replaced).
  const bool mirrored;
  const wall_time start_wall;
  const mono_time start_mono;

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

  /// The fixed fields, for building another form of this run.
  run_fields fields() const noexcept;

  /// Messages accepted (retained or dropped). Exact once finished. Any thread.
  std::uint64_t appended() const noexcept;
  /// Messages lost. Read before `appended()` when subtracting (a live ring counts a drop only
  /// after the message was accepted). Any thread.
  std::uint64_t dropped() const noexcept;
  /// Messages held now (a live run's count may lag or lead its ring by the appends in flight;
  /// never above the ring's capacity). Any thread.
  std::uint64_t retained() const noexcept;

  /// See message_ring::visit_fn.
  using visit_fn = void (*)(void* context, std::uint64_t seq, std::string_view compact);
  /// Calls `fn` with every retained message whose sequence number (its ticket) is >= `from_seq`,
  /// in order, as compact bytes valid during the call. Any thread; never blocks writers.
  std::size_t visit(std::uint64_t from_seq, visit_fn fn, void* context) const;

  /// Appends `[LogEvent, ...]`: the retained messages expanded, plus the loss marker where
  /// messages were dropped (see task_record::write_messages_json). `end` stamps a marker that
  /// follows the messages (drop_newest): the finish time, or the snapshot time while running.
  void write_messages_json(std::string& out, wall_time end) const;

 protected:
  /// Copies the texts into a buffer of their size plus `extra_bytes` (the frozen form's
  /// messages, written by the derived constructor at `extra()`). Allocates; throws bad_alloc.
  record_core(form_t form_, const run_fields& f, std::size_t extra_bytes);
  ~record_core() = default;
  record_core(const record_core&) = delete;
  record_core& operator=(const record_core&) = delete;

  char* extra() noexcept { return bytes_.get() + text_bytes_; }
  const char* extra() const noexcept { return bytes_.get() + text_bytes_; }

 private:
  std::unique_ptr<char[]> bytes_;
  std::size_t text_bytes_ = 0;
};

/// The live form: a run in progress (and, once finished, what its handle still holds).
struct run_record final : record_core, std::enable_shared_from_this<run_record> {
  run_record(const run_fields& f, task_entry* entry_, provider_state* provider_, std::size_t max_messages)
      : record_core(form_t::live, f, 0), entry(entry_), provider(provider_), ring(max_messages, f.overflow) {}

  task_entry* const entry;         // lives as long as the registry state
  provider_state* const provider;  // non-null for a provider sync
  // The sync's number (provider_state::syncs_started), set by start when the run takes the lock,
  // before anyone else has the run; read by finish to publish the outcome in sync order.
  std::uint64_t provider_sync = 0;

  message_ring ring;
  std::atomic<std::uint32_t> levels_seen{0};  // bit i: a message of log_level i was appended

  // Set by the finish before `phase` becomes finished: the frozen form that stands for this run
  // in the view from then on. Null when it could not be allocated: the live record stands in.
  std::shared_ptr<const record_core> frozen;
};

/// Messages of a finished run packed for a frozen record: each entry is
/// [8 bytes: seq][4 bytes: length][length bytes: the compact message], native byte order (in
/// memory only, never stored).
class packed_messages {
 public:
  static constexpr std::size_t entry_header_bytes = 12;
  /// Appends one message. Allocates (grows `bytes`); throws bad_alloc.
  void add(std::uint64_t seq, std::string_view compact);
  std::string bytes;
  std::uint64_t count = 0;
};

/// The frozen form: a finished run whose retained messages sit in one immutable buffer.
struct frozen_record final : record_core {
  /// A finished run from its fields, its finish fields, its packed messages and the number of
  /// messages it accepted (`appended >= messages.count`; the rest were dropped). Allocates once
  /// (texts and messages together); throws bad_alloc.
  frozen_record(const run_fields& f, const record_core& finish_from, const packed_messages& messages,
                std::uint64_t appended);
  /// The same with the finish fields given one by one (restore, prefill).
  frozen_record(const run_fields& f, wall_time finish_wall_, double duration_, task_status status_,
                std::optional<wall_time> expires_, const packed_messages& messages, std::uint64_t appended);

  const std::uint64_t appended_count;
  const std::uint64_t message_count;
  const std::size_t message_bytes;

  /// Visits the packed messages (see record_core::visit).
  std::size_t visit_packed(std::uint64_t from_seq, visit_fn fn, void* context) const;
};

/// Packs the retained messages of a closed ring for its frozen form and tallies their levels
/// (`levels[l]` += messages of log_level l). A message still being written by a late appender
/// is left out (and so counts as dropped). Any thread. Never throws: if `out` cannot grow it is
/// left incomplete and false is returned (the levels are tallied all the same).
bool pack_ring(const message_ring& ring, packed_messages& out, std::array<std::uint64_t, 8>& levels) noexcept;

}  // namespace systask::detail
