# SPDX-License-Identifier: MIT
"""iiofab: samples of a remote Linux IIO converter over RDMA, as numpy arrays.

    import iiofab
    with iiofab.connect("rdma://board", psk_file="board.psk") as ctx:
        with ctx.device("iiofab-sim-adc").stream(block_size=1 << 20) as s:
            for block in s:
                process(block.data)     # (scans, channels), no copy

A thin layer over libiiofab (ctypes, no compiled extension). A block's
data is a view of the library's landing buffer, where the RDMA READ put
it; it is valid until the block is released (at the end of the loop
body, or by block.release()), and a view touched after that raises
ReleasedBlockError instead of showing memory the next READ reuses. That
check covers the view, its slices and reshapes, indexing, ufuncs, numpy
functions and the array methods; np.array(view) or np.asarray(view) made
after the release are not seen, so copy a block's data while it is
held. Errors of the library come as OSError subclasses: iiofab.Error and
the builtin class of the errno (TimeoutError, ConnectionResetError, ...),
with the errno and the library's own message.

One context (and everything under it) is used by one thread at a time,
as in the C library; calls that wait release the GIL.
"""
import ctypes
import os

import numpy as np

from . import formats
from ._lib import lib
from . import _lib

__all__ = ["connect", "Context", "Device", "Channel", "InputStream", "OutputStream",
           "Block", "Error", "ReleasedBlockError", "formats", "library_path", "MODES"]

library_path = _lib.library_path
MODES = {"exclusive": 0, "fanout": 1, "shard": 2}
_MODE_NAMES = {v: k for k, v in MODES.items()}
_KEY_MIN, _KEY_MAX = 16, 1024


def version():
    """The libiiofab version, "major.minor.patch"."""
    return lib.iiofab_version().decode()


# ---- errors ------------------------------------------------------------

class Error(OSError):
    """A libiiofab call failed: errno, and the library's message."""


class ReleasedBlockError(ValueError):
    """A block's data was touched after the block went back to the library."""


_error_classes = {}


def _error_class(err):
    cls = _error_classes.get(err)
    if cls is None:
        builtin = type(OSError(err, ""))
        cls = Error if builtin is OSError else type(builtin.__name__, (Error, builtin), {
            "__doc__": "iiofab.Error with errno %d, also a %s." % (err, builtin.__name__),
            "__module__": __name__})
        _error_classes[err] = cls
    return cls


def error(ret, what, detail=None):
    """The exception for a negative errno return ret of the call what."""
    err = -ret if ret < 0 else ret
    msg = "%s: %s" % (what, lib.iiofab_strerror(-err).decode())
    if detail:
        msg += " (%s)" % detail
    return _error_class(err)(err, msg)


class _Log:
    """Keeps the library's last error or warning, for the exception text,
    and passes every message on to the application's log function."""

    def __init__(self, log_fn, level):
        self.last = None
        self.user_fn = log_fn
        self.cfn = _lib.LOG_FN(self._on_message)
        self.level = max(level, _lib.LOG_WARNING)

    def _on_message(self, _arg, level, msg):
        text = msg.decode(errors="replace")
        if level <= _lib.LOG_WARNING:
            self.last = text
        if self.user_fn is not None:
            self.user_fn(level, text)

    def check(self, ret, what):
        """ret if it is >= 0; else raises with the last message since the
        call (clear() before it)."""
        if ret >= 0:
            return ret
        detail, self.last = self.last, None
        raise error(ret, what, detail)

    def clear(self):
        self.last = None


def _read_key(path):
    with open(path, "rb") as f:
        key = f.read(_KEY_MAX + 2)
    if key.endswith(b"\n"):
        key = key[:-1]
    return key


# ---- context -----------------------------------------------------------

