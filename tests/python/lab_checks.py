# SPDX-License-Identifier: MIT
"""tests/python/lab_checks.py URI KEYFILE SOURCE_DIR CHECK...: checks of the
Python binding against the lab's board (tests/python/binding runs them),
with Debian's /usr/bin/python3. Prints PASS:/FAIL: lines; exits 1 on a
failure.

  capture    counter pattern, unthrottled: every scan of every block is
             its own index (numpy), blocks back to back, 0 lost; read(n)
             across block edges
  push       a numpy ramp written to the DAC: the simulator consumed
             exactly that many scans, 0 pattern errors, 0 underruns
  cyclic     one 65536-scan ramp block repeated at 1 MS/s: consumed keeps
             growing, 0 pattern errors
  views      a released block's view and its slices raise; blocks held at
             close become invalid
  roundtrip  examples/python/roundtrip.grc compiled by grcc and run: the
             capture file is the ramp, the DAC consumed every scan with 0
             pattern errors, the loss tags sum to the C library's count (0)
  stall      a source whose ADC delivers nothing within its timeout ends
             the flowgraph with a TimeoutError in .error, no hang
  losstags   a slow GNU Radio consumer of a 2 MS/s counter stream: the
             "iiofab_lost" tags sum to the library's lost_samples (> 0),
             and at every tag the counter jumps by exactly its value
  restart    a source flowgraph started, stopped and started again: each
             run on a connection of its own, 100000 scans each, 0 lost
"""
import os
import subprocess
import sys
import time

import numpy as np

import iiofab

ADC, DAC = "iiofab-sim-adc", "iiofab-sim-dac"
FAILS = []


def check(name, ok, detail=""):
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""),
          flush=True)
    if not ok:
        FAILS.append(name)
    return ok


def counters(block_data):
    """The scan indices the counter pattern wrote, 4 channels: one uint64 each."""
    return block_data.view(np.ndarray).copy().view("<u8").reshape(-1)


def ramp(first, n, channels):
    idx = np.arange(first, first + n, dtype=np.int64)[:, None] + 4096 * np.arange(channels)
    return (idx % 65536).astype(np.uint16).view(np.int16)


def set_attrs(dev, **attrs):
    for k, v in attrs.items():
        dev.attrs[k] = v


def do_capture(ctx):
    adc = ctx.device(ADC)
    set_attrs(adc, sampling_frequency=0, pattern="counter")
    want, got, blocks, bad, lost = 1 << 20, 0, 0, 0, 0
    expect = 0
    with adc.stream(block_size=64 * 1024, blocks=16) as s:
        check("capture: a (scans, 4) int16 view per block",
              s.dtype == np.dtype("<i2") and s.layout.channels == 4, str(s.layout))
        for block in s:
            n = counters(block.data)
            lost += block.lost_samples
            if block.first_sample != expect + block.lost_samples or \
                    not np.array_equal(n, block.first_sample + np.arange(block.samples,
                                                                         dtype=np.uint64)):
                bad += 1
            expect = block.first_sample + block.samples
            got += block.samples
            blocks += 1
            if got >= want:
                break
        check("capture: every scan of %d blocks is its own index, back to back" % blocks,
              bad == 0, "%d bad blocks" % bad)
        check("capture: %d scans delivered, 0 lost" % got, lost == 0 and got >= want,
              "%d lost" % lost)
        st = s.stats()
        check("capture: the library's counters agree (%d scans, %d lost, %d torn)"
              % (st["samples"], st["lost_samples"], st["torn_blocks"]),
              st["lost_samples"] == 0 and st["torn_blocks"] == 0 and st["samples"] >= got)
    with adc.stream(block_size=64 * 1024, blocks=16) as s:
        a, lost_a = s.read(100000)
        b, lost_b = s.read(100000)
        n = np.concatenate([a.view("<u8").reshape(-1), b.view("<u8").reshape(-1)])
        check("read: 2 x 100000 scans across block edges are scans 0..199999",
              np.array_equal(n, np.arange(200000, dtype=np.uint64)) and lost_a + lost_b == 0,
              "lost %d + %d" % (lost_a, lost_b))


def do_push(ctx):
    dac = ctx.device(DAC)
    set_attrs(dac, sampling_frequency=0, pattern="ramp")
    n = 1000000     # not a whole number of blocks: the last one is partial
    with dac.stream(block_size=64 * 1024, blocks=8) as s:
        wrote = s.write(ramp(0, n, s.layout.channels))
        s.drain()
        underruns = s.underruns
    consumed = int(dac.attrs["samples_consumed"])
    errors = int(dac.attrs["pattern_errors"])
    check("push: %d scans written from numpy, %d consumed, %d pattern errors, %d underruns"
          % (wrote, consumed, errors, underruns),
          wrote == n and consumed == n and errors == 0 and underruns == 0)
    with dac.stream(block_size=64 * 1024, blocks=8) as s:
        try:
            s.write(np.zeros((10, 4), dtype=np.float64))
            refused = False
        except TypeError:
            refused = True
        check("push: float samples to an int16 DAC are refused, not truncated", refused)


