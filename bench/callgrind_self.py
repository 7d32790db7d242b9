#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Self (exclusive) instructions per function of callgrind dumps, costliest first.

callgrind_annotate 3.19 charges every instruction of a dump taken by a client request
(CALLGRIND_DUMP_STATS_AT after CALLGRIND_ZERO_STATS) to the bottom frame, so bench/request_cost.sh
reads the dump itself: a cost line right after `fn=` is the function's own, one after `calls=` is
what a call cost (the callee's inclusive cost, left out here).

    bench/callgrind_self.py [--top N] [--per K] FILE...

--per K divides every figure by K (the number of requests measured).
"""
import argparse
import re
import sys
from collections import Counter

NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")


def self_costs(path, names):
    costs = Counter()
    fn = None
    after_call = False
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                m = NAME.match(line[3:])
                if m:
                    if m.group(2) is not None:
                        names[m.group(1)] = m.group(2)
                    fn = names.get(m.group(1), line[3:])
                else:
                    fn = line[3:]
                after_call = False
            elif line.startswith("cfn="):
                m = NAME.match(line[4:])
                if m and m.group(2) is not None:
                    names[m.group(1)] = m.group(2)
            elif line.startswith("calls="):
                after_call = True
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                if len(parts) >= 2 and fn is not None:
                    if after_call:
                        after_call = False
                    else:
                        costs[fn] += int(parts[1])
    return costs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--per", type=float, default=1.0)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    total = Counter()
    for path in a.files:
        total.update(self_costs(path, {}))
    all_ir = sum(total.values())
    print(f"{all_ir / a.per:12.0f}  total (self costs summed)")
    for fn, ir in total.most_common(a.top):
        print(f"{ir / a.per:12.0f}  {100 * ir / all_ir:5.1f}%  {fn[:170]}")


if __name__ == "__main__":
    sys.exit(main())
