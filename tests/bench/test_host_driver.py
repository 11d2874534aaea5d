# SPDX-License-Identifier: MIT
"""unit.bench_report (cont.): the host driver's pipe meters, natively."""

import unittest

import host_driver


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

    def test_ramp_is_the_simulator_pattern(self):
        data = host_driver.ramp(8 * 5000, 8)
        words = memoryview(data).cast("H")
        self.assertEqual(list(words[:8]), [0, 4096, 8192, 12288, 1, 4097, 8193, 12289])
        self.assertEqual(words[4 * 4999 + 3], (4999 + 3 * 4096) & 0xFFFF)


if __name__ == "__main__":
    unittest.main()