def do_cyclic(ctx):
    dac = ctx.device(DAC)
    set_attrs(dac, sampling_frequency=1000000, pattern="ramp")
    with dac.stream(block_size=512 * 1024, blocks=4) as s:
        s.cyclic(ramp(0, 65536, s.layout.channels))
        time.sleep(0.5)
        c1 = int(dac.attrs["samples_consumed"])
        time.sleep(1.0)
        c2 = int(dac.attrs["samples_consumed"])
    errors = int(dac.attrs["pattern_errors"])
    check("cyclic: one 65536-scan block repeated: %d then %d consumed, %d pattern errors"
          % (c1, c2, errors), c2 > c1 > 65536 and c2 - c1 > 500000 and errors == 0)


def do_views(ctx):
    adc = ctx.device(ADC)
    set_attrs(adc, sampling_frequency=1000000, pattern="counter")
    with adc.stream(block_size=64 * 1024, blocks=8) as s:
        block = s.next()
        view, part = block.data, block.data[100:200, 1]
        first = int(counters(view)[0])
        block.release()
        raised = []
        for what, touch in (("index", lambda: view[0, 0]), ("slice", lambda: part[0]),
                            ("ufunc", lambda: view + 1), ("sum", lambda: part.sum()),
                            ("copy", lambda: view.copy())):
            try:
                touch()
            except iiofab.ReleasedBlockError:
                raised.append(what)
        check("views: a released block's view raises on index, slice, ufunc, sum, copy",
              len(raised) == 5 and first == block.first_sample, "raised on %s" % raised)
        held = s.next()
        hv = held.data
    try:
        hv[0, 0]
        ok = False
    except iiofab.ReleasedBlockError:
        ok = True
    check("views: a block held when its stream closed is invalid", ok and held.released)