def connect(uri, psk=None, psk_file=None, timeout=None, op_timeout=None,
            client_name="python-iiofab", log=None, log_level=_lib.LOG_WARNING):
    """Connects to "rdma://host[:port]" and returns a Context (usable in with).

    psk: the pre-shared key (bytes or str), or psk_file: a file holding it
    (its bytes, one trailing newline ignored, as iiofabd --psk-file reads
    it); neither connects without authentication, which only a server
    started with --insecure accepts. timeout: seconds for resolution and
    connection; op_timeout: seconds any later wait lets the server stay
    silent (see iiofab_params in iiofab.h); None: the library's 5 s.
    log(level, message) receives the library's messages up to log_level
    (1 error .. 4 debug)."""
    return Context(uri, psk, psk_file, timeout, op_timeout, client_name, log, log_level)


def _ms(seconds, what):
    if seconds is None:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise ValueError("iiofab: %s must be a positive number of seconds, not %r"
                         % (what, seconds))
    return max(1, int(round(seconds * 1000)))


def _wait_ms(timeout):
    """A wait's timeout in seconds (None: the op timeout, 0: do not wait)."""
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise ValueError("iiofab: timeout must be None or >= 0 seconds, not %r" % (timeout,))
    return int(round(timeout * 1000))


class Context:
    """A connection to one iiofabd. Closed by close() or at the end of with."""

    def __init__(self, uri, psk, psk_file, timeout, op_timeout, client_name, log, log_level):
        if not isinstance(uri, str):
            raise TypeError("iiofab: uri must be a str like 'rdma://board', not %r" % (uri,))
        if psk is not None and psk_file is not None:
            raise ValueError("iiofab: give psk or psk_file, not both")
        if psk_file is not None:
            psk = _read_key(os.fspath(psk_file))
        if isinstance(psk, str):
            psk = psk.encode()
        if psk is not None and not isinstance(psk, (bytes, bytearray)):
            raise TypeError("iiofab: psk must be bytes or str, not %s" % type(psk).__name__)
        if psk is not None and not _KEY_MIN <= len(psk) <= _KEY_MAX:
            raise ValueError("iiofab: a pre-shared key has %d to %d bytes, this one %d"
                             % (_KEY_MIN, _KEY_MAX, len(psk)))
        self._ptr = None
        self._streams = []
        self._log = _Log(log, log_level)
        self._psk = ctypes.create_string_buffer(bytes(psk), len(psk)) if psk else None
        params = _lib.Params(
            psk=ctypes.cast(self._psk, ctypes.c_void_p) if psk else None,
            psk_len=len(psk) if psk else 0,
            connect_timeout_ms=_ms(timeout, "timeout"),
            op_timeout_ms=_ms(op_timeout, "op_timeout"),
            log_fn=self._log.cfn, log_level=self._log.level,
            client_name=client_name.encode())
        self.uri = uri
        ptr = ctypes.c_void_p()
        self._log.clear()
        self._log.check(lib.iiofab_connect(uri.encode(), ctypes.byref(params),
                                           ctypes.byref(ptr)), "connect to %s" % uri)
        self._ptr = ptr
        if self._psk is not None:
            ctypes.memset(self._psk, 0, len(psk))
        try:
            self.devices = [Device(self, lib.iiofab_ctx_get_device(ptr, i))
                            for i in range(lib.iiofab_ctx_get_devices_count(ptr))]
        except BaseException:
            self.close()
            raise

    def _handle(self):
        if self._ptr is None:
            raise ValueError("iiofab: the context is closed")
        return self._ptr

    def device(self, name):
        """The device with this id ("iio:device0"), name or label."""
        if not isinstance(name, str):
            raise TypeError("iiofab: a device name is a str, not %r" % (name,))
        ptr = lib.iiofab_ctx_find_device(self._handle(), name.encode())
        if not ptr:
            raise error(-19, "device %r" % name, "the server has no such device; it has %s"
                        % (", ".join(d.name or d.id for d in self.devices) or "none"))
        return next(d for d in self.devices if d._ptr == ptr)

    def stats(self):
        """The server's counters as a dict, and its registration path under
        "reg_path"."""
        out = {}

        def take(_arg, key, value):
            out[key.decode()] = value
            return 0
        path = ctypes.create_string_buffer(32)
        self._log.clear()
        self._log.check(lib.iiofab_ctx_get_server_stats(self._handle(), _lib.STAT_FN(take),
                                                        None, path, len(path)), "stats")
        out["reg_path"] = path.value.decode()
        return out

    def close(self):
        """Closes every stream of this context, then the connection."""
        if self._ptr is None:
            return
        for s in list(self._streams):
            s.close()
        lib.iiofab_disconnect(self._ptr)
        self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_ptr", None) is not None:
            self.close()

    def __repr__(self):
        return "<iiofab.Context %s%s>" % (self.uri, "" if self._ptr is not None else " closed")


