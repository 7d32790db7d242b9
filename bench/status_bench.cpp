// SPDX-License-Identifier: BSL-1.0
// Sync-status JSON for one provider: systask (the facade's whole request path: token check,
// routing, snapshot, JSON, copy into the response) next to the peers, each serializing a plain
// model built from systask's own records:
// - RapidJSON over plain structs (messages serialized at read time);
// - RapidJSON + RawValue (messages rendered with RapidJSON once, spliced at read time);
// - Boost.JSON: value_from into a monotonic_resource per request, a reused serializer reading
//   into a reserved buffer;
// - nlohmann::json, idiomatic (a reference row; no target);
// - memcpy of systask's body (a reference ceiling).
// Before any of them is timed, each peer's body is checked equivalent to systask's (parsed,
// compared as values, member order ignored); a mismatch fails the run. Shapes runs x messages:
// 1x10, 1x100, 1x300, 1x1000 (the per-message slope is fitted over these) and 16x100; the fixed
// cost is a provider with no runs; the 1x100 status is also read with other runs in the registry.

#include "bench_support.hpp"
#include "plain_model.hpp"
#include "rapidjson_peers.hpp"
#include "bench_facade.hpp"

#include <systask/api/facade.hpp>
#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <boost/json/src.hpp>  // Boost.JSON header-only, in this one translation unit
#include <nlohmann/json.hpp>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>

namespace sb = systask::bench;

// --- Boost.JSON conversions (found by argument-dependent lookup) --------------------------------

namespace systask::bench {

namespace {
boost::json::string_view json_time(wall_time t, char (&buf)[timestamp_length]) {
  format_timestamp(t, buf);
  return {buf, timestamp_length};
}
boost::json::string_view sv(std::string_view s) { return {s.data(), s.size()}; }
}  // namespace

inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const plain_message& m) {
  char buf[timestamp_length];
  auto& o = jv.emplace_object();
  o.reserve(5);
  o.emplace("timestamp", json_time(m.timestamp, buf));
  o.emplace("log_level", sv(to_string(m.level)));
  o.emplace("logger", sv(m.logger));
  o.emplace("event", sv(m.event));
  auto& attrs = o.emplace("attributes", boost::json::object(o.storage())).first->value().as_object();
  attrs.reserve(m.attributes.size());
  for (const auto& [k, v] : m.attributes) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            attrs.emplace(sv(k), sv(x));
          } else {
            attrs.emplace(sv(k), x);
          }
        },
        v);
  }
}

inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const plain_run& r) {
  char buf[timestamp_length];
  auto& o = jv.emplace_object();
  o.reserve(12);
  o.emplace("uuid", sv(r.uuid));
  o.emplace("name", sv(r.name));
  if (r.uid.empty()) {
    o.emplace("full_name", sv(r.name));
  } else {
    boost::json::string full(o.storage());
    full.reserve(r.name.size() + 1 + r.uid.size());
    full.append(sv(r.name)).push_back(':');
    full.append(sv(r.uid));
    o.emplace("full_name", std::move(full));
    o.emplace("uid", sv(r.uid));
  }
  o.emplace("description", sv(r.description));
  o.emplace("start_timestamp", json_time(r.start, buf));
  o.emplace("finish_timestamp", json_time(r.finish, buf));
  o.emplace("duration", r.duration);
  o.emplace("status", sv(to_string(r.status)));
  auto& messages = o.emplace("messages", boost::json::array(o.storage())).first->value().as_array();
  messages.reserve(r.messages.size());
  for (const auto& m : r.messages) messages.push_back(boost::json::value_from(m, o.storage()));
  if (r.expires) {
    o.emplace("expires", json_time(*r.expires, buf));
  } else {
    o.emplace("expires", nullptr);
  }
  o.emplace("expiring", r.expires.has_value());
}

inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const plain_status& s) {
  char buf[timestamp_length];
  auto& o = jv.emplace_object();
  o.reserve(4);
  o.emplace("is_running", s.is_running);
  auto& tasks = o.emplace("tasks", boost::json::array(o.storage())).first->value().as_array();
  tasks.reserve(s.tasks.size());
  for (const auto& r : s.tasks) tasks.push_back(boost::json::value_from(r, o.storage()));
  if (s.last_successful_sync) o.emplace("last_successful_sync", json_time(*s.last_successful_sync, buf));
  if (s.last_sync_status) o.emplace("last_sync_status", sv(to_string(*s.last_sync_status)));
}

// --- nlohmann, idiomatic ------------------------------------------------------------------------