def _compile_flowgraph(src, out):
    env = dict(os.environ, GRC_BLOCKS_PATH=os.path.join(src, "python", "grc"))
    subprocess.run(["grcc", "-o", out, os.path.join(src, "examples/python/roundtrip.grc")],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    sys.path.insert(0, out)
    import iiofab_roundtrip
    return iiofab_roundtrip


def _tag_collector():
    from gnuradio import gr

    class Collect(gr.sync_block):
        """Records iiofab_lost tags and checks the counter pattern's
        indices (4 channels) across them; slow on purpose when asked."""

        def __init__(self, delay):
            gr.sync_block.__init__(self, name="collect", in_sig=[np.int16] * 4, out_sig=None)
            self.delay, self.tags, self.jumps, self.bad, self.last = delay, [], {}, 0, None

        def work(self, input_items, output_items):
            n = len(input_items[0])
            at = self.nitems_read(0)
            for t in self.get_tags_in_range(0, at, at + n):
                if str(t.key) == "iiofab_lost":
                    import pmt
                    self.tags.append((t.offset, pmt.to_uint64(t.value)))
            cols = [np.asarray(c[:n]).view(np.uint16).astype(np.uint64) for c in input_items]
            idx = cols[0] | cols[1] << 16 | cols[2] << 32 | cols[3] << 48
            prev = np.concatenate([[self.last if self.last is not None else idx[0] - 1],
                                   idx[:-1]])
            steps = idx - prev
            for k in np.nonzero(steps != 1)[0]:
                self.jumps[at + int(k)] = int(steps[k]) - 1
            self.last = idx[-1]
            if self.delay:
                time.sleep(self.delay)
            return n
    return Collect


def do_roundtrip(ctx, uri, keyfile, src):
    adc, dac = ctx.device(ADC), ctx.device(DAC)
    set_attrs(adc, sampling_frequency=0, pattern="ramp")
    set_attrs(dac, sampling_frequency=0, pattern="ramp")
    mod = _compile_flowgraph(src, "/tmp/python-grc")
    scans, out = 262144, "/tmp/roundtrip.s16"
    tb = mod.iiofab_roundtrip(uri=uri, psk_file=keyfile, scans=scans, output=out)
    collect = _tag_collector()(0)
    for port in range(4):
        tb.connect((tb.iiofab_source_0, port), (collect, port))
    tb.start()
    tb.wait()
    data = np.fromfile(out, dtype="<i2").reshape(-1, 4)
    check("roundtrip: the file sink holds %d scans of the ramp" % len(data),
          len(data) == scans and np.array_equal(data, ramp(0, scans, 4)))
    consumed = int(dac.attrs["samples_consumed"])
    errors = int(dac.attrs["pattern_errors"])
    check("roundtrip: the DAC consumed %d scans, %d pattern errors" % (consumed, errors),
          consumed == scans and errors == 0)
    lib_lost = tb.iiofab_source_0.stream_stats["lost_samples"]
    unread = tb.iiofab_source_0.unread_lost_samples
    tagged = sum(v for _, v in collect.tags)
    check("roundtrip: loss tags sum %d + %d unread = the library's lost_samples %d"
          % (tagged, unread, lib_lost), tagged + unread == lib_lost == 0)


def _counter_flowgraph(ctx, uri, keyfile, rate, samples, delay):
    """The ADC's 4-channel counter at rate into a tag collector that
    sleeps delay s per call: the top block, the source, the collector."""
    from gnuradio import gr
    import iiofab.grblocks
    set_attrs(ctx.device(ADC), sampling_frequency=rate, pattern="counter")
    tb = gr.top_block()
    src = iiofab.grblocks.source(uri, ADC, ["voltage0", "voltage1", "voltage2", "voltage3"],
                                 block_size=64 * 1024, blocks=8, psk_file=keyfile,
                                 samples=samples)
    collect = _tag_collector()(delay)
    for port in range(4):
        tb.connect((src, port), (collect, port))
    return tb, src, collect


def do_losstags(ctx, uri, keyfile):
    tb, src, collect = _counter_flowgraph(ctx, uri, keyfile, 2000000, 1000000, 0.02)
    tb.start()
    tb.wait()
    lib_lost = src.stream_stats["lost_samples"]
    tagged = sum(v for _, v in collect.tags)
    tag_map = dict(collect.tags)
    check("losstags: a slow consumer lost scans, each gap tagged: tags sum %d + %d in "
          "blocks given back unread at stop = the library's lost_samples %d > 0"
          % (tagged, src.unread_lost_samples, lib_lost),
          tagged + src.unread_lost_samples == lib_lost and tagged > 0)
    check("losstags: at each of %d tags the counter jumps by its value, nowhere else"
          % len(tag_map), collect.jumps == {o: v for o, v in tag_map.items() if o > 0},
          "jumps %s vs tags %s" % (sorted(collect.jumps.items())[:4], sorted(tag_map.items())[:4]))


def do_stall(ctx, uri, keyfile):
    from gnuradio import gr, blocks
    import iiofab.grblocks
    adc = ctx.device(ADC)
    set_attrs(adc, sampling_frequency=10, pattern="ramp")
    tb = gr.top_block()
    src = iiofab.grblocks.source(uri, ADC, ["voltage0"], block_size=64 * 1024, blocks=4,
                                 psk_file=keyfile, timeout=4.0)
    tb.connect(src, blocks.null_sink(2))
    t0 = time.monotonic()
    tb.start()
    tb.wait()
    took = time.monotonic() - t0
    check("stall: the flowgraph ended after %.1f s with %r" % (took, src.error),
          isinstance(src.error, TimeoutError) and isinstance(src.error, iiofab.Error)
          and took < 15)


def do_restart(ctx, uri, keyfile):
    tb, src, collect = _counter_flowgraph(ctx, uri, keyfile, 200000, 100000, 0)
    runs = []
    for _ in range(2):
        tb.start()
        tb.wait()
        tb.stop()
        # GNU Radio counts items afresh in each run.
        runs.append((collect.nitems_read(0), src.error, src._ctx is None,
                     src.stream_stats["lost_samples"]))
    check("restart: a source flowgraph ran twice, 100000 scans each (%d, %d read), "
          "0 lost, no error, its connection closed after each run"
          % (runs[0][0], runs[1][0]),
          all(r == (100000, None, True, 0) for r in runs), repr(runs))


CHECKS = {
    "capture": lambda ctx, uri, key, src: do_capture(ctx),
    "push": lambda ctx, uri, key, src: do_push(ctx),
    "cyclic": lambda ctx, uri, key, src: do_cyclic(ctx),
    "views": lambda ctx, uri, key, src: do_views(ctx),
    "roundtrip": do_roundtrip,
    "stall": lambda ctx, uri, key, src: do_stall(ctx, uri, key),
    "losstags": lambda ctx, uri, key, src: do_losstags(ctx, uri, key),
    "restart": lambda ctx, uri, key, src: do_restart(ctx, uri, key),
}


def main(argv):
    """One interpreter for every check (numpy and GNU Radio load once);
    each check on a connection of its own, and one that raises fails
    alone."""
    if len(argv) < 4 or any(c not in CHECKS for c in argv[3:]):
        print(__doc__, file=sys.stderr)
        return 2
    uri, keyfile, src = argv[:3]
    for name in argv[3:]:
        try:
            with iiofab.connect(uri, psk_file=keyfile, timeout=15) as ctx:
                CHECKS[name](ctx, uri, keyfile, src)
            check("%s: the check ran to its end" % name, True)
        except Exception as e:  # noqa: BLE001 - reported, and the next check runs
            check("%s: the check ran to its end" % name, False, "%s: %s" % (type(e).__name__, e))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
