// Sync-status JSON for one provider: systask (the facade's whole request path) next to RapidJSON
// over plain structs (timestamps formatted during the write), Boost.JSON (value_from via
// Describe, then serialize) and nlohmann::json, with a memcpy of the same output bytes as the
// ceiling. Shapes: runs x messages = 1x10, 1x100, 1x1000, 16x100. Then the same status with
// 0, 1,000 and 100,000 other runs in the registry (it must stay flat).

#include "plain_model.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <boost/json/src.hpp>  // Boost.JSON header-only, in this one translation unit
#include <nlohmann/json.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <memory>

namespace sb = systask::bench;

namespace {

using clock_type = std::chrono::system_clock;

// One registry per shape, built once.
struct systask_world {
  boost::asio::io_context io;
  std::shared_ptr<systask::manual_clock> clock = std::make_shared<systask::manual_clock>();
  std::unique_ptr<systask::registry> reg;
  std::unique_ptr<systask::api::facade> api;
  std::string auth = "Bearer bench";

  systask_world(int runs, int messages, int other_runs) {
    systask::task_options o;
    o.history_depth = static_cast<std::size_t>(runs);
    o.max_messages = 4096;
    reg = std::make_unique<systask::registry>(io, systask::registry_options{o, clock});
    reg->register_provider("google_workspace", 1, "Acme Google Workspace");
    for (int r = 0; r < runs; ++r) {
      systask::run run = reg->start(reg->sync_spec("google_workspace", 1));
      for (int i = 0; i < messages; ++i) {
        const auto m = sb::sample_message({}, i);
        run.log(systask::log_level::warning, m.logger, m.event, {{"obj", m.attributes.at("obj")}, {"attempt", 3}});
      }
      clock->advance(std::chrono::milliseconds(1500));
      run.finish(systask::task_status::warning);
    }
    for (int i = 0; i < other_runs; ++i) {
      reg->start({.name = "other_task", .uid = std::to_string(i)}).finish(systask::task_status::successful);
    }
    auto tokens = std::make_shared<systask::api::static_tokens>();
    tokens->add("bench", {"bench", systask::api::all_permissions});
    systask::api::facade_options fo;
    fo.tokens = tokens;
    api = std::make_unique<systask::api::facade>(*reg, fo);
  }