class _Attrs:
    """Attributes as a mapping: read on [], written on [] =, one round trip
    each; iteration and len cover the names the device table lists."""

    def __init__(self, owner, names, read, write, what):
        self._owner, self._names = owner, names
        self._read, self._write, self._what = read, write, what

    def __getitem__(self, name):
        ctx = self._owner.context
        buf = ctypes.create_string_buffer(4096)
        ctx._log.clear()
        n = ctx._log.check(self._read(self._owner._ptr, name.encode(), buf, len(buf)),
                           "read %s attribute %r" % (self._what, name))
        if n >= len(buf):
            buf = ctypes.create_string_buffer(n + 1)
            ctx._log.check(self._read(self._owner._ptr, name.encode(), buf, len(buf)),
                           "read %s attribute %r" % (self._what, name))
        return buf.value.decode(errors="replace")

    def __setitem__(self, name, value):
        ctx = self._owner.context
        ctx._log.clear()
        ctx._log.check(self._write(self._owner._ptr, name.encode(), str(value).encode()),
                       "write %s attribute %r" % (self._what, name))

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __contains__(self, name):
        return name in self._names

    def keys(self):
        return list(self._names)

    def items(self):
        return [(n, self[n]) for n in self._names]


def _names(count, get, ptr):
    return [get(ptr, i).decode() for i in range(count(ptr))]


def _text(s):
    return s.decode() if s else ""


