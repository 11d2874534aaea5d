# SPDX-License-Identifier: MIT
"""Errors: the library's errno as an OSError subclass with its message,
argument checks before any call, the library found or a clear ImportError."""
import errno
import os
import subprocess
import sys

import pytest

import iiofab


def test_error_classes_are_oserror_and_the_builtin_one():
    e = iiofab.error(-errno.ETIMEDOUT, "next block", "server silent")
    assert isinstance(e, iiofab.Error) and isinstance(e, TimeoutError)
    assert e.errno == errno.ETIMEDOUT
    assert "next block" in str(e) and "server silent" in str(e)
    assert isinstance(iiofab.error(-errno.ECONNRESET, "x"), ConnectionResetError)
    assert isinstance(iiofab.error(-errno.ENOENT, "x"), FileNotFoundError)
    assert isinstance(iiofab.error(-errno.EAGAIN, "x"), BlockingIOError)
    assert type(iiofab.error(-errno.EBUSY, "x")) is iiofab.Error
    assert type(iiofab.error(-errno.ETIMEDOUT, "a")) is type(iiofab.error(-errno.ETIMEDOUT, "b"))


def test_bad_uri_carries_the_library_message():
    with pytest.raises(iiofab.Error) as info:
        iiofab.connect("http://board")
    assert info.value.errno == errno.EINVAL
    assert "rdma://host" in str(info.value)


def test_no_rdma_device_or_unreachable_is_an_error_not_a_hang():
    # This machine may have no RDMA at all (ENODEV) or an unreachable
    # address: either way an iiofab.Error within the timeout.
    with pytest.raises(iiofab.Error) as info:
        iiofab.connect("rdma://127.0.0.1:1", timeout=1)
    assert info.value.errno in (errno.ENODEV, errno.ECONNREFUSED, errno.ETIMEDOUT,
                                errno.EHOSTUNREACH, errno.ENETUNREACH)


@pytest.mark.parametrize("kwargs,exc", [
    ({"psk": b"short"}, ValueError),
    ({"psk": 12345}, TypeError),
    ({"psk": b"x" * 16, "psk_file": "/nonexistent"}, ValueError),
    ({"psk_file": "/nonexistent/key"}, FileNotFoundError),
    ({"timeout": 0}, ValueError),
    ({"timeout": "5"}, ValueError),
    ({"op_timeout": -1}, ValueError),
])
def test_connect_argument_checks(kwargs, exc):
    with pytest.raises(exc):
        iiofab.connect("rdma://127.0.0.1", **kwargs)


def test_uri_must_be_text():
    with pytest.raises(TypeError):
        iiofab.connect(b"rdma://board")


def test_key_file_rules(tmp_path):
    key = tmp_path / "k"
    key.write_bytes(b"0123456789abcdef\n")
    assert iiofab._read_key(str(key)) == b"0123456789abcdef"
    key.write_bytes(b"0123456789abcdef\n\n")
    assert iiofab._read_key(str(key)) == b"0123456789abcdef\n"


def _device(kind):
    dev = object.__new__(iiofab.Device)
    dev.kind, dev.id = kind, "iio:device9"
    return dev


@pytest.mark.parametrize("kind,kwargs", [
    ("input", {"block_size": 0}),
    ("input", {"block_size": 4096.0}),
    ("input", {"blocks": -1}),
    ("input", {"mode": "broadcast"}),
    ("output", {"mode": "fanout"}),
    ("input", {"prefill": 1}),
    ("output", {"blocks": 4, "prefill": 5}),
    ("output", {"prefill": 0}),
    ("output", {"prefill": True}),
    ("other", {}),
])
def test_stream_argument_checks(kind, kwargs):
    with pytest.raises(ValueError):
        _device(kind).stream(**kwargs)


def test_wait_timeouts():
    assert iiofab._wait_ms(None) == -1 and iiofab._wait_ms(0) == 0
    assert iiofab._wait_ms(1.5) == 1500
    for bad in (-1, "1", True):
        with pytest.raises(ValueError):
            iiofab._wait_ms(bad)


def test_library_from_environment_or_a_clear_import_error():
    assert iiofab.library_path() == os.environ["IIOFAB_LIBRARY"]
    env = dict(os.environ, IIOFAB_LIBRARY="/nonexistent/libiiofab.so.0")
    r = subprocess.run([sys.executable, "-c", "import iiofab"], env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "cannot load libiiofab (/nonexistent/libiiofab.so.0)" in r.stderr
    assert "IIOFAB_LIBRARY" in r.stderr


def test_a_stream_that_cannot_be_described_is_closed(monkeypatch):
    """A stream whose layout the binding refuses (say a scan format numpy
    cannot hold) is closed in the library at once, not left open."""
    closed = []

    def refuse(self, dev, ptr, what):
        self._ptr = ptr
        raise ValueError("iiofab: 24-bit sample storage has no numpy type")
    monkeypatch.setattr(iiofab._Stream, "__init__", refuse)
    monkeypatch.setattr(iiofab.lib, "iiofab_stream_close", closed.append)

    class Ctx:
        _streams = []
    dev = object.__new__(iiofab.Device)
    dev.context, dev.id = Ctx(), "iio:device0"
    s = object.__new__(iiofab.InputStream)
    with pytest.raises(ValueError, match="24-bit"):
        s._adopt(dev, 0x1234, "input stream on iio:device0")
    assert closed == [0x1234] and s._ptr is None and Ctx._streams == []