  std::string status() const {
    systask::api::request req =
        systask::api::request::from_target("GET", "/api/v3/providers/google_workspace/1/sync/status/");
    req.headers.emplace_back("Authorization", auth);
    return api->handle(req).body;
  }
};

sb::plain_status make_plain(int runs, int messages) {
  sb::plain_status s;
  const auto t0 = clock_type::time_point{std::chrono::seconds{1'722'268'288}};
  for (int r = 0; r < runs; ++r) {
    sb::plain_run run{"3fa85f64-5717-4562-b3fc-2c963f66afa6", "google_workspace_sync",
                      "acme-google-workspace", "Run full sync for provider \"Acme Google Workspace\"",
                      t0, t0 + std::chrono::milliseconds(1500), t0 + std::chrono::hours(6), 1.5, "warning", {}};
    for (int i = 0; i < messages; ++i) run.messages.push_back(sb::sample_message(t0, i));
    s.tasks.push_back(std::move(run));
  }
  return s;
}

// --- RapidJSON over plain structs -------------------------------------------------------------

template <class W>
void write_time(W& w, clock_type::time_point t) {
  char buf[systask::timestamp_length];
  systask::format_timestamp(t, buf);
  w.String(buf, systask::timestamp_length);
}

std::string rapidjson_plain(const sb::plain_status& s, rapidjson::StringBuffer& sbuf) {
  sbuf.Clear();
  rapidjson::Writer<rapidjson::StringBuffer> w(sbuf);
  w.StartObject();
  w.Key("is_running");
  w.Bool(s.is_running);
  w.Key("tasks");
  w.StartArray();
  for (const auto& r : s.tasks) {
    w.StartObject();
    w.Key("uuid"); w.String(r.uuid.c_str());
    w.Key("name"); w.String(r.name.c_str());
    w.Key("full_name"); w.String((r.name + ":" + r.uid).c_str());
    w.Key("uid"); w.String(r.uid.c_str());
    w.Key("description"); w.String(r.description.c_str());
    w.Key("start_timestamp"); write_time(w, r.start);
    w.Key("finish_timestamp"); write_time(w, r.finish);
    w.Key("duration"); w.Double(r.duration);
    w.Key("status"); w.String(r.status.c_str());
    w.Key("messages");
    w.StartArray();
    for (const auto& m : r.messages) {
      w.StartObject();
      w.Key("timestamp"); write_time(w, m.timestamp);
      w.Key("log_level"); w.String(m.log_level.c_str());
      w.Key("logger"); w.String(m.logger.c_str());
      w.Key("event"); w.String(m.event.c_str());
      w.Key("attributes");
      w.StartObject();
      for (const auto& [k, v] : m.attributes) {
        w.Key(k.c_str());
        w.String(v.c_str());
      }
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
    w.Key("expires"); write_time(w, r.expires);
    w.Key("expiring"); w.Bool(true);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {sbuf.GetString(), sbuf.GetSize()};
}

}  // namespace

// --- Boost.JSON: Describe-driven value_from -------------------------------------------------

namespace systask::bench {
BOOST_DESCRIBE_STRUCT(plain_message, (), (timestamp, log_level, logger, event, attributes))
BOOST_DESCRIBE_STRUCT(plain_run, (), (uuid, name, uid, description, start, finish, expires, duration, status, messages))
BOOST_DESCRIBE_STRUCT(plain_status, (), (is_running, tasks))
}  // namespace systask::bench

namespace std::chrono {
// Time points as RFC 3339 strings (found by ADL from the time point's namespace).
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const system_clock::time_point& t) {
  v = boost::json::string(systask::format_timestamp(t));
}
}  // namespace std::chrono

// --- nlohmann ---------------------------------------------------------------------------------

namespace systask::bench {
inline void to_json(nlohmann::json& j, const plain_message& m) {
  j = nlohmann::json{{"timestamp", systask::format_timestamp(m.timestamp)},
                     {"log_level", m.log_level},
                     {"logger", m.logger},
                     {"event", m.event},
                     {"attributes", m.attributes}};
}
inline void to_json(nlohmann::json& j, const plain_run& r) {
  j = nlohmann::json{{"uuid", r.uuid},
                     {"name", r.name},
                     {"full_name", r.name + ":" + r.uid},
                     {"uid", r.uid},
                     {"description", r.description},
                     {"start_timestamp", systask::format_timestamp(r.start)},
                     {"finish_timestamp", systask::format_timestamp(r.finish)},
                     {"duration", r.duration},
                     {"status", r.status},
                     {"messages", r.messages},
                     {"expires", systask::format_timestamp(r.expires)},
                     {"expiring", true}};
}
inline void to_json(nlohmann::json& j, const plain_status& s) {
  j = nlohmann::json{{"is_running", s.is_running}, {"tasks", s.tasks}};
}
}  // namespace systask::bench

namespace {

const std::pair<int, int> shapes[] = {{1, 10}, {1, 100}, {1, 1000}, {16, 100}};

void shape_args(benchmark::internal::Benchmark* b) {
  for (auto [runs, messages] : shapes) b->Args({runs, messages});
  b->ArgNames({"runs", "messages"});
}

void BM_status_systask(benchmark::State& state) {
  systask_world world(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 0);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = world.status();
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_status_systask)->Apply(shape_args);

void BM_status_rapidjson_plain(benchmark::State& state) {
  const auto plain = make_plain(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  rapidjson::StringBuffer sbuf;
  sbuf.Reserve(1 << 20);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = rapidjson_plain(plain, sbuf);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_status_rapidjson_plain)->Apply(shape_args);

void BM_status_boost_json(benchmark::State& state) {
  const auto plain = make_plain(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = boost::json::serialize(boost::json::value_from(plain));
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_status_boost_json)->Apply(shape_args);

void BM_status_nlohmann(benchmark::State& state) {
  const auto plain = make_plain(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = nlohmann::json(plain).dump();
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_status_nlohmann)->Apply(shape_args);

void BM_status_memcpy_ceiling(benchmark::State& state) {
  systask_world world(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 0);
  const std::string body = world.status();
  std::string out(body.size(), '\0');
  for (auto _ : state) {
    std::memcpy(out.data(), body.data(), body.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_status_memcpy_ceiling)->Apply(shape_args);

// The same 1x100 status with other runs in the registry: reading one provider must not pay for
// the others.
void BM_status_with_other_runs(benchmark::State& state) {
  systask_world world(1, 100, static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(world.status());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_status_with_other_runs)->Arg(0)->Arg(1000)->Arg(100000)->ArgName("other_runs");

}  // namespace

BENCHMARK_MAIN();
