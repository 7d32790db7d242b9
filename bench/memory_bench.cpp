// SPDX-License-Identifier: BSL-1.0
// Memory: what the engine holds, as malloc's own footprint (glibc mallinfo2: bytes in use in
// every arena plus mmapped blocks, so chunk headers, alignment and rounding are counted), and
// the process's resident memory where the question is about the machine. Deterministic: one
// pass each (no repetitions). Allocation calls are counted by replacing operator new, which
// forwards to malloc unchanged (counting_allocator.cpp).
// - finished_run/{empty,one,ten}: a finished run with 0, 1 and 10 messages, all of it (record
//   and ring), averaged over many runs of one task key;
// - message_mix/{small,mid,large}: one run of 37, 1,001 and 3,001 messages (not multiples of the
//   ring's 64-slot chunk) with event texts from 50 to 2,000 bytes; the footprint it adds over an
//   empty run, per message, against the message's JSON size, in steady state (the second run of
//   that size: the first one's growth of fixed caches is reported apart);
// - task_keys: 100,000 task keys with one finished run of one message each: resident memory
//   added, and the footprint per key;
// - chunk_pool: the dead rings' chunks the engine keeps for the next rings (at most 2 MiB),
//   filled before the rows below so that they measure runs in steady state;
// - key_alone: 100,000 task keys whose runs left no record (keep_on_success = false): what a
//   key costs by itself, for ever (keys are never removed);
// - churn: 1,000,000 runs over 64 keys with a short retention; resident memory stays flat.

#include "bench_support.hpp"
#include "counting_allocator.hpp"
#include "plain_model.hpp"
#include "resident_memory.hpp"

#include <systask/engine.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <malloc.h>

#include <cmath>
#include <string>
#include <vector>

namespace sb = systask::bench;