class Device:
    """An IIO device of the server: id, name, label, kind, channels, attrs."""

    KINDS = ("input", "output", "other")

    def __init__(self, ctx, ptr):
        self.context = ctx
        self._ptr = ptr
        self.id = _text(lib.iiofab_device_get_id(ptr))
        self.name = _text(lib.iiofab_device_get_name(ptr))
        self.label = _text(lib.iiofab_device_get_label(ptr))
        self.kind = self.KINDS[lib.iiofab_device_get_kind(ptr)]
        self.channels = [Channel(self, lib.iiofab_device_get_channel(ptr, i))
                         for i in range(lib.iiofab_device_get_channels_count(ptr))]
        self.attrs = _Attrs(self, _names(lib.iiofab_device_get_attrs_count,
                                         lib.iiofab_device_get_attr, ptr),
                            lib.iiofab_device_attr_read, lib.iiofab_device_attr_write,
                            "device")
        self.buffer_attrs = _Attrs(self, _names(lib.iiofab_device_get_buffer_attrs_count,
                                                lib.iiofab_device_get_buffer_attr, ptr),
                                   lib.iiofab_device_buffer_attr_read,
                                   lib.iiofab_device_buffer_attr_write, "buffer")

    @property
    def is_output(self):
        return self.kind == "output"

    def channel_mask(self, channels=None):
        """The scan-index mask of channels (ids or names; None: every
        scannable channel of the device's direction)."""
        if isinstance(channels, str):
            channels = [channels]
        arr = None
        if channels is not None:
            channels = list(channels)
            if not all(isinstance(c, str) for c in channels):
                raise TypeError("iiofab: channels are ids or names (str), not %r" % (channels,))
            arr = (ctypes.c_char_p * (len(channels) + 1))(*[c.encode() for c in channels], None)
        mask = ctypes.c_uint64()
        self.context._log.clear()
        self.context._log.check(lib.iiofab_device_get_channel_mask(
            self._ptr, self.is_output, arr, ctypes.byref(mask)),
            "channels %s of %s" % (channels if channels is not None else "(all)", self.id))
        return mask.value

    def stream(self, channels=None, block_size=1 << 20, blocks=8, mode="exclusive",
               start=True, prefill=None):
        """Opens a stream on channels (ids or names; None: all of the
        device's direction): an InputStream on an ADC, an OutputStream on a
        DAC. block_size in bytes (a multiple of the page size and of the
        scan size), blocks 1..256; mode (ADC): "exclusive", "fanout" or
        "shard" (see iiofab_stream_open_mode); prefill (DAC): the converter
        starts once that many blocks are on the board, 1..blocks (None: 1;
        see iiofab_stream_set_prefill). Started unless start=False."""
        if self.kind == "other":
            raise ValueError("iiofab: %s is neither an ADC nor a DAC" % self.id)
        for name, v in (("block_size", block_size), ("blocks", blocks)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError("iiofab: %s must be a positive int, not %r" % (name, v))
        if mode not in MODES:
            raise ValueError("iiofab: mode must be one of %s, not %r" % (", ".join(MODES), mode))
        if self.is_output and mode != "exclusive":
            raise ValueError("iiofab: a DAC stream has one host: mode %r is for ADCs" % mode)
        if prefill is not None:
            if not self.is_output:
                raise ValueError("iiofab: prefill is for DAC streams, not %s" % self.id)
            if isinstance(prefill, bool) or not isinstance(prefill, int) or \
                    not 0 < prefill <= blocks:
                raise ValueError("iiofab: prefill must be an int in 1..%d, not %r"
                                 % (blocks, prefill))
        mask = self.channel_mask(channels)
        cls = OutputStream if self.is_output else InputStream
        s = cls(self, mask, block_size, blocks, MODES[mode])
        if prefill is not None:
            try:
                s._check(lib.iiofab_stream_set_prefill(s._handle(), prefill), "set prefill")
            except BaseException:
                s.close()
                raise
        if start:
            try:
                s.start()
            except BaseException:
                s.close()
                raise
        return s

    def __repr__(self):
        return "<iiofab.Device %s %r %s, %d channels>" % (self.id, self.name, self.kind,
                                                          len(self.channels))


class Channel:
    """A channel: id, name, output, scan_index (None: not streamable),
    format (iiofab.formats.Format), attrs."""

    def __init__(self, dev, ptr):
        self.device = dev
        self.context = dev.context
        self._ptr = ptr
        self.id = _text(lib.iiofab_channel_get_id(ptr))
        self.name = _text(lib.iiofab_channel_get_name(ptr))
        self.output = bool(lib.iiofab_channel_is_output(ptr))
        idx = lib.iiofab_channel_get_scan_index(ptr)
        self.scan_index = idx if idx >= 0 else None
        f = lib.iiofab_channel_get_format(ptr)
        self.format = formats.Format(f.contents.bits, f.contents.storage_bits,
                                     f.contents.shift, bool(f.contents.is_signed),
                                     bool(f.contents.big_endian)) if f else None
        self.attrs = _Attrs(self, _names(lib.iiofab_channel_get_attrs_count,
                                         lib.iiofab_channel_get_attr, ptr),
                            lib.iiofab_channel_attr_read, lib.iiofab_channel_attr_write,
                            "channel")

    def __repr__(self):
        return "<iiofab.Channel %s%s %s>" % (self.id, " (out)" if self.output else "",
                                             self.format)


# ---- block views ---------------------------------------------------------

class _Lease:
    __slots__ = ("valid",)

    def __init__(self):
        self.valid = True


def _released():
    return ReleasedBlockError("iiofab: this block was released; its memory belongs "
                              "to the next RDMA READ (copy data while the block is held)")


def _plain(x, leases):
    """x with every BlockView replaced by a plain ndarray view, recording
    their leases; nested lists and tuples too (np.concatenate([a, b]))."""
    if isinstance(x, BlockView):
        lease = x.__dict__.get("_lease")
        if lease is not None:
            if not lease.valid:
                raise _released()
            leases.append((lease, x))
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(i, leases) for i in x)
    return x


