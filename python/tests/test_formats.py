# SPDX-License-Identifier: MIT
"""Scan formats to numpy: every storage the server can describe, the two
block layouts, and decoding shift, bits and sign."""
import itertools

import numpy as np
import pytest

from iiofab import formats as F


@pytest.mark.parametrize("storage,signed,big", itertools.product(
    (8, 16, 32, 64), (False, True), (False, True)))
def test_storage_dtype_every_format(storage, signed, big):
    for bits in sorted({1, storage // 2, storage - 1, storage}):
        for shift in sorted({0, storage - bits}):
            fmt = F.Format(bits, storage, shift, signed, big)
            d = fmt.dtype
            assert d.itemsize == storage // 8
            assert d.kind == ("i" if signed else "u")
            if storage > 8:
                assert d.byteorder == (">" if big else "<") or \
                    (d.byteorder == "=" and (big == (np.little_endian is False)))


@pytest.mark.parametrize("fmt", [F.Format(12, 24), F.Format(0, 16), F.Format(17, 16),
                                 F.Format(12, 16, 5)])
def test_impossible_formats_refused(fmt):
    with pytest.raises(ValueError):
        fmt.dtype


def test_format_text_is_sysfs_notation():
    assert str(F.Format(12, 16, 4, True, False)) == "le:s12/16>>4"
    assert str(F.Format(24, 32, 0, False, True)) == "be:u24/32>>0"


def test_uniform_channels_are_2d_views():
    lay = F.layout([F.Format(16, 16)] * 4, [0, 2, 4, 6], 8, ["v0", "v1", "v2", "v3"])
    assert not lay.structured
    buf = np.arange(10 * 8, dtype=np.uint8)
    v = lay.view(buf, 10)
    assert v.shape == (10, 4) and v.dtype == np.dtype("<i2")
    assert np.shares_memory(v, buf)
    assert v[1, 2] == np.frombuffer(bytes(buf[12:14]), "<i2")[0]


def test_padded_scan_is_a_strided_2d_view():
    # 3 x s32 in a 16-byte scan (the IIO core pads to the largest element).
    lay = F.layout([F.Format(32, 32)] * 3, [0, 4, 8], 16, ["a", "b", "c"])
    buf = np.zeros(4 * 16, dtype=np.uint8)
    buf.view("<i4")[4::4] = 7   # channel a of scan 1.. onwards, every 16 bytes
    v = lay.view(buf, 4)
    assert v.shape == (4, 3) and v.strides == (16, 4)
    assert list(v[:, 0]) == [0, 7, 7, 7]
    assert np.shares_memory(v, buf)


def test_mixed_channels_are_structured():
    # Two s16 channels and a 64-bit timestamp at its natural alignment.
    fmts = [F.Format(16, 16), F.Format(12, 16, 4, False, True), F.Format(64, 64)]
    lay = F.layout(fmts, [0, 2, 8], 16, ["voltage0", "voltage1", "timestamp"])
    assert lay.structured and lay.dtype.itemsize == 16
    buf = np.zeros(3 * 16, dtype=np.uint8)
    buf[16 + 8:16 + 16] = np.frombuffer(np.int64(123456789).tobytes(), np.uint8)
    v = lay.view(buf, 3)
    assert v.shape == (3,) and v["timestamp"][1] == 123456789
    assert v.dtype["voltage1"] == np.dtype(">u2")


def test_layout_refuses_what_does_not_fit():
    with pytest.raises(ValueError):
        F.layout([F.Format(16, 16)] * 2, [0, 2], 3, ["a", "b"])
    with pytest.raises(ValueError):
        F.layout([], [], 8, [])


@pytest.mark.parametrize("fmt,raw,want", [
    (F.Format(12, 16, 4, True, False), [0x7FF0, 0x8000, 0xFFF0, 0x0010], [2047, -2048, -1, 1]),
    (F.Format(12, 16, 4, False, False), [0xFFF0, 0x0010], [4095, 1]),
    (F.Format(14, 16, 0, True, True), [0x1FFF, 0x2000, 0x3FFF], [8191, -8192, -1]),
    (F.Format(8, 8, 0, True, False), [0x7F, 0x80], [127, -128]),
    (F.Format(24, 32, 8, True, False), [0xFFFFFF00, 0x00000100], [-1, 1]),
    (F.Format(64, 64, 0, True, False), [-5, 5], [-5, 5]),
])
def test_decode(fmt, raw, want):
    bits = np.array([r % (1 << fmt.storage_bits) for r in raw],
                    dtype="=u%d" % (fmt.storage_bits // 8))
    stored = bits.view(fmt.dtype.newbyteorder("=")).astype(fmt.dtype)
    assert list(F.decode(stored, fmt)) == want
