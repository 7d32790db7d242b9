// SPDX-License-Identifier: BSL-1.0
#pragma once

// The "what a C++ programmer writes first" model of the same data: runs and messages as plain
// structs (strings, time points, typed attributes in order), used by the baselines and peers;
// the inputs every benchmark logs; and the plain model built from systask's own records (same
// uuids, timestamps, typed attributes in the same order), so that a peer's body can be checked
// against systask's before either is timed.

#include "bench_support.hpp"

#include <systask/engine.hpp>

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace systask::bench {

using plain_value = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string>;
using plain_attributes = std::vector<std::pair<std::string, plain_value>>;

struct plain_message {
  wall_time timestamp;
  log_level level = log_level::info;
  std::string logger;
  std::string event;
  plain_attributes attributes;
};

/// One run; `Messages` is a container of `plain_message` (the peers that serialize at read
/// time) or of `std::string` (pre-rendered LogEvents, for the peers that render on write).
template <class Messages>
struct basic_plain_run {
  std::string uuid, name, uid, description;
  wall_time start, finish;
  double duration = 0;
  task_status status = task_status::unknown;
  Messages messages;
  std::optional<wall_time> expires;
};
using plain_run = basic_plain_run<std::vector<plain_message>>;
using rendered_run = basic_plain_run<std::vector<std::string>>;

template <class Run>
struct basic_plain_status {
  bool is_running = false;
  std::vector<Run> tasks;
  std::optional<wall_time> last_successful_sync;
  std::optional<sync_outcome> last_sync_status;
};
using plain_status = basic_plain_status<plain_run>;
using rendered_status = basic_plain_status<rendered_run>;

// --- what every benchmark logs ----------------------------------------------------------------

/// One message's input: authentik's wording, a 64-byte-class event and three attributes (a
/// string, an integer, a boolean). Every eighth message needs escaping and holds non-ASCII text,
/// so that no writer is measured only on its fast path.
struct message_input {
  log_level level = log_level::warning;
  std::string logger = "Google Workspace Provider@authentik.core.models.User";
  std::string event;
  std::string obj;
  std::int64_t attempt = 3;
  bool dry_run = false;
};

inline message_input sample_input(int i) {
  message_input m;
  if (i % 8 == 7) {
    m.obj = "Zoë." + std::to_string(i);
    m.event = "Failed to sync user \"" + m.obj + "\" due to error: HTTP 400 {\"error\":\"invalid field\"}";
  } else {
    m.obj = "alice." + std::to_string(i);
    m.event = "Failed to sync user " + m.obj + " due to error: HTTP 400 invalid field";
  }
  m.attempt = 1 + i % 5;
  m.dry_run = i % 3 == 0;
  return m;
}

/// Logs `m` on a systask run: the call every systask row times.
inline bool log_input(systask::run& r, const message_input& m) noexcept {
  return r.log(m.level, m.logger, m.event, {{"obj", m.obj}, {"attempt", m.attempt}, {"dry_run", m.dry_run}});
}

/// The same input as a plain message stamped `t`.
inline plain_message plain_of(const message_input& m, wall_time t) {
  return {t, m.level, m.logger, m.event, {{"obj", m.obj}, {"attempt", m.attempt}, {"dry_run", m.dry_run}}};
}

// --- the plain model from systask's records ---------------------------------------------------

/// Parses `YYYY-MM-DDTHH:MM:SS.ffffffZ` (what systask writes). Fails the run on anything else.
inline wall_time parse_timestamp(std::string_view s) {
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') fail_run("not a systask timestamp: " + std::string(s));
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() != timestamp_length || s[4] != '-' || s[10] != 'T' || s[19] != '.' || s[26] != 'Z') {
    fail_run("not a systask timestamp: " + std::string(s));
  }
  using namespace std::chrono;
  const sys_days day = year{num(0, 4)} / month{static_cast<unsigned>(num(5, 2))} / static_cast<unsigned>(num(8, 2));
  return wall_time{day} + hours{num(11, 2)} + minutes{num(14, 2)} + seconds{num(17, 2)} + microseconds{num(20, 6)};
}

inline std::string string_of(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

/// A LogEvent as systask wrote it, back as a plain message.
inline plain_message plain_message_of(const rapidjson::Value& e) {
  plain_message m;
  m.timestamp = parse_timestamp(string_of(e["timestamp"]));
  const auto level = from_string<log_level>(string_of(e["log_level"]));
  if (!level) fail_run("unknown log level in a systask message");
  m.level = *level;
  m.logger = string_of(e["logger"]);
  m.event = string_of(e["event"]);
  for (auto a = e["attributes"].MemberBegin(); a != e["attributes"].MemberEnd(); ++a) {
    const auto& v = a->value;
    plain_value pv;
    if (v.IsString()) {
      pv = string_of(v);
    } else if (v.IsBool()) {
      pv = v.GetBool();
    } else if (v.IsInt64()) {
      pv = v.GetInt64();
    } else if (v.IsDouble()) {
      pv = v.GetDouble();
    } else if (v.IsNull()) {
      pv = nullptr;
    } else {
      fail_run("the plain model has no nested attributes");
    }
    m.attributes.emplace_back(string_of(a->name), std::move(pv));
  }
  return m;
}

/// The header fields of a run, from systask's record of it.
template <class Run>
Run plain_header_of(const task_record& r) {
  Run p;
  p.uuid = r.uuid();
  p.name = r.name();
  p.uid = r.uid();
  p.description = r.description();
  p.start = r.start_time();
  p.finish = r.finish_time();
  p.duration = r.duration();
  p.status = r.status();
  p.expires = r.expires();
  return p;
}

/// A provider's sync status as the plain model: every field taken from systask's own records,
/// messages parsed back from the JSON systask stored (so timestamps, typed attributes and their
/// order are systask's).
inline plain_status plain_status_of(const provider_status& st) {
  plain_status s;
  s.is_running = st.is_running;
  s.last_successful_sync = st.last_successful_sync;
  s.last_sync_status = st.last_sync_status;
  for (const auto& r : st.tasks) {
    plain_run p = plain_header_of<plain_run>(r);
    std::string json;
    r.write_messages_json(json);
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    if (d.HasParseError() || !d.IsArray()) fail_run("a systask record's messages are not a JSON array");
    for (const auto& e : d.GetArray()) p.messages.push_back(plain_message_of(e));
    s.tasks.push_back(std::move(p));
  }
  return s;
}

}  // namespace systask::bench