def _rewrap(result, leases):
    """Results that still look into a block's memory stay BlockViews."""
    if isinstance(result, np.ndarray) and not isinstance(result, BlockView):
        for lease, src in leases:
            if np.may_share_memory(result, src.view(np.ndarray)):
                out = result.view(BlockView)
                out._lease = lease
                return out
        return result
    if isinstance(result, tuple):
        return tuple(_rewrap(r, leases) for r in result)
    if isinstance(result, list):
        return [_rewrap(r, leases) for r in result]
    return result


class BlockView(np.ndarray):
    """A numpy view of a block's memory that refuses to be read once the
    block is released (see the package's docstring for what is covered)."""

    def __array_finalize__(self, obj):
        if obj is not None and "_lease" not in self.__dict__:
            lease = getattr(obj, "__dict__", {}).get("_lease")
            if lease is not None:
                self._lease = lease

    def _check(self):
        lease = self.__dict__.get("_lease")
        if lease is not None and not lease.valid:
            raise _released()

    @property
    def released(self):
        lease = self.__dict__.get("_lease")
        return lease is not None and not lease.valid

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        leases = []
        inputs = _plain(inputs, leases)
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"], leases)
        return _rewrap(getattr(ufunc, method)(*inputs, **kwargs), leases)

    def __array_function__(self, func, types, args, kwargs):
        leases = []
        args = _plain(args, leases)
        kwargs = {k: _plain(v, leases) for k, v in kwargs.items()}
        return _rewrap(func(*args, **kwargs), leases)

    def __getitem__(self, key):
        self._check()
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        self._check()
        super().__setitem__(key, value)

    def __iter__(self):
        self._check()
        return super().__iter__()

    def __repr__(self):
        if self.released:
            return "<released iiofab block view, shape %s, dtype %s>" % (self.shape, self.dtype)
        return repr(self.view(np.ndarray))

    def __str__(self):
        self._check()
        return str(self.view(np.ndarray))

    def __reduce__(self):
        self._check()
        return self.view(np.ndarray).__reduce__()

    def __bool__(self):
        self._check()
        return super().__bool__()

    def __float__(self):
        self._check()
        return super().__float__()

    def __int__(self):
        self._check()
        return super().__int__()


def _checked_comparison(name):
    base = getattr(np.ndarray, name)

    # numpy turns an exception inside a comparison into a warning and
    # False: check before it can.
    def method(self, other):
        self._check()
        if isinstance(other, BlockView):
            other._check()
        return base(self, other)
    method.__name__ = name
    return method


for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
    setattr(BlockView, _name, _checked_comparison(_name))


def _checked_method(name):
    base = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        self._check()
        return _rewrap(base(self.view(np.ndarray), *args, **kwargs),
                       [(self.__dict__.get("_lease"), self)] if "_lease" in self.__dict__ else [])
    method.__name__ = name
    method.__doc__ = base.__doc__
    return method


# The methods that read memory without going through a ufunc.
for _name in ("copy", "astype", "tobytes", "tolist", "item", "tofile", "fill", "__copy__",
              "__deepcopy__", "reshape", "ravel", "flatten", "transpose", "squeeze",
              "byteswap", "argsort", "sort", "searchsorted", "nonzero", "argmax",
              "argmin", "dot"):
    setattr(BlockView, _name, _checked_method(_name))


def _view_of(address, nbytes, lay, scans, lease, writeable):
    raw = (ctypes.c_uint8 * nbytes).from_address(address)
    buf = np.frombuffer(raw, dtype=np.uint8)
    if not writeable:
        buf.flags.writeable = False
    arr = lay.view(buf, scans).view(BlockView)
    arr._lease = lease
    return arr


# ---- streams -------------------------------------------------------------

