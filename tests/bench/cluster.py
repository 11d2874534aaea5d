# SPDX-License-Identifier: MIT
"""The cluster rows of tests/bench/run: N hosts at once on one board.

Every host guest runs host_driver.py; host1 coordinates, the others take
part. They meet through files in a directory of the lab's shared /run/lab
(9p without a cache, so a file one guest writes is there for the next
stat of another):

  phase-K.json       host1: what phase K runs, on which hosts
  K.NAME.HOST        a host reached barrier NAME of phase K
  K.failed.HOST      that host's part failed (its error inside): no one
                     waits for it any longer
  K.go, K.stop       host1: the edges of the window every host counts
  K.HOST.json        what that host measured
  done               host1 is finished: the others exit

A phase is either the reference (ib_read_bw from every host at once, one
perftest server per host on its own port) or `iiofab bench --mode MODE
--sync` from every host at once. Each bench is signalled by its own host
as that host sees K.go and K.stop, so every host counts one window (to
within the time a file takes to show in the other guests); host1 takes
iiofabd's CPU right before it writes K.go and right after K.stop, and
rates it against what the hosts delivered at their rate over that window.
"""

import json
import os
import signal
import subprocess
import threading
import time

# What iiofab bench --sync prints once a SIGUSR1 no longer ends it.
SYNC_READY = "iiofab: bench: started, counting from the first SIGUSR1"
# Seconds between two looks at the directory: while a phase runs (an edge
# is late by this much at most) and while a host waits for the next phase
# (the single-host rows run meanwhile: idle hosts must cost them nothing).
POLL_S = 0.02
IDLE_POLL_S = 1.0


class ClusterError(Exception):
    """A phase that failed; its text goes into the row."""


def host_name(index):
    return "host%d" % index


def host_addr(index):
    return "10.77.0.%d" % (index + 1)


