# SPDX-License-Identifier: MIT
"""A block's data is a view of the landing buffer that raises once the
block is released, through every way of touching it that numpy routes
through the array; what it shares memory with stays checked."""
import ctypes

import numpy as np
import pytest

import iiofab
from iiofab import formats as F


@pytest.fixture
def block():
    mem = (ctypes.c_uint8 * 4096)()
    lay = F.layout([F.Format(16, 16)] * 4, [0, 2, 4, 6], 8, ["a", "b", "c", "d"])
    lease = iiofab._Lease()
    view = iiofab._view_of(ctypes.addressof(mem), 4096, lay, 512, lease, False)
    np.frombuffer(mem, dtype="<i2")[:] = np.arange(2048)
    return mem, lease, view


def test_view_is_zero_copy_and_read_only(block):
    mem, lease, v = block
    assert v.shape == (512, 4) and v.dtype == np.dtype("<i2")
    assert v.__array_interface__["data"][0] == ctypes.addressof(mem)
    assert v[1, 0] == 4
    with pytest.raises(ValueError):
        v[0, 0] = 1


def test_results_are_plain_arrays_derived_views_stay_checked(block):
    _, lease, v = block
    total = v.sum()
    assert total == sum(range(2048)) and type(np.asarray(total)) is np.ndarray
    assert type(v + 1) is np.ndarray and type(np.mean(v, axis=0)) is np.ndarray
    assert type(v.copy()) is np.ndarray
    assert isinstance(v[10:20], iiofab.BlockView)
    assert isinstance(np.transpose(v), iiofab.BlockView)
    assert isinstance(v.reshape(-1), iiofab.BlockView)


TOUCHES = {
    "index": lambda v: v[0, 0],
    "slice": lambda v: v[1:3],
    "ufunc": lambda v: v + 1,
    "reduce": lambda v: v.sum(),
    "mean": lambda v: v.mean(),
    "function": lambda v: np.mean(v),
    "fft": lambda v: np.fft.fft(v[:, 0]),
    "concatenate": lambda v: np.concatenate([v, v]),
    "copy": lambda v: v.copy(),
    "astype": lambda v: v.astype(np.float32),
    "tobytes": lambda v: v.tobytes(),
    "tolist": lambda v: v.tolist(),
    "iterate": lambda v: list(v),
    "str": lambda v: str(v),
    "bool": lambda v: bool(v[0, 0]),
    "compare": lambda v: v == 0,
}


@pytest.mark.parametrize("how", sorted(TOUCHES))
def test_touching_a_released_view_raises(block, how):
    _, lease, v = block
    derived = v[2:]
    TOUCHES[how](v)  # fine while held
    lease.valid = False
    with pytest.raises(iiofab.ReleasedBlockError):
        TOUCHES[how](v)
    with pytest.raises(iiofab.ReleasedBlockError):
        TOUCHES[how](derived[:, :] if how != "bool" else derived)
    assert "released" in repr(v)


def test_structured_views_are_checked_too():
    mem = (ctypes.c_uint8 * 4096)()
    lay = F.layout([F.Format(16, 16), F.Format(64, 64)], [0, 8], 16, ["v", "ts"])
    lease = iiofab._Lease()
    v = iiofab._view_of(ctypes.addressof(mem), 4096, lay, 256, lease, False)
    ts = v["ts"]
    assert ts.shape == (256,)
    lease.valid = False
    with pytest.raises(iiofab.ReleasedBlockError):
        v["v"]
    with pytest.raises(iiofab.ReleasedBlockError):
        ts.sum()
