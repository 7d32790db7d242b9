// SPDX-License-Identifier: BSL-1.0
#pragma once

// A throwaway PostgreSQL 15 cluster for tests (docs/store.md, "Replicas (PostgreSQL)"): a data
// directory in a mktemp directory (copied from a template initdb'd once per process), a server
// on a free TCP port of 127.0.0.1 with its socket in that directory, fsync off, trust
// authentication. As root, the server runs as the `postgres` user through runuser (initdb
// refuses root). Missing server binaries are an error, never a skip: CI installs them
// (scripts/install-deps). Each directory holds its owner's pid (file `owner`); the first
// cluster of a process stops and removes the clusters of test processes that died without
// cleaning up (a TSan halt, a ctest timeout).

#include <string>

namespace systask::testing {

class pg_cluster {
 public:
  /// Creates and starts the cluster (about 0.3 s from the template; 1.5 s for the first one).
  /// `durable`: PostgreSQL's own defaults (fsync, synchronous_commit and full_page_writes on:
  /// each commit waits for the disk), for benchmarks of what commits cost; otherwise all three
  /// are off (tests). Throws std::runtime_error saying what failed (binaries missing, initdb or
  /// start failed).
  explicit pg_cluster(bool durable = false);
  /// Stops the server (-m immediate) and removes the directory.
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// `pg_ctl restart -m fast`: every session is disconnected. Throws std::runtime_error.
  void restart();
  /// `pg_ctl stop -m fast` / `pg_ctl start`. Throw std::runtime_error.
  void stop();
  void start();
  /// Runs `sql` with psql -Atc (on_error_stop) and returns its output without the last newline.
  /// Throws std::runtime_error with psql's output when it fails.
  std::string psql(const std::string& sql) const;
  /// The libpq connection string (key=value; TCP to 127.0.0.1).
  std::string conninfo() const;
  int port() const noexcept { return port_; }
  /// The directory of the cluster (data/, server.log, the socket).
  const std::string& dir() const noexcept { return dir_; }
  /// The PostgreSQL binaries' directory ($SYSTASK_PG_BIN or /usr/lib/postgresql/15/bin).
  static std::string bin_dir();

 private:
  void pg_ctl(const std::string& args) const;
  std::string dir_;
  int port_ = 0;
  bool durable_ = false;
  bool running_ = false;
};

/// Runs a shell command; returns its exit status and fills `output` with stdout and stderr.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace systask::testing
