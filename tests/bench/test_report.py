# SPDX-License-Identifier: MIT
"""unit.bench_report: the benchmark report and its check, without a lab."""

import copy
import json
import os
import shutil
import tempfile
import unittest

import report

SIZES = [65536, 1048576]
# What host_driver.bench_figures() adds to an iiofab ADC row.
LATENCY = {"blocks_per_s": 28.6, "latency_n": 400, "latency_mean_us": 1500.0,
           "latency_p50_us": 1400.0, "latency_p99_us": 3200.5,
           "latency_max_us": 4000.0}
# ... and to an iiofab DAC row (bench --push: SUBMIT to return).
PUSH_LATENCY = dict(LATENCY, latency_p50_us=90000.0, latency_p99_us=120000.5)
# ... and from its startup_ms.
STARTUP = {"startup_total_ms": 1500.0, "startup_connect_ms": 900.0,
           "startup_open_ms": 400.0, "startup_start_ms": 50.0,
           "startup_first_block_ms": 150.0}
# What host_driver.perftest_argv() adds to a reference row.
READ_HOW = {"mode": "duration", "window_s": 30, "margin_s": 1,
            "command": "ib_read_bw -R -d rxe0 -F -p 18601 -s 65536 -D 32 -f 1"}


def t_row(tool, direction, size, mb_s=10.0, server=True, **extra):
    row = {"tool": tool, "dir": direction, "block_bytes": size, "status": "ok",
           "mb_s": mb_s, "bytes": 8 << 20, "board_busy_s_per_gib": 50.0,
           "seconds": (8 << 20) / (mb_s or 1) / 1e6, "wall_s": 12.5}
    if server:
        row["server_cpu_s_per_gib"] = 5.0
    row.update(extra)
    return row


