// SPDX-License-Identifier: BSL-1.0
#include <systask/api/facade.hpp>
#include <systask/engine/limits.hpp>
#include <systask/engine/render.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace systask::api {
namespace {

// A label value as the text format wants it: valid UTF-8 (invalid bytes become U+FFFD, as in
// every JSON body; a provider's kind reaches the task name unrepaired) with \\, \" and \n
// escaped.
void append_escaped_label(std::string& out, std::string_view v) {
  std::string repaired;
  if (!is_valid_utf8(v)) {
    // Each invalid byte becomes 3 bytes at most, so this bound never cuts.
    repaired = make_safe_text(v, 3 * v.size() + sizeof limits::truncation_marker);
    v = repaired;
  }
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
}

void labels(std::string& out, const task_counters& c, std::string_view extra_key = {}, std::string_view extra = {}) {
  out += "{name=\"";
  append_escaped_label(out, c.name);
  out += "\",uid=\"";
  append_escaped_label(out, c.uid);
  out += '"';
  if (!extra_key.empty()) {
    out += ',';
    out += extra_key;
    out += "=\"";
    append_escaped_label(out, extra);
    out += '"';
  }
  out += '}';
}

// {k1="v1",k2="v2"} for label pairs whose values are escaped.
void label_set(std::string& out, std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : pairs) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_escaped_label(out, v);
    out += '"';
  }
  out += '}';
}

double seconds_since_epoch(wall_time t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

void number(std::string& out, double v) {
  char buf[32];
  out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}
void number(std::string& out, std::uint64_t v) { out += std::to_string(v); }

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// One histogram's series: name_bucket (cumulative, one per bound and +Inf), name_sum and
// name_count. `write_labels(out, le)` writes the label set, with `le` when it is not empty.
template <class Labels>
void histogram_lines(std::string& out, std::string_view name, std::span<const double> bounds,
                     std::span<const std::uint64_t> counts, double sum, Labels write_labels) {
  // One sample line: name + suffix, the label set, the value.
  const auto sample = [&](std::string_view suffix, std::string_view le, auto value) {
    out += name;
    out += suffix;
    write_labels(out, le);
    out += ' ';
    number(out, value);
    out += '\n';
  };
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < counts.size(); ++b) {
    cumulative += counts[b];
    std::string le = "+Inf";
    if (b < bounds.size()) {
      le.clear();
      number(le, bounds[b]);
    }
    sample("_bucket", le, cumulative);
  }
  sample("_sum", std::string_view{}, sum);
  sample("_count", std::string_view{}, cumulative);
}

// A name that can follow "systask_store_": [a-z][a-z0-9_]*.
bool valid_store_series_name(const std::string& n) {
  if (n.empty() || n.front() < 'a' || n.front() > 'z') return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// The stores' series of one kind (store_stats::extra or ::histograms), one per name in order of
// appearance, those `keep` accepts only.
template <class Series, class Keep>
std::vector<const Series*> series_by_name(const std::vector<store_stats>& stores, std::vector<Series> store_stats::*member,
                                          Keep keep) {
  std::vector<const Series*> kinds;
  for (const auto& st : stores) {
    for (const auto& m : st.*member) {
      if (!keep(m)) continue;
      if (std::none_of(kinds.begin(), kinds.end(), [&](const Series* k) { return k->name == m.name; })) {
        kinds.push_back(&m);
      }
    }
  }
  return kinds;
}

}  // namespace

