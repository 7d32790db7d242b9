#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Instructions per request (callgrind's Ir) of the sync-status request path, from
# bench/request_cost.cpp: through facade::handle, and over HTTP through the Beast session of
# http::server (the server thread only, the client's instructions left out). Instruction counts
# do not move with the machine's load, so two commits can be compared on a busy machine, which
# timed benchmarks cannot do. Not time: a cache miss or a system call costs far more than an
# instruction, and the kernel's part of a TCP request is not counted at all.
#
#   bench/request_cost.sh [build-dir] [--annotate]
#
# build-dir defaults to build/release (the release preset; build target systask-request-cost
# first). --annotate also prints the functions with the most inclusive instructions of each
# measured dump. The dumps are left in <build-dir>/request-cost/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
annotate=""
for a in "$@"; do
  case "$a" in
    --annotate) annotate=1 ;;
    *) build=$a ;;
  esac
done
bin=$build/bench/systask-request-cost
[ -x "$bin" ] || { echo "build $bin first (cmake --build --preset release --target systask-request-cost)" >&2; exit 1; }
out=$build/request-cost
rm -rf "$out"
mkdir -p "$out"

# The total instructions of the dumps given (each file's "summary:" line).
total_ir() { awk '/^summary:/ { s += $2 } END { print s + 0 }' "$@"; }

# Mode, requests, messages, and what the row is.
measure() {
  local mode=$1 requests=$2 messages=$3 what=$4 dir
  dir=$out/$mode-$messages
  mkdir -p "$dir"
  valgrind --tool=callgrind --separate-threads=yes --dump-instr=no \
    --callgrind-out-file="$dir/callgrind.out.%p" "$bin" "$mode" "$requests" "$messages" > "$dir/stdout" 2> "$dir/valgrind.log"
  # The measured dump is the one labelled "measured": the facade's on the main thread, the
  # server thread's in the tcp mode (a client request dumps only the thread that makes it).
  local files
  files=$(grep -l '^desc: Trigger: Client Request: measured' "$dir"/callgrind.out.*.1-*)
  local ir
  ir=$(total_ir $files)
  printf '%-58s %10.0f instructions per request\n' "$what" "$(echo "$ir / $requests" | bc -l)"
  if [ -n "$annotate" ]; then
    for f in $files; do
      callgrind_annotate --inclusive=yes --threshold=95 "$f" > "$f.annotated" 2>/dev/null || true
      # The lines after the header, program totals first: the 40 costliest functions.
      awk '/file:function/ { on = 1; next } on && /^ *[0-9,]+ / { print; if (++n == 40) exit }' "$f.annotated" |
        cut -c1-200 | sed 's/^/    /'
    done
  fi
}

measure facade 2000 0 "facade::handle, status of a provider with no runs"
measure facade 500 10 "facade::handle, status of 1 run x 10 messages"
measure tcp 500 0 "HTTP keep-alive (server thread), provider with no runs"
measure tcp 500 10 "HTTP keep-alive (server thread), 1 run x 10 messages"