class _Stream:
    """What input and output streams share: open, start, layout, stats, close."""

    def __init__(self, dev, ptr, what):
        self.device = dev
        self.context = dev.context
        self._ptr = ptr
        self.scan_bytes = lib.iiofab_stream_get_scan_bytes(ptr)
        self.block_size = lib.iiofab_stream_get_block_size(ptr)
        self.blocks = lib.iiofab_stream_get_block_count(ptr)
        self.mode = _MODE_NAMES.get(lib.iiofab_stream_get_mode(ptr), "exclusive")
        self.reg_path = _text(lib.iiofab_stream_get_reg_path(ptr))
        n = lib.iiofab_stream_get_channels_count(ptr)
        chans = [lib.iiofab_stream_get_channel(ptr, i) for i in range(n)]
        self.channels = [next(c for c in dev.channels if c._ptr == p) for p in chans]
        self.layout = formats.layout([c.format for c in self.channels],
                                     [lib.iiofab_stream_get_channel_offset(ptr, i)
                                      for i in range(n)],
                                     self.scan_bytes, [c.id for c in self.channels])
        self.block_scans = self.block_size // self.scan_bytes
        self.started = False
        self.context._streams.append(self)
        self._what = what

    def _adopt(self, dev, ptr, what):
        """_Stream.__init__, closing the library's stream if it fails (a
        scan format numpy cannot hold, say), so that no stream is left
        open on the context."""
        try:
            _Stream.__init__(self, dev, ptr, what)
        except BaseException:
            self._ptr = None
            lib.iiofab_stream_close(ptr)
            if self in dev.context._streams:
                dev.context._streams.remove(self)
            raise

    @property
    def dtype(self):
        """A sample's dtype (2-D blocks) or a scan's (structured blocks)."""
        return self.layout.dtype

    def _handle(self):
        if self._ptr is None:
            raise ValueError("iiofab: the stream is closed")
        return self._ptr

    def _check(self, ret, what):
        return self.context._log.check(ret, "%s: %s" % (self._what, what))

    def start(self):
        self.context._log.clear()
        self._check(lib.iiofab_stream_start(self._handle()), "start")
        self.started = True

    def fileno(self):
        """A descriptor that polls readable when next()/get_free() may progress."""
        return lib.iiofab_stream_fd(self._handle())

    def stats(self):
        """The library's counters of this stream (iiofab_stream_stats) as a dict."""
        st = _lib.StreamStats()
        self.context._log.clear()
        self._check(lib.iiofab_stream_stats(self._handle(), ctypes.byref(st)), "stats")
        return {name: getattr(st, name) for name, _ in _lib.StreamStats._fields_}

    def close(self):
        """Stops and closes (an output stream drains first); blocks still
        held become invalid. Idempotent."""
        if self._ptr is None:
            return
        self._invalidate()
        lib.iiofab_stream_close(self._ptr)
        self._ptr = None
        if self in self.context._streams:
            self.context._streams.remove(self)

    def _invalidate(self):
        pass

    def __enter__(self):
        if not self.started:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_ptr", None) is not None and self.context._ptr is not None:
            self.close()


