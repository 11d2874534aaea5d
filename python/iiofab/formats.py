# SPDX-License-Identifier: MIT
"""From IIO scan formats to numpy dtypes, and the layout of a block.

A channel's samples are kept as the converter stores them: its dtype is the
storage (storage_bits, signedness, endianness), and decode() applies the
shift and the significant bits when the values are wanted. A block of n
scans is a 2-D array (n, channels) when every enabled channel has the same
storage and they lie side by side in the scan (padding after the last one
is allowed: the rows are strided); otherwise a 1-D structured array of n
scans, one field per channel id, at the offsets the stream reports.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Format:
    """A channel's scan_type, as IIO and iiofab_data_format describe it."""
    bits: int
    storage_bits: int
    shift: int = 0
    is_signed: bool = True
    big_endian: bool = False

    @property
    def dtype(self):
        return storage_dtype(self)

    def __str__(self):
        # The IIO sysfs notation: le:s12/16>>4.
        return "%s:%s%d/%d>>%d" % ("be" if self.big_endian else "le",
                                   "s" if self.is_signed else "u", self.bits,
                                   self.storage_bits, self.shift)


def storage_dtype(fmt):
    """The numpy dtype of one stored sample of fmt."""
    if fmt.storage_bits not in (8, 16, 32, 64):
        raise ValueError("iiofab: %d-bit sample storage has no numpy type "
                         "(IIO stores samples in 8, 16, 32 or 64 bits)" % fmt.storage_bits)
    if not 0 < fmt.bits <= fmt.storage_bits or fmt.shift + fmt.bits > fmt.storage_bits:
        raise ValueError("iiofab: inconsistent scan format %s" % fmt)
    order = "|" if fmt.storage_bits == 8 else (">" if fmt.big_endian else "<")
    return np.dtype("%s%s%d" % (order, "i" if fmt.is_signed else "u", fmt.storage_bits // 8))


@dataclass(frozen=True)
class Layout:
    """How a block of scans maps onto numpy: see the module's docstring."""
    dtype: np.dtype         # of one sample (2-D) or of one scan (structured)
    channels: int
    scan_bytes: int
    structured: bool

    def view(self, buf, scans):
        """A view of scans whole scans at the start of buf (a 1-D uint8 array)."""
        if self.structured:
            return buf[:scans * self.scan_bytes].view(self.dtype)
        return np.ndarray(shape=(scans, self.channels), dtype=self.dtype,
                          buffer=buf[:scans * self.scan_bytes],
                          strides=(self.scan_bytes, self.dtype.itemsize))


def layout(formats, offsets, scan_bytes, names):
    """The Layout of scans of channels with these formats, at these byte
    offsets in a scan of scan_bytes, named names (ids)."""
    if not formats or len(formats) != len(offsets) or len(offsets) != len(names):
        raise ValueError("iiofab: a scan needs at least one channel, each with "
                         "a format, an offset and a name")
    dtypes = [storage_dtype(f) for f in formats]
    size = dtypes[0].itemsize
    for d, off in zip(dtypes, offsets):
        if off + d.itemsize > scan_bytes:
            raise ValueError("iiofab: a channel at offset %d does not fit a "
                             "%d-byte scan" % (off, scan_bytes))
    if all(d == dtypes[0] for d in dtypes) and \
            all(off == i * size for i, off in enumerate(offsets)):
        return Layout(dtypes[0], len(formats), scan_bytes, False)
    dt = np.dtype({"names": list(names), "formats": dtypes,
                   "offsets": list(offsets), "itemsize": scan_bytes})
    return Layout(dt, len(formats), scan_bytes, True)


def decode(raw, fmt):
    """The values of raw stored samples of fmt: shifted, masked to the
    significant bits and sign-extended, as int64 (a new array)."""
    v = np.asarray(raw).astype(fmt.dtype.newbyteorder("="), copy=False).astype(np.int64)
    if fmt.storage_bits == 64 and fmt.shift == 0 and fmt.bits == 64:
        return v
    v = (v >> fmt.shift) & ((1 << fmt.bits) - 1)
    if fmt.is_signed:
        sign = 1 << (fmt.bits - 1)
        v = (v ^ sign) - sign
    return v
