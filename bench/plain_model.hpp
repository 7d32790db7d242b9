#pragma once

// The "what a C++ programmer writes first" model of the same data: runs and messages as plain
// structs (strings, time points, a map of attributes), used by the baselines and the peers.

#include <systask/engine/render.hpp>

#include <boost/describe/class.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace systask::bench {

struct plain_message {
  std::chrono::system_clock::time_point timestamp;
  std::string log_level;
  std::string logger;
  std::string event;
  std::map<std::string, std::string> attributes;
};

struct plain_run {
  std::string uuid, name, uid, description;
  std::chrono::system_clock::time_point start, finish, expires;
  double duration = 0;
  std::string status;
  std::vector<plain_message> messages;
};

struct plain_status {
  bool is_running = false;
  std::vector<plain_run> tasks;
};

/// The message every benchmark logs: authentik's wording, a 64-byte-class event, 2 attributes.
inline plain_message sample_message(std::chrono::system_clock::time_point t, int i) {
  return {t, "warning", "Google Workspace Provider@authentik.core.models.User",
          "Failed to sync user alice." + std::to_string(i) + " due to error: HTTP 400 invalid field",
          {{"obj", "alice." + std::to_string(i)}, {"attempt", "3"}}};
}

}  // namespace systask::bench
