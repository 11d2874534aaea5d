#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Board side of tests/bench/run: prepares the board, then serves the host.

  board_agent.py start WORKDIR   load the simulator, unthrottle it, fork the
                                 agent into the background, return once it
                                 listens (the lab's board command)
  board_agent.py after WORKDIR   wait for the agent to finish, stop what it
                                 left behind, report (the board-after command)

The host driver asks the agent, over one TCP connection on the fabric NIC, to
start and stop the board-side servers (perftest, iiofabd, iiod, one perftest
server per host for the cluster rows), to read and set the simulator's
attributes and to take CPU snapshots from /proc exactly at phase boundaries. TCP rather than files on
the shared repository: the agent blocks in recv() between requests, so it
costs the board no CPU while a phase is measured (a polling loop would show up
in the very busy-CPU figure being measured). Requests and answers are one JSON
object per line.
"""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

AGENT_PORT = 7798
SIM_DEVICES = ("iiofab-sim-adc", "iiofab-sim-dac")


def log(msg):
    print("bench-agent: %s" % msg, file=sys.stderr, flush=True)


def sh(cmd, timeout=60):
    p = subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, text=True)
    return p.returncode, p.stdout


def iio_device_dir(name):
    for path in glob.glob("/sys/bus/iio/devices/iio:device*/name"):
        try:
            with open(path) as f:
                if f.read().strip() == name:
                    return os.path.dirname(path)
        except OSError:
            pass
    return None


def scan_bytes(devdir):
    """Bytes per scan with every channel enabled, laid out as IIO does:
    channels in scan-index order, each aligned to its own storage size, the
    whole padded to the largest."""
    elems = []
    for path in glob.glob(os.path.join(devdir, "scan_elements", "*_type")):
        with open(path) as f:
            fmt = f.read().strip()          # e.g. le:s16/16>>0 or le:s12/16X2>>4
        try:
            with open(path[:-len("_type")] + "_index") as f:
                index = int(f.read().strip())
        except (OSError, ValueError):
            index = len(elems)
        storage = fmt.split("/")[1].split(">>")[0]
        bits, _, repeat = storage.partition("X")
        elems.append((index, int(bits) // 8, int(repeat or 1)))
    size = largest = 0
    for _, nbytes, repeat in sorted(elems):
        size = (size + nbytes - 1) // nbytes * nbytes + nbytes * repeat
        largest = max(largest, nbytes)
    if largest:
        size = (size + largest - 1) // largest * largest
    return size


def prepare_board(build_dir, rate):
    """Loads the simulator and sets its rate (0: unthrottled); returns what
    the host needs."""
    info = {"sim": False, "sim_error": None, "devices": {}}
    ko = os.path.join(build_dir, "kmod", "iiofab_sim.ko")
    if not iio_device_dir(SIM_DEVICES[0]):
        if not os.path.exists(ko):
            info["sim_error"] = "%s is not built" % ko
            return info
        rc, out = sh("modprobe industrialio && insmod %s" % ko)
        if rc:
            info["sim_error"] = "loading the simulator failed: " + out.strip()
            return info
    for name in SIM_DEVICES:
        d = iio_device_dir(name)
        if not d:
            continue
        dev = {"sysfs": d, "scan_bytes": scan_bytes(d)}
        freq = os.path.join(d, "sampling_frequency")
        try:
            with open(freq, "w") as f:
                f.write(str(rate))
            with open(freq) as f:
                dev["sampling_frequency"] = int(f.read().strip())
        except OSError as e:
            dev["sampling_frequency_error"] = str(e)
        info["devices"][name] = dev
    info["sim"] = SIM_DEVICES[0] in info["devices"]
    if not info["sim"]:
        info["sim_error"] = "the simulator loaded but %s is missing" % (
            SIM_DEVICES[0])
    return info


def board_cpu():
    """(busy, total) jiffies of the whole guest from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]:
    # guest time is already part of user, so it is left out of the total.
    total = sum(fields[:8])
    idle = fields[3] + fields[4]
    return total - idle, total


def proc_cpu(pid):
    """CPU time of one process, every thread including those that exited.

    Returns (seconds, how). The process CPU clock (clock_getcpuclockid) is
    exact to the nanosecond; /proc/<pid>/stat's utime+stime carries the same
    total rounded to clock ticks (10 ms), too coarse for a server that should
    barely run, so it is only the fallback (e.g. for a zombie).
    """
    try:
        clock = ((~pid) << 3) | 2      # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
        return time.clock_gettime(clock), "cpuclock"
    except OSError:
        pass
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), "stat"