inline void to_json(nlohmann::json& j, const plain_message& m) {
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& [k, v] : m.attributes) {
    std::visit([&](const auto& x) { attrs[k] = x; }, v);
  }
  j = nlohmann::json{{"timestamp", format_timestamp(m.timestamp)},
                     {"log_level", to_string(m.level)},
                     {"logger", m.logger},
                     {"event", m.event},
                     {"attributes", std::move(attrs)}};
}
inline void to_json(nlohmann::json& j, const plain_run& r) {
  j = nlohmann::json{{"uuid", r.uuid},
                     {"name", r.name},
                     {"full_name", r.uid.empty() ? r.name : r.name + ":" + r.uid},
                     {"description", r.description},
                     {"start_timestamp", format_timestamp(r.start)},
                     {"finish_timestamp", format_timestamp(r.finish)},
                     {"duration", r.duration},
                     {"status", to_string(r.status)},
                     {"messages", r.messages},
                     {"expires", r.expires ? nlohmann::json(format_timestamp(*r.expires)) : nlohmann::json(nullptr)},
                     {"expiring", r.expires.has_value()}};
  if (!r.uid.empty()) j["uid"] = r.uid;
}
inline void to_json(nlohmann::json& j, const plain_status& s) {
  j = nlohmann::json{{"is_running", s.is_running}, {"tasks", s.tasks}};
  if (s.last_successful_sync) j["last_successful_sync"] = format_timestamp(*s.last_successful_sync);
  if (s.last_sync_status) j["last_sync_status"] = to_string(*s.last_sync_status);
}

}  // namespace systask::bench

namespace {

// One provider's runs in a registry on a manual clock (so bodies are reproducible), the facade
// over it, systask's body, and the peers' models built from systask's records. Built once per
// shape and shared by every row of that shape.
struct status_world {
  boost::asio::io_context io;
  std::shared_ptr<systask::manual_clock> clock = std::make_shared<systask::manual_clock>();
  std::unique_ptr<systask::registry> reg;
  std::unique_ptr<systask::api::facade> api;
  std::string systask_body;
  sb::plain_status plain;
  sb::rendered_status rendered;

  status_world(int runs, int messages, int other_runs) {
    systask::task_options o;
    o.history_depth = static_cast<std::size_t>(std::max(runs, 1));
    reg = std::make_unique<systask::registry>(io, systask::registry_options{o, clock});
    reg->register_provider("google_workspace", 1, "Acme Google Workspace");
    int n = 0;
    for (int r = 0; r < runs; ++r) {
      systask::run run = reg->start(reg->sync_spec("google_workspace", 1, "Run full sync for provider \"Acme\""));
      for (int i = 0; i < messages; ++i) {
        clock->advance(std::chrono::microseconds(1234));
        sb::log_input(run, sb::sample_input(n++));
      }
      clock->advance(std::chrono::milliseconds(1500));
      run.finish(r % 3 == 2 ? systask::task_status::warning : systask::task_status::successful);
    }
    for (int i = 0; i < other_runs; ++i) {
      systask::run_spec spec;
      spec.name = "other_task";
      spec.uid = std::to_string(i);
      reg->start(spec).finish(systask::task_status::successful);
    }
    io.poll();
    api = sb::make_bench_facade(*reg);
    const auto response = api->handle(request());
    if (response.status != 200) sb::fail_run("the status request was answered " + std::to_string(response.status));
    systask_body = response.body;
    plain = sb::plain_status_of(*reg->sync_status("google_workspace", 1));
    rendered = sb::rendered_status_of(plain);
  }