namespace {

using systask::test::resident_kib;

/// Bytes malloc has handed out and not had back, chunk overhead included.
std::int64_t heap_footprint() {
  const struct mallinfo2 mi = mallinfo2();
  return static_cast<std::int64_t>(mi.uordblks + mi.hblkhd);
}

struct registry_host {
  boost::asio::io_context io;
  std::unique_ptr<systask::registry> reg;
  explicit registry_host(systask::task_options o = {}) {
    reg = std::make_unique<systask::registry>(io, systask::registry_options{o});
  }
  void settle() {
    io.poll();
    if (io.stopped()) io.restart();
  }
};

void log_messages(systask::run& r, int messages) {
  for (int i = 0; i < messages; ++i) sb::log_input(r, sb::sample_input(i));
}

void BM_memory_task_keys(benchmark::State& state) {
  const int keys = static_cast<int>(sb::sized(100000, 1000));
  double rss_added = 0, per_key = 0, rss_end = 0;
  for (auto _ : state) {
    registry_host h;
    const long rss_before = resident_kib();
    const std::int64_t before = heap_footprint();
    for (int i = 0; i < keys; ++i) {
      systask::run_spec spec;
      spec.name = "sync_user";
      spec.uid = "user-" + std::to_string(i);
      systask::run r = h.reg->start(spec);
      sb::log_input(r, sb::sample_input(i));
      r.finish(systask::task_status::successful);
    }
    h.settle();
    rss_end = static_cast<double>(resident_kib());
    rss_added = (rss_end - static_cast<double>(rss_before)) * 1024;
    per_key = static_cast<double>(heap_footprint() - before) / keys;
  }
  // Hand the freed pages back, so the rows after this one read resident memory from a small heap.
  malloc_trim(0);
  state.counters["keys"] = keys;
  state.counters["rss_bytes_added"] = rss_added;
  state.counters["rss_bytes_at_end"] = rss_end * 1024;
  state.counters["bytes_per_key"] = per_key;
}
// First: resident memory is read for the whole process, before other rows leave freed pages.
BENCHMARK(BM_memory_task_keys)->Iterations(1)->Unit(benchmark::kMillisecond);

// The chunk pool (engine/src/message_ring.cpp) keeps up to 128 of dead rings' 16 KiB chunks for
// the next rings: at most 2 MiB per process, whatever the number of runs or messages. A run
// longer than 64 messages takes chunks from it and gives them back when its record is frozen, so
// a per-message figure read while the pool fills would charge that fixed cache to the messages
// (1,001 messages read 1,559 B each at 25401d0 with the pool empty, 496 B at 3,001 with it
// half full). Filled here, before the per-message rows, and reported alone.
void BM_memory_chunk_pool(benchmark::State& state) {
  double added = 0;
  for (auto _ : state) {
    systask::task_options o;
    o.keep_on_success = false;  // no record: the ring dies at the finish and gives its chunks
    o.max_messages = 128 * 64;  // 128 chunks of 64 slots: the pool's capacity
    registry_host h(o);
    systask::run_spec spec;
    spec.name = "memory_pool";
    h.reg->start(spec).finish(systask::task_status::successful);  // the key exists first
    h.settle();
    const std::int64_t before = heap_footprint();
    {
      systask::run r = h.reg->start(spec);
      log_messages(r, static_cast<int>(o.max_messages));
      r.finish(systask::task_status::successful);
    }
    h.settle();
    if (h.reg->records_held() != 0) sb::fail_run("a successful run with keep_on_success = false left a record");
    added = static_cast<double>(heap_footprint() - before);
  }
  state.counters["pool_bytes_added"] = added;
}
BENCHMARK(BM_memory_chunk_pool)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_memory_finished_run(benchmark::State& state, int messages) {
  const int runs = static_cast<int>(sb::sized(1000, 20));
  double per_run = 0, allocs_per_run = 0;
  for (auto _ : state) {
    systask::task_options o;
    o.history_depth = static_cast<std::size_t>(runs) + 1;
    registry_host h(o);
    systask::run_spec spec;
    spec.name = "memory";
    // The task key exists before the measurement: its cost is key_alone's.
    h.reg->start(spec).finish(systask::task_status::successful);
    h.settle();
    const std::int64_t before = heap_footprint();
    const std::uint64_t allocs_before = sb::allocation_count();
    for (int r = 0; r < runs; ++r) {
      systask::run run = h.reg->start(spec);
      log_messages(run, messages);
      run.finish(systask::task_status::successful);
    }
    h.settle();
    if (h.reg->records_held() != static_cast<std::size_t>(runs) + 1) sb::fail_run("a finished run was not kept");
    per_run = static_cast<double>(heap_footprint() - before) / runs;
    allocs_per_run = static_cast<double>(sb::allocation_count() - allocs_before) / runs;
  }
  state.counters["messages"] = messages;
  state.counters["bytes_per_run"] = per_run;
  state.counters["allocations_per_run"] = allocs_per_run;
}
BENCHMARK_CAPTURE(BM_memory_finished_run, empty, 0)->Iterations(1);
BENCHMARK_CAPTURE(BM_memory_finished_run, one, 1)->Iterations(1);
BENCHMARK_CAPTURE(BM_memory_finished_run, ten, 10)->Iterations(1);

// Event text of 50..2,000 bytes, log-uniform, from a fixed sequence (the same every run).
std::string mixed_event(int i) {
  const double u = std::fmod(static_cast<double>(i) * 0.6180339887498949, 1.0);
  const auto n = static_cast<std::size_t>(50.0 * std::pow(40.0, u));
  std::string s = "Synced object " + std::to_string(i) + ": ";
  while (s.size() < n) s += "attribute changed; ";
  s.resize(n);
  return s;
}

void BM_memory_message_mix(benchmark::State& state, int messages) {
  double per_message = 0, json = 0, first_extra = 0;
  for (auto _ : state) {
    systask::task_options o;
    o.history_depth = 4;  // nothing is replaced while measuring (the key's run, first, empty, full)
    registry_host h(o);
    systask::run_spec spec;
    spec.name = "memory_mix";
    h.reg->start(spec).finish(systask::task_status::successful);  // the key exists first
    h.settle();
    std::vector<std::string> events;
    for (int i = 0; i < messages; ++i) events.push_back(mixed_event(i));
    const auto full = [&] {
      const std::int64_t before = heap_footprint();
      {
        systask::run r = h.reg->start(spec);
        for (int i = 0; i < messages; ++i) r.info(events[static_cast<std::size_t>(i)], {{"object", i}});
        r.finish(systask::task_status::successful);
      }  // the handle goes: the live record with it
      h.settle();
      return heap_footprint() - before;
    };
    // The first run of this size also grows the finishing thread's packing scratch (kept up to
    // 1 MiB per thread, engine/src/run_lifecycle.cpp) and may take chunks the pool did not
    // have: fixed caches, reported apart (first_run_extra_bytes). The second, measured, is a
    // host's steady state: what each further run of this size holds.
    const std::int64_t first_run = full();
    std::int64_t before = heap_footprint();
    h.reg->start(spec).finish(systask::task_status::successful);
    h.settle();
    const std::int64_t empty_run = heap_footprint() - before;
    const std::int64_t full_run = full();
    first_extra = static_cast<double>(first_run - full_run);
    std::string body;
    h.reg->tasks("memory_mix", "")[0].write_messages_json(body);
    per_message = static_cast<double>(full_run - empty_run) / messages;
    json = static_cast<double>(body.size() - 2 - static_cast<std::size_t>(messages - 1)) / messages;
  }
  state.counters["messages"] = messages;
  state.counters["bytes_per_message"] = per_message;
  state.counters["json_bytes_per_message"] = json;
  state.counters["target_bytes"] = 1.5 * json + 64;
  state.counters["first_run_extra_bytes"] = first_extra;
}
BENCHMARK_CAPTURE(BM_memory_message_mix, small, 37)->Iterations(1);
BENCHMARK_CAPTURE(BM_memory_message_mix, mid, 1001)->Iterations(1);
BENCHMARK_CAPTURE(BM_memory_message_mix, large, 3001)->Iterations(1);

void BM_memory_key_alone(benchmark::State& state) {
  const int keys = static_cast<int>(sb::sized(100000, 1000));
  double per_key = 0;
  for (auto _ : state) {
    systask::task_options o;
    o.keep_on_success = false;
    registry_host h(o);
    const std::int64_t before = heap_footprint();
    for (int i = 0; i < keys; ++i) {
      systask::run_spec spec;
      spec.name = "sync_user";
      spec.uid = "user-" + std::to_string(i);
      h.reg->start(spec).finish(systask::task_status::successful);
    }
    h.settle();
    if (h.reg->records_held() != 0) sb::fail_run("a successful run with keep_on_success = false left a record");
    per_key = static_cast<double>(heap_footprint() - before) / keys;
  }
  state.counters["keys"] = keys;
  state.counters["bytes_per_key"] = per_key;
}
BENCHMARK(BM_memory_key_alone)->Iterations(1)->Unit(benchmark::kMillisecond);

// Resident memory across a churn of runs over 64 keys with a short retention.
void BM_memory_churn(benchmark::State& state) {
  const long total = sb::sized(1'000'000, 10'000);
  long rss_early = 0, rss_end = 0, held_end = 0;
  malloc_trim(0);
  for (auto _ : state) {
    auto clock = std::make_shared<systask::manual_clock>();
    boost::asio::io_context io;
    systask::task_options o;
    o.retention = std::chrono::seconds(1);
    systask::registry reg(io, systask::registry_options{o, clock});
    for (long i = 0; i < total; ++i) {
      systask::run_spec spec;
      spec.name = "churn";
      spec.uid = std::to_string(i % 64);
      systask::run r = reg.start(spec);
      r.info("synced", {{"n", i}});
      r.finish(i % 10 ? systask::task_status::successful : systask::task_status::error);
      if (i % 1000 == 999) {
        clock->advance(std::chrono::seconds(2));
        // poll() stops a context that has run out of work (no timer armed once everything is
        // reclaimed); restart it as Asio requires, or later posts would queue up unrun.
        io.restart();
        io.poll();
        reg.reclaim_expired();
        io.restart();
        io.poll();
      }
      if (i == total / 10) rss_early = resident_kib();
    }
    rss_end = resident_kib();
    held_end = static_cast<long>(reg.records_held());
  }
  state.counters["runs"] = static_cast<double>(total);
  state.counters["rss_kib_at_10pct"] = static_cast<double>(rss_early);
  state.counters["rss_kib_at_end"] = static_cast<double>(rss_end);
  state.counters["rss_growth_ratio"] = rss_early ? static_cast<double>(rss_end) / static_cast<double>(rss_early) : 0;
  state.counters["records_held_at_end"] = static_cast<double>(held_end);
}
BENCHMARK(BM_memory_churn)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