def t_results(push=True):
    rows = []
    for size in SIZES:
        rows.append(t_row("ib_read_bw", "adc", size, 40.0, server=False,
                          iters=(8 << 20) // size, **READ_HOW))
        rows.append(t_row("iiofab", "adc", size, 30.0, lost_samples=1000,
                          **LATENCY, **STARTUP))
        rows.append(t_row("iiod", "adc", size, 15.0))
        rows.append(t_row("ib_write_bw", "dac", size, 35.0, server=False))
        if push:
            rows.append(t_row("iiofab", "dac", size, 25.0, underruns=3,
                              **PUSH_LATENCY, **STARTUP))
        else:
            rows.append({"tool": "iiofab", "dir": "dac", "block_bytes": size,
                         "status": "unsupported",
                         "error": "this iiofab has no 'bench --push'"})
        rows.append(t_row("iiod", "dac", size, 12.0))
    return {"plan": {"sizes": SIZES, "bytes": 8 << 20, "blocks": 8,
                     "max_seconds": 30, "iiofab_warmup_s": 1,
                     "perftest_margin_s": 1},
            "iiofab": {"bench": True, "push": push},
            "board": {"devices": {"iiofab-sim-adc": {"scan_bytes": 8}}},
            "rows": rows, "notes": []}


class ReportCase(unittest.TestCase):
    """A temporary directory to build reports in."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="t_bench_")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def build(self, results):
        path = os.path.join(self.dir, "results.json")
        with open(path, "w") as f:
            json.dump(results, f)
        return report.build(path, os.path.join(self.dir, "out"))


class ReportTest(ReportCase):

    def test_complete_run_passes_and_writes_three_files(self):
        md, summary, res = self.build(t_results())
        self.assertEqual(report.check(res, summary), [])
        for name in ("bench.json", "bench.md", "bench.png"):
            self.assertTrue(os.path.getsize(os.path.join(self.dir, "out", name)))
        line = summary["adc"][0]
        self.assertAlmostEqual(line["ratios"]["iiofab_vs_ceiling"], 0.75)
        self.assertAlmostEqual(line["ratios"]["iiofab_vs_iiod"], 2.0)
        self.assertAlmostEqual(
            line["ratios"]["server_cpu_per_gib_iiofabd_vs_iiod"], 1.0)
        self.assertIn("| 64 KiB | 40.00 | 30.00 | 15.00 | 0.75 | 2.00 | 5.000 "
                      "| 5.000 | 1.000 | 50.00 | 50.00 | 1.000 |", md)

    def test_iiofab_latency_in_both_tables_and_json(self):
        md, summary, _ = self.build(t_results())
        adc, dac = md.split("### DAC")
        self.assertIn("| iiofab lost | iiofab p50 us | iiofab p99 us |", adc)
        self.assertIn("| 1.000 | 0.1% | 1400.0 | 3200.5 |", adc)
        self.assertIn("| iiofab underruns | iiofab p50 us | iiofab p99 us |", dac)
        self.assertIn("| 1.000 | 3 | 90000.0 | 120000.5 |\n", dac)
        self.assertIn("DAC from its SUBMIT to its return", md)
        for d in ("adc", "dac"):
            for name in ("ceiling", "iiod"):
                self.assertNotIn("latency_p50_us", summary[d][0][name])
        self.assertEqual(summary["dac"][0]["iiofab"]["latency_p50_us"], 90000.0)
        with open(os.path.join(self.dir, "out", "bench.json")) as f:
            fab = json.load(f)["adc"][1]["iiofab"]
        for k, v in LATENCY.items():
            self.assertEqual(fab[k], v)

    def test_reference_says_how_it_ran(self):
        md, summary, _ = self.build(t_results())
        self.assertIn("both ends at normal priority", md)
        self.assertIn("`ib_read_bw -D 32 -f 1`", md)
        self.assertIn("counts the 30 s between a 1 s warm-up margin", md)
        self.assertIn("`ib_write_bw -n BYTES/size` (the same 8 MiB", md)
        self.assertNotIn("SCHED_IDLE", md)
        ceil = summary["adc"][0]["ceiling"]
        for k, v in READ_HOW.items():
            self.assertEqual(ceil[k], v)
        self.assertEqual(ceil["iters"], 128)

    def test_volume_and_window_side_by_side(self):
        md, _, _ = self.build(t_results())
        adc, dac = md.split("### DAC")
        # 8 MiB = 8.39 MB, over 8.39 MB / rate s, 12.5 s in all.
        self.assertIn("| block | ib_read_bw | iiofab | iiod |\n", adc)
        self.assertIn("| 64 KiB | 8.4 / 0.21 (12.5) | 8.4 / 0.28 (12.5) "
                      "| 8.4 / 0.56 (12.5) |", adc)
        self.assertIn("| block | ib_write_bw | iiofab | iiod |\n", dac)
        self.assertIn("| 1 MiB | 8.4 / 0.24 (12.5) | 8.4 / 0.34 (12.5) "
                      "| 8.4 / 0.70 (12.5) |", dac)

    def test_time_to_first_block_in_both_directions(self):
        md, summary, _ = self.build(t_results())
        adc, dac = md.split("### DAC")
        self.assertIn("| block | start to first block ms | connect ms | "
                      "open stream ms | START ms | START to first block ms |",
                      adc)
        self.assertIn("| 64 KiB | 1500.0 | 900.0 | 400.0 | 50.0 | 150.0 |", adc)
        self.assertIn("iiofab bench --push, from its start to the first block "
                      "back consumed", dac)
        self.assertIn("| 64 KiB | 1500.0 | 900.0 | 400.0 | 50.0 | 150.0 |", dac)
        for d in ("adc", "dac"):
            for k, v in STARTUP.items():
                self.assertEqual(summary[d][0]["iiofab"][k], v)

    def test_iiofab_adc_without_startup_fails(self):
        res = t_results()
        for k in STARTUP:
            del res["rows"][1][k]
        res["rows"][7]["startup_open_ms"] = None
        md, summary, res = self.build(res)
        problems = report.check(res, summary)
        self.assertIn("iiofab ADC 64 KiB: startup_total_ms is missing",
                      problems)
        self.assertIn("iiofab ADC 64 KiB: startup_connect_ms is missing",
                      problems)
        self.assertIn("iiofab ADC 1 MiB: startup_open_ms is missing", problems)
        self.assertIn("| 64 KiB | n/a | n/a | n/a | n/a | n/a |", md)

    def test_reference_without_its_window_fails(self):
        res = t_results()
        del res["rows"][0]["seconds"]
        _, summary, res = self.build(res)
        self.assertIn("ib_read_bw ADC 64 KiB: seconds is missing",
                      report.check(res, summary))

    def test_iiofab_adc_without_latency_fails(self):
        res = t_results()
        for k in LATENCY:
            del res["rows"][1][k]
        md, summary, res = self.build(res)
        problems = report.check(res, summary)
        self.assertTrue(any("iiofab ADC 64 KiB: latency_p50_us is missing" in p
                            for p in problems), problems)
        self.assertTrue(any("iiofab ADC 64 KiB: latency_p99_us is missing" in p
                            for p in problems), problems)
        self.assertIn("| 1.000 | 0.1% | n/a | n/a |", md)

    def test_missing_figure_fails(self):
        res = t_results()
        del res["rows"][2]["server_cpu_s_per_gib"]
        _, summary, res = self.build(res)
        problems = report.check(res, summary)
        self.assertTrue(any("iiod ADC 64 KiB: server_cpu_s_per_gib" in p
                            for p in problems), problems)

    def test_ceiling_needs_no_board_cpu(self):
        res = t_results()
        del res["rows"][0]["board_busy_s_per_gib"]
        _, summary, res = self.build(res)
        self.assertEqual(report.check(res, summary), [])

    def test_zero_figure_fails(self):
        res = t_results()
        res["rows"][1]["mb_s"] = 0.0
        _, summary, res = self.build(res)
        self.assertTrue(report.check(res, summary))

    def test_failed_row_fails_and_is_listed(self):
        res = t_results()
        res["rows"][1] = {"tool": "iiofab", "dir": "adc", "block_bytes": 65536,
                          "status": "failed", "error": "Connection timed out"}
        md, summary, res = self.build(res)
        self.assertTrue(report.check(res, summary))
        self.assertIn("| 64 KiB | 40.00 | FAIL |", md)
        self.assertIn("| - | FAIL | FAIL |", md)
        self.assertIn("iiofab 64 KiB: Connection timed out", md)

    def test_absent_row_fails(self):
        res = t_results()
        res["rows"] = [r for r in res["rows"] if r["tool"] != "ib_write_bw"]
        _, summary, res = self.build(res)
        self.assertTrue(any("ib_write_bw" in p for p in report.check(res, summary)))

    def test_dac_without_push_is_said_not_skipped(self):
        md, summary, res = self.build(t_results(push=False))
        self.assertEqual(report.check(res, summary), [])
        self.assertIn("no `bench --push`", md)
        self.assertIn("| 64 KiB | 35.00 | n/a | 12.00 |", md)

    def test_push_claimed_but_dac_row_missing_fails(self):
        res = t_results(push=False)
        res["iiofab"]["push"] = True
        _, summary, res = self.build(copy.deepcopy(res))
        self.assertTrue(report.check(res, summary))

    def test_repeats_report_the_median_run(self):
        res = t_results()
        extra = []
        for mb_s, status in ((20.0, "ok"), (50.0, "ok"), (None, "failed")):
            r = t_row("iiofab", "adc", 65536, mb_s)
            r["status"] = status
            extra.append(r)
        res["rows"] += extra
        res["plan"]["repeat"] = 4
        md, summary, res = self.build(res)
        fab = summary["adc"][0]["iiofab"]
        self.assertEqual(fab["mb_s"], 30.0)
        self.assertEqual(fab["runs_mb_s"], [20.0, 30.0, 50.0])
        self.assertEqual(fab["runs_failed"], 1)
        self.assertIn("median of 4 runs", md)

    def test_no_rows_at_all_fails(self):
        res = t_results()
        res["rows"] = []
        _, summary, res = self.build(res)
        self.assertTrue(report.check(res, summary))


def t_cluster(results, fanout=(9.0, 17.0, 24.0), shard=(9.5, 18.0, 26.0),
              ref=(10.0, 19.0, 27.0), cpu=(2.0, 2.2, 2.4)):
    """results with cluster rows: aggregate MB/s per host count of each
    mode, the references', iiofabd CPU s/GiB (the same for both modes)."""
    results["plan"]["cluster"] = {"hosts": 3, "modes": ["fanout", "shard"],
                                  "block_bytes": 1 << 20, "seconds": 30}
    rows = []
    for n in range(1, 4):
        rows.append({"tool": "ib_read_bw", "mode": "reference", "hosts": n,
                     "block_bytes": 1 << 20, "status": "ok",
                     "mb_s": ref[n - 1], "seconds": 30.0,
                     "host_mb_s": [ref[n - 1] / n] * n})
        for mode, agg in (("fanout", fanout), ("shard", shard)):
            paced = {"paced_mb_s": ref[n - 1] / n} if mode == "fanout" else {}
            rows.append({**paced, "tool": "iiofab", "mode": mode, "hosts": n,
                         "block_bytes": 1 << 20, "status": "ok",
                         "mb_s": agg[n - 1], "bytes": agg[n - 1] * 30e6,
                         "seconds": 30.0, "window_spread_s": 0.03,
                         "host_mb_s": [agg[n - 1] / n] * n,
                         "server_cpu_s_per_gib": cpu[n - 1],
                         "board_busy_s_per_gib": 40.0, "lost_samples": 0})
    results["cluster_rows"] = rows
    return results


class RegPathsReportTest(ReportCase):

    def test_paths_side_by_side(self):
        res = t_results()
        res["reg_rows"] = [
            t_row("iiofab", "adc", 65536, 20.0, reg_path="dmabuf-mr",
                  reg_path_wanted="dmabuf-mr", server_cpu_s_per_gib=2.0),
            t_row("iiofab", "adc", 65536, 10.0, reg_path="memfd-mr",
                  reg_path_wanted="memfd-mr", server_cpu_s_per_gib=4.0),
            {"tool": "iiofab", "dir": "dac", "block_bytes": 65536,
             "status": "failed", "error": "iiofabd took memfd-mr",
             "reg_path_wanted": "dmabuf-mr"}]
        md, summary, res = self.build(res)
        self.assertIn("| ADC | 64 KiB | 20.00 | 10.00 | 2.00 | 2.000 | 4.000 "
                      "| 0.50 |", md)
        self.assertIn("| DAC | 64 KiB | FAIL | - | - | FAIL | - | - |", md)
        with open(os.path.join(self.dir, "out", "bench.json")) as f:
            self.assertEqual(len(json.load(f)["reg_rows"]), 3)

    def test_no_reg_rows_no_table(self):
        md, _, _ = self.build(t_results())
        self.assertNotIn("Registration paths", md)


class ClusterReportTest(ReportCase):
    def test_cluster_table_ratios_and_targets(self):
        md, summary, res = self.build(t_cluster(t_results()))
        self.assertEqual(report.check(res, summary), [])
        cl = summary["cluster"]
        self.assertEqual(len(cl["lines"]), 6)
        three = [l for l in cl["lines"] if l["hosts"] == 3]
        self.assertAlmostEqual(three[0]["vs_reference"], 24.0 / 27.0)
        self.assertAlmostEqual(three[1]["cpu_vs_1_host"], 1.2)
        self.assertEqual(cl["met"], {"aggregate_vs_reference": False,
                                     "cpu_per_gib_vs_1_host": True})
        self.assertIn("| mode | hosts | aggregate MB/s | ib_read_bw aggregate "
                      "MB/s | ratio | iiofabd CPU s/GiB | ratio to 1 host |", md)
        self.assertIn("| fanout | 2 | 17.00 | 19.00 | 0.89 | 2.200 | 1.10 "
                      "| 8.50 / 8.50 | 9.50 / 9.50 | 9.50 a host | 0 |", md)
        self.assertIn("| shard | 3 | 26.00 | 27.00 | 0.96 | 2.400 | 1.20 "
                      "| 8.67 / 8.67 / 8.67 | 9.00 / 9.00 / 9.00 | unthrottled "
                      "| 0 |", md)
        self.assertIn("aggregate >= 0.9x ib_read_bw: missed; CPU per GiB at "
                      "the most hosts <= 1.3x one host's: met.", md)
        with open(os.path.join(self.dir, "out", "bench.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["cluster"]["lines"][5]["mode"], "shard")
        self.assertEqual(len(doc["cluster_rows"]), 9)

    def test_cluster_targets_met(self):
        _, summary, _ = self.build(t_cluster(
            t_results(), fanout=(9.5, 18.0, 25.0)))
        self.assertEqual(summary["cluster"]["met"],
                         {"aggregate_vs_reference": True,
                          "cpu_per_gib_vs_1_host": True})

    def test_cluster_cpu_ratio_is_to_one_host_of_the_same_mode(self):
        res = t_cluster(t_results(), cpu=(2.0, 2.0, 3.0))
        res["cluster_rows"][2]["server_cpu_s_per_gib"] = 1.0   # shard, 1 host
        _, summary, _ = self.build(res)
        lines = {(l["mode"], l["hosts"]): l for l in summary["cluster"]["lines"]}
        self.assertAlmostEqual(lines[("fanout", 3)]["cpu_vs_1_host"], 1.5)
        self.assertAlmostEqual(lines[("shard", 3)]["cpu_vs_1_host"], 3.0)
        self.assertFalse(summary["cluster"]["met"]["cpu_per_gib_vs_1_host"])

    def test_failed_cluster_row_fails_the_check_and_is_listed(self):
        res = t_cluster(t_results())
        res["cluster_rows"][4] = {"tool": "iiofab", "mode": "fanout",
                                  "hosts": 2, "block_bytes": 1 << 20,
                                  "status": "failed",
                                  "error": "host2: iiofab bench exited 1"}
        md, summary, res = self.build(res)
        problems = report.check(res, summary)
        self.assertIn("cluster fanout 2 host(s): mb_s is missing "
                      "(host2: iiofab bench exited 1)", problems)
        self.assertIn("| fanout | 2 | FAIL | 19.00 | - | FAIL | - | - |", md)
        self.assertIn("- fanout at 2 host(s): host2: iiofab bench exited 1", md)
        self.assertEqual(summary["cluster"]["met"]["aggregate_vs_reference"],
                         None)

    def test_missing_reference_fails_the_check(self):
        res = t_cluster(t_results())
        res["cluster_rows"] = [r for r in res["cluster_rows"]
                               if not (r["mode"] == "reference" and r["hosts"] == 3)]
        md, summary, res = self.build(res)
        self.assertTrue(any("cluster shard 3 host(s): reference_mb_s is missing"
                            in p for p in report.check(res, summary)))
        self.assertIn("| shard | 3 | 26.00 | - | - |", md)

    def test_no_cluster_no_table(self):
        md, summary, res = self.build(t_results())
        self.assertNotIn("cluster", summary)
        self.assertNotIn("Serving a cluster", md)
        with open(os.path.join(self.dir, "out", "bench.json")) as f:
            self.assertNotIn("cluster", json.load(f))


if __name__ == "__main__":
    unittest.main()
