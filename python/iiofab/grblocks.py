# SPDX-License-Identifier: MIT
"""GNU Radio blocks over the iiofab binding (gnuradio 3.10, Python blocks).

source: an ADC stream, one output per channel (as gr-iio's source), each
    in the channel's storage type in host order. Scans the server reports
    lost are tagged on every output at the first sample after the gap:
    key "iiofab_lost", value the number of scans lost there (uint64). Every
    block's first sample also carries "iiofab_first_sample" (the scan index
    since the converter was enabled). samples > 0 ends the flowgraph after
    that many scans.
sink: a DAC stream, one input per channel; samples are gathered into the
    stream's registered blocks and submitted when a block is full, and the
    rest at stop, which drains before it closes.
Both close their connection at stop, and a flowgraph started again opens
the same device and channels anew.
"""
import sys

import pmt
from gnuradio import gr

import iiofab

TAG_LOST = pmt.intern("iiofab_lost")
TAG_FIRST = pmt.intern("iiofab_first_sample")
_TYPES = {"byte": 1, "short": 2, "int": 4, "long": 8}


def _give_up(block, what, err):
    block.error = err
    msg = "iiofab %s: %s" % (what, err)
    logger = getattr(block, "logger", None)
    if logger is not None:
        logger.error(msg)
    else:
        sys.stderr.write(msg + "\n")
    return -1


def _open_device(uri, psk_file, device, channels, timeout, type_name, what):
    """The connection, the device, its enabled channels in scan order and
    their GNU Radio signature; the connection is closed if any fails."""
    ctx = iiofab.connect(uri, psk_file=psk_file or None, timeout=timeout, op_timeout=timeout,
                         client_name="gr-iiofab")
    try:
        dev = ctx.device(device)
        mask = dev.channel_mask(list(channels) if channels else None)
        chans = [c for c in dev.channels if c.output == dev.is_output and
                 c.scan_index is not None and mask >> c.scan_index & 1]
        chans.sort(key=lambda c: c.scan_index)
        return ctx, dev, chans, _signature(chans, type_name, what)
    except BaseException:
        ctx.close()
        raise


def _reopen(block, what):
    """A flowgraph started again after a stop (which closed the
    connection): the same device and channels on a new connection."""
    if block._ctx is not None:
        return
    ctx, dev, chans, dtypes = _open_device(*block._where, what)
    if [c.id for c in chans] != block._channels or dtypes != block._dtypes:
        ctx.close()
        raise ValueError("iiofab %s: %s no longer has the channels %s of this flowgraph"
                         % (what, block._where[2], ", ".join(block._channels)))
    block._ctx, block._dev = ctx, dev


def _open_stream(block, **kwargs):
    """The block's stream; its connection is closed if that fails, since a
    block whose start() raised is not stopped."""
    try:
        return block._dev.stream(block._channels, **kwargs)
    except BaseException:
        block._ctx.close()
        block._ctx = None
        raise


def _signature(chans, type_name, what):
    """One numpy type per channel, host order; the GRC type must match."""
    dtypes = [c.format.dtype.newbyteorder("=") for c in chans]
    want = _TYPES.get(type_name)
    if want is None:
        raise ValueError("iiofab %s: type must be one of %s" % (what, ", ".join(_TYPES)))
    for c, d in zip(chans, dtypes):
        if d.itemsize != want:
            raise ValueError("iiofab %s: channel %s stores %d-byte samples (%s), not %s"
                             % (what, c.id, d.itemsize, c.format, type_name))
    return dtypes


def _column(stream, view, index, channel_id):
    """One channel's samples in a block view, whatever the layout."""
    return view[channel_id] if stream.layout.structured else view[:, index]


