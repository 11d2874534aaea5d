# SPDX-License-Identifier: MIT
"""unit.bench_report (cont.): the host driver's pipe meters, its reading of
iiofab bench and of perftest, and perftest's arguments, natively."""

import unittest

import host_driver

# What `iiofab bench --json` prints (tests/unit/test_bench_stats.c checks
# that the tool prints this very text for these figures).
BENCH_JSON = (
    '{"device":"iiofab-sim-adc","direction":"input","block_size":1048576,'
    '"blocks":8,'
    '"channels":4,"reg_path":"dmabuf","seconds":2.000,'
    '"bytes":4194304,"samples":524288,"blocks_received":4,'
    '"mb_s":2.097,"blocks_per_s":2.000,"lost_samples":100,'
    '"latency_us":{"n":4,"mean":2500.000,"p50":2000.000,'
    '"p99":4000.000,"max":4000.000},"startup_ms":{"connect":10.500,'
    '"open":20.250,"start":1.000,"first_block":3.125,"total":34.875}}\n')
STARTUP = {"startup_connect_ms": 10.5, "startup_open_ms": 20.25,
           "startup_start_ms": 1.0, "startup_first_block_ms": 3.125,
           "startup_total_ms": 34.875}

# The end of what ib_read_bw -D 8 -f 1 -s 1048576 printed in the lab
# (perftest 4.5-0.17): 136 iterations counted in its 6 s window.
PERFTEST_DURATION = """\
 CQ Moderation   : 1
 Mtu             : 4096[B]
 Outstand reads  : 128
---------------------------------------------------------------------------------------
 #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]
 1048576    136              0.00               22.62  \t\t   0.000023
---------------------------------------------------------------------------------------
"""
# ib_read_bw -n 200 -s 1048576, same boot.
PERFTEST_ITERS = """\
 #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]   MsgRate[Mpps]
 1048576    200              21.55              17.27  \t\t   0.000017
---------------------------------------------------------------------------------------
"""
PLAN = {"max_seconds": 30, "perftest_margin_s": 1, "bytes": 64 << 20,
        "perftest_min_iters": 5}