std::string render_metrics(const registry& reg) {
  const auto all = reg.counters();
  std::string out;
  out.reserve(256 + all.size() * 1024);

  header(out, "systask_runs_finished_total", "counter", "Runs finished, by task and final status.");
  for (const auto& c : all) {
    for (std::size_t s = 0; s < c.finished_by_status.size(); ++s) {
      out += "systask_runs_finished_total";
      labels(out, c, "status", to_string(static_cast<task_status>(s)));
      out += ' ';
      number(out, c.finished_by_status[s]);
      out += '\n';
    }
  }
  header(out, "systask_run_duration_seconds", "histogram", "Duration of finished runs (monotonic clock).");
  for (const auto& c : all) {
    histogram_lines(out, "systask_run_duration_seconds", duration_buckets, c.duration_histogram, c.duration_sum,
                    [&](std::string& o, std::string_view le) {
                      if (le.empty()) {
                        labels(o, c);
                      } else {
                        labels(o, c, "le", le);
                      }
                    });
  }
  const struct {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t task_counters::*field;
  } simple[] = {
      {"systask_runs_running", "gauge", "Runs in progress now.", &task_counters::running},
      {"systask_runs_retained", "gauge", "Finished, unexpired run records held.", &task_counters::retained_runs},
      {"systask_messages_retained", "gauge", "Messages held by retained and running runs.",
       &task_counters::retained_messages},
      {"systask_messages_dropped_total", "counter", "Messages lost to full message rings.",
       &task_counters::dropped_messages},
  };
  for (const auto& m : simple) {
    header(out, m.name, m.type, m.help);
    for (const auto& c : all) {
      out += m.name;
      labels(out, c);
      out += ' ';
      number(out, c.*m.field);
      out += '\n';
    }
  }

  // Batch-job metrics (issue 13): messages by level, last success per task key, provider syncs.
  header(out, "systask_messages_total", "counter",
         "Messages of finished runs by level, tallied when each run finishes (retained messages only).");
  for (const auto& c : all) {
    for (std::size_t l = 0; l < c.messages_by_level.size(); ++l) {
      out += "systask_messages_total";
      labels(out, c, "level", to_string(static_cast<log_level>(l)));
      out += ' ';
      number(out, c.messages_by_level[l]);
      out += '\n';
    }
  }
  header(out, "systask_last_success_timestamp_seconds", "gauge",
         "Finish time of the task's last successful run (Unix seconds), kept after its record expires.");
  for (const auto& c : all) {
    if (!c.last_success) continue;
    out += "systask_last_success_timestamp_seconds";
    labels(out, c);
    out += ' ';
    number(out, seconds_since_epoch(*c.last_success));
    out += '\n';
  }
  const auto providers = reg.providers();
  header(out, "systask_provider_sync_running", "gauge", "1 while a sync of the provider holds its sync lock, else 0.");
  for (const auto& p : providers) {
    out += "systask_provider_sync_running";
    const std::string id = std::to_string(p.provider.id);
    label_set(out, {{"kind", p.provider.kind}, {"id", id}});
    out += p.sync_running ? " 1\n" : " 0\n";
  }

  // Stores (registry::attach_store), one label set per backend.
  const auto stores = reg.store_stats();
  if (!stores.empty()) {
    const struct {
      const char* name;
      const char* type;
      const char* help;
      std::uint64_t store_stats::*field;
    } store_counts[] = {
        {"systask_store_pending_runs", "gauge", "Finished runs waiting to be written to the store.", &store_stats::pending},
        {"systask_store_written_runs_total", "counter", "Finished runs written to the store.", &store_stats::written},
        {"systask_store_dropped_runs_total", "counter", "Finished runs that will never be written to the store.",
         &store_stats::dropped},
        {"systask_store_write_errors_total", "counter", "Failed write attempts of the store.", &store_stats::write_errors},
    };
    for (const auto& m : store_counts) {
      header(out, m.name, m.type, m.help);
      for (const auto& st : stores) {
        out += m.name;
        label_set(out, {{"backend", st.backend}});
        out += ' ';
        number(out, st.*m.field);
        out += '\n';
      }
    }
    header(out, "systask_store_last_success_timestamp_seconds", "gauge",
           "When a write to the store last succeeded (Unix seconds).");
    for (const auto& st : stores) {
      if (!st.last_success) continue;
      out += "systask_store_last_success_timestamp_seconds";
      label_set(out, {{"backend", st.backend}});
      out += ' ';
      number(out, seconds_since_epoch(*st.last_success));
      out += '\n';
    }
    // The backends' own series (store_stats::extra, then ::histograms), grouped by name in order
    // of appearance. A name that is not a valid metric name suffix is skipped rather than break
    // the page, and so is a histogram whose counts do not match its bounds.
    for (const store_metric* kind :
         series_by_name(stores, &store_stats::extra, [](const store_metric& m) { return valid_store_series_name(m.name); })) {
      const std::string name = "systask_store_" + kind->name;
      header(out, name, kind->counter ? "counter" : "gauge", kind->help);
      for (const auto& st : stores) {
        for (const auto& m : st.extra) {
          if (m.name != kind->name) continue;
          out += name;
          label_set(out, {{"backend", st.backend}});
          out += ' ';
          number(out, m.value);
          out += '\n';
          break;
        }
      }
    }
    const auto well_formed = [](const store_histogram& h) {
      return valid_store_series_name(h.name) && h.counts.size() == h.bounds.size() + 1;
    };
    for (const store_histogram* kind : series_by_name(stores, &store_stats::histograms, well_formed)) {
      const std::string name = "systask_store_" + kind->name;
      header(out, name, "histogram", kind->help);
      for (const auto& st : stores) {
        for (const auto& h : st.histograms) {
          if (h.name != kind->name || !well_formed(h)) continue;
          histogram_lines(out, name, h.bounds, h.counts, h.sum, [&](std::string& o, std::string_view le) {
            if (le.empty()) {
              label_set(o, {{"backend", st.backend}});
            } else {
              label_set(o, {{"backend", st.backend}, {"le", le}});
            }
          });
          break;
        }
      }
    }
    header(out, "systask_store_state", "gauge", "The store's state: 1 for the current one, 0 for the others.");
    for (const auto& st : stores) {
      for (std::size_t i = 0; i < systask::detail::enum_names<store_state>.size(); ++i) {
        const auto state = static_cast<store_state>(i);
        out += "systask_store_state";
        label_set(out, {{"backend", st.backend}, {"state", to_string(state)}});
        out += st.state == state ? " 1\n" : " 0\n";
      }
    }
  }
  return out;
}

}  // namespace systask::api
