# SPDX-License-Identifier: MIT
"""tests/python/bench.py URI KEYFILE DEVICE BLOCK_SIZE BLOCKS SECONDS

The Python binding's capture throughput, measured as `iiofab bench` does:
blocks that land during a 1 s warm-up are not counted, then the window
lasts SECONDS; every block is touched (its last sample read from the
view, no copy) and released at once. Prints one JSON line: mb_s,
blocks_per_s, samples, lost_samples, seconds.
"""
import json
import sys
import time

import iiofab


def main(argv):
    uri, key, device, block_size, blocks, seconds = argv
    with iiofab.connect(uri, psk_file=key) as ctx:
        adc = ctx.device(device)
        with adc.stream(block_size=int(block_size), blocks=int(blocks)) as s:
            warm_end = time.monotonic() + 1.0
            t0 = end = None
            n_bytes = n_blocks = samples = lost = 0
            touched = 0
            for block in s:
                now = time.monotonic()
                if t0 is None:
                    if now < warm_end:
                        continue
                    t0, end = now, now + float(seconds)
                touched ^= int(block.data[-1, -1])
                n_bytes += block.samples * s.scan_bytes
                samples += block.samples
                lost += block.lost_samples
                n_blocks += 1
                if now >= end:
                    break
            span = time.monotonic() - t0
    print(json.dumps({"mb_s": n_bytes / span / 1e6, "blocks_per_s": n_blocks / span,
                      "samples": samples, "lost_samples": lost, "seconds": span}))


if __name__ == "__main__":
    main(sys.argv[1:])
