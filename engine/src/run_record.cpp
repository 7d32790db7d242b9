// SPDX-License-Identifier: BSL-1.0
// Run records in their two forms (live: a message ring; frozen: one packed buffer) and what
// readers do with either: count, visit and render the messages.

#include "run_record.hpp"

#include "render_buffer.hpp"

#include <systask/engine/attribute.hpp>
#include <systask/engine/render.hpp>

#include <cstring>

namespace systask::detail {

namespace {

std::size_t text_size(const run_fields& f) noexcept {
  return f.uuid.size() + f.name.size() + f.uid.size() + f.description.size() + f.provider_kind.size();
}

std::string_view copy_text(char*& at, std::string_view s) noexcept {
  if (!s.empty()) std::memcpy(at, s.data(), s.size());
  const std::string_view placed(at, s.size());
  at += s.size();
  return placed;
}

}  // namespace

record_core::record_core(form_t form_, const run_fields& f, std::size_t extra_bytes)
    : form(form_),
      provider_id(f.provider_id),
      retention(f.retention),
      policy(f.policy),
      overflow(f.overflow),
      keep_on_success(f.keep_on_success),
      prefilled(f.prefilled),
      mirrored(f.mirrored),
      start_wall(f.start_wall),
      start_mono(f.start_mono),
      bytes_(new char[text_size(f) + extra_bytes]),
      text_bytes_(text_size(f)) {
  char* at = bytes_.get();
  uuid = copy_text(at, f.uuid);
  name = copy_text(at, f.name);
  uid = copy_text(at, f.uid);
  description = copy_text(at, f.description);
  provider_kind = copy_text(at, f.provider_kind);
}

run_fields record_core::fields() const noexcept {
  return run_fields{uuid,   name,     uid,             description, provider_kind, provider_id, retention,
                    policy, overflow, keep_on_success, prefilled, start_wall,  start_mono,   mirrored};
}

std::uint64_t record_core::appended() const noexcept {
  if (form == form_t::frozen) return static_cast<const frozen_record*>(this)->appended_count;
  return static_cast<const run_record*>(this)->ring.appended();
}

std::uint64_t record_core::dropped() const noexcept {
  if (form == form_t::frozen) {
    const auto* f = static_cast<const frozen_record*>(this);
    return f->appended_count - f->message_count;
  }
  return static_cast<const run_record*>(this)->ring.dropped();
}

std::uint64_t record_core::retained() const noexcept {
  if (form == form_t::frozen) return static_cast<const frozen_record*>(this)->message_count;
  const message_ring& ring = static_cast<const run_record*>(this)->ring;
  // `dropped` first: a drop is counted only after its message was accepted, so appended >=
  // dropped from then on and the difference never wraps. Appends between the two loads make it
  // an overestimate; a ring never holds more than its capacity.
  const std::uint64_t d = ring.dropped();
  const std::uint64_t a = ring.appended();
  return std::min<std::uint64_t>(a > d ? a - d : 0, ring.capacity());
}

std::size_t record_core::visit(std::uint64_t from_seq, visit_fn fn, void* context) const {
  if (form == form_t::frozen) return static_cast<const frozen_record*>(this)->visit_packed(from_seq, fn, context);
  return static_cast<const run_record*>(this)->ring.visit(from_seq, fn, context);
}

void record_core::write_messages_json(std::string& out, wall_time end) const {
  const std::uint64_t lost = dropped();
  // The loss marker stands where the gap is: before the oldest kept message when the oldest
  // were overwritten, after the newest when the newest were refused.
  auto marker = [&](wall_time at) {
    const std::string event = std::to_string(lost) + (lost == 1 ? " message was dropped" : " messages were dropped");
    const attribute attrs[] = {{"dropped", lost}};
    out += render_log_event(at, log_level::warning, "systask", event, attributes{attrs});
  };
  struct sink {
    std::string& out;
    bool comma;
  };
  auto expand = [](void* c, std::uint64_t, std::string_view compact) {
    auto& k = *static_cast<sink*>(c);
    if (k.comma) k.out.push_back(',');
    k.comma = true;
    expand_message(k.out, compact.data(), compact.size());
  };
  out.push_back('[');
  if (lost > 0 && overflow == overflow_policy::overwrite_oldest) {
    marker(start_wall);
    sink s{out, true};
    visit(0, expand, &s);
  } else {
    sink s{out, false};
    const std::size_t n = visit(0, expand, &s);
    if (lost > 0) {
      if (n > 0) out.push_back(',');
      marker(end);
    }
  }
  out.push_back(']');
}

void packed_messages::add(std::uint64_t seq, std::string_view compact) {
  const auto len = static_cast<std::uint32_t>(compact.size());
  const std::size_t at = bytes.size();
  bytes.resize(at + entry_header_bytes + compact.size());
  std::memcpy(bytes.data() + at, &seq, 8);
  std::memcpy(bytes.data() + at + 8, &len, 4);
  if (len > 0) std::memcpy(bytes.data() + at + entry_header_bytes, compact.data(), compact.size());
  ++count;
}

frozen_record::frozen_record(const run_fields& f, const record_core& finish_from, const packed_messages& messages,
                             std::uint64_t appended)
    : frozen_record(f, finish_from.finish_wall, finish_from.duration, finish_from.status, finish_from.expires,
                    messages, appended) {
  finish_mono = finish_from.finish_mono;
}

frozen_record::frozen_record(const run_fields& f, wall_time finish_wall_, double duration_, task_status status_,
                             std::optional<wall_time> expires_, const packed_messages& messages,
                             std::uint64_t appended)
    : record_core(form_t::frozen, f, messages.bytes.size()),
      appended_count(std::max(appended, messages.count)),
      message_count(messages.count),
      message_bytes(messages.bytes.size()) {
  if (message_bytes > 0) std::memcpy(extra(), messages.bytes.data(), message_bytes);
  finish_wall = finish_wall_;
  duration = duration_;
  status = status_;
  expires = expires_;
  phase.store(finished, std::memory_order_relaxed);  // published with the record itself
}

std::size_t frozen_record::visit_packed(std::uint64_t from_seq, visit_fn fn, void* context) const {
  const char* p = extra();
  const char* const end = p + message_bytes;
  std::size_t visited = 0;
  while (p < end) {
    std::uint64_t seq = 0;
    std::uint32_t len = 0;
    std::memcpy(&seq, p, 8);
    std::memcpy(&len, p + 8, 4);
    if (seq >= from_seq) {
      fn(context, seq, {p + packed_messages::entry_header_bytes, len});
      ++visited;
    }
    p += packed_messages::entry_header_bytes + len;
  }
  return visited;
}

bool pack_ring(const message_ring& ring, packed_messages& out, std::array<std::uint64_t, 8>& levels) noexcept {
  struct sink {
    packed_messages& out;
    std::array<std::uint64_t, 8>& levels;
    bool complete;
  } s{out, levels, true};
  try {
    ring.visit(
      0,
      [](void* c, std::uint64_t seq, std::string_view compact) {
        auto& k = *static_cast<sink*>(c);
        // The level byte of the compact form (see render_buffer.hpp); the ring holds only what
        // render_compact wrote, so it is always a valid level.
        const auto level = static_cast<unsigned char>(compact[compact_level_offset]);
        if (level < k.levels.size()) ++k.levels[level];
        if (!k.complete) return;
        try {
          k.out.add(seq, compact);
        } catch (...) {
          k.complete = false;
        }
      },
      &s);
  } catch (...) {
    return false;  // the ring's survivor list could not be allocated
  }
  return s.complete;
}

}  // namespace systask::detail