class Sync:
    """The files of one lab run's cluster directory, as seen by host me."""

    def __init__(self, path, me, poll=POLL_S):
        self.path = path
        self.me = me
        self.poll = poll
        os.makedirs(path, exist_ok=True)

    def file(self, name):
        return os.path.join(self.path, name)

    def put(self, name, doc=None):
        """Writes name whole (a reader polling for it never sees half)."""
        tmp = self.file(".%s.%s.tmp" % (name, self.me))
        with open(tmp, "w") as f:
            json.dump(doc if doc is not None else {}, f)
        os.replace(tmp, self.file(name))

    def get(self, name):
        try:
            with open(self.file(name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def failures(self, k, hosts):
        out = {}
        for h in hosts:
            doc = self.get("%s.failed.%s" % (k, h))
            if doc is not None:
                out[h] = doc.get("error", "failed")
        return out

    def wait(self, names, timeout, k=None, hosts=()):
        """Until every file in names exists; a failure of one of hosts in
        phase k, or the timeout, raises ClusterError."""
        deadline = time.monotonic() + timeout
        while True:
            missing = [n for n in names if not os.path.exists(self.file(n))]
            if not missing:
                return
            failed = self.failures(k, hosts) if k is not None else {}
            if failed:
                raise ClusterError("; ".join("%s: %s" % kv
                                             for kv in sorted(failed.items())))
            if time.monotonic() > deadline:
                raise ClusterError("no %s after %g s" % (
                    ", ".join(missing), timeout))
            time.sleep(self.poll)

    def barrier(self, k, name, hosts, timeout):
        """Every host of phase k reached name (this one included)."""
        self.put("%s.%s.%s" % (k, name, self.me))
        self.wait(["%s.%s.%s" % (k, name, h) for h in hosts], timeout, k, hosts)


def aggregate(parts, window_s):
    """The phase's figures from every host's (bytes, seconds, ...) and the
    common window (s, the board's clock between the CPU snapshots around
    its edges): the sum of the bytes each host counted over the window it
    counted. The hosts' windows are that one, each as long as its own
    clock says; how far each was from the board's is window_spread_s.
    Each host's own length, not the board's, divides its bytes: in a guest
    starved of CPU writing an edge's file took seconds, which the board's
    window holds and no host counted."""
    if window_s <= 0 or not parts or any(p["seconds"] <= 0 for p in parts):
        raise ClusterError("no window")
    own = [p["seconds"] for p in parts]
    return {"bytes": sum(p["bytes"] for p in parts), "seconds": window_s,
            "mb_s": sum(p["bytes"] / p["seconds"] for p in parts) / 1e6,
            "host_mb_s": [p["mb_s"] for p in parts],
            "host_seconds": own,
            "window_spread_s": max(abs(s - window_s) for s in own)}


def reference_aggregate(parts):
    """Concurrent perftest runs: each counts its own window of the same
    length; their sum is what the link gave all hosts at once."""
    if not parts:
        raise ClusterError("no reference run")
    return {"bytes": sum(p["bytes"] for p in parts),
            "seconds": max(p["seconds"] for p in parts),
            "mb_s": sum(p["mb_s"] for p in parts),
            "host_mb_s": [p["mb_s"] for p in parts],
            "host_seconds": [p["seconds"] for p in parts]}


class SyncedBench:
    """One host's `iiofab bench --sync`: started, told the window's edges,
    its JSON read at the end."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  errors="replace")
        self.ready = threading.Event()
        self.started = False    # the line came, not the end of stderr
        self.err = []
        self.reader = threading.Thread(target=self.read_stderr, daemon=True)
        self.reader.start()

    def read_stderr(self):
        for line in self.p.stderr:
            self.err.append(line)
            if line.startswith(SYNC_READY):
                self.started = True
                self.ready.set()
        self.ready.set()        # also when it ended without the line

    def wait_ready(self, timeout):
        if not self.ready.wait(timeout) or not self.started or \
                self.p.poll() is not None:
            raise ClusterError("iiofab bench did not start streaming: %s" %
                               "".join(self.err[-4:]).strip())

    def mark(self):
        if self.p.poll() is not None:
            raise ClusterError("iiofab bench ended inside the window: %s" %
                               "".join(self.err[-4:]).strip())
        self.p.send_signal(signal.SIGUSR1)

    def finish(self, timeout):
        # Not communicate(): the reader thread owns stderr. stdout is one
        # short object at the end, it waits in its pipe.
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ClusterError("iiofab bench did not exit")
        out = self.p.stdout.read()
        self.reader.join(5)
        return self.p.returncode, out, "".join(self.err)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.reader.join(5)
        self.p.stdout.close()
        self.p.stderr.close()


def take_part(sync, k, phase, run_perftest, bench_figures, timeout):
    """This host's part of phase k: its figures go to K.HOST.json, a
    failure to K.failed.HOST."""
    hosts = phase["hosts"]
    argv = phase["argv"][sync.me]
    try:
        sync.barrier(k, "start", hosts, timeout)
        if phase["kind"] == "reference":
            doc = run_perftest(argv, phase)
        else:
            doc = synced_bench(sync, k, hosts, argv, bench_figures, timeout)
        sync.put("%s.%s.json" % (k, sync.me), doc)
    except Exception as e:  # noqa: BLE001 -- every failure must reach host1
        sync.put("%s.failed.%s" % (k, sync.me), {"error": str(e)})


def synced_bench(sync, k, hosts, argv, bench_figures, timeout):
    bench = SyncedBench(argv)
    try:
        bench.wait_ready(timeout)
        sync.barrier(k, "streaming", hosts, timeout)
        sync.wait(["%s.go" % k], timeout, k, hosts)
        bench.mark()
        sync.wait(["%s.stop" % k], timeout, k, hosts)
        bench.mark()
        rc, out, err = bench.finish(timeout)
    finally:
        bench.kill()
    if rc != 0:
        raise ClusterError("iiofab bench exited %d: %s" % (
            rc, "\n".join(err.strip().splitlines()[-4:])))
    return bench_figures(out)


def follow(sync, run_perftest, bench_figures, timeout, idle_poll=IDLE_POLL_S):
    """A host other than host1: takes part in every phase that names it
    until host1 says done (or the timeout)."""
    deadline = time.monotonic() + timeout
    k = 0
    while time.monotonic() < deadline:
        phase = sync.get("phase-%d.json" % k)
        if phase is None:
            if os.path.exists(sync.file("done")):
                return 0
            time.sleep(idle_poll)
            continue
        if sync.me in phase["hosts"]:
            take_part(sync, k, phase, run_perftest, bench_figures,
                      phase.get("timeout", 120))
        k += 1
    return 1
