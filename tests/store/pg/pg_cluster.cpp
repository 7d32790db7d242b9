// SPDX-License-Identifier: BSL-1.0
#include "pg_cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace systask::testing {

namespace {

bool as_root() { return geteuid() == 0; }

// Commands that must not run as root (initdb, pg_ctl) run as postgres through runuser.
std::string as_postgres(const std::string& command) {
  return as_root() ? "runuser -u postgres -- " + command : command;
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("pg_cluster: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("pg_cluster: no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A test process killed before its destructors ran (a TSan halt, a ctest timeout) leaves its
// servers running: each directory names its owner's pid, and the first cluster of a later
// process stops and removes those whose owner is gone.
void sweep_orphans() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
    if (entry.path().filename().string().rfind("systask-pg.", 0) != 0) continue;
    std::ifstream owner_file(entry.path() / "owner");
    long owner = 0;
    if (!(owner_file >> owner) || owner <= 0 || ::kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;
    const std::string data = (entry.path() / "data").string();
    if (std::filesystem::exists(data + "/postmaster.pid")) {
      run_command(as_postgres(pg_cluster::bin_dir() + "/pg_ctl -D " + shell_quoted(data) + " -m immediate -w stop"));
    }
    std::filesystem::remove_all(entry.path(), ec);
  }
}

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "systask-pg.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("pg_cluster: mkdtemp failed");
  std::ofstream(pattern + "/owner") << ::getpid() << '\n';
  if (as_root()) {
    std::string out;
    if (run_command("chown postgres:postgres " + shell_quoted(pattern), &out) != 0) {
      throw std::runtime_error("pg_cluster: chown postgres failed: " + out);
    }
  }
  return pattern;
}

// initdb once per process (about 1.2 s), then copy the data directory per cluster (0.1 s).
std::mutex template_mutex;
std::string template_dir;

void remove_template() {
  if (!template_dir.empty()) std::filesystem::remove_all(template_dir);
}

const std::string& template_data() {
  std::lock_guard lock(template_mutex);
  if (template_dir.empty()) {
    sweep_orphans();
    const std::string bin = pg_cluster::bin_dir();
    if (::access((bin + "/initdb").c_str(), X_OK) != 0 || ::access((bin + "/postgres").c_str(), X_OK) != 0) {
      throw std::runtime_error("pg_cluster: PostgreSQL 15 server binaries not found in " + bin +
                               " (scripts/install-deps installs postgresql-15; SYSTASK_PG_BIN overrides the path)");
    }
    if (as_root() && run_command("id -u postgres") != 0) {
      throw std::runtime_error("pg_cluster: running as root needs the postgres user (installed with postgresql-15)");
    }
    const std::string dir = make_temp_dir();
    std::string out;
    if (run_command(as_postgres(bin + "/initdb -D " + shell_quoted(dir + "/data") +
                                " -U postgres -A trust -E UTF8 --no-locale --no-sync"),
                    &out) != 0) {
      std::filesystem::remove_all(dir);
      throw std::runtime_error("pg_cluster: initdb failed: " + out);
    }
    template_dir = dir;
    std::atexit(remove_template);
  }
  return template_dir;
}

}  // namespace

int run_command(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (output) *output = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string pg_cluster::bin_dir() {
  const char* env = std::getenv("SYSTASK_PG_BIN");
  return env && *env ? env : "/usr/lib/postgresql/15/bin";
}

pg_cluster::pg_cluster(bool durable) : durable_(durable) {
  const std::string& tmpl = template_data();
  dir_ = make_temp_dir();
  std::string out;
  if (run_command(as_postgres("cp -a " + shell_quoted(tmpl + "/data") + " " + shell_quoted(dir_ + "/data")), &out) != 0) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("pg_cluster: copying the template failed: " + out);
  }
  port_ = free_port();
  try {
    start();
  } catch (...) {
    std::filesystem::remove_all(dir_);
    throw;
  }
}

pg_cluster::~pg_cluster() {
  if (running_) {
    run_command(as_postgres(bin_dir() + "/pg_ctl -D " + shell_quoted(dir_ + "/data") + " -m immediate -w stop"));
  }
  std::filesystem::remove_all(dir_);
}

void pg_cluster::pg_ctl(const std::string& args) const {
  std::string out;
  if (run_command(as_postgres(bin_dir() + "/pg_ctl -D " + shell_quoted(dir_ + "/data") + " " + args), &out) != 0) {
    std::string log;
    run_command("tail -20 " + shell_quoted(dir_ + "/server.log"), &log);
    throw std::runtime_error("pg_cluster: pg_ctl " + args + " failed: " + out + "\nserver.log:\n" + log);
  }
}

void pg_cluster::start() {
  // -c options: no fsync (a test cluster) unless durable, TCP on loopback only, the socket in
  // our directory.
  pg_ctl("-l " + shell_quoted(dir_ + "/server.log") + " -w -t 30 -o " +
         shell_quoted("-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + dir_ +
                (durable_ ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")) +
         " start");
  running_ = true;
}

void pg_cluster::stop() {
  pg_ctl("-m fast -w -t 30 stop");
  running_ = false;
}

void pg_cluster::restart() {
  pg_ctl("-m fast -w -t 30 -l " + shell_quoted(dir_ + "/server.log") + " restart");
  running_ = true;
}

std::string pg_cluster::psql(const std::string& sql) const {
  std::string out;
  const int status = run_command(bin_dir() + "/psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " + std::to_string(port_) +
                                     " -U postgres -d postgres -Atc " + shell_quoted(sql),
                                 &out);
  if (status != 0) throw std::runtime_error("psql failed (" + std::to_string(status) + "): " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string pg_cluster::conninfo() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

}  // namespace systask::testing