class Block:
    """One delivered ADC block: data (a BlockView: (scans, channels), or
    structured), seq, timestamp_ns, first_sample, samples, lost_samples,
    redelivered, ready_ns, landed_ns. release() (or the end of with / of
    the loop body that got it) gives it back."""

    __slots__ = ("_stream", "_ptr", "_lease", "data", "seq", "timestamp_ns", "first_sample",
                 "samples", "lost_samples", "redelivered", "ready_ns", "landed_ns")

    def __init__(self, stream, ptr):
        b = ptr.contents
        self._stream, self._ptr, self._lease = stream, ptr, _Lease()
        self.seq, self.timestamp_ns, self.first_sample = b.seq, b.timestamp_ns, b.first_sample
        self.samples, self.lost_samples = b.samples, b.lost_samples
        self.redelivered, self.ready_ns, self.landed_ns = b.redelivered, b.ready_ns, b.landed_ns
        self.data = _view_of(b.data, b.bytes, stream.layout, b.samples, self._lease, False)

    @property
    def released(self):
        return not self._lease.valid

    def release(self):
        """Gives the block back (idempotent); its data is invalid from now."""
        if not self._lease.valid:
            return
        self._lease.valid = False
        s = self._stream
        s._held.discard(self)
        if s._ptr is not None:
            s.context._log.clear()
            s._check(lib.iiofab_block_release(s._ptr, self._ptr), "release block %d" % self.seq)

    def values(self):
        """The samples' values (shift, bits and sign applied) as int64, a
        copy: (scans, channels), whatever the layout."""
        s = self._stream
        if s.layout.structured:
            cols = [formats.decode(self.data[c.id], c.format) for c in s.channels]
            return np.stack(cols, axis=1)
        return np.stack([formats.decode(self.data[:, i], c.format)
                         for i, c in enumerate(s.channels)], axis=1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        return "<iiofab.Block seq %d, %d scans from %d, %d lost%s%s>" % (
            self.seq, self.samples, self.first_sample, self.lost_samples,
            ", redelivered" if self.redelivered else "",
            ", released" if self.released else "")


class InputStream(_Stream):
    """An ADC stream. Iterate for blocks (each released when the loop body
    that got it ends), or next(), or read(n)."""

    def __init__(self, dev, mask, block_size, blocks, mode):
        ptr = ctypes.c_void_p()
        dev.context._log.clear()
        dev.context._log.check(lib.iiofab_stream_open_mode(
            dev.context._handle(), dev._ptr, mask, block_size, blocks, mode,
            ctypes.byref(ptr)), "open input stream on %s" % dev.id)
        self._held = set()
        self._carry = None
        self._out = ctypes.POINTER(_lib.Block)()
        self._adopt(dev, ptr, "input stream on %s" % dev.id)

    def next(self, timeout=None):
        """The next block, waiting up to timeout seconds (None: the op
        timeout; 0: do not wait, BlockingIOError when none is there)."""
        if self._carry is not None:
            raise RuntimeError("iiofab: read() holds %d scans of a block not yet returned; "
                               "read them before taking blocks" % len(self._carry))
        ms = _wait_ms(timeout)
        self.context._log.clear()
        self._check(lib.iiofab_stream_next(self._handle(), ms, ctypes.byref(self._out)),
                    "next block")
        blk = Block(self, self._out)
        self._out = ctypes.POINTER(_lib.Block)()
        self._held.add(blk)
        return blk

    def __iter__(self):
        while True:
            blk = self.next()
            try:
                yield blk
            finally:
                blk.release()

    def read(self, n, timeout=None):
        """n scans as one new array (a copy), and the scans lost while
        reading them: (array, lost). Scans left over from the last block
        are kept for the next read()."""
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError("iiofab: read() wants a positive int of scans, not %r" % (n,))
        shape = (n,) if self.layout.structured else (n, self.layout.channels)
        out = np.empty(shape, dtype=self.layout.dtype)
        got, lost = 0, 0
        if self._carry is not None:
            take = min(n, len(self._carry))
            out[:take] = self._carry[:take]
            self._carry = self._carry[take:] if take < len(self._carry) else None
            got = take
        while got < n:
            with self.next(timeout) as blk:
                lost += blk.lost_samples
                take = min(n - got, blk.samples)
                out[got:got + take] = blk.data[:take].view(np.ndarray)
                if take < blk.samples:
                    self._carry = blk.data[take:].view(np.ndarray).copy()
                got += take
        return out, lost

    def _invalidate(self):
        for blk in list(self._held):
            blk._lease.valid = False
        self._held.clear()

    def __repr__(self):
        return "<iiofab.InputStream %s %s, %d x %d bytes%s>" % (
            self.device.id, self.mode, self.blocks, self.block_size,
            "" if self._ptr is not None else ", closed")


class OutputStream(_Stream):
    """A DAC stream: write(array) (waits for free blocks: backpressure),
    cyclic(array), drain(), underruns; or get_free() and submit() to fill
    the registered memory in place."""

    def __init__(self, dev, mask, block_size, blocks, _mode):
        ptr = ctypes.c_void_p()
        dev.context._log.clear()
        dev.context._log.check(lib.iiofab_stream_open_output_mask(
            dev.context._handle(), dev._ptr, mask, block_size, blocks,
            ctypes.byref(ptr)), "open output stream on %s" % dev.id)
        self._leases = {}
        self._adopt(dev, ptr, "output stream on %s" % dev.id)

    def get_free(self, timeout=None):
        """(index, view): a block the converter is done with, and a writable
        (block_scans, channels) view of its registered memory, valid until
        submit(index, ...)."""
        data = ctypes.c_void_p()
        self.context._log.clear()
        idx = self._check(lib.iiofab_stream_get_free(self._handle(), _wait_ms(timeout),
                                                     ctypes.byref(data)), "get a free block")
        lease = _Lease()
        self._leases[idx] = lease
        return idx, _view_of(data.value, self.block_size, self.layout, self.block_scans,
                             lease, True)

    def submit(self, index, scans=None, cyclic=False):
        """Hands block index (from get_free) to the converter: its first
        scans scans (None: all of them)."""
        scans = self.block_scans if scans is None else scans
        if not 0 < scans <= self.block_scans:
            raise ValueError("iiofab: a block holds 1 to %d scans, not %r"
                             % (self.block_scans, scans))
        self.context._log.clear()
        self._check(lib.iiofab_stream_submit(self._handle(), index, scans * self.scan_bytes,
                                             _lib.SUBMIT_CYCLIC if cyclic else 0),
                    "submit block %d" % index)
        lease = self._leases.pop(index, None)
        if lease is not None:
            lease.valid = False

    def _samples(self, array):
        """array as scans of this stream: (scans, channels), or (scans,)
        for one channel or a structured layout; same-kind casts only."""
        a = np.asarray(array)
        if self.layout.structured:
            if a.dtype != self.layout.dtype:
                raise TypeError("iiofab: this stream's scans are %s, not %s"
                                % (self.layout.dtype, a.dtype))
            return a.reshape(-1)
        if a.ndim == 1 and self.layout.channels == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != self.layout.channels:
            raise ValueError("iiofab: expected an array of shape (scans, %d), got %s"
                             % (self.layout.channels, a.shape))
        if a.dtype != self.layout.dtype:
            if not np.can_cast(a.dtype, self.layout.dtype, "same_kind"):
                raise TypeError("iiofab: cannot write %s samples to a %s stream without "
                                "losing what they mean; convert them first"
                                % (a.dtype, self.layout.dtype))
            a = a.astype(self.layout.dtype)
        return a

    def write(self, array, timeout=None):
        """Writes every scan of array, in blocks; waits (up to timeout per
        block) while every block is with the converter. Returns the scans
        written."""
        a = self._samples(array)
        for at in range(0, len(a), self.block_scans):
            part = a[at:at + self.block_scans]
            idx, view = self.get_free(timeout)
            view[:len(part)] = part
            self.submit(idx, len(part))
        return len(a)

    def cyclic(self, array, timeout=None):
        """Repeats array (one block at most) until the stream stops or
        another cyclic waveform replaces it."""
        a = self._samples(array)
        if not 0 < len(a) <= self.block_scans:
            raise ValueError("iiofab: a cyclic waveform fits one block: 1 to %d scans, "
                             "not %d (open the stream with a larger block_size)"
                             % (self.block_scans, len(a)))
        idx, view = self.get_free(timeout)
        view[:len(a)] = a
        self.submit(idx, len(a), cyclic=True)

    def drain(self, timeout=None):
        """Waits until the converter consumed every submitted block (but a
        repeating cyclic one); timeout bounds the wait for each block."""
        self.context._log.clear()
        self._check(lib.iiofab_stream_drain(self._handle(), _wait_ms(timeout)), "drain")

    @property
    def underruns(self):
        """Scans the converter had no data for while the stream ran."""
        return self.stats()["underruns"]

    def _invalidate(self):
        for lease in self._leases.values():
            lease.valid = False
        self._leases.clear()

    def __repr__(self):
        return "<iiofab.OutputStream %s, %d x %d bytes%s>" % (
            self.device.id, self.blocks, self.block_size,
            "" if self._ptr is not None else ", closed")
