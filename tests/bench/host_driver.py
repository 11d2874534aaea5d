#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host side of tests/bench/run: drives every phase, the board agent serves.

  host_driver.py WORKDIR

Reads WORKDIR/plan.json (written by tests/bench/run), measures at each block
size, side by side: perftest's ib_read_bw/ib_write_bw (the link's reference),
iiofab bench (ADC) and bench --push (DAC) against iiofabd, and libiio's
iio_readdev/iio_writedev against iiod, with board CPU snapshots around every transfer. Results go to
WORKDIR/results.json after every measurement, so a run cut short still
leaves what it measured.

Throughput of libiio is measured here: bytes delivered through a pipe to
(ADC) or from (DAC) this process, from the moment the first block went
through to the end of the transfer, so context creation and connection
setup count for neither. The iiofab figures are `iiofab bench`'s own (it
moves no data through a pipe): ADC, the bytes of the blocks that landed
after its warm-up, over that window, with each block's latency from READY
to landed; DAC (--push ramp, each block filled in place in its registered
memory), the blocks that came back consumed after its warm-up until the
volume was counted, with each block's latency from SUBMIT to its return.
The board CPU is taken over the same window, between the lines bench -v
marks it with. Its whole-run CPU (*_whole) counts the warm-up's CPU but
only the window's bytes; the row also has bench's
startup_ms, the time from its start to the first block and its parts.

perftest reports its own figure, over as much as the iiofab run it is
compared with (perftest_argv): ib_read_bw for the same counted window as
iiofab bench, after a warm-up as long, ib_write_bw for the same volume as
iiofab bench --push counts. Every row has the bytes its rate counts, the
window it took them in (seconds) and the tool's whole run (wall_s).

