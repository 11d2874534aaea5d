# SPDX-License-Identifier: MIT
"""tests/mpi/lab-rsh natively: a client and an agent over a scratch directory."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

RSH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab-rsh")


class LabRsh(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.env = dict(os.environ, IIOFAB_RSH_DIR=self.tmp.name,
                        IIOFAB_RSH_PICKUP="2")
        self.done = os.path.join(self.tmp.name, "done")
        self.agent = subprocess.Popen(
            [sys.executable, RSH, "serve", "--addr", "10.0.0.9", "--name",
             "node9", "--until", self.done, "--timeout", "60"],
            env=self.env, stderr=subprocess.PIPE, text=True)

    def tearDown(self):
        open(self.done, "w").close()
        try:
            self.agent.wait(timeout=10)
        finally:
            self.agent.kill()
            self.agent.stderr.close()
            self.tmp.cleanup()

    def rsh(self, *args, timeout=30):
        return subprocess.run([sys.executable, RSH] + list(args), env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def test_output_and_status(self):
        r = self.rsh("10.0.0.9", "echo", "out;", "echo err >&2;", "exit 3")
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stdout, "out\n")
        self.assertEqual(r.stderr, "err\n")

    def test_by_name_and_ssh_options(self):
        r = self.rsh("-x", "-o", "BatchMode=yes", "node9", "echo", "$((6 * 7))")
        self.assertEqual((r.returncode, r.stdout), (0, "42\n"))

    def test_no_agent(self):
        t0 = time.monotonic()
        r = self.rsh("10.0.0.8", "true")
        self.assertEqual(r.returncode, 255)
        self.assertIn("no agent for 10.0.0.8", r.stderr)
        self.assertLess(time.monotonic() - t0, 10)

    def test_client_killed_kills_command(self):
        mark = os.path.join(self.tmp.name, "survived")
        client = subprocess.Popen(
            [sys.executable, RSH, "10.0.0.9", "sleep 5; touch " + mark],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)
        client.send_signal(signal.SIGTERM)
        self.assertEqual(client.wait(timeout=15), 128 + signal.SIGTERM)
        client.stdout.close()
        client.stderr.close()
        time.sleep(5)
        self.assertFalse(os.path.exists(mark))

    def test_agent_stops_on_file(self):
        open(self.done, "w").close()
        self.assertEqual(self.agent.wait(timeout=10), 0)


if __name__ == "__main__":
    unittest.main()
