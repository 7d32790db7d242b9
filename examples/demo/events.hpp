// SPDX-License-Identifier: BSL-1.0
#pragma once

// --json: one JSON object per line on stdout (NDJSON) instead of the progress bars. Events:
//   {"event":"listening","url":...,"ui":...}                       the API is served
//   {"event":"run_started","uuid":...,"task":...,"uid":...,"provider":{"kind":...,"id":...}|null,"time":...}
//   {"event":"run_finished", the same fields, "status":...,"duration":...,"messages":N,"dropped":N}
//   {"event":"schedule_skipped","schedule":...,"reason":...,"time":...}  a fire or send found a run going
//   {"event":"schedule_failed","schedule":...,"reason":...,"time":...}   a run could not start
//   {"event":"stopped","time":...}
// No event per message: a sync logs hundreds; the API serves them (`messages` counts them).
// Lines are written whole under a mutex, so events from the registry's strand (the observer)
// and from the scheduler's callbacks never interleave.

#include <systask/engine.hpp>
#include <systask/engine/json_escape.hpp>
#include <systask/engine/timestamp.hpp>

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace demo {

class json_events final : public systask::run_observer {
 public:
  explicit json_events(std::FILE* out, const systask::clock_source& clock) : out_(out), clock_(clock) {}

  void on_started(const systask::task_record& run) override { emit(run_fields("run_started", run, run.start_time())); }

  void on_finished(const systask::task_record& run) override {
    std::string line = run_fields("run_finished", run, run.finish_time());
    line += ",\"status\":";
    systask::append_json_string(line, systask::to_string(run.status()));
    line += ",\"duration\":" + std::to_string(run.duration());
    line += ",\"messages\":" + std::to_string(run.messages_appended());
    line += ",\"dropped\":" + std::to_string(run.messages_dropped());
    emit(std::move(line));
  }

  /// `{"event":<name>, <fields>}` with string fields, stamped now. Any thread.
  void event(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    std::string line = "{\"event\":";
    systask::append_json_string(line, name);
    for (const auto& [key, value] : fields) {
      line += ',';
      systask::append_json_string(line, key);
      line += ':';
      systask::append_json_string(line, value);
    }
    line += ",\"time\":";
    systask::append_json_string(line, systask::format_timestamp(clock_.wall_now()));
    emit(std::move(line));
  }

 private:
  static std::string run_fields(std::string_view name, const systask::task_record& run, systask::wall_time t) {
    std::string line = "{\"event\":";
    systask::append_json_string(line, name);
    line += ",\"uuid\":";
    systask::append_json_string(line, run.uuid());
    line += ",\"task\":";
    systask::append_json_string(line, run.name());
    line += ",\"uid\":";
    systask::append_json_string(line, run.uid());
    line += ",\"provider\":";
    if (const auto p = run.provider()) {
      line += "{\"kind\":";
      systask::append_json_string(line, p->kind);
      line += ",\"id\":" + std::to_string(p->id) + "}";
    } else {
      line += "null";
    }
    line += ",\"time\":";
    systask::append_json_string(line, systask::format_timestamp(t));
    return line;
  }

  void emit(std::string line) {
    line += "}\n";
    const std::lock_guard lock(mutex_);
    std::fputs(line.c_str(), out_);
    std::fflush(out_);  // a reader of the pipe sees each event when it happens
  }

  std::FILE* out_;
  const systask::clock_source& clock_;
  std::mutex mutex_;
};

}  // namespace demo