class source(gr.sync_block):
    def __init__(self, uri, device, channels=(), block_size=1 << 20, blocks=8,
                 mode="exclusive", psk_file="", samples=0, type="short", timeout=5.0):
        self._where = (uri, psk_file, device, channels, timeout, type)
        self._ctx, self._dev, chans, dtypes = _open_device(*self._where, "source")
        gr.sync_block.__init__(self, name="iiofab_source", in_sig=None, out_sig=dtypes)
        self._channels, self._dtypes = [c.id for c in chans], dtypes
        self._args = (block_size, blocks, mode)
        self._limit = samples
        self._timeout = timeout
        self._stream = None
        self._block = None
        self._pos = 0
        self._produced = 0
        self.error = None
        self.unread_samples = 0
        self.unread_lost_samples = 0
        self.lost_samples = 0
        self.delivered_samples = 0
        self.stream_stats = None

    def start(self):
        """Also after a stop: a new connection and stream, samples counted
        from 0 again."""
        bs, n, mode = self._args
        _reopen(self, "source")
        self._produced, self.error = 0, None
        self._stream = _open_stream(self, block_size=bs, blocks=n, mode=mode)
        return True

    def stop(self):
        self._close()
        return True

    def _close(self):
        if self._block is not None:
            self._block.release()
            self._block = None
        if self._stream is not None:
            if self.error is None:
                self._give_back_unread()
            self.stream_stats = self._stream.stats()
            self._stream.close()
            self._stream = None
        if self._ctx is not None:
            self._ctx.close()
            self._ctx = None

    def _give_back_unread(self):
        """Blocks that landed after the flowgraph's last scan, released
        unread and counted (unread_samples, unread_lost_samples), so that
        the tags' sum plus unread_lost_samples is the library's
        lost_samples exactly. The library queues what has landed; taking
        it is quicker than the converter fills blocks, so this ends."""
        for _ in range(100 * self._stream.blocks):
            try:
                blk = self._stream.next(0)
            except iiofab.Error:
                return
            self.unread_samples += blk.samples
            self.unread_lost_samples += blk.lost_samples
            blk.release()

    def work(self, input_items, output_items):
        if self._limit and self._produced >= self._limit:
            return -1
        if self._block is None:
            try:
                self._block = self._stream.next(self._timeout)
            except iiofab.Error as e:
                return _give_up(self, "source", e)
            self._pos = 0
            at = self.nitems_written(0)
            for port in range(len(output_items)):
                if self._block.lost_samples:
                    self.add_item_tag(port, at, TAG_LOST, pmt.from_uint64(self._block.lost_samples))
                self.add_item_tag(port, at, TAG_FIRST, pmt.from_uint64(self._block.first_sample))
            self.lost_samples += self._block.lost_samples
        blk = self._block
        n = min(len(output_items[0]), blk.samples - self._pos)
        if self._limit:
            n = min(n, self._limit - self._produced)
        for i, out in enumerate(output_items):
            col = _column(self._stream, blk.data, i, self._channels[i])
            out[:n] = col[self._pos:self._pos + n]
        self._pos += n
        self._produced += n
        self.delivered_samples += n
        if self._pos == blk.samples:
            self._block = None
            try:
                blk.release()
            except iiofab.Error as e:
                return _give_up(self, "source", e)
        return n


class sink(gr.sync_block):
    def __init__(self, uri, device, channels=(), block_size=1 << 20, blocks=8,
                 psk_file="", type="short", timeout=5.0):
        self._where = (uri, psk_file, device, channels, timeout, type)
        self._ctx, self._dev, chans, dtypes = _open_device(*self._where, "sink")
        gr.sync_block.__init__(self, name="iiofab_sink", in_sig=dtypes, out_sig=None)
        self._channels, self._dtypes = [c.id for c in chans], dtypes
        self._args = (block_size, blocks)
        self._timeout = timeout
        self._stream = None
        self._free = None
        self._fill = 0
        self.error = None
        self.written_samples = 0
        self.stream_stats = None

    def start(self):
        """Also after a stop: a new connection and stream."""
        bs, n = self._args
        _reopen(self, "sink")
        self.error = None
        # Started with every block queued: the flowgraph's first stalls
        # then cost the buffer's lead, not the converter's first block.
        self._stream = _open_stream(self, block_size=bs, blocks=n, prefill=n)
        return True

    def stop(self):
        try:
            if self._stream is not None and self.error is None:
                if self._free is not None and self._fill:
                    self._stream.submit(self._free[0], self._fill)
                self._free = None
                self._stream.drain(self._timeout)
                self.stream_stats = self._stream.stats()
        finally:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
            if self._ctx is not None:
                self._ctx.close()
                self._ctx = None
        return True

    def work(self, input_items, output_items):
        s = self._stream
        if self._free is None:
            try:
                self._free = s.get_free(self._timeout)
            except iiofab.Error as e:
                return _give_up(self, "sink", e)
            self._fill = 0
        idx, view = self._free
        n = min(len(input_items[0]), s.block_scans - self._fill)
        for i, inp in enumerate(input_items):
            _column(s, view, i, self._channels[i])[self._fill:self._fill + n] = inp[:n]
        self._fill += n
        self.written_samples += n
        if self._fill == s.block_scans:
            self._free = None
            try:
                s.submit(idx)
            except iiofab.Error as e:
                return _give_up(self, "sink", e)
        return n

