# SPDX-License-Identifier: MIT
"""unit.bench_report (cont.): the cluster rows' barrier, window and sums,
with threads for hosts and a shell script for iiofab bench --sync."""

import os
import shutil
import tempfile
import threading
import time
import unittest

import cluster

# Stands in for iiofab bench --sync: counts the SIGUSR1s as the tool does
# (the first opens the window, the second ends it and the tool) and prints
# the seconds between them as its JSON.
FAKE_BENCH = r"""
n=0
trap 'n=$((n+1)); [ $n = 1 ] && t0=$(date +%s.%N)' USR1
echo "iiofab: connected" >&2
echo "iiofab: bench: started, counting from the first SIGUSR1" >&2
while [ $n -lt 2 ]; do sleep 0.01; done
t1=$(date +%s.%N)
echo "{\"bytes\": 1000, \"t\": $(awk "BEGIN { print $t1 - $t0 }")}"
"""


def fake_figures(text):
    import json
    doc = json.loads(text)
    return {"bytes": doc["bytes"], "seconds": doc["t"], "mb_s": 1.0}


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="t_cluster_")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def sync(self, me):
        return cluster.Sync(self.dir, me, poll=0.005)

    def test_barrier_waits_for_every_host(self):
        passed = []

        def host(name, delay):
            time.sleep(delay)
            self.sync(name).barrier(0, "start", ["host1", "host2"], 10)
            passed.append((name, time.monotonic()))

        t = threading.Thread(target=host, args=("host2", 0.3))
        t0 = time.monotonic()
        t.start()
        host("host1", 0)
        t.join()
        self.assertEqual(len(passed), 2)
        self.assertGreaterEqual(min(p[1] for p in passed) - t0, 0.29)

    def test_barrier_times_out_and_sees_failures(self):
        s = self.sync("host1")
        with self.assertRaisesRegex(cluster.ClusterError, "no 3.start.host2"):
            s.barrier(3, "start", ["host1", "host2"], 0.1)
        self.sync("host2").put("3.failed.host2", {"error": "no rkey"})
        t0 = time.monotonic()
        with self.assertRaisesRegex(cluster.ClusterError, "host2: no rkey"):
            s.barrier(3, "start", ["host1", "host2"], 30)
        self.assertLess(time.monotonic() - t0, 5)

    def test_put_is_whole_and_get_of_nothing_is_none(self):
        s = self.sync("host1")
        self.assertIsNone(s.get("phase-0.json"))
        s.put("phase-0.json", {"hosts": ["host1"]})
        self.assertEqual(s.get("phase-0.json"), {"hosts": ["host1"]})
        self.assertEqual([n for n in os.listdir(self.dir) if "tmp" in n], [])

    def test_aggregate_is_each_hosts_bytes_over_its_window(self):
        parts = [{"bytes": 30e6, "seconds": 10.02, "mb_s": 2.994},
                 {"bytes": 10e6, "seconds": 9.99, "mb_s": 1.001}]
        a = cluster.aggregate(parts, 10.0)
        self.assertAlmostEqual(a["mb_s"], 30 / 10.02 + 10 / 9.99)
        self.assertEqual(a["seconds"], 10.0)
        self.assertEqual(a["bytes"], 40e6)
        self.assertEqual(a["host_mb_s"], [2.994, 1.001])
        self.assertAlmostEqual(a["window_spread_s"], 0.02)
        with self.assertRaises(cluster.ClusterError):
            cluster.aggregate(parts, 0)
        with self.assertRaises(cluster.ClusterError):
            cluster.aggregate([], 10)

    def test_reference_aggregate_sums_the_runs(self):
        a = cluster.reference_aggregate([
            {"bytes": 100, "seconds": 10.0, "mb_s": 12.5},
            {"bytes": 80, "seconds": 10.1, "mb_s": 10.0}])
        self.assertEqual((a["mb_s"], a["bytes"], a["seconds"]), (22.5, 180, 10.1))

    def test_hosts_count_the_window_host1_opens_and_closes(self):
        hosts = ["host1", "host2", "host3"]
        phase = {"kind": "bench", "hosts": hosts, "timeout": 30,
                 "argv": {h: ["bash", "-c", FAKE_BENCH] for h in hosts}}
        threads = [threading.Thread(target=cluster.take_part, args=(
            self.sync(h), 0, phase, None, fake_figures, 30)) for h in hosts]
        for t in threads:
            t.start()
        s = self.sync("host1")
        s.wait(["0.streaming.%s" % h for h in hosts], 30)
        time.sleep(0.2)
        # Streaming, and not one mark yet: nobody is done.
        self.assertEqual([h for h in hosts if s.get("0.%s.json" % h)], [])
        s.put("0.go")
        time.sleep(0.5)
        s.put("0.stop")
        for t in threads:
            t.join(30)
        for h in hosts:
            self.assertIsNone(s.get("0.failed.%s" % h))
            doc = s.get("0.%s.json" % h)
            self.assertEqual(doc["bytes"], 1000)
            # Both edges came (a fork under load may take a second or
            # more, so the length is only bounded).
            self.assertGreater(doc["seconds"], 0)
            self.assertLess(doc["seconds"], 20)

    def test_a_bench_that_never_streams_fails_its_part(self):
        phase = {"kind": "bench", "hosts": ["host2"], "timeout": 5,
                 "argv": {"host2": ["sh", "-c", "echo 'cannot connect' >&2; exit 1"]}}
        s = self.sync("host2")
        cluster.take_part(s, 4, phase, None, fake_figures, 5)
        self.assertIn("cannot connect", s.get("4.failed.host2")["error"])

    def test_reference_part_runs_its_own_client(self):
        phase = {"kind": "reference", "hosts": ["host2"], "block_bytes": 4096,
                 "argv": {"host2": ["ib_read_bw", "-p", "18602", "10.77.0.1"]}}
        seen = []

        def perftest(argv, ph):
            seen.append((argv, ph["block_bytes"]))
            return {"bytes": 1, "seconds": 1.0, "mb_s": 1e-6}

        s = self.sync("host2")
        cluster.take_part(s, 1, phase, perftest, fake_figures, 5)
        self.assertEqual(seen, [(phase["argv"]["host2"], 4096)])
        self.assertEqual(s.get("1.host2.json")["mb_s"], 1e-6)

    def test_follower_takes_its_phases_and_stops_when_done(self):
        s1 = self.sync("host1")
        ran = []

        def perftest(argv, ph):
            ran.append(argv[0])
            return {"bytes": 1, "seconds": 1.0, "mb_s": 1.0}

        s1.put("phase-0.json", {"kind": "reference", "hosts": ["host1"],
                                "argv": {"host1": ["a"]}})
        s1.put("phase-1.json", {"kind": "reference", "hosts": ["host1", "host2"],
                                "argv": {"host1": ["b"], "host2": ["b2"]}})
        s1.put("1.start.host1")
        s1.put("done")
        rc = cluster.follow(self.sync("host2"), perftest, fake_figures, 30,
                            idle_poll=0.01)
        self.assertEqual((rc, ran), (0, ["b2"]))
        self.assertIsNotNone(s1.get("1.host2.json"))

    def test_follower_without_host1_gives_up(self):
        t0 = time.monotonic()
        rc = cluster.follow(self.sync("host2"), None, fake_figures, 0.2,
                            idle_poll=0.01)
        self.assertEqual(rc, 1)
        self.assertLess(time.monotonic() - t0, 5)


if __name__ == "__main__":
    unittest.main()
