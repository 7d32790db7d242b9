// SPDX-License-Identifier: BSL-1.0
#pragma once

// This process's resident memory, for the tests and benchmarks that bound or report it (the
// abuse test's memory per held connection, the memory benchmark's churn).

#include <unistd.h>

#include <cstdio>

namespace systask::test {

/// Resident set size in KiB (/proc/self/statm times the page size), or 0 where /proc is missing.
inline long resident_kib() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace systask::test