class MeterTest(unittest.TestCase):
    def test_sink_counts_every_byte(self):
        t = host_driver.sink(["head", "-c", str(3 << 20), "/dev/zero"], 30, 60)
        self.assertEqual(t.total, 3 << 20)
        self.assertEqual(t.rc, 0)
        self.assertFalse(t.capped)

    def test_sink_snapshots_the_rate_window(self):
        calls = []
        t = host_driver.sink(["head", "-c", str(3 << 20), "/dev/zero"], 30, 60,
                             lambda: calls.append(1) or len(calls))
        f = t.figures("head")
        self.assertEqual(calls, [1, 1])
        self.assertEqual(f["steady"][:2], (1, 2))
        self.assertEqual(f["steady"][2], t.total - t.first)

    def test_source_snapshots_the_rate_window(self):
        calls = []
        t = host_driver.source(["sh", "-c", "cat >/dev/null"], bytes(1 << 20),
                               65536, 30, 60, lambda: calls.append(1) or len(calls))
        self.assertEqual(t.figures("cat")["steady"][:2], (1, 2))

    def test_sink_stops_at_the_cap(self):
        t = host_driver.sink(["cat", "/dev/zero"], 30, 0.3)
        self.assertTrue(t.capped)
        f = t.figures("cat")
        self.assertGreater(f["mb_s"], 0)
        self.assertTrue(f["capped"])

    def test_source_feeds_every_byte(self):
        data = bytes(2 << 20)
        t = host_driver.source(["sh", "-c", "wc -c"], data, 65536, 30, 60)
        self.assertEqual(t.total, len(data))
        self.assertEqual(t.out.strip(), str(len(data)))
        self.assertGreater(t.figures("wc")["mb_s"], 0)

    def test_source_tool_that_stops_reading_is_an_error(self):
        with self.assertRaises(host_driver.BenchError):
            host_driver.source(["head", "-c", "1"], bytes(4 << 20), 65536, 30, 60)

    def test_nothing_moved_has_no_rate(self):
        t = host_driver.sink(["true"], 30, 60)
        with self.assertRaises(host_driver.BenchError):
            t.figures("true")

    def test_bench_figures_read_the_json(self):
        f = host_driver.bench_figures(BENCH_JSON)
        self.assertEqual(f, {
            "bytes": 4194304, "mb_s": 2.097, "seconds": 2.0,
            "lost_samples": 100, "blocks_received": 4, "blocks_per_s": 2.0,
            "reg_path": "dmabuf", "latency_n": 4, "latency_mean_us": 2500.0,
            "latency_p50_us": 2000.0, "latency_p99_us": 4000.0,
            "latency_max_us": 4000.0, **STARTUP})

    def test_bench_push_reports_underruns(self):
        text = BENCH_JSON.replace('"input"', '"output"').replace(
            '"lost_samples":100', '"underruns":7')
        f = host_driver.bench_figures(text)
        self.assertEqual(f["underruns"], 7)
        self.assertNotIn("lost_samples", f)
        self.assertEqual(f["latency_p50_us"], 2000.0)

    def test_bench_without_startup_has_no_startup_figures(self):
        text = BENCH_JSON[:BENCH_JSON.index(',"startup_ms"')] + \
            ',"startup_ms":null}\n'
        f = host_driver.bench_figures(text)
        self.assertFalse([k for k in f if k.startswith("startup_")])

    def test_bench_without_blocks_is_an_error(self):
        text = BENCH_JSON.replace('"blocks_received":4', '"blocks_received":0')
        with self.assertRaises(host_driver.BenchError):
            host_driver.bench_figures(text)
        text = BENCH_JSON.replace('"n":4', '"n":0')
        with self.assertRaises(host_driver.BenchError):
            host_driver.bench_figures(text)

    def test_bench_output_that_is_not_the_json_is_an_error(self):
        for text in ("", "bench: 4 blocks", BENCH_JSON[:-20],
                     BENCH_JSON.replace('"p99"', '"p98"')):
            with self.assertRaises(host_driver.BenchError):
                host_driver.bench_figures(text)

    def test_run_marked_snapshots_at_the_marks(self):
        calls = []
        script = ("echo other >&2; echo '%s' >&2; sleep 0.2; "
                  "echo 'iiofab: warning: x' >&2; echo '%s' >&2; echo '{}'" %
                  host_driver.BENCH_MARKS)
        rc, out, err, snaps = host_driver.run_marked(
            ["sh", "-c", script], 30, host_driver.BENCH_MARKS,
            lambda: calls.append(1) or len(calls))
        self.assertEqual((rc, out, snaps), (0, "{}\n", [1, 2]))
        self.assertEqual(err.splitlines()[0], "other")

    def test_run_marked_in_order_only(self):
        script = "echo '%s' >&2; echo '%s' >&2; exit 3" % (
            host_driver.BENCH_MARKS[1], host_driver.BENCH_MARKS[0])
        rc, _, _, snaps = host_driver.run_marked(
            ["sh", "-c", script], 30, host_driver.BENCH_MARKS, lambda: 1)
        self.assertEqual((rc, snaps), (3, [1]))

    def test_run_marked_ends_a_tool_that_hangs(self):
        with self.assertRaises(host_driver.BenchError):
            host_driver.run_marked(["sleep", "30"], 0.5, host_driver.BENCH_MARKS)

    def test_read_reference_runs_as_long_as_bench_counts(self):
        argv, how = host_driver.perftest_argv("ib_read_bw", 65536, PLAN, 18601)
        self.assertEqual(argv, ["ib_read_bw", "-R", "-d", "rxe0", "-F", "-p",
                                "18601", "-s", "65536", "-D", "32", "-f", "1"])
        self.assertNotIn("chrt", argv)
        self.assertEqual(how, {"mode": "duration", "window_s": 30,
                               "margin_s": 1, "command": " ".join(argv)})

    def test_write_reference_moves_the_push_volume(self):
        argv, how = host_driver.perftest_argv("ib_write_bw", 1 << 20, PLAN, 7)
        self.assertEqual(argv[-2:], ["-n", "64"])
        self.assertNotIn("-D", argv)
        self.assertEqual((how["mode"], how["iters"]), ("volume", 64))
        argv, how = host_driver.perftest_argv("ib_write_bw", 64 << 20, PLAN, 7)
        self.assertEqual(how["iters"], 5)   # perftest's least

    def test_perftest_duration_counts_its_own_iterations(self):
        f = host_driver.perftest_figures(PERFTEST_DURATION, 1048576)
        self.assertEqual((f["iters"], f["bytes"]), (136, 136 << 20))
        self.assertAlmostEqual(f["mb_s"], 22.62 * 1.048576)
        self.assertAlmostEqual(f["seconds"], 6.0, places=1)

    def test_perftest_iterations_must_be_those_passed(self):
        f = host_driver.perftest_figures(PERFTEST_ITERS, 1048576, 200)
        self.assertEqual(f["bytes"], 200 << 20)
        self.assertAlmostEqual(f["seconds"], (200 << 20) / (17.27 * 1048576))
        with self.assertRaises(host_driver.BenchError):
            host_driver.perftest_figures(PERFTEST_ITERS, 1048576, 100)
        with self.assertRaises(host_driver.BenchError):
            host_driver.perftest_figures(PERFTEST_ITERS, 65536)
        with self.assertRaises(host_driver.BenchError):
            host_driver.perftest_figures(
                PERFTEST_DURATION.replace(" 136 ", " 0 "), 1048576)

    def test_perftest_duration_with_a_broken_clock_is_rated_over_its_window(self):
        # A guest that calibrated its TSC wrong: iterations, no average.
        text = PERFTEST_DURATION.replace("22.62", "0.00")
        f = host_driver.perftest_figures(text, 1048576, window_s=6)
        self.assertEqual((f["iters"], f["seconds"], f["rate_from"]),
                         (136, 6.0, "window"))
        self.assertAlmostEqual(f["mb_s"], (136 << 20) / 6 / 1e6)
        with self.assertRaises(host_driver.BenchError):
            host_driver.perftest_figures(text, 1048576)
        with self.assertRaises(host_driver.BenchError):
            host_driver.perftest_figures(
                PERFTEST_ITERS.replace("17.27", "0.00"), 1048576, 200, 6)

    def test_ramp_is_the_simulator_pattern(self):
        data = host_driver.ramp(8 * 5000, 8)
        words = memoryview(data).cast("H")
        self.assertEqual(list(words[:8]), [0, 4096, 8192, 12288, 1, 4097, 8193, 12289])
        self.assertEqual(words[4 * 4999 + 3], (4999 + 3 * 4096) & 0xFFFF)


if __name__ == "__main__":
    unittest.main()
