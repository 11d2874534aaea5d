# SPDX-License-Identifier: MIT
"""unit.bench_report (cont.): the board agent's /proc and sysfs readers."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import board_agent


class AgentTest(unittest.TestCase):
    def test_scan_bytes_aligns_like_iio(self):
        d = tempfile.mkdtemp(prefix="t_bench_")
        try:
            os.mkdir(os.path.join(d, "scan_elements"))
            chans = {"in_voltage0": ("le:s16/16>>0", 0),
                     "in_voltage1": ("le:s16/16>>0", 1),
                     "in_voltage2": ("le:s12/16>>4", 2),
                     "in_timestamp": ("le:s64/64>>0", 3)}
            for name, (fmt, index) in chans.items():
                base = os.path.join(d, "scan_elements", name)
                with open(base + "_type", "w") as f:
                    f.write(fmt + "\n")
                with open(base + "_index", "w") as f:
                    f.write("%d\n" % index)
            # Three 16-bit channels (6), the timestamp aligned to 8: 16.
            self.assertEqual(board_agent.scan_bytes(d), 16)
            os.unlink(os.path.join(d, "scan_elements", "in_timestamp_type"))
            self.assertEqual(board_agent.scan_bytes(d), 6)
        finally:
            shutil.rmtree(d)

    def test_process_cpu_counts_a_busy_child(self):
        p = subprocess.Popen(["sh", "-c", "i=0; while [ $i -lt 200000 ]; do "
                              "i=$((i+1)); done; sleep 5"])
        try:
            first, how = board_agent.proc_cpu(p.pid)
            time.sleep(0.3)
            second, _ = board_agent.proc_cpu(p.pid)
            self.assertIn(how, ("cpuclock", "stat"))
            self.assertGreater(second, first)
        finally:
            p.kill()
            p.wait()

    def test_board_cpu_moves(self):
        busy, total = board_agent.board_cpu()
        self.assertGreaterEqual(total, busy)
        self.assertGreater(total, 0)

    def test_attributes_are_set_and_read_back(self):
        d = tempfile.mkdtemp(prefix="t_bench_")
        try:
            with open(os.path.join(d, "sampling_frequency"), "w") as f:
                f.write("0\n")
            agent = board_agent.Agent(d, {"devices": {"adc": {"sysfs": d}}})
            ans = agent.handle({"op": "set_attr", "device": "adc",
                                "attr": "sampling_frequency", "value": 2500})
            self.assertEqual(ans, {"ok": True, "value": "2500"})
            self.assertEqual(agent.handle({"op": "attr", "device": "adc",
                                           "attr": "sampling_frequency"}),
                             {"ok": True, "value": "2500"})
            self.assertFalse(agent.handle({"op": "set_attr", "device": "dac",
                                           "attr": "x", "value": 1})["ok"])
        finally:
            shutil.rmtree(d)

    def test_dmesg_time(self):
        self.assertEqual(board_agent.dmesg_time("[   12.5] x"), 12.5)
        self.assertEqual(board_agent.dmesg_time("no stamp"), float("inf"))


if __name__ == "__main__":
    unittest.main()
