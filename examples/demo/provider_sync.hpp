// SPDX-License-Identifier: BSL-1.0
#pragma once

// The body of one provider sync, the way authentik's outgoing sync runs: pages of 100 users,
// then groups, with simulated remote latency, transient errors retried, per-object failures
// logged as warnings in authentik's words, and now and then a hard failure that ends the run.
// The per-object warnings go through spdlog, the way a host's existing log calls do: the
// systask::spdlog sink puts them into the run that async_run makes current at every resumption.

#include "directory.hpp"
#include "progress.hpp"

#include <systask/engine.hpp>
#include <systask/spdlog/sink.hpp>

#include <spdlog/spdlog.h>  // the SPDLOG_LOGGER_* macros

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <random>
#include <memory>
#include <stdexcept>
#include <string>

namespace demo {

struct sync_settings {
  std::size_t page_size = 100;
  std::chrono::milliseconds latency{40};  // per page, simulated remote round trips
  double object_failure_rate = 0.01;       // per object: permanent failure
  double transient_rate = 0.03;            // per object: transient failure, retried
  double hard_failure_rate = 0.1;          // per run: the provider fails hard part-way
};

inline const char* verbose_name(std::string_view kind) {
  if (kind == "google_workspace") return "Google Workspace Provider";
  if (kind == "microsoft_entra") return "Microsoft Entra Provider";
  return "SCIM Provider";
}

inline const char* hard_failure_reason(std::string_view kind) {
  if (kind == "google_workspace") return "Google Workspace API returned 503 Service Unavailable: backendError";
  if (kind == "microsoft_entra") return "Microsoft Graph rejected the client credentials: AADSTS7000215 invalid_client";
  return "SCIM endpoint https://scim.acme.example/v2 refused the connection";
}

// The one sink of the demo's spdlog loggers: the run current on the logging thread.
inline const std::shared_ptr<systask::spdlog_sink>& run_sink() {
  static const auto sink = std::make_shared<systask::spdlog_sink>();
  return sink;
}

class provider_sync {
 public:
  provider_sync(std::string kind, const directory& dir, provider_progress& progress, sync_settings settings,
                std::uint64_t seed)
      : kind_(std::move(kind)), dir_(dir), progress_(progress), settings_(settings), rng_(seed) {}

  boost::asio::awaitable<systask::task_status> operator()(systask::run& r) {
    progress_.begin(static_cast<long>(dir_.users.size() + dir_.groups.size()));
    std::bernoulli_distribution hard_fail(settings_.hard_failure_rate);
    const bool fails_hard = hard_fail(rng_);
    const std::size_t fail_page = fails_hard ? rng_() % std::max<std::size_t>(1, pages(dir_.users)) : SIZE_MAX;
    try {
      co_await sync_objects(r, dir_.users, "user", "authentik.core.models.User", fail_page);
      co_await sync_objects(r, dir_.groups, "group", "authentik.core.models.Group", SIZE_MAX);
    } catch (...) {
      progress_.state = 3;
      throw;  // async_run ends the run as error with the exception's text
    }
    progress_.state = 2;
    co_return progress_.warnings > 0 ? systask::task_status::warning : systask::task_status::successful;
  }

 private:
  std::size_t pages(const std::vector<directory_object>& objects) const {
    return (objects.size() + settings_.page_size - 1) / settings_.page_size;
  }

  boost::asio::awaitable<void> sync_objects(systask::run& r, const std::vector<directory_object>& objects,
                                            const char* type, const char* model, std::size_t fail_page) {
    const std::string logger = std::string(verbose_name(kind_)) + "@" + model;
    spdlog::logger log(logger, run_sink());  // synchronous: the sink runs on this thread
    std::bernoulli_distribution failure(settings_.object_failure_rate), transient(settings_.transient_rate);
    auto executor = co_await boost::asio::this_coro::executor;
    for (std::size_t page = 0; page < pages(objects); ++page) {
      r.info("Syncing page " + std::to_string(page + 1) + " of " + type + "s", {{"page", page + 1}});
      boost::asio::steady_timer latency(executor, settings_.latency);
      co_await latency.async_wait(boost::asio::use_awaitable);
      if (page == fail_page) throw std::runtime_error(hard_failure_reason(kind_));
      const std::size_t end = std::min(objects.size(), (page + 1) * settings_.page_size);
      for (std::size_t i = page * settings_.page_size; i < end; ++i) {
        const auto& obj = objects[i];
        int attempt = 1;
        while (transient(rng_) && attempt < 3) ++attempt;  // transient errors: retried, then fine
        if (attempt > 1) {
          r.log(systask::log_level::info, logger,
                "Retried " + std::string(type) + " " + obj.name + " after a transient error",
                {{"obj", systask::object{{"pk", obj.pk}, {"name", obj.name}}}, {"attempts", attempt},
                 {"exc", "HTTP 429 Too Many Requests"}});
        }
        if (!acceptable_name(obj.name)) {
          SPDLOG_LOGGER_WARN(&log, "Failed to sync {} {} due to error: HTTP 400 the name holds characters the provider does not accept",
                             type, obj.name);
          ++progress_.warnings;
        } else if (failure(rng_)) {
          // Lands in this run as a `warning` from `logger`, with `file` and `line` attributes.
          SPDLOG_LOGGER_WARN(&log, "Failed to sync {} {} due to error: HTTP 400 invalid field value", type, obj.name);
          ++progress_.warnings;
        }
        ++progress_.done;
      }
    }
  }

  std::string kind_;
  const directory& dir_;
  provider_progress& progress_;
  sync_settings settings_;
  std::mt19937_64 rng_;
};

}  // namespace demo