With reg_paths in the plan (a lab booted with the dma-buf rxe), the rows
above run on iiofabd's memfd path, as on the stock rxe, and then iiofab
bench and bench --push run on each registration path in turn at each of
its sizes, a fresh iiofabd for each: results.json's reg_rows. With a
cluster in the plan, host1 measures the cluster rows last, the
other hosts taking part (cluster.py): results.json's cluster_rows.
"""

import array
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time

import cluster

AGENT_PORT = 7798
IIOD_PORT = 30431
F_SETPIPE_SZ = 1031
# Bytes iiofab keeps in flight at small block sizes (see iiofab_blocks).
IN_FLIGHT = 2 << 20
GIB = 1 << 30
ADC = "iiofab-sim-adc"
DAC = "iiofab-sim-dac"

# What iiofab bench -v prints on stderr at the edges of its counted window.
BENCH_MARKS = ("iiofab: bench: warm-up over, counting",
               "iiofab: bench: counting over")
# Where iiofab bench's time from its start to the first block landed went
# (its startup_ms): connect (resolution, connection, handshake, device
# table), open (OPEN_STREAM: the board's arena and registration, the
# landing buffer's), start (START), first_block (START's reply to the first
# block landed), and their total.
STARTUP_PARTS = ("connect", "open", "start", "first_block", "total")
# The simulated DAC's counters read around an iiofab push.
DAC_ATTRS = ("underruns", "pattern_errors")
# The registration paths side by side (--reg-paths, a lab with the dma-buf
# rxe): dma-buf MRs, and the memfd path iiofabd takes when the shim answers
# EOPNOTSUPP as the stock rxe provider does.
REG_PATHS = ("dmabuf-mr", "memfd-mr")
REG_FORCE_MEMFD = "IIOFAB_RXE_DMABUF_ERRNO=95"


class BenchError(Exception):
    """A measurement that failed; its text goes into the row."""


def log(msg):
    print("bench-host: %s" % msg, flush=True)


def tail(text, lines=8):
    return "\n".join(text.strip().splitlines()[-lines:])


class Board:
    """The board agent's request/answer line protocol."""

    def __init__(self, addr, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((addr, AGENT_PORT), 10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.sock.settimeout(None)
        self.f = self.sock.makefile("rw")

    def ask(self, op, **kw):
        kw["op"] = op
        self.f.write(json.dumps(kw) + "\n")
        self.f.flush()
        line = self.f.readline()
        if not line:
            raise BenchError("the board agent hung up")
        return json.loads(line)

    def must(self, op, **kw):
        ans = self.ask(op, **kw)
        if not ans.get("ok"):
            raise BenchError("board %s: %s" % (op, ans.get("error")))
        return ans

    def close(self):
        try:
            self.ask("quit")
        finally:
            self.sock.close()


def cpu_delta(before, after):
    hz = float(before["hz"])
    d = {"board_busy_s": (after["busy"] - before["busy"]) / hz,
         "board_total_s": (after["total"] - before["total"]) / hz}
    if "proc" in before and "proc" in after:
        d["server_cpu_s"] = after["proc"] - before["proc"]
        d["server_cpu_how"] = after["proc_how"]
    return d


class Transfer:
    """What went through a pipe: bytes, the rate window, the tool's output."""

    def __init__(self):
        self.total = 0          # bytes through the pipe
        self.first = 0          # bytes of the first chunk (before the window)
        self.t_first = None     # when the first chunk went through
        self.t_end = None
        self.capped = False     # stopped at max_seconds, not at the end
        self.rc = None
        self.out = ""
        self.snap = None        # takes a board CPU snapshot, or None
        self.snaps = []         # at the first chunk and at the end

    def mark(self):
        if self.snap:
            self.snaps.append(self.snap())

    def window(self):
        if self.t_first is None or self.t_end is None:
            return 0, 0.0
        return self.total - self.first, self.t_end - self.t_first

    def figures(self, what):
        counted, secs = self.window()
        if counted <= 0 or secs <= 0:
            raise BenchError("%s: no rate window (%d bytes in all)" % (
                what, self.total))
        f = {"bytes": self.total, "mb_s": counted / secs / 1e6, "seconds": secs}
        if len(self.snaps) == 2:
            f["steady"] = (self.snaps[0], self.snaps[1], counted)
        if self.capped:
            f["capped"] = True
        return f


def bench_figures(text):
    """The row figures of the JSON object `iiofab bench --json` printed."""
    try:
        doc = json.loads(text)
        lat = doc["latency_us"]
        loss = "underruns" if doc.get("direction") == "output" else \
            "lost_samples"
        f = {"bytes": doc["bytes"], "mb_s": doc["mb_s"],
             "seconds": doc["seconds"], loss: doc[loss],
             "blocks_received": doc["blocks_received"],
             "blocks_per_s": doc["blocks_per_s"], "reg_path": doc["reg_path"],
             "latency_n": lat["n"]}
        for k in ("mean", "p50", "p99", "max"):
            f["latency_%s_us" % k] = lat[k]
        startup = doc.get("startup_ms")
        if startup is not None:
            for k in STARTUP_PARTS:
                f["startup_%s_ms" % k] = startup[k]
    except (ValueError, TypeError, KeyError) as e:
        raise BenchError("iiofab bench printed no figures (%s): %s" % (
            e, tail(text, 2)))
    if not f["blocks_received"] or not f["latency_n"]:
        raise BenchError("iiofab bench counted no block")
    return f


def run_marked(argv, timeout, marks, snap=None):
    """Runs argv to its end; calls snap as each of the stderr lines marks
    appears. Returns (exit status, stdout, stderr, what snap returned)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, errors="replace")
    expired = []

    def expire():
        expired.append(True)
        p.kill()

    timer = threading.Timer(timeout, expire)
    timer.start()
    snaps, err = [], []
    try:
        # stdout is one short object at the end: it waits in its pipe.
        for line in p.stderr:
            err.append(line)
            if snap and len(snaps) < len(marks) and \
                    line.startswith(marks[len(snaps)]):
                snaps.append(snap())
        out = p.stdout.read()
        rc = p.wait()
    finally:
        timer.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    if expired:
        raise BenchError("%s: no end after %d s" % (argv[0], timeout))
    return rc, out, "".join(err), snaps


def finish(p, t, timeout):
    """Waits for p (or ends it when the transfer was capped)."""
    if t.capped:
        p.terminate()
    try:
        t.rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        t.rc = p.wait()
        raise BenchError("%s did not exit" % p.args[0])


def sink(argv, timeout, cap, snap=None):
    """Runs argv and reads its stdout, for at most cap seconds of data.

    snap, when given, is called as the first chunk arrives and as the last
    one did: the board CPU over exactly the window the rate is taken over.
    """
    t = Transfer()
    t.snap = snap
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         bufsize=0)
    try:
        fcntl.fcntl(p.stdout.fileno(), F_SETPIPE_SZ, 1 << 20)
    except OSError:
        pass
    buf = memoryview(bytearray(1 << 20))
    deadline = time.monotonic() + timeout
    try:
        while True:
            n = p.stdout.readinto(buf)
            now = time.monotonic()
            if not n:
                break
            if t.t_first is None:
                t.t_first, t.first = now, n
                t.mark()
            t.total += n
            t.t_end = now
            if now - t.t_first > cap:
                t.capped = True
                break
            if now > deadline:
                raise BenchError("%s: no end after %d s" % (argv[0], timeout))
        if t.t_first is not None:
            t.mark()
        if t.capped:
            finish(p, t, 30)
            t.out = p.stderr.read().decode(errors="replace")
        else:
            t.out = p.stderr.read().decode(errors="replace")
            finish(p, t, max(deadline - time.monotonic(), 5))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    return t


def iiofab_blocks(plan, size):
    """Blocks in flight for iiofab at this block size: the plan's count, and
    at least IN_FLIGHT bytes, as perftest keeps that much outstanding too."""
    return min(256, max(plan["blocks"], -(-IN_FLIGHT // size)))


def source(argv, data, chunk, timeout, cap, snap=None):
    """Feeds data to argv's stdin in chunks, for at most cap seconds; snap
    as for sink()."""
    t = Transfer()
    t.snap = snap
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, bufsize=0)
    try:
        # A one-page pipe: a write completes when the tool has taken it, so
        # the clock starts when the first block went through, not earlier.
        fcntl.fcntl(p.stdin.fileno(), F_SETPIPE_SZ, 4096)
    except OSError:
        pass
    view = memoryview(data)
    try:
        while t.total < len(view):
            n = p.stdin.write(view[t.total:t.total + chunk])
            now = time.monotonic()
            if t.t_first is None:
                t.t_first, t.first = now, n
                t.mark()
                # The tool is reading: from now on a page at a time would
                # measure context switches, not the tool.
                try:
                    fcntl.fcntl(p.stdin.fileno(), F_SETPIPE_SZ, 1 << 20)
                except OSError:
                    pass
            t.total += n
            if now - t.t_first > cap:
                t.capped = True
                t.t_end = now
                t.mark()
                break
        p.stdin.close()
        if t.capped:
            finish(p, t, 30)
            t.out = p.stdout.read().decode(errors="replace")
        else:
            # Done when the tool is: it exits once the board took the data.
            t.out = p.stdout.read().decode(errors="replace")
            finish(p, t, timeout)
            t.t_end = time.monotonic()
            t.mark()
    except BrokenPipeError:
        t.out = p.stdout.read().decode(errors="replace")
        t.rc = p.wait(timeout=timeout)
        raise BenchError("%s stopped reading after %d bytes (exit %d): %s" % (
            argv[0], t.total, t.rc, tail(t.out)))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    return t


def retry(argv, tries, timeout, what):
    out = ""
    for i in range(tries):
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
            out = p.stdout.decode(errors="replace")
            if p.returncode == 0:
                return out
        except subprocess.TimeoutExpired:
            out = "timed out after %d s" % timeout
        time.sleep(1)
    raise BenchError("%s failed %d times: %s" % (what, tries, tail(out)))


def wait_tcp(addr, port, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((addr, port), 2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError("nothing listens on %s:%d" % (addr, port))
            time.sleep(0.5)


def ramp(nbytes, scan_bytes):
    """The simulator's DAC pattern: channel c at scan n holds (n + 4096 c) mod 2^16."""
    chans = max(scan_bytes // 2, 1)
    period = 1 << 16            # scans: the pattern repeats with n mod 2^16
    words = array.array("H", ((n + 4096 * c) & 0xFFFF
                              for n in range(period) for c in range(chans)))
    if sys.byteorder != "little":
        words.byteswap()
    one = words.tobytes()
    scans = nbytes // (2 * chans)
    whole, rest = divmod(scans * 2 * chans, len(one))
    return one * whole + one[:rest]


def perftest_argv(tool, size, plan, port):
    """perftest's command (the same on both ends, the client adds the
    board's address) and how the run is bounded, for the row.

    Both ends run at normal priority, as a user would run them. ib_read_bw
    is compared with iiofab bench, which counts max_seconds after a warm-up:
    it runs in duration mode, -D max_seconds + 2 margins -f margin, and
    perftest counts the completions between its first and its last margin,
    the same max_seconds after a warm-up as long as iiofab's. ib_write_bw is
    compared with iiofab bench --push and iio_writedev, which count a fixed
    volume: it moves that volume, -n bytes/size.
    """
    argv = [tool, "-R", "-d", "rxe0", "-F", "-p", str(port), "-s", str(size)]
    if tool == "ib_read_bw":
        margin = plan["perftest_margin_s"]
        window = plan["max_seconds"]
        argv += ["-D", str(window + 2 * margin), "-f", str(margin)]
        how = {"mode": "duration", "window_s": window, "margin_s": margin}
    else:
        iters = max(plan["bytes"] // size, plan["perftest_min_iters"])
        argv += ["-n", str(iters)]
        how = {"mode": "volume", "iters": iters}
    how["command"] = " ".join(argv)
    return argv, how


def perftest_figures(text, size, iters=None, window_s=None):
    """The figures of perftest's result line

      #bytes  #iterations  BW peak[MB/sec]  BW average[MB/sec]  MsgRate[Mpps]

    where its MB is 2^20 bytes. In duration mode (iters None) the iteration
    count is the completions it counted in its window, not one passed to
    it; otherwise it must be the one passed. The window is perftest's own,
    from its bytes and its average.

    perftest times its average with the TSC at the frequency the guest
    kernel calibrated at boot, which a boot on a loaded machine can get
    wrong by orders of magnitude (iterations counted, 0.00 MB/s). In
    duration mode the iterations are those of its alarm-timed window_s,
    so with window_s given such a run is rated as iterations over it,
    and says so (rate_from)."""
    for line in text.splitlines():
        f = line.split()
        if len(f) < 4 or f[0] != str(size) or not f[1].isdigit():
            continue
        n = int(f[1])
        if iters is not None and n != iters:
            continue
        try:
            mb_s = float(f[3]) * 1.048576
        except ValueError:
            continue
        moved = size * n
        if n > 0 and mb_s <= 0 and iters is None and window_s:
            return {"mb_s": moved / window_s / 1e6, "bytes": moved, "iters": n,
                    "seconds": float(window_s), "rate_from": "window",
                    "perftest_mb_s": f[3]}
        if n <= 0 or mb_s <= 0:
            raise BenchError("perftest counted %d iterations at %s MB/s" % (
                n, f[3]))
        return {"mb_s": mb_s, "bytes": moved, "iters": n,
                "seconds": moved / (mb_s * 1e6)}
    raise BenchError("no perftest result line for %d bytes%s: %s" % (
        size, "" if iters is None else " x %d" % iters, tail(text, 4)))


def cluster_bench_argv(plan, addr, mode, size):
    """One host's part of a cluster phase: a fan-out or shard subscriber
    whose window the host's driver opens and closes (--sync); --seconds
    only bounds a window whose end never came."""
    c = plan["cluster"]
    return [plan["iiofab"], "bench", "--insecure", "--json", "-v",
            "--timeout", str(plan["iiofab_timeout_ms"]), "rdma://" + addr, ADC,
            "--mode", mode, "--sync", "--seconds", str(c["seconds"] + 60),
            "--block-size", str(size), "--blocks",
            str(c.get("blocks") or iiofab_blocks(plan, size))]


def cluster_perftest(plan):
    """How a host runs its reference client of a cluster phase."""
    def run(argv, phase):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=plan["transfer_timeout"])
        out = p.stdout.decode(errors="replace")
        if p.returncode != 0:
            raise BenchError("%s exited %d: %s" % (argv[0], p.returncode,
                                                   tail(out, 4)))
        return perftest_figures(out, phase["block_bytes"],
                                window_s=plan["max_seconds"])
    return run


# What a cluster row keeps of each host's bench.
CLUSTER_HOST_FIGURES = ("bytes", "seconds", "mb_s", "lost_samples",
                        "blocks_received", "latency_p50_us", "latency_p99_us")


class Driver:
    def __init__(self, workdir):
        self.workdir = workdir
        with open(os.path.join(workdir, "plan.json")) as f:
            self.plan = json.load(f)
        self.addr = os.environ.get("IIOFAB_BOARD_ADDR", "10.77.0.1")
        self.results = {"plan": self.plan, "rows": [], "notes": [],
                        "started": time.time()}
        self.port = self.plan["perftest_port"]
        self.board = None
        self.dac_data = None
        self.rep = 0
        self.sync = None
        self.phase_k = 0

    def save(self):
        path = os.path.join(self.workdir, "results.json")
        with open(path + ".tmp", "w") as f:
            json.dump(self.results, f, indent=1)
        os.replace(path + ".tmp", path)

    def note(self, text):
        log(text)
        self.results["notes"].append(text)

    def add(self, row):
        row.setdefault("t_end", round(time.time() - self.results["started"], 1))
        row["rep"] = self.rep
        self.results["rows"].append(row)
        self.save()
        if row["status"] == "ok":
            extra = ""
            if "server_cpu_s" in row:
                extra = ", server %.3f s CPU" % row["server_cpu_s"]
            log("%-11s %s %8d B: %8.2f MB/s (%d bytes, board busy %.2f s%s)" % (
                row["tool"], row["dir"], row["block_bytes"], row["mb_s"],
                row["bytes"], row.get("board_busy_s", 0), extra))
        else:
            log("%-11s %s %8d B: %s: %s" % (row["tool"], row["dir"],
                                             row["block_bytes"], row["status"],
                                             row.get("error", "")))
        return row

    def measure(self, tool, direction, size, server, fn, record=True,
                spinning=False):
        """One transfer between two CPU snapshots; fn(snap) returns the
        row's figures, with "steady" snapshots when it could take them at
        the edges of its rate window."""
        row = {"tool": tool, "dir": direction, "block_bytes": size,
               "t_start": round(time.time() - self.results["started"], 1)}
        try:
            before = self.board.must("cpu", name=server)
            t0 = time.monotonic()
            figures = fn(lambda: self.board.must("cpu", name=server))
            # The tool's whole run, set-up and warm-up included, next to the
            # window its rate is taken over (seconds).
            row["wall_s"] = time.monotonic() - t0
            after = self.board.must("cpu", name=server)
            steady = figures.pop("steady", None)
            row.update(figures)
            if row.get("bytes", 0) <= 0 or row.get("mb_s", 0) <= 0:
                raise BenchError("no data moved")
            # The whole run, connection set-up included ...
            whole = cpu_delta(before, after)
            gib = row["bytes"] / GIB
            for k in ("board_busy_s", "server_cpu_s"):
                if k in whole:
                    row[k + "_whole"] = whole[k]
                    row[k + "_whole_per_gib"] = whole[k] / gib
            # ... and the streaming window the rate is taken over: the
            # figures the table shows when the tool let us take them.
            if steady:
                window = cpu_delta(steady[0], steady[1])
                gib = steady[2] / GIB
                row["cpu_window"] = "stream"
            else:
                window = whole
                row["cpu_window"] = "whole run"
            row.update(window)
            if spinning and "server_cpu_s" in row:
                # A polling server fills every idle moment: what moving the
                # data cost the board is the busy time it left to others.
                row["board_busy_s_with_server"] = row["board_busy_s"]
                row["board_busy_s"] = max(row["board_busy_s"] -
                                          row["server_cpu_s"], 0.0)
            row["board_busy_s_per_gib"] = row["board_busy_s"] / gib
            if "server_cpu_s" in row:
                row["server_cpu_s_per_gib"] = row["server_cpu_s"] / gib
            row["status"] = "ok"
        except (BenchError, OSError, subprocess.SubprocessError, ValueError) as e:
            row["status"] = "failed"
            row["error"] = str(e)
        row["t_end"] = round(time.time() - self.results["started"], 1)
        if record:
            self.add(row)
        return row

    def unsupported(self, tool, direction, size, why):
        return self.add({"tool": tool, "dir": direction, "block_bytes": size,
                  "status": "unsupported", "error": why})

    # perftest: the reference -------------------------------------------------

    def perftest(self, tool, size):
        """perftest's own figure; a fresh server (and port) for every attempt."""
        direction = "adc" if tool == "ib_read_bw" else "dac"
        errors = []
        for attempt in range(3):
            self.port += 1
            name = "%s-%d-%d" % (tool, size, attempt)
            argv, how = perftest_argv(tool, size, self.plan, self.port)
            ans = self.board.ask("spawn", name=name, argv=argv,
                                 rdma_cm_port=self.port)
            if not ans.get("ok"):
                errors.append("server: %s %s" % (ans.get("error"),
                                                 tail(ans.get("log", ""), 3)))
                self.board.ask("stop", name=name)
                continue

            def run(snap):
                p = subprocess.run(argv + [self.addr], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT,
                                   timeout=self.plan["transfer_timeout"])
                out = p.stdout.decode(errors="replace")
                if p.returncode != 0:
                    raise BenchError("%s exited %d: %s" % (tool, p.returncode,
                                                           tail(out, 4)))
                f = perftest_figures(out, size, how.get("iters"),
                                     how.get("window_s"))
                f.update(how, attempt=attempt)
                return f

            row = self.measure(tool, direction, size, name, run, record=False,
                               spinning=True)
            ans = self.board.ask("wait", name=name, timeout=30)
            if not ans.get("ok") or ans.get("rc"):
                ans = self.board.ask("stop", name=name)
                if row["status"] == "ok":
                    self.note("%s server exited %s: %s" % (
                        name, ans.get("rc"), tail(ans.get("log", ""), 3)))
            if row["status"] == "ok":
                return self.add(row)
            errors.append("%s; server: %s" % (row["error"],
                                              tail(ans.get("log", ""), 3)))
        return self.unreachable(tool, direction, size, " | ".join(errors))

    # iiofab ------------------------------------------------------------------

    def iiofab_bench(self, size, record=True):
        p = self.plan
        # Bounded by time, as the other tools are by max_seconds; the
        # warm-up comes on top of it.
        argv = [p["iiofab"], "bench", "--insecure", "--json", "-v",
                "--timeout", str(p["iiofab_timeout_ms"]),
                "rdma://" + self.addr, ADC, "--seconds", str(p["max_seconds"]),
                "--warmup", str(p.get("iiofab_warmup_s", 1)),
                "--block-size", str(size), "--blocks", str(iiofab_blocks(p, size))]

        def run(snap):
            rc, out, err, snaps = run_marked(argv, p["transfer_timeout"],
                                             BENCH_MARKS, snap)
            if rc != 0:
                raise BenchError("iiofab bench exited %d: %s" % (rc, tail(err)))
            f = bench_figures(out)
            if len(snaps) == 2:
                f["steady"] = (snaps[0], snaps[1], f["bytes"])
            return f

        return self.measure("iiofab", "adc", size, "iiofabd", run, record)

    def iiofab_push(self, size, record=True):
        """iiofab bench --push: the pattern filled into the registered
        blocks, the same volume ib_write_bw moves counted after the same
        warm-up as the ADC bench's."""
        p = self.plan
        scan = self.board_info["devices"][DAC]["scan_bytes"]
        argv = [p["iiofab"], "bench", "--insecure", "--json", "-v",
                "--timeout", str(p["iiofab_timeout_ms"]),
                "rdma://" + self.addr, DAC, "--push", "ramp",
                "--samples", str(p["bytes"] // scan),
                "--warmup", str(p.get("iiofab_warmup_s", 1)),
                "--block-size", str(size), "--blocks", str(iiofab_blocks(p, size))]

        def run(snap):
            before = [self.board.must("attr", device=DAC, attr=a)["value"]
                      for a in DAC_ATTRS]
            rc, out, err, snaps = run_marked(argv, p["transfer_timeout"],
                                             BENCH_MARKS, snap)
            after = [self.board.must("attr", device=DAC, attr=a)["value"]
                     for a in DAC_ATTRS]
            if rc != 0:
                raise BenchError("iiofab bench --push exited %d: %s" % (
                    rc, tail(err)))
            f = bench_figures(out)
            for a, x, y in zip(DAC_ATTRS, before, after):
                f["sim_" + a] = int(y) - int(x)
            if f["sim_pattern_errors"]:
                raise BenchError("the simulator counted %d scans off the ramp" %
                                 f["sim_pattern_errors"])
            if len(snaps) == 2:
                f["steady"] = (snaps[0], snaps[1], f["bytes"])
            return f

        return self.measure("iiofab", "dac", size, "iiofabd", run, record)

    # libiio ------------------------------------------------------------------

    def iiod_read(self, size):
        p = self.plan
        scan = self.board_info["devices"][ADC]["scan_bytes"]
        argv = ["iio_readdev", "-u", "ip:" + self.addr, "-b", str(size // scan),
                "-s", str(p["bytes"] // scan), ADC]

        def run(snap):
            before = self.board.must("attr", device=ADC, attr="overruns")
            t = sink(argv, p["transfer_timeout"], p["max_seconds"], snap)
            after = self.board.must("attr", device=ADC, attr="overruns")
            if not t.capped and t.rc != 0:
                raise BenchError("iio_readdev exited %d: %s" % (t.rc, tail(t.out)))
            f = t.figures("iio_readdev")
            f["sim_overruns"] = int(after["value"]) - int(before["value"])
            return f

        return self.measure("iiod", "adc", size, "iiod", run)

    def iiod_write(self, size):
        p = self.plan
        scan = self.board_info["devices"][DAC]["scan_bytes"]
        argv = ["iio_writedev", "-u", "ip:" + self.addr, "-b", str(size // scan),
                "-s", str(len(self.dac_data) // scan), DAC]

        def run(snap):
            before = self.board.must("attr", device=DAC, attr="underruns")
            t = source(argv, self.dac_data, size, p["transfer_timeout"],
                       p["max_seconds"], snap)
            after = self.board.must("attr", device=DAC, attr="underruns")
            if not t.capped and t.rc != 0:
                raise BenchError("iio_writedev exited %d: %s" % (t.rc, tail(t.out)))
            f = t.figures("iio_writedev")
            f["sim_underruns"] = int(after["value"]) - int(before["value"])
            return f

        return self.measure("iiod", "dac", size, "iiod", run)

    # phases ------------------------------------------------------------------

    def tool_supports(self, command, option=None):
        path = self.plan["iiofab"]
        if not os.access(path, os.X_OK):
            return False, "%s is not built" % path
        p = subprocess.run([path, command, "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            return False, "this iiofab has no '%s' command" % command
        if option and option not in p.stdout.decode(errors="replace"):
            return False, "this iiofab has no '%s %s'" % (command, option)
        return True, None

    def start_servers(self):
        """iiofabd and iiod, both idle until a client streams."""
        p = self.plan
        servers = {}
        if not self.board_info["sim"]:
            why = "no simulator on the board: %s" % self.board_info["sim_error"]
            return {"iiofabd": why, "iiod": why}
        why = self.spawn_iiofabd(p.get("reg_paths", {}).get("main", "default"))
        if why:
            servers["iiofabd"] = why
        ans = self.board.ask("spawn", name="iiod", argv=["iiod"])
        if not ans.get("ok"):
            servers["iiod"] = "iiod did not start: %s" % ans.get("error")
        else:
            try:
                wait_tcp(self.addr, IIOD_PORT, 60)
            except BenchError as e:
                servers["iiod"] = str(e)
        return servers

    def spawn_iiofabd(self, path="default"):
        """iiofabd on the board, answering; None, or why it is not. path
        memfd-mr starts it with the lab shim answering "not supported" to
        ibv_reg_dmabuf_mr, as the stock rxe provider does
        (tests/lab/rxe-dmabuf); dmabuf-mr or default without."""
        p = self.plan
        env = ["env", REG_FORCE_MEMFD] if path == "memfd-mr" else []
        ans = self.board.ask("spawn", name="iiofabd", argv=env + [
            p["iiofabd"], "--listen", "0.0.0.0", "--insecure"])
        if not ans.get("ok"):
            return "iiofabd did not start: %s" % ans.get("error")
        try:
            retry([p["iiofab"], "info", "--insecure", "rdma://" + self.addr],
                  20, 60, "iiofab info (waiting for iiofabd)")
        except BenchError as e:
            return "%s\n%s" % (e, self.board.ask("stop", name="iiofabd").get(
                "log", ""))
        return None

    def reg_path_rows(self, down, bench_ok, push_ok):
        """iiofab bench and bench --push on each registration path in turn,
        a fresh iiofabd each, paths side by side at each block size."""
        self.results["reg_rows"] = []
        if "iiofabd" in down:
            self.note("registration paths not measured: %s" % down["iiofabd"])
            return
        for size in self.plan["reg_paths"]["sizes"]:
            for direction, ok, fn in (("adc", bench_ok, self.iiofab_bench),
                                      ("dac", push_ok, self.iiofab_push)):
                if not ok:
                    continue
                for path in REG_PATHS:
                    self.board.ask("stop", name="iiofabd")
                    why = self.spawn_iiofabd(path)
                    if why:
                        row = {"tool": "iiofab", "dir": direction,
                               "block_bytes": size, "status": "failed",
                               "error": why}
                    else:
                        # The stream's own path, from iiofab bench --json.
                        row = fn(size, record=False)
                        if row["status"] == "ok" and row.get("reg_path") != path:
                            row["status"] = "failed"
                            row["error"] = "iiofabd took %s" % row.get("reg_path")
                    row["reg_path_wanted"] = path
                    self.results["reg_rows"].append(row)
                    self.save()
                    log("reg %-9s %s %8d B: %s" % (path, direction, size, (
                        "%.2f MB/s, iiofabd %.3f s/GiB" % (
                            row["mb_s"], row.get("server_cpu_s_per_gib", -1))
                        if row["status"] == "ok" else row.get("error"))))
        self.board.ask("stop", name="iiofabd")
        self.spawn_iiofabd()

    def run(self):
        p = self.plan
        self.board = Board(self.addr, 60)
        self.board_info = self.board.must("info")
        self.results["board"] = self.board_info
        bench_ok, bench_why = self.tool_supports("bench")
        push_ok, push_why = self.tool_supports("bench", "--push")
        self.results["iiofab"] = {"bench": bench_ok, "push": push_ok}
        if not push_ok:
            self.note("iiofab DAC push not measured: %s" % push_why)
        down = self.start_servers()
        for name, why in down.items():
            self.note("%s unavailable: %s" % (name, why))
        dac_needed = DAC in self.board_info["devices"]
        if dac_needed:
            scan = self.board_info["devices"][DAC]["scan_bytes"]
            self.dac_data = ramp(p["bytes"], scan)
        # Sizes outside, tools inside: the figures compared with each other
        # are measured minutes apart at most, whatever else loads the machine.
        for size in p["sizes"]:
            for rep in range(p.get("repeat", 1)):
                self.rep = rep
                self.one_round(size, down, bench_ok, bench_why, push_ok,
                               push_why, dac_needed)
        if p.get("reg_paths"):
            self.reg_path_rows(down, bench_ok, push_ok)
        if p.get("cluster"):
            self.cluster_rows(down, bench_ok, bench_why)
        for name in ("iiofabd", "iiod"):
            if name not in down:
                ans = self.board.ask("stop", name=name)
                if ans.get("rc") not in (0, -15, None):
                    self.note("%s exited %s on SIGTERM: %s" % (
                        name, ans.get("rc"), tail(ans.get("log", ""))))
        self.board.close()
        self.results["finished"] = time.time()
        self.save()
        return 0 if all(r["status"] in ("ok", "unsupported")
                        for r in self.results["rows"] +
                        self.results.get("reg_rows", []) +
                        self.results.get("cluster_rows", [])) else 1

    def one_round(self, size, down, bench_ok, bench_why, push_ok,
                  push_why, dac_needed):
        self.perftest("ib_read_bw", size)
        if "iiofabd" in down:
            self.unreachable("iiofab", "adc", size, down["iiofabd"])
        elif not bench_ok:
            self.unsupported("iiofab", "adc", size, bench_why)
        else:
            self.iiofab_bench(size)
        if "iiod" in down:
            self.unreachable("iiod", "adc", size, down["iiod"])
        else:
            self.iiod_read(size)
        self.perftest("ib_write_bw", size)
        if not push_ok:
            self.unsupported("iiofab", "dac", size, push_why)
        elif "iiofabd" in down or not dac_needed:
            self.unreachable("iiofab", "dac", size,
                             down.get("iiofabd", "no simulated DAC"))
        else:
            self.iiofab_push(size)
        if "iiod" in down or not dac_needed:
            self.unreachable("iiod", "dac", size,
                             down.get("iiod", "no simulated DAC"))
        else:
            self.iiod_write(size)

    # the cluster: N hosts at once ---------------------------------------------

    def cluster_rows(self, down, bench_ok, bench_why):
        """At 1, 2, ... hosts: concurrent ib_read_bw, then each mode, so the
        figures compared with each other are minutes apart."""
        c = self.plan["cluster"]
        self.sync = cluster.Sync(c["sync_dir"], "host1")
        size = c["block_bytes"]
        for n in range(1, c["hosts"] + 1):
            hosts = [cluster.host_name(i) for i in range(1, n + 1)]
            ref = self.cluster_reference(hosts, size)
            self.cluster_add(ref)
            for mode in c["modes"]:
                row = {"tool": "iiofab", "mode": mode, "hosts": n,
                       "block_bytes": size}
                if "iiofabd" in down:
                    row.update(status="failed", error=down["iiofabd"])
                elif not bench_ok:
                    row.update(status="unsupported", error=bench_why)
                elif mode == "fanout":
                    row = self.cluster_paced(row, hosts, ref)
                else:
                    row = self.cluster_bench(row, hosts)
                self.cluster_add(row)

    def cluster_paced(self, row, hosts, ref):
        """Fan-out never waits for a host (iiofabd takes back what a host
        holds to keep the converter fed), so against an unthrottled
        converter every host is too slow and loses nearly every block.
        Paced at the share of the link each host got in the concurrent
        reference, the hosts keep up exactly when iiofab delivers what
        ib_read_bw did."""
        if ref.get("status") != "ok":
            row.update(status="failed", error="no reference to pace the "
                       "converter at: %s" % ref.get("error"))
            return row
        scan = self.board_info["devices"][ADC]["scan_bytes"]
        rate = max(int(ref["mb_s"] * 1e6 / len(hosts) / scan), 1)
        try:
            ans = self.board.must("set_attr", device=ADC,
                                  attr="sampling_frequency", value=rate)
            row["sampling_frequency"] = int(ans["value"])
            row["paced_mb_s"] = row["sampling_frequency"] * scan / 1e6
            row = self.cluster_bench(row, hosts)
        except BenchError as e:
            row.update(status="failed", error=str(e))
        finally:
            self.board.ask("set_attr", device=ADC, attr="sampling_frequency",
                           value=self.plan["sampling_frequency"])
        return row

    def cluster_add(self, row):
        row["t_end"] = round(time.time() - self.results["started"], 1)
        self.results.setdefault("cluster_rows", []).append(row)
        self.save()
        if row["status"] == "ok":
            log("cluster %-9s %d host(s): %8.2f MB/s together%s" % (
                row["mode"], row["hosts"], row["mb_s"],
                ", iiofabd %.3f s CPU" % row["server_cpu_s"]
                if "server_cpu_s" in row else ""))
        else:
            log("cluster %-9s %d host(s): %s: %s" % (
                row["mode"], row["hosts"], row["status"], row.get("error")))

    def cluster_phase(self, phase, hosts, during=None):
        """Runs phase on every host of it (this one in a thread) and
        returns their figures; during(), when given, runs meanwhile."""
        k = self.phase_k
        self.phase_k += 1
        phase.update(hosts=hosts, timeout=self.plan["cluster"]["part_timeout"])
        self.sync.put("phase-%d.json" % k, phase)
        own = threading.Thread(target=cluster.take_part, daemon=True, args=(
            self.sync, k, phase, cluster_perftest(self.plan), bench_figures,
            phase["timeout"]))
        own.start()
        try:
            extra = during(k) if during else None
            self.sync.wait(["%d.%s.json" % (k, h) for h in hosts],
                           phase["timeout"], k, hosts)
        except cluster.ClusterError:
            # Whoever still waits for an edge or a barrier gives up now.
            self.sync.put("%d.failed.host1" % k, {"error": "host1 gave up"})
            raise
        finally:
            own.join(phase["timeout"])
        return [self.sync.get("%d.%s.json" % (k, h)) for h in hosts], extra

    def cluster_reference(self, hosts, size):
        """ib_read_bw from every host at once, one server per host."""
        row = {"tool": "ib_read_bw", "mode": "reference", "hosts": len(hosts),
               "block_bytes": size}
        names, argv = [], {}
        try:
            for h in hosts:
                self.port += 1
                cmd, how = perftest_argv("ib_read_bw", size, self.plan, self.port)
                name = "cluster-ib_read_bw-%d-%s" % (self.port, h)
                names.append(name)
                ans = self.board.ask("spawn", name=name, argv=cmd,
                                     rdma_cm_port=self.port)
                if not ans.get("ok"):
                    raise BenchError("server for %s: %s %s" % (
                        h, ans.get("error"), tail(ans.get("log", ""), 3)))
                argv[h] = cmd + [self.addr]
            # "mode" names the row's kind here, perftest's is its own key.
            row.update({k: v for k, v in how.items() if k != "mode"},
                       perftest_mode=how["mode"])
            parts, _ = self.cluster_phase({"kind": "reference", "argv": argv,
                                           "block_bytes": size}, hosts)
            row.update(cluster.reference_aggregate(parts), status="ok")
        except (BenchError, cluster.ClusterError, OSError) as e:
            row.update(status="failed", error=str(e))
        for name in names:
            if not self.board.ask("wait", name=name, timeout=30).get("ok"):
                self.board.ask("stop", name=name)
        return row

    def cluster_bench(self, row, hosts):
        """iiofab bench --mode MODE --sync on every host, one window."""
        plan, c = self.plan, self.plan["cluster"]
        argv = {h: cluster_bench_argv(plan, self.addr, row["mode"],
                                      row["block_bytes"]) for h in hosts}
        row["command"] = " ".join(argv[hosts[0]])

        def window(k):
            self.sync.wait(["%d.streaming.%s" % (k, h) for h in hosts],
                           c["part_timeout"], k, hosts)
            # The last host to subscribe streams a warm-up too.
            time.sleep(plan.get("iiofab_warmup_s", 1))
            before = self.board.must("cpu", name="iiofabd")
            self.sync.put("%d.go" % k)
            time.sleep(c["seconds"])
            self.sync.put("%d.stop" % k)
            return before, self.board.must("cpu", name="iiofabd")

        try:
            parts, (before, after) = self.cluster_phase(
                {"kind": "bench", "argv": argv, "mode": row["mode"],
                 "block_bytes": row["block_bytes"]}, hosts, window)
            row.update(cluster.aggregate(parts, after["t"] - before["t"]))
            row.update(cpu_delta(before, after))
            # What the hosts delivered at their rate over the CPU's window.
            gib = row["mb_s"] * 1e6 * row["seconds"] / GIB
            row["server_cpu_s_per_gib"] = row["server_cpu_s"] / gib
            row["board_busy_s_per_gib"] = row["board_busy_s"] / gib
            row["lost_samples"] = sum(p.get("lost_samples", 0) for p in parts)
            row["host_figures"] = [{k: p.get(k) for k in CLUSTER_HOST_FIGURES}
                                   for p in parts]
            row["status"] = "ok"
        except (BenchError, cluster.ClusterError, OSError) as e:
            row.update(status="failed", error=str(e))
        return row

    def unreachable(self, tool, direction, size, why):
        return self.add({"tool": tool, "dir": direction, "block_bytes": size,
                  "status": "failed", "error": why})


def follow(workdir, me):
    """A host other than host1: its part in the cluster rows, if any."""
    with open(os.path.join(workdir, "plan.json")) as f:
        plan = json.load(f)
    c = plan.get("cluster")
    if not c:
        return 0
    return cluster.follow(cluster.Sync(c["sync_dir"], me),
                          cluster_perftest(plan), bench_figures, c["timeout"])


def main(argv):
    if len(argv) != 2:
        print("usage: host_driver.py WORKDIR", file=sys.stderr)
        return 2
    me = os.environ.get("IIOFAB_GUEST", "host1")
    if me != "host1":
        return follow(argv[1], me)
    driver = Driver(argv[1])
    try:
        return driver.run()
    except (BenchError, OSError) as e:
        driver.note("aborted: %s" % e)
        driver.save()
        return 1
    finally:
        # The other hosts wait for host1's phases until this.
        c = driver.plan.get("cluster")
        if c:
            cluster.Sync(c["sync_dir"], me).put("done")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
