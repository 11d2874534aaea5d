#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turns the host driver's results.json into bench.json, bench.md, bench.png.

  report.py RESULTS_JSON OUTDIR [--check]

Also used by tests/bench/run. --check exits 1 unless every figure the run
was meant to produce is present and positive (no speed threshold).
"""

import json
import os
import subprocess
import sys
import time

MB = 1e6
# (direction, reference tool, title). bench.json keeps the reference under
# its old key "ceiling" for its readers; it is no ceiling: iiofab can pass it.
DIRECTIONS = (("adc", "ib_read_bw", "ADC capture (board -> host)"),
              ("dac", "ib_write_bw", "DAC push (host -> board)"))
SERVER = {"iiofab": "iiofabd", "iiod": "iiod"}
# Figures of iiofab bench (ADC) and bench --push (DAC) that only iiofab rows
# have.
BENCH_FIGURES = ("blocks_per_s", "latency_n", "latency_mean_us",
                 "latency_p50_us", "latency_p99_us", "latency_max_us")
# iiofab bench's time from its start to the first block landed, and its
# parts (host_driver.STARTUP_PARTS), with their column titles.
STARTUP = (("total", "start to first block"), ("connect", "connect"),
           ("open", "open stream"), ("start", "START"),
           ("first_block", "START to first block"))
STARTUP_FIGURES = tuple("startup_%s_ms" % k for k, _ in STARTUP)
# How the reference ran, from its row.
CEILING_FIGURES = ("mode", "command", "iters", "window_s", "margin_s")
# What the issue asks of the cluster rows: the hosts together get this
# share of what as many concurrent ib_read_bw runs get, and iiofabd's CPU
# per delivered GiB at the most hosts stays within this factor of one
# host's.
CLUSTER_TARGETS = {"aggregate_vs_reference_min": 0.9,
                   "cpu_per_gib_vs_1_host_max": 1.3}


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_size(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n % 1024 == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def rows_by(results):
    """One row per (direction, tool, size): with --repeat, the median run
    (by throughput) of those that worked, else the last failure."""
    groups = {}
    for r in results.get("rows", []):
        groups.setdefault((r["dir"], r["tool"], r["block_bytes"]), []).append(r)
    out = {}
    for key, rows in groups.items():
        ok = sorted((r for r in rows if r.get("status") == "ok"),
                    key=lambda r: r.get("mb_s") or 0)
        if ok:
            pick = dict(ok[(len(ok) - 1) // 2])
            if len(rows) > 1:
                pick["runs_mb_s"] = [r.get("mb_s") for r in ok]
                pick["runs_failed"] = len(rows) - len(ok)
            out[key] = pick
        else:
            out[key] = rows[-1]
    return out


def summarize(results):
    """The per-direction, per-block-size comparison bench.json carries."""
    rows = rows_by(results)
    sizes = results["plan"]["sizes"]
    summary = {}
    for direction, ceiling, _ in DIRECTIONS:
        lines = []
        for size in sizes:
            line = {"block_bytes": size}
            for tool in (ceiling, "iiofab", "iiod"):
                r = rows.get((direction, tool, size), {"status": "missing"})
                ok = r.get("status") == "ok"
                key = "ceiling" if tool == ceiling else tool
                line[key] = {
                    "tool": tool,
                    "status": r.get("status"),
                    "mb_s": r.get("mb_s") if ok else None,
                    # What the rate counts, the window it took (s) and the
                    # tool's whole run.
                    "bytes": r.get("bytes") if ok else None,
                    "seconds": r.get("seconds") if ok else None,
                    "wall_s": r.get("wall_s") if ok else None,
                }
                if tool == ceiling:
                    for k in CEILING_FIGURES:
                        if ok and k in r:
                            line[key][k] = r[k]
                if tool != ceiling:
                    # perftest's server polls for its whole run: its
                    # busy time is in the raw rows, not in the comparison.
                    line[key]["board_busy_s_per_gib"] = (
                        r.get("board_busy_s_per_gib") if ok else None)
                if "runs_mb_s" in r:
                    line[key]["runs_mb_s"] = r["runs_mb_s"]
                    line[key]["runs_failed"] = r["runs_failed"]
                if tool in SERVER:
                    line[key]["server"] = SERVER[tool]
                    line[key]["server_cpu_s_per_gib"] = (
                        r.get("server_cpu_s_per_gib") if ok else None)
                if not ok and r.get("error"):
                    line[key]["error"] = r["error"]
                if ok and tool == "iiofab" and "lost_samples" in r:
                    scan = results.get("board", {}).get("devices", {}).get(
                        "iiofab-sim-adc", {}).get("scan_bytes") or 1
                    got = r["bytes"] / scan
                    line[key]["lost_samples"] = r["lost_samples"]
                    line[key]["lost_fraction"] = r["lost_samples"] / (
                        r["lost_samples"] + got)
                if ok and tool == "iiofab" and "underruns" in r:
                    line[key]["underruns"] = r["underruns"]
                if ok and tool == "iiofab":
                    for k in BENCH_FIGURES + STARTUP_FIGURES:
                        line[key][k] = r.get(k)
            fab, iiod, ceil = line["iiofab"], line["iiod"], line["ceiling"]
            line["ratios"] = {
                "iiofab_vs_ceiling": ratio(fab["mb_s"], ceil["mb_s"]),
                "iiofab_vs_iiod": ratio(fab["mb_s"], iiod["mb_s"]),
                "server_cpu_per_gib_iiofabd_vs_iiod": ratio(
                    fab["server_cpu_s_per_gib"], iiod["server_cpu_s_per_gib"]),
                "board_busy_per_gib_iiofab_vs_iiod": ratio(
                    fab["board_busy_s_per_gib"], iiod["board_busy_s_per_gib"]),
            }
            lines.append(line)
        summary[direction] = lines
    cl = summarize_cluster(results)
    if cl:
        summary["cluster"] = cl
    return summary


def cluster_rows_by(results):
    """The last cluster row of each (mode, hosts): reference rows under
    mode "reference"."""
    out = {}
    for r in results.get("cluster_rows", []):
        out[(r["mode"], r["hosts"])] = r
    return out


def summarize_cluster(results):
    """One line per mode and host count: the hosts' aggregate against as
    many concurrent ib_read_bw runs, iiofabd's CPU per delivered GiB
    against its own at one host. None without cluster rows."""
    c = results["plan"].get("cluster")
    if not c:
        return None
    rows = cluster_rows_by(results)
    lines = []
    for mode in c["modes"]:
        one = rows.get((mode, 1), {})
        for n in range(1, c["hosts"] + 1):
            r = rows.get((mode, n), {"status": "missing"})
            ref = rows.get(("reference", n), {"status": "missing"})
            ok, ref_ok = r.get("status") == "ok", ref.get("status") == "ok"
            line = {"mode": mode, "hosts": n, "block_bytes": c["block_bytes"],
                    "status": r.get("status"), "reference_status": ref.get("status")}
            for k in ("mb_s", "bytes", "seconds", "window_spread_s",
                      "host_mb_s", "server_cpu_s_per_gib",
                      "board_busy_s_per_gib", "lost_samples", "command"):
                line[k] = r.get(k) if ok else None
            # The converter's pace: the fan-out rows', None unthrottled.
            line["paced_mb_s"] = r.get("paced_mb_s")
            for k in ("mb_s", "host_mb_s", "seconds", "command"):
                line["reference_" + k] = ref.get(k) if ref_ok else None
            for key, e in (("error", r), ("reference_error", ref)):
                if e.get("status") != "ok" and e.get("error"):
                    line[key] = e["error"]
            line["vs_reference"] = ratio(line["mb_s"], line["reference_mb_s"])
            line["cpu_vs_1_host"] = ratio(
                line["server_cpu_s_per_gib"],
                one.get("server_cpu_s_per_gib")
                if one.get("status") == "ok" else None)
            lines.append(line)
    return {"block_bytes": c["block_bytes"], "blocks": c.get("blocks"),
            "window_s": c["seconds"],
            "targets": CLUSTER_TARGETS, "lines": lines,
            "met": cluster_met(lines, c["hosts"])}


def cluster_met(lines, most):
    """Each target: true, false, or None when a figure is missing."""
    agg = [l["vs_reference"] for l in lines]
    cpu = [l["cpu_vs_1_host"] for l in lines if l["hosts"] == most]

    def all_of(values, good):
        if not values or any(v is None for v in values):
            return None
        return all(good(v) for v in values)

    t = CLUSTER_TARGETS
    return {"aggregate_vs_reference": all_of(
                agg, lambda v: v >= t["aggregate_vs_reference_min"]),
            "cpu_per_gib_vs_1_host": all_of(
                cpu, lambda v: v <= t["cpu_per_gib_vs_1_host_max"])}


def cluster_markdown(cl):
    """The cluster table and what it was measured over."""
    t = cl["targets"]
    out = ["### Serving a cluster (ADC, %s blocks%s)\n" % (
               fmt_size(cl["block_bytes"]),
               ", %d in flight" % cl["blocks"] if cl.get("blocks") else ""),
           "N hosts at once, each `iiofab bench --mode MODE --sync`, every "
           "host signalled to count the same %d s window (its edges files in "
           "the lab's shared /run/lab); aggregate MB/s = the sum over the hosts "
           "of the bytes each counted in that window over its length by that "
           "host's clock. Against N concurrent `ib_read_bw -D` runs, "
           "one from each host to its own perftest server on the board, "
           "started together: the sum of their MB/s. Shard runs against the "
           "simulator unthrottled; fan-out, whose server never waits for a "
           "host, against the simulator paced at the share of the link each "
           "host got in that reference (so its ratio is at most about 1). "
           "iiofabd CPU s per GiB "
           "delivered to all hosts together, over the common window, and its "
           "ratio to the same mode at one host. Targets: aggregate >= %gx "
           "the reference, CPU per GiB at %d hosts <= %gx one host's.\n" % (
               cl["window_s"], t["aggregate_vs_reference_min"],
               max(l["hosts"] for l in cl["lines"]),
               t["cpu_per_gib_vs_1_host_max"]),
           "| mode | hosts | aggregate MB/s | ib_read_bw aggregate MB/s "
           "| ratio | iiofabd CPU s/GiB | ratio to 1 host | per host MB/s "
           "| ib_read_bw per host MB/s | converter MB/s | lost samples |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for l in cl["lines"]:
        e = {"status": l["status"], "mb_s": l["mb_s"],
             "server_cpu_s_per_gib": l["server_cpu_s_per_gib"]}
        ref = {"status": l["reference_status"], "mb_s": l["reference_mb_s"]}
        out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            l["mode"], l["hosts"], cell(e, "mb_s"), cell(ref, "mb_s"),
            num(l["vs_reference"]), cell(e, "server_cpu_s_per_gib", 3),
            num(l["cpu_vs_1_host"]), per_host(l["host_mb_s"]),
            per_host(l["reference_host_mb_s"]),
            "unthrottled" if l["paced_mb_s"] is None else
            "%s a host" % num(l["paced_mb_s"]),
            "-" if l["lost_samples"] is None else "%d" % l["lost_samples"]))
    out.append("")
    said = {True: "met", False: "missed", None: "not measured"}
    out.append("Targets: aggregate >= %gx ib_read_bw: %s; CPU per GiB at the "
               "most hosts <= %gx one host's: %s.\n" % (
                   t["aggregate_vs_reference_min"],
                   said[cl["met"]["aggregate_vs_reference"]],
                   t["cpu_per_gib_vs_1_host_max"],
                   said[cl["met"]["cpu_per_gib_vs_1_host"]]))
    problems = []
    for l in cl["lines"]:
        for key, what in (("reference_error", "ib_read_bw"), ("error", l["mode"])):
            if l.get(key):
                problems.append("- %s at %d host(s): %s" % (
                    what, l["hosts"], l[key].strip().replace("\n", " / ")[:300]))
    if problems:
        out.append("Failed cluster measurements:\n")
        out.extend(sorted(set(problems)))
        out.append("")
    return out


def reg_markdown(results):
    """The registration paths side by side (tests/bench/run --reg-paths)."""
    paths = ("dmabuf-mr", "memfd-mr")
    rows = {}
    for r in results.get("reg_rows", []):
        rows[(r["dir"], r["block_bytes"], r.get("reg_path_wanted"))] = r
    out = ["### Registration paths (iiofabd, lab rxe with dma-buf MRs)\n",
           "The same `iiofab bench` (ADC) and `iiofab bench --push ramp` (DAC) "
           "runs as above, against a fresh iiofabd on each path in turn: "
           "dmabuf-mr (one `ibv_reg_dmabuf_mr` per IIO block) and memfd-mr "
           "(one `ibv_reg_mr` over the arena's memfd, taken when the lab shim "
           "answers EOPNOTSUPP as the stock rxe provider does); `iiofab stat` "
           "confirmed each path. MB/s and iiofabd CPU s per GiB over the "
           "bench's counted window.\n",
           "| direction | block | dmabuf-mr MB/s | memfd-mr MB/s | ratio "
           "| dmabuf-mr iiofabd CPU s/GiB | memfd-mr iiofabd CPU s/GiB | ratio |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for direction in ("adc", "dac"):
        for size in sorted({k[1] for k in rows if k[0] == direction}):
            d, m = (rows.get((direction, size, p), {"status": "-"}) for p in paths)
            rate = ratio(d.get("mb_s"), m.get("mb_s"))
            cpu = ratio(d.get("server_cpu_s_per_gib"),
                        m.get("server_cpu_s_per_gib"))
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                direction.upper(), fmt_size(size), cell(d, "mb_s"),
                cell(m, "mb_s"), num(rate), cell(d, "server_cpu_s_per_gib", 3),
                cell(m, "server_cpu_s_per_gib", 3), num(cpu)))
    return "\n".join(out) + "\n"


def per_host(values):
    return "-" if not values else " / ".join("%.2f" % v for v in values)


def check_cluster(cl):
    """Every cluster figure present and positive (no speed threshold)."""
    problems = []
    for l in cl["lines"]:
        what = "cluster %s %d host(s)" % (l["mode"], l["hosts"])
        for k in ("mb_s", "reference_mb_s", "server_cpu_s_per_gib",
                  "vs_reference", "cpu_vs_1_host"):
            v = l.get(k)
            if v is None or not v > 0:
                problems.append("%s: %s is %s%s" % (
                    what, k, "missing" if v is None else v,
                    " (%s)" % (l.get("error") or l.get("reference_error"))
                    .splitlines()[0][:200]
                    if l.get("error") or l.get("reference_error") else ""))
    return problems


def num(v, digits=2):
    return "-" if v is None else "%.*f" % (digits, v)


def cell(entry, key, digits=2):
    if entry.get(key) is not None:
        return num(entry[key], digits)
    if entry["status"] == "unsupported":
        return "n/a"
    return "FAIL" if entry["status"] == "failed" else "-"


def latency_cell(entry, key):
    """A latency figure of an iiofab ADC entry; n/a where there is none."""
    if entry.get(key) is not None:
        return num(entry[key], 1)
    return "FAIL" if entry["status"] == "failed" else "n/a"


def rate_text(rate):
    if rate:
        return "simulator at %d samples/s" % rate
    # Unthrottled, the converter fills blocks as fast as they come back and
    # never drops a scan, so iiofabd does not reclaim: 'iiofab lost' stays 0
    # unless the stream saw a real drop.
    return ("simulator unthrottled (sampling_frequency 0: it fills each block "
            "as soon as it is queued and waits otherwise, so the transfer, not "
            "the converter, sets the pace; 'iiofab lost' is the share of "
            "samples reclaimed unread, 0 unless the converter dropped scans)")


def markdown(results, summary):
    plan = results["plan"]
    out = []
    rep = plan.get("repeat", 1)
    window = plan.get("max_seconds", 0)
    warmup = plan.get("iiofab_warmup_s", 1)
    margin = plan.get("perftest_margin_s", warmup)
    out.append(
        "Throughput in MB/s (10^6 bytes/s) of samples delivered to the "
        "application%s, over the window of the 'volume and window' tables: "
        "libiio from the first block through a pipe to the end of the "
        "transfer (connection set-up excluded); iiofab `iiofab bench`'s own "
        "figure: ADC over the blocks that landed in the %d s after a %g s "
        "warm-up, DAC (`bench --push ramp`, every block filled in place in "
        "its registered memory) over the blocks that came back consumed "
        "after as long a warm-up until the volume was counted. The reference is perftest's own figure (its "
        "MB/sec, 2^20 bytes, converted), `-R -d rxe0 -F`, both ends at normal "
        "priority: `ib_read_bw -D %d -f %d` (duration mode: it counts the "
        "%d s between a %d s warm-up margin and a %d s closing one, the "
        "window iiofab bench counts) and `ib_write_bw -n BYTES/size` (the "
        "same %d MiB iiofab bench --push counts and iio_writedev pushes). CPU in seconds per "
        "GiB moved over that same window (server process user+sys, all "
        "threads; whole board guest busy time from /proc/stat; bench.json "
        "also has whole-run figures with set-up; perftest's are left out, "
        "its server polls). iiofab latency in microseconds per block, "
        "nearest-rank p50 and p99 over the counted blocks: ADC from the host "
        "decoding its READY to its RDMA READ completing, DAC from its SUBMIT "
        "to its return, consumed. One lab boot, "
        "board + 1 host, %s, libiio moving %d MiB per point (stopped after "
        "%d s), iiofab with %d blocks in flight (at least 2 MiB: more for "
        "small blocks), libiio with its default 4 kernel buffers.\n" % (
            " (median of %d runs)" % rep if rep > 1 else "",
            window, warmup, window + 2 * margin, margin, window, margin,
            margin, plan["bytes"] >> 20,
            rate_text(plan.get("sampling_frequency", 0)),
            plan["bytes"] >> 20, window, plan["blocks"]))
    for direction, ceiling, title in DIRECTIONS:
        adc = direction == "adc"
        out.append("### %s\n" % title)
        out.append("| block | %s | iiofab | iiod | iiofab/%s | iiofab/iiod "
                   "| iiofabd CPU s/GiB | iiod CPU s/GiB | CPU iiofabd/iiod "
                   "| board busy s/GiB iiofab | board busy s/GiB iiod "
                   "| board busy iiofab/iiod | %s | iiofab p50 us "
                   "| iiofab p99 us |" % (
                       ceiling, ceiling,
                       "iiofab lost" if adc else "iiofab underruns"))
        out.append("|" + "---:|" * 15)
        for line in summary[direction]:
            fab, iiod, ceil, rat = (line["iiofab"], line["iiod"], line["ceiling"],
                                    line["ratios"])
            if adc:
                extra = ("-" if fab.get("lost_fraction") is None else
                         "%.1f%%" % (100 * fab["lost_fraction"]))
            else:
                extra = ("-" if fab.get("underruns") is None else
                         "%d" % fab["underruns"])
            extra += " | %s | %s" % (latency_cell(fab, "latency_p50_us"),
                                     latency_cell(fab, "latency_p99_us"))
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                fmt_size(line["block_bytes"]), cell(ceil, "mb_s"),
                cell(fab, "mb_s"), cell(iiod, "mb_s"),
                num(rat["iiofab_vs_ceiling"]), num(rat["iiofab_vs_iiod"]),
                cell(fab, "server_cpu_s_per_gib", 3),
                cell(iiod, "server_cpu_s_per_gib", 3),
                num(rat["server_cpu_per_gib_iiofabd_vs_iiod"], 3),
                cell(fab, "board_busy_s_per_gib"),
                cell(iiod, "board_busy_s_per_gib"),
                num(rat["board_busy_per_gib_iiofab_vs_iiod"], 3), extra))
        out.append("")
        out.extend(volume_table(summary[direction], ceiling))
        out.extend(startup_table(summary[direction], adc))
        if direction == "dac" and not results.get("iiofab", {}).get("push"):
            out.append("iiofab DAC push: not measured, the iiofab tool of this "
                       "build has no `bench --push` (n/a above).\n")
        problems = []
        for line in summary[direction]:
            for key in ("ceiling", "iiofab", "iiod"):
                e = line[key]
                if e["status"] == "failed":
                    problems.append("- %s %s: %s" % (
                        e["tool"], fmt_size(line["block_bytes"]),
                        e.get("error", "").strip().replace("\n", " / ")[:300]))
        if problems:
            out.append("Failed measurements:\n")
            out.extend(problems)
            out.append("")
    cl = summary.get("cluster")
    if cl:
        out.extend(cluster_markdown(cl))
    windowed = sorted(set("%s %s%s" % (
        r["tool"], fmt_size(r["block_bytes"]),
        " at %d host(s)" % r["hosts"] if "hosts" in r else "")
        for r in results.get("rows", []) + results.get("cluster_rows", [])
        if r.get("rate_from") == "window"))
    if windowed:
        out.append("perftest printed its iterations but an average of 0.00 "
                   "(its TSC clock, calibrated by the guest at boot, was off) "
                   "for: %s; those are rated as the iterations it counted "
                   "over its alarm-timed window.\n" % ", ".join(windowed))
    notes = [n for n in results.get("notes", [])]
    if notes:
        out.append("Notes:\n")
        out.extend("- " + n.replace("\n", " / ")[:300] for n in notes)
        out.append("")
    return "\n".join(out)


def volume_cell(entry):
    """MB the rate counts / the window in s (the tool's whole run, s)."""
    if entry.get("mb_s") is None or not entry.get("seconds"):
        return cell(entry, "mb_s")
    return "%.1f / %.2f (%s)" % (entry["bytes"] / MB, entry["seconds"],
                                 num(entry.get("wall_s"), 1))


def volume_table(lines, ceiling):
    """What each rate was taken over: the volume and duration side by side."""
    out = ["Volume and window: MB (10^6 bytes) the rate counts / the seconds "
           "it took them in (the tool's whole run in s, set-up and iiofab's "
           "warm-up included).\n",
           "| block | %s | iiofab | iiod |" % ceiling,
           "|---:|---:|---:|---:|"]
    for line in lines:
        out.append("| %s | %s | %s | %s |" % (
            fmt_size(line["block_bytes"]), volume_cell(line["ceiling"]),
            volume_cell(line["iiofab"]), volume_cell(line["iiod"])))
    out.append("")
    return out


def startup_table(lines, adc):
    """iiofab bench's time from its start to the first block, and its parts."""
    out = ["iiofab bench%s, from its start to the first block %s, in ms: "
           "connect (address and route resolution, the connection, the "
           "handshake, the device table), open stream (OPEN_STREAM: the "
           "board's arena and its registration, the %s buffer's "
           "registration), START (its round trip), START to first block (%s)."
           " Not in any window above.\n" % (
               "" if adc else " --push", "landed" if adc else "back consumed",
               "landing" if adc else "host's",
               "the first block filled, announced and read" if adc else
               "the first block filled, written, consumed and given back"),
           "| block | " + " | ".join("%s ms" % t for _, t in STARTUP) + " |",
           "|" + "---:|" * (len(STARTUP) + 1)]
    for line in lines:
        fab = line["iiofab"]
        out.append("| %s | %s |" % (fmt_size(line["block_bytes"]), " | ".join(
            latency_cell(fab, "startup_%s_ms" % k) for k, _ in STARTUP)))
    out.append("")
    return out


def plot(summary, outdir):
    """bench.png: throughput against block size, ADC and DAC side by side."""
    data = os.path.join(outdir, "bench.dat")
    colors = {"ceiling": "#444444", "iiofab": "#d62728", "iiod": "#1f77b4"}
    panels = []
    index = 0
    with open(data, "w") as f:
        for direction, ceiling, title in DIRECTIONS:
            plots = []
            # iiofab last, so that it is drawn on top.
            for key, pt in (("ceiling", 5), ("iiod", 9), ("iiofab", 7)):
                pts = [(l["block_bytes"] / 1024, l[key]["mb_s"])
                       for l in summary[direction] if l[key]["mb_s"]]
                if not pts:
                    continue
                label = summary[direction][0][key]["tool"]
                if key == "ceiling":
                    label += " (reference)"
                f.write("# %s %s\n" % (direction, label))
                for x, y in pts:
                    f.write("%g %g\n" % (x, y))
                f.write("\n\n")
                plots.append("'%s' index %d with linespoints lw 2 pt %d ps 1.3 "
                             "lc rgb '%s' title '%s'" % (data, index, pt,
                                                         colors[key], label))
                index += 1
            panels.append((title, plots, any("title 'iiofab'" in p
                                             for p in plots)))
    if not index:
        return "nothing to plot"
    script = [
        "set terminal pngcairo size 1100,500 noenhanced",
        "set output '%s'" % os.path.join(outdir, "bench.png"),
        "set multiplot layout 1,2 title 'iiofab vs the perftest reference vs "
        "libiio iiod (soft-RoCE lab under TCG)'",
        "set xlabel 'block size (KiB)'",
        "set ylabel 'throughput (MB/s)'",
        "set logscale x 2",
        "set yrange [0:*]",
        "set grid",
        "set key top left",
    ]
    for title, plots, has_iiofab in panels:
        script.append("set title '%s'" % title)
        if not has_iiofab:
            script.append("set label 2 'iiofab: not measured (see bench.md)' "
                          "at graph 0.98, graph 0.05 right tc rgb '#d62728'")
        else:
            script.append("unset label 2")
        if plots:
            script.append("plot " + ", \\\n  ".join(plots))
        else:
            script.append("set label 1 'no figures' at graph 0.4, graph 0.5")
            script.append("plot [1:2] NaN notitle")
            script.append("unset label 1")
    script.append("unset multiplot")
    p = subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode:
        return "gnuplot failed: " + p.stdout.strip()
    return None


def check(results, summary):
    """Every expected figure present and positive; returns the problems."""
    problems = []
    if not results.get("rows"):
        return ["no measurements at all"]
    push = results.get("iiofab", {}).get("push")
    for direction, _, _ in DIRECTIONS:
        for line in summary[direction]:
            size = fmt_size(line["block_bytes"])
            for key in ("ceiling", "iiofab", "iiod"):
                e = line[key]
                if direction == "dac" and e["tool"] == "iiofab" and not push:
                    if e["status"] != "unsupported":
                        problems.append("iiofab DAC %s: %s" % (size, e["status"]))
                    continue
                wanted = ["mb_s", "bytes", "seconds"]
                if e["tool"] == "iiofab":
                    wanted += ["latency_p50_us", "latency_p99_us",
                               "startup_total_ms"]
                    # A part may round to 0; it must be there.
                    for k in STARTUP_FIGURES[1:]:
                        if e.get(k) is None and e["status"] == "ok":
                            problems.append("iiofab %s %s: %s is missing" % (
                                direction.upper(), size, k))
                if "server" in e:
                    # perftest's server polls: the board's busy time during
                    # its run says little, so only iiofab's and iiod's count.
                    wanted += ["board_busy_s_per_gib", "server_cpu_s_per_gib"]
                for k in wanted:
                    v = e.get(k)
                    if v is None or not v > 0:
                        problems.append("%s %s %s: %s is %s%s" % (
                            e["tool"], direction.upper(), size, k,
                            "missing" if v is None else v,
                            " (%s)" % e["error"].splitlines()[0][:200]
                            if e.get("error") else ""))
            for k, v in line["ratios"].items():
                if direction == "dac" and not push:
                    break
                if v is None or not v > 0:
                    problems.append("%s %s: ratio %s is %s" % (
                        direction.upper(), size, k, v))
    if summary.get("cluster"):
        problems += check_cluster(summary["cluster"])
    return problems


def build(results_path, outdir, command=None):
    """Writes bench.json/.md/.png into outdir; returns (markdown, summary, results)."""
    with open(results_path) as f:
        results = json.load(f)
    summary = summarize(results)
    md = markdown(results, summary)
    if results.get("reg_rows"):
        md += "\n" + reg_markdown(results)
    os.makedirs(outdir, exist_ok=True)
    doc = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "units": {"mb_s": "10^6 bytes per second of sample data delivered, "
                  "from the first block to the end of the transfer",
                  "server_cpu_s_per_gib": "server process CPU seconds (user+sys, "
                  "all threads, from its CPU clock) per 2^30 bytes moved, over "
                  "the same window as mb_s (rows: cpu_window)",
                  "board_busy_s_per_gib": "board guest non-idle CPU seconds "
                  "(/proc/stat) per 2^30 bytes moved, same window",
                  "*_whole_per_gib": "the same over the whole run, connection "
                  "set-up included",
                  "latency_*_us": "iiofab: microseconds per block, ADC from "
                  "the host decoding its READY to its RDMA READ completing "
                  "(iiofab bench), DAC from its SUBMIT to its return consumed "
                  "(iiofab bench --push); nearest-rank percentiles over the "
                  "blocks counted after the warm-up",
                  "blocks_per_s": "iiofab: blocks counted per second, same "
                  "window as mb_s",
                  "bytes": "bytes mb_s counts",
                  "seconds": "the window mb_s is taken over (perftest: its "
                  "own, from its bytes and its average)",
                  "wall_s": "the tool's whole run, set-up and warm-up "
                  "included (the driver's clock)",
                  "startup_*_ms": "iiofab: iiofab bench's startup_ms, "
                  "from its start to the first block landed or back consumed "
                  "(total) and its parts connect, open, start, first_block",
                  "ceiling.mode": "duration: perftest -D, the window after "
                  "a warm-up margin as iiofab bench's (window_s, margin_s); "
                  "volume: perftest -n iters, the bytes iiofab bench --push counts"},
        "plan": results["plan"],
        "iiofab_features": results.get("iiofab"),
        "board": results.get("board"),
        "notes": results.get("notes", []),
        "adc": summary["adc"],
        "dac": summary["dac"],
        "rows": results.get("rows", []),
    }
    if results.get("reg_rows"):
        doc["reg_rows"] = results["reg_rows"]
    if summary.get("cluster"):
        doc["cluster"] = summary["cluster"]
        doc["cluster_rows"] = results.get("cluster_rows", [])
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(outdir, "bench.md"), "w") as f:
        f.write(md + "\n")
    err = plot(summary, outdir)
    if err:
        md += "\nbench.png: %s\n" % err
    return md, summary, results


def main(argv):
    args = [a for a in argv[1:] if a != "--check"]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    md, summary, results = build(args[0], args[1])
    print(md)
    if "--check" in argv:
        problems = check(results, summary)
        for p in problems:
            print("bench check: %s" % p, file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
