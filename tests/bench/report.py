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
# (direction, ceiling tool, title)
DIRECTIONS = (("adc", "ib_read_bw", "ADC capture (board -> host)"),
              ("dac", "ib_write_bw", "DAC push (host -> board)"))
SERVER = {"iiofab": "iiofabd", "iiod": "iiod"}


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
    out = {}
    for r in results.get("rows", []):
        out[(r["dir"], r["tool"], r["block_bytes"])] = r
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
                    "bytes": r.get("bytes") if ok else None,
                    "board_busy_s_per_gib": r.get("board_busy_s_per_gib") if ok else None,
                }
                if tool in SERVER:
                    line[key]["server"] = SERVER[tool]
                    line[key]["server_cpu_s_per_gib"] = (
                        r.get("server_cpu_s_per_gib") if ok else None)
                if not ok and r.get("error"):
                    line[key]["error"] = r["error"]
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
    return summary


def num(v, digits=2):
    return "-" if v is None else "%.*f" % (digits, v)


def cell(entry, key, digits=2):
    if entry.get(key) is not None:
        return num(entry[key], digits)
    if entry["status"] == "unsupported":
        return "n/a"
    return "FAIL" if entry["status"] == "failed" else "-"


def markdown(results, summary):
    plan = results["plan"]
    out = []
    out.append("Throughput in MB/s (10^6 bytes/s) of samples delivered; CPU in "
               "seconds per GiB moved (server process user+sys; whole board "
               "guest busy time). One lab boot, board + 1 host, simulator "
               "unthrottled, %d MiB per point, %d blocks in flight.\n" % (
                   plan["bytes"] >> 20, plan["blocks"]))
    for direction, ceiling, title in DIRECTIONS:
        out.append("### %s\n" % title)
        out.append("| block | %s | iiofab | iiod | iiofab/%s | iiofab/iiod "
                   "| iiofabd CPU s/GiB | iiod CPU s/GiB | CPU iiofabd/iiod "
                   "| board busy s/GiB iiofab | board busy s/GiB iiod "
                   "| board busy s/GiB %s |" % (ceiling, ceiling, ceiling))
        out.append("|" + "---:|" * 12)
        for line in summary[direction]:
            fab, iiod, ceil, rat = (line["iiofab"], line["iiod"], line["ceiling"],
                                    line["ratios"])
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                fmt_size(line["block_bytes"]), cell(ceil, "mb_s"),
                cell(fab, "mb_s"), cell(iiod, "mb_s"),
                num(rat["iiofab_vs_ceiling"]), num(rat["iiofab_vs_iiod"]),
                cell(fab, "server_cpu_s_per_gib", 3),
                cell(iiod, "server_cpu_s_per_gib", 3),
                num(rat["server_cpu_per_gib_iiofabd_vs_iiod"], 3),
                cell(fab, "board_busy_s_per_gib"),
                cell(iiod, "board_busy_s_per_gib"),
                cell(ceil, "board_busy_s_per_gib")))
        out.append("")
        if direction == "dac" and not results.get("iiofab", {}).get("play"):
            out.append("iiofab DAC push: not measured, the iiofab tool of this "
                       "build has no `play` command (n/a above).\n")
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
    notes = [n for n in results.get("notes", [])]
    if notes:
        out.append("Notes:\n")
        out.extend("- " + n.replace("\n", " / ")[:300] for n in notes)
        out.append("")
    return "\n".join(out)


def plot(summary, outdir):
    """bench.png: throughput against block size, one line per tool and direction."""
    series = []
    for direction, ceiling, _ in DIRECTIONS:
        for key in ("ceiling", "iiofab", "iiod"):
            pts = [(l["block_bytes"] / 1024, l[key]["mb_s"])
                   for l in summary[direction] if l[key]["mb_s"]]
            if pts:
                label = "%s %s" % (summary[direction][0][key]["tool"],
                                   "ADC" if direction == "adc" else "DAC")
                if key == "ceiling":
                    label += " (ceiling)"
                series.append((label, direction, key, pts))
    if not series:
        return "nothing to plot"
    data = os.path.join(outdir, "bench.dat")
    with open(data, "w") as f:
        for label, _, _, pts in series:
            f.write("# %s\n" % label)
            for x, y in pts:
                f.write("%g %g\n" % (x, y))
            f.write("\n\n")
    colors = {"ceiling": "#444444", "iiofab": "#d62728", "iiod": "#1f77b4"}
    plots = []
    for i, (label, direction, key, _) in enumerate(series):
        dash = 1 if direction == "adc" else 2
        plots.append("'%s' index %d with linespoints lw 2 pt 7 dt %d lc rgb '%s' "
                     "title '%s'" % (data, i, dash, colors[key], label))
    script = "\n".join([
        "set terminal pngcairo size 900,560 noenhanced",
        "set output '%s'" % os.path.join(outdir, "bench.png"),
        "set title 'iiofab vs perftest ceiling vs libiio iiod (soft-RoCE lab, TCG)'",
        "set xlabel 'block size (KiB)'",
        "set ylabel 'throughput (MB/s)'",
        "set logscale x 2",
        "set yrange [0:*]",
        "set grid",
        "set key outside right top",
        "plot " + ", \\\n  ".join(plots),
    ])
    p = subprocess.run(["gnuplot"], input=script, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode:
        return "gnuplot failed: " + p.stdout.strip()
    return None


def check(results, summary):
    """Every expected figure present and positive; returns the problems."""
    problems = []
    if not results.get("rows"):
        return ["no measurements at all"]
    play = results.get("iiofab", {}).get("play")
    for direction, _, _ in DIRECTIONS:
        for line in summary[direction]:
            size = fmt_size(line["block_bytes"])
            for key in ("ceiling", "iiofab", "iiod"):
                e = line[key]
                if direction == "dac" and e["tool"] == "iiofab" and not play:
                    if e["status"] != "unsupported":
                        problems.append("iiofab DAC %s: %s" % (size, e["status"]))
                    continue
                wanted = ["mb_s", "bytes", "board_busy_s_per_gib"]
                if "server" in e:
                    wanted.append("server_cpu_s_per_gib")
                for k in wanted:
                    v = e.get(k)
                    if v is None or not v > 0:
                        problems.append("%s %s %s: %s is %s%s" % (
                            e["tool"], direction.upper(), size, k,
                            "missing" if v is None else v,
                            " (%s)" % e["error"].splitlines()[0][:200]
                            if e.get("error") else ""))
            for k, v in line["ratios"].items():
                if direction == "dac" and not play:
                    break
                if v is None or not v > 0:
                    problems.append("%s %s: ratio %s is %s" % (
                        direction.upper(), size, k, v))
    return problems


def build(results_path, outdir, command=None):
    """Writes bench.json/.md/.png into outdir; returns (markdown, summary, results)."""
    with open(results_path) as f:
        results = json.load(f)
    summary = summarize(results)
    md = markdown(results, summary)
    os.makedirs(outdir, exist_ok=True)
    doc = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "units": {"mb_s": "10^6 bytes per second of sample data delivered",
                  "server_cpu_s_per_gib": "server process CPU seconds (user+sys, "
                  "all threads) per 2^30 bytes moved",
                  "board_busy_s_per_gib": "board guest non-idle CPU seconds "
                  "(/proc/stat) per 2^30 bytes moved"},
        "plan": results["plan"],
        "iiofab_features": results.get("iiofab"),
        "board": results.get("board"),
        "notes": results.get("notes", []),
        "adc": summary["adc"],
        "dac": summary["dac"],
        "rows": results.get("rows", []),
    }
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