  static systask::api::request request() {
    auto req = systask::api::request::from_target("GET", "/api/v3/providers/google_workspace/1/sync/status/");
    req.headers.emplace_back("Authorization", "Bearer bench");
    return req;
  }
  std::string status() const { return api->handle(request()).body; }
};

status_world& world(int runs, int messages, int other_runs = 0) {
  static std::map<std::tuple<int, int, int>, std::unique_ptr<status_world>> worlds;
  auto& w = worlds[{runs, messages, other_runs}];
  if (!w) w = std::make_unique<status_world>(runs, messages, other_runs);
  return *w;
}

// Checks a peer's body against systask's once per (peer, shape), before the peer is timed.
void check_once(const char* peer, int runs, int messages, const std::string& body) {
  static std::set<std::tuple<std::string, int, int>> checked;
  if (!checked.insert({peer, runs, messages}).second) return;
  sb::require_equivalent(std::string(peer) + " " + std::to_string(runs) + "x" + std::to_string(messages),
                         world(runs, messages).systask_body, body);
}

// Times `body()`, the row's whole read; records the body's own size and MB/s from it.
template <class Body>
void time_body(benchmark::State& state, Body&& body) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string b = body();
    bytes = b.size();
    benchmark::DoNotOptimize(b);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

const std::pair<int, int> shapes[] = {{1, 10}, {1, 100}, {1, 300}, {1, 1000}, {16, 100}};

void shape_args(benchmark::internal::Benchmark* b) {
  for (auto [runs, messages] : shapes) b->Args({runs, messages});
  b->ArgNames({"runs", "messages"});
  b->UseRealTime();
}

int runs_of(const benchmark::State& s) { return static_cast<int>(s.range(0)); }
int messages_of(const benchmark::State& s) { return static_cast<int>(s.range(1)); }

void BM_status_systask(benchmark::State& state) {
  auto& w = world(runs_of(state), messages_of(state));
  if (w.status() != w.systask_body) sb::fail_run("systask's status body changed between two reads");
  time_body(state, [&] { return w.status(); });
}
BENCHMARK(BM_status_systask)->Apply(shape_args);

void BM_status_rapidjson_plain(benchmark::State& state) {
  auto& w = world(runs_of(state), messages_of(state));
  rapidjson::StringBuffer buf;
  buf.Reserve(1 << 20);
  check_once("rapidjson_plain", runs_of(state), messages_of(state), sb::status_body(w.plain, buf));
  time_body(state, [&] { return sb::status_body(w.plain, buf); });
}
BENCHMARK(BM_status_rapidjson_plain)->Apply(shape_args);

void BM_status_rapidjson_rawvalue(benchmark::State& state) {
  auto& w = world(runs_of(state), messages_of(state));
  rapidjson::StringBuffer buf;
  buf.Reserve(1 << 20);
  check_once("rapidjson_rawvalue", runs_of(state), messages_of(state), sb::status_body(w.rendered, buf));
  time_body(state, [&] { return sb::status_body(w.rendered, buf); });
}
BENCHMARK(BM_status_rapidjson_rawvalue)->Apply(shape_args);

// What Boost.JSON keeps between requests: a warm block for the per-request monotonic_resource,
// the serializer, and the output buffer it reads into.
struct boost_json_state {
  static constexpr std::size_t arena_bytes = std::size_t{4} << 20;
  std::unique_ptr<unsigned char[]> arena = std::make_unique<unsigned char[]>(arena_bytes);
  boost::json::serializer serializer;
  std::string out = std::string(std::size_t{1} << 20, '\0');

  std::string body(const sb::plain_status& s) {
    boost::json::monotonic_resource mr(arena.get(), arena_bytes);
    const boost::json::value jv = boost::json::value_from(s, boost::json::storage_ptr(&mr));
    serializer.reset(&jv);
    std::size_t len = 0;
    while (!serializer.done()) {
      if (len == out.size()) out.resize(out.size() * 2);
      len += serializer.read(out.data() + len, out.size() - len).size();
    }
    return {out.data(), len};
  }
};

void BM_status_boost_json(benchmark::State& state) {
  auto& w = world(runs_of(state), messages_of(state));
  boost_json_state bj;
  check_once("boost_json", runs_of(state), messages_of(state), bj.body(w.plain));
  time_body(state, [&] { return bj.body(w.plain); });
}
BENCHMARK(BM_status_boost_json)->Apply(shape_args);

void BM_status_nlohmann(benchmark::State& state) {
  auto& w = world(runs_of(state), messages_of(state));
  check_once("nlohmann", runs_of(state), messages_of(state), nlohmann::json(w.plain).dump());
  time_body(state, [&] { return nlohmann::json(w.plain).dump(); });
}
BENCHMARK(BM_status_nlohmann)->Apply(shape_args);

void BM_status_memcpy_ceiling(benchmark::State& state) {
  auto& w = world(runs_of(state), messages_of(state));
  const std::string& body = w.systask_body;
  std::string out(body.size(), '\0');
  for (auto _ : state) {
    std::memcpy(out.data(), body.data(), body.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_status_memcpy_ceiling)->Apply(shape_args);

// The fixed cost: a registered provider with no runs, through the facade.
void BM_status_fixed_cost(benchmark::State& state) {
  auto& w = world(0, 0);
  time_body(state, [&] { return w.status(); });
}
BENCHMARK(BM_status_fixed_cost)->UseRealTime();

// The 1x100 status with other runs in the registry: a regression guard (reading one provider
// must not pay for the others).
// Rows are named none/small/large, so that smoke runs (tiny sizes) keep the names; the counter
// says how many.
void BM_status_with_other_runs(benchmark::State& state, int other_runs) {
  auto& w = world(1, 100, other_runs);
  if (w.systask_body.size() != world(1, 100).systask_body.size()) {
    sb::fail_run("other runs changed the provider's status body");
  }
  time_body(state, [&] { return w.status(); });
  state.counters["other_runs"] = other_runs;
}
BENCHMARK_CAPTURE(BM_status_with_other_runs, none, 0)->UseRealTime();
BENCHMARK_CAPTURE(BM_status_with_other_runs, small, static_cast<int>(sb::sized(1000, 10)))->UseRealTime();
BENCHMARK_CAPTURE(BM_status_with_other_runs, large, static_cast<int>(sb::sized(100000, 100)))->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