class Agent:
    def __init__(self, workdir, info):
        self.workdir = workdir
        self.info = info
        self.procs = {}
        self.hz = os.sysconf("SC_CLK_TCK")

    def spawn(self, req):
        name = req["name"]
        old = self.procs.get(name)
        if old and old.poll() is None:
            return {"ok": False, "error": "%s is still running" % name}
        logpath = os.path.join(self.workdir, "board-%s.log" % name)
        logf = open(logpath, "w")
        try:
            p = subprocess.Popen(req["argv"], stdout=logf, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=self.workdir)
        except OSError as e:
            return {"ok": False, "error": "%s: %s" % (req["argv"][0], e)}
        finally:
            logf.close()
        self.procs[name] = p
        port = req.get("rdma_cm_port")
        if port:
            err = self.wait_rdma_listen(p, port, req.get("timeout", 30))
            if err:
                return {"ok": False, "error": err, "log": self.log_tail(name)}
        return {"ok": True, "pid": p.pid}

    @staticmethod
    def wait_rdma_listen(p, port, timeout):
        """Waits until p listens on an rdma_cm port (no socket tool shows it)."""
        pat = re.compile(r"\bLISTEN\b.*[:\s]%d(\s|$)" % port)
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            if p.poll() is not None:
                return "exited %d before listening" % p.returncode
            rc, out = sh("rdma res show cm_id")
            if any(pat.search(line) for line in out.splitlines()):
                return None
            time.sleep(0.2)
        return "not listening on rdma_cm port %d after %d s: %s" % (
            port, timeout, out.strip()[-300:])

    def wait(self, req):
        p = self.procs.get(req["name"])
        if not p:
            return {"ok": False, "error": "no process %s" % req["name"]}
        try:
            rc = p.wait(timeout=req.get("timeout", 30))
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": "%s still running" % req["name"]}
        return {"ok": True, "rc": rc, "log": self.log_tail(req["name"])}

    def stop(self, req):
        p = self.procs.get(req["name"])
        if not p:
            return {"ok": False, "error": "no process %s" % req["name"]}
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=req.get("timeout", 15))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                return {"ok": False, "error": "%s ignored SIGTERM" % req["name"],
                        "rc": p.returncode}
        return {"ok": True, "rc": p.returncode, "log": self.log_tail(req["name"])}

    def log_tail(self, name, lines=15):
        try:
            with open(os.path.join(self.workdir, "board-%s.log" % name),
                      errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def cpu(self, req):
        busy, total = board_cpu()
        ans = {"ok": True, "t": time.monotonic(), "busy": busy, "total": total,
               "hz": self.hz}
        name = req.get("name")
        if name:
            p = self.procs.get(name)
            if not p:
                return {"ok": False, "error": "no process %s" % name}
            # Not reaped yet (nothing here polls it), a server that already
            # exited is a zombie whose stat still holds its final times.
            try:
                ans["proc"], ans["proc_how"] = proc_cpu(p.pid)
            except OSError as e:
                return {"ok": False, "error": "%s: %s" % (name, e)}
        return ans

    def read_attr(self, req):
        dev = self.info["devices"].get(req["device"])
        if not dev:
            return {"ok": False, "error": "no device %s" % req["device"]}
        try:
            with open(os.path.join(dev["sysfs"], req["attr"])) as f:
                return {"ok": True, "value": f.read().strip()}
        except OSError as e:
            return {"ok": False, "error": str(e)}

    def write_attr(self, req):
        """Writes a device attribute and answers what it reads back."""
        dev = self.info["devices"].get(req["device"])
        if not dev:
            return {"ok": False, "error": "no device %s" % req["device"]}
        path = os.path.join(dev["sysfs"], req["attr"])
        try:
            with open(path, "w") as f:
                f.write(str(req["value"]))
            with open(path) as f:
                return {"ok": True, "value": f.read().strip()}
        except OSError as e:
            return {"ok": False, "error": str(e)}

    def handle(self, req):
        op = req.get("op")
        if op == "info":
            return dict(self.info, ok=True)
        if op == "spawn":
            return self.spawn(req)
        if op == "wait":
            return self.wait(req)
        if op == "stop":
            return self.stop(req)
        if op == "cpu":
            return self.cpu(req)
        if op == "attr":
            return self.read_attr(req)
        if op == "set_attr":
            return self.write_attr(req)
        return {"ok": False, "error": "unknown op %r" % op}

    def stop_all(self):
        for name in list(self.procs):
            self.stop({"name": name, "timeout": 5})

    def serve(self, lsock):
        """One host connection at a time until a 'quit' request."""
        while True:
            conn, peer = lsock.accept()
            log("host connected from %s" % peer[0])
            with conn, conn.makefile("rw") as f:
                for line in f:
                    req = json.loads(line)
                    if req.get("op") == "quit":
                        self.stop_all()
                        f.write(json.dumps({"ok": True}) + "\n")
                        f.flush()
                        return
                    try:
                        ans = self.handle(req)
                    except Exception as e:  # an answer, never a dead agent
                        ans = {"ok": False, "error": "%s: %s" % (
                            type(e).__name__, e)}
                    f.write(json.dumps(ans) + "\n")
                    f.flush()
            log("host disconnected")


def start(workdir):
    build_dir = os.environ.get("IIOFAB_BUILD_DIR") or os.path.join(
        os.getcwd(), "build")
    with open(os.path.join(workdir, "plan.json")) as f:
        plan = json.load(f)
    info = prepare_board(build_dir, plan.get("sampling_frequency", 0))
    info["board_addr"] = os.environ.get("IIOFAB_BOARD_ADDR", "10.77.0.1")
    # Kernel complaints from before the benchmark (a TCG boot on a loaded
    # machine has its own) are not the benchmark's.
    with open("/proc/uptime") as f:
        info["dmesg_from"] = float(f.read().split()[0])
    log("simulator: %s" % ("ready" if info["sim"] else info["sim_error"]))
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((info["board_addr"], AGENT_PORT))
    lsock.listen(1)
    with open(os.path.join(workdir, "board-info.json"), "w") as f:
        json.dump(info, f, indent=1)
    if os.fork():
        return 0
    # The agent: detached from the lab's board command, which returns now.
    os.setsid()
    fd = os.open(os.path.join(workdir, "board-agent.log"),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    rc = 0
    agent = Agent(workdir, info)
    try:
        agent.serve(lsock)
    except Exception as e:
        log("failed: %s: %s" % (type(e).__name__, e))
        rc = 1
    finally:
        agent.stop_all()
        with open(os.path.join(workdir, "board-agent.rc"), "w") as f:
            f.write("%d\n" % rc)
    os._exit(rc)


def dmesg_time(line):
    """Seconds since boot of a dmesg line ("[  12.345678] ..."), else inf."""
    m = re.match(r"\[\s*(\d+\.\d+)\]", line)
    return float(m.group(1)) if m else float("inf")


def after(workdir):
    """The board-after command: the agent must have finished cleanly."""
    rcpath = os.path.join(workdir, "board-agent.rc")
    deadline = time.monotonic() + 20
    while not os.path.exists(rcpath) and time.monotonic() < deadline:
        time.sleep(0.2)
    status = 0
    if not os.path.exists(rcpath):
        log("the agent did not finish (the host driver never said quit)")
        status = 1
    else:
        with open(rcpath) as f:
            rc = int(f.read().strip() or 1)
        if rc:
            log("the agent exited %d" % rc)
            status = 1
    # A kernel splat during the run makes its figures suspect.
    since = 0.0
    try:
        with open(os.path.join(workdir, "board-info.json")) as f:
            since = json.load(f).get("dmesg_from", 0.0)
    except (OSError, ValueError):
        pass
    rc, out = sh("dmesg")
    bad = [l for l in out.splitlines() if ("BUG:" in l or "WARNING:" in l)
           and dmesg_time(l) >= since]
    with open(os.path.join(workdir, "board-dmesg.txt"), "w") as f:
        f.write(out)
    if bad:
        log("kernel reported problems:\n" + "\n".join(bad[:20]))
        status = 1
    return status


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "after"):
        print("usage: board_agent.py start|after WORKDIR", file=sys.stderr)
        return 2
    return start(argv[2]) if argv[1] == "start" else after(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
