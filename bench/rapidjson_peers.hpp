// SPDX-License-Identifier: BSL-1.0
#pragma once

// The RapidJSON peers, written as a speed-minded user writes them: a `Writer` over the plain
// structs, every string and key passed as (data, size) so nothing is strlen'd, timestamps
// formatted into a stack buffer during the write. Two designs:
// - "RapidJSON over plain structs": messages kept as structs, serialized at read time;
// - "RapidJSON + RawValue": each message rendered once when it is logged (render on write, with
//   RapidJSON) and spliced into the envelope with `RawValue` at read time, systask's design.
// SIMD: the bench targets build with RAPIDJSON_SSE2 (bench/CMakeLists.txt), so Writer<StringBuffer>
// scans strings 16 bytes at a time, as systask's own escaper does; the report lists the flags.

#include "plain_model.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace systask::bench {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void put_string(json_writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void put_key(json_writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
inline void put_time(json_writer& w, wall_time t) {
  char buf[timestamp_length];
  format_timestamp(t, buf);
  w.String(buf, timestamp_length);
}

inline void put_value(json_writer& w, const plain_value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          w.Null();
        } else if constexpr (std::is_same_v<T, bool>) {
          w.Bool(x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          w.Int64(x);
        } else if constexpr (std::is_same_v<T, double>) {
          w.Double(x);
        } else {
          put_string(w, x);
        }
      },
      v);
}

/// One LogEvent, as systask writes it.
inline void put_message(json_writer& w, const plain_message& m) {
  w.StartObject();
  put_key(w, "timestamp");
  put_time(w, m.timestamp);
  put_key(w, "log_level");
  put_string(w, to_string(m.level));
  put_key(w, "logger");
  put_string(w, m.logger);
  put_key(w, "event");
  put_string(w, m.event);
  put_key(w, "attributes");
  w.StartObject();
  for (const auto& [k, v] : m.attributes) {
    put_key(w, k);
    put_value(w, v);
  }
  w.EndObject();
  w.EndObject();
}

/// A message rendered at write time, spliced raw.
inline void put_message(json_writer& w, const std::string& rendered) {
  w.RawValue(rendered.data(), rendered.size(), rapidjson::kObjectType);
}

/// A run's messages as one stored JSON array text (a database column), spliced whole.
struct raw_json_array {
  std::string_view text;
};

/// One SystemTask; `Run` is any basic_plain_run (messages as structs, pre-rendered, or one
/// stored array).
template <class Run>
void put_task(json_writer& w, const Run& r) {
  w.StartObject();
  put_key(w, "uuid");
  put_string(w, r.uuid);
  put_key(w, "name");
  put_string(w, r.name);
  put_key(w, "full_name");
  if (r.uid.empty()) {
    put_string(w, r.name);
  } else {
    char buf[512];
    if (r.name.size() + 1 + r.uid.size() <= sizeof buf) {
      std::memcpy(buf, r.name.data(), r.name.size());
      buf[r.name.size()] = ':';
      std::memcpy(buf + r.name.size() + 1, r.uid.data(), r.uid.size());
      put_string(w, std::string_view(buf, r.name.size() + 1 + r.uid.size()));
    } else {
      put_string(w, std::string(r.name).append(":").append(r.uid));
    }
    put_key(w, "uid");
    put_string(w, r.uid);
  }
  put_key(w, "description");
  put_string(w, r.description);
  put_key(w, "start_timestamp");
  put_time(w, r.start);
  put_key(w, "finish_timestamp");
  put_time(w, r.finish);
  put_key(w, "duration");
  w.Double(r.duration);
  put_key(w, "status");
  put_string(w, to_string(r.status));
  put_key(w, "messages");
  if constexpr (std::is_same_v<std::remove_cvref_t<decltype(r.messages)>, raw_json_array>) {
    w.RawValue(r.messages.text.data(), r.messages.text.size(), rapidjson::kArrayType);
  } else {
    w.StartArray();
    for (const auto& m : r.messages) put_message(w, m);
    w.EndArray();
  }
  put_key(w, "expires");
  if (r.expires) {
    put_time(w, *r.expires);
  } else {
    w.Null();
  }
  put_key(w, "expiring");
  w.Bool(r.expires.has_value());
  w.EndObject();
}

/// The sync-status body (authentik `SyncStatus`).
template <class Status>
void put_status(json_writer& w, const Status& s) {
  w.StartObject();
  put_key(w, "is_running");
  w.Bool(s.is_running);
  put_key(w, "tasks");
  w.StartArray();
  for (const auto& r : s.tasks) put_task(w, r);
  w.EndArray();
  if (s.last_successful_sync) {
    put_key(w, "last_successful_sync");
    put_time(w, *s.last_successful_sync);
  }
  if (s.last_sync_status) {
    put_key(w, "last_sync_status");
    put_string(w, to_string(*s.last_sync_status));
  }
  w.EndObject();
}

/// A body written into `buf` (kept and reused by the caller, its capacity warm), then copied once
/// into the returned string: the same buffer discipline as systask's facade.
template <class Status>
std::string status_body(const Status& s, rapidjson::StringBuffer& buf) {
  buf.Clear();
  json_writer w(buf);
  put_status(w, s);
  return {buf.GetString(), buf.GetSize()};
}

/// Renders one message with RapidJSON into `buf` (cleared first): the render-on-write step of
/// the RawValue peer and of the shared_mutex store.
inline std::string_view render_message(const plain_message& m, rapidjson::StringBuffer& buf) {
  buf.Clear();
  json_writer w(buf);
  put_message(w, m);
  return {buf.GetString(), buf.GetSize()};
}

/// Renders one message straight from what the caller logs (no struct built first): the
/// render-on-write step of the shared_mutex store. Into `buf`, cleared first.
inline std::string_view render_message(wall_time t, const message_input& m, rapidjson::StringBuffer& buf) {
  buf.Clear();
  json_writer w(buf);
  w.StartObject();
  put_key(w, "timestamp");
  put_time(w, t);
  put_key(w, "log_level");
  put_string(w, to_string(m.level));
  put_key(w, "logger");
  put_string(w, m.logger);
  put_key(w, "event");
  put_string(w, m.event);
  put_key(w, "attributes");
  w.StartObject();
  put_key(w, "obj");
  put_string(w, m.obj);
  put_key(w, "attempt");
  w.Int64(m.attempt);
  put_key(w, "dry_run");
  w.Bool(m.dry_run);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

/// The RawValue peer's model of a status: the same runs with every message rendered once.
inline rendered_status rendered_status_of(const plain_status& s) {
  rendered_status out;
  out.is_running = s.is_running;
  out.last_successful_sync = s.last_successful_sync;
  out.last_sync_status = s.last_sync_status;
  rapidjson::StringBuffer buf;
  for (const auto& r : s.tasks) {
    rendered_run rr;
    rr.uuid = r.uuid;
    rr.name = r.name;
    rr.uid = r.uid;
    rr.description = r.description;
    rr.start = r.start;
    rr.finish = r.finish;
    rr.duration = r.duration;
    rr.status = r.status;
    rr.expires = r.expires;
    for (const auto& m : r.messages) rr.messages.emplace_back(render_message(m, buf));
    out.tasks.push_back(std::move(rr));
  }
  return out;
}

}  // namespace systask::bench
