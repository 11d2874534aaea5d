#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""unit.bench_stats_json: the JSON `iiofab bench --json` prints parses as
JSON and has exactly the documented keys (host_driver.py reads them).

  check_bench_json.py T_BENCH_STATS
"""

import json
import subprocess
import sys

KEYS = ["device", "direction", "block_size", "blocks", "channels", "reg_path",
        "seconds", "bytes", "samples", "blocks_received", "mb_s",
        "blocks_per_s", "lost_samples", "latency_us", "startup_ms"]
# An output stream (bench --push): underruns where the input has its losses.
OUTPUT_KEYS = [k if k != "lost_samples" else "underruns" for k in KEYS]
STARTUP_KEYS = ["connect", "open", "start", "first_block", "total"]
LATENCY_KEYS = ["n", "mean", "p50", "p99", "max"]


def check(doc):
    problems = []
    want = OUTPUT_KEYS if doc.get("direction") == "output" else KEYS
    if list(doc) != want:
        problems.append("keys %s, want %s" % (list(doc), want))
    lat = doc.get("latency_us", {})
    if list(lat) != LATENCY_KEYS:
        problems.append("latency_us keys %s, want %s" % (list(lat), LATENCY_KEYS))
    startup = doc.get("startup_ms")
    if startup is not None and list(startup) != STARTUP_KEYS:
        problems.append("startup_ms keys %s, want %s" % (list(startup), STARTUP_KEYS))
    if startup is not None and abs(sum(startup[k] for k in STARTUP_KEYS[:-1]) -
                                   startup["total"]) > 0.01:
        problems.append("startup_ms parts do not add up to its total: %s" % startup)
    for k in LATENCY_KEYS[1:]:
        v = lat.get(k)
        if (v is None) != (lat.get("n") == 0):
            problems.append("latency_us.%s is %r with n %r" % (k, v, lat.get("n")))
    return problems


def main(argv):
    out = subprocess.run([argv[1], "--print-json"], stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    lines = out.splitlines()
    problems = [] if len(lines) == 3 else ["%d lines, want 3" % len(lines)]
    directions = []
    for line in lines:
        try:
            doc = json.loads(line)
            directions.append(doc.get("direction"))
            problems += check(doc)
        except ValueError as e:
            problems.append("not JSON (%s): %s" % (e, line))
    if directions != ["input", "input", "output"]:
        problems.append("the fixtures' directions are %s" % directions)
    for p in problems:
        print("FAIL: %s" % p)
    if not problems:
        print("PASS: %d JSON objects with the documented keys" % len(lines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
