#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""examples/python/spectrum.py URI [--psk-file F] [--device D] [--out spectrum.png]

Captures blocks of the simulator's sine pattern (or any ADC), averages the
power spectrum of each channel with numpy (Welch-style: a Hann window per
block, magnitudes squared, averaged over blocks) and plots it in dBFS
with matplotlib. Each block is read where the RDMA READ put it: the FFT
is taken straight from the block's view.
"""
import argparse

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import iiofab  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("uri")
    ap.add_argument("--psk-file")
    ap.add_argument("--device", default="iiofab-sim-adc")
    ap.add_argument("--rate", type=int, default=1000000, help="sampling_frequency to set (Hz)")
    ap.add_argument("--blocks", type=int, default=32, help="blocks to average")
    ap.add_argument("--out", default="spectrum.png")
    args = ap.parse_args()

    with iiofab.connect(args.uri, psk_file=args.psk_file) as ctx:
        adc = ctx.device(args.device)
        if "pattern" in adc.attrs:
            adc.attrs["pattern"] = "sine"
        adc.attrs["sampling_frequency"] = args.rate
        rate = float(adc.attrs["sampling_frequency"])
        with adc.stream(block_size=64 * 1024, blocks=8) as s:
            full_scale = 2.0 ** (s.channels[0].format.bits - 1)
            scans = s.block_scans
            window = np.hanning(scans)
            power = np.zeros((scans // 2 + 1, len(s.channels)))
            for i, block in enumerate(s):
                x = block.data * (window[:, None] / full_scale)
                power += np.abs(np.fft.rfft(x, axis=0)) ** 2
                if i + 1 == args.blocks:
                    break
            names = [c.id for c in s.channels]
    power /= args.blocks * (window.sum() / 2) ** 2
    freqs = np.fft.rfftfreq(scans, 1.0 / rate)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for c, name in enumerate(names):
        ax.plot(freqs / 1e3, 10 * np.log10(power[:, c] + 1e-20), label=name, linewidth=0.8)
    peak = freqs[np.argmax(power[1:, 0]) + 1]
    ax.set_xlabel("frequency (kHz)")
    ax.set_ylabel("power (dBFS)")
    ax.set_title("%s at %.0f kS/s: %d blocks of %d scans averaged, peak %.3f kHz"
                 % (args.device, rate / 1e3, args.blocks, scans, peak / 1e3))
    ax.set_ylim(-160, 10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print("peak %.3f kHz (channel %s); plot in %s" % (peak / 1e3, names[0], args.out))


if __name__ == "__main__":
    main()
