# SPDX-License-Identifier: MIT
"""libiiofab through ctypes: the library found, every call it makes declared.

Which library: the IIOFAB_LIBRARY environment variable (a path), else the
one this package was installed with (_installed.py, written by
`cmake --install`), else the loader's search for libiiofab.so.0.
"""
import ctypes
import ctypes.util
import os

c_int_p = ctypes.POINTER(ctypes.c_int)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
STAT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64)

LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG = 1, 2, 3, 4
DEVICE_INPUT, DEVICE_OUTPUT, DEVICE_OTHER = 0, 1, 2
SUBMIT_CYCLIC = 0x1


class Params(ctypes.Structure):
    _fields_ = [
        ("psk", ctypes.c_void_p),
        ("psk_len", ctypes.c_size_t),
        ("connect_timeout_ms", ctypes.c_uint),
        ("op_timeout_ms", ctypes.c_uint),
        ("log_fn", LOG_FN),
        ("log_level", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("client_name", ctypes.c_char_p),
    ]


class DataFormat(ctypes.Structure):
    _fields_ = [
        ("bits", ctypes.c_uint),
        ("storage_bits", ctypes.c_uint),
        ("shift", ctypes.c_uint),
        ("is_signed", ctypes.c_bool),
        ("big_endian", ctypes.c_bool),
    ]


class Block(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("bytes", ctypes.c_size_t),
        ("seq", ctypes.c_uint64),
        ("timestamp_ns", ctypes.c_uint64),
        ("first_sample", ctypes.c_uint64),
        ("samples", ctypes.c_size_t),
        ("lost_samples", ctypes.c_uint64),
        ("ready_ns", ctypes.c_uint64),
        ("landed_ns", ctypes.c_uint64),
        ("redelivered", ctypes.c_bool),
    ]


class StreamStats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "blocks", "samples", "bytes", "lost_samples", "torn_blocks",
        "stale_blocks", "skipped_blocks", "reads", "redelivered_blocks",
        "releases_sent", "consumed_blocks", "submits_sent", "underruns")]


Block_p = ctypes.POINTER(Block)
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_U = ctypes.c_uint
_Z = ctypes.c_size_t
_U64 = ctypes.c_uint64

# name: (restype, argtypes)
_PROTOTYPES = {
    "iiofab_connect": (_I, [_S, ctypes.POINTER(Params), c_void_pp]),
    "iiofab_disconnect": (None, [_P]),
    "iiofab_strerror": (_S, [_I]),
    "iiofab_version": (_S, []),
    "iiofab_ctx_get_server_stats": (_I, [_P, STAT_FN, _P, ctypes.c_char_p, _Z]),
    "iiofab_ctx_get_devices_count": (_U, [_P]),
    "iiofab_ctx_get_device": (_P, [_P, _U]),
    "iiofab_ctx_find_device": (_P, [_P, _S]),
    "iiofab_device_get_id": (_S, [_P]),
    "iiofab_device_get_name": (_S, [_P]),
    "iiofab_device_get_label": (_S, [_P]),
    "iiofab_device_get_kind": (_I, [_P]),
    "iiofab_device_get_channels_count": (_U, [_P]),
    "iiofab_device_get_channel": (_P, [_P, _U]),
    "iiofab_device_find_channel": (_P, [_P, _S, ctypes.c_bool]),
    "iiofab_device_get_channel_mask": (_I, [_P, ctypes.c_bool, ctypes.POINTER(_S),
                                            ctypes.POINTER(_U64)]),
    "iiofab_device_get_scan_bytes": (_I, [_P, ctypes.c_bool, _U64]),
    "iiofab_device_get_attrs_count": (_U, [_P]),
    "iiofab_device_get_attr": (_S, [_P, _U]),
    "iiofab_device_get_buffer_attrs_count": (_U, [_P]),
    "iiofab_device_get_buffer_attr": (_S, [_P, _U]),
    "iiofab_device_attr_read": (_I, [_P, _S, ctypes.c_char_p, _Z]),
    "iiofab_device_attr_write": (_I, [_P, _S, _S]),
    "iiofab_device_buffer_attr_read": (_I, [_P, _S, ctypes.c_char_p, _Z]),
    "iiofab_device_buffer_attr_write": (_I, [_P, _S, _S]),
    "iiofab_channel_get_id": (_S, [_P]),
    "iiofab_channel_get_name": (_S, [_P]),
    "iiofab_channel_is_output": (ctypes.c_bool, [_P]),
    "iiofab_channel_get_scan_index": (_I, [_P]),
    "iiofab_channel_get_format": (ctypes.POINTER(DataFormat), [_P]),
    "iiofab_channel_get_attrs_count": (_U, [_P]),
    "iiofab_channel_get_attr": (_S, [_P, _U]),
    "iiofab_channel_attr_read": (_I, [_P, _S, ctypes.c_char_p, _Z]),
    "iiofab_channel_attr_write": (_I, [_P, _S, _S]),
    "iiofab_stream_open_mode": (_I, [_P, _P, _U64, _Z, _U, _I, c_void_pp]),
    "iiofab_stream_open_output_mask": (_I, [_P, _P, _U64, _Z, _U, c_void_pp]),
    "iiofab_stream_start": (_I, [_P]),
    "iiofab_stream_close": (None, [_P]),
    "iiofab_stream_next": (_I, [_P, _I, ctypes.POINTER(Block_p)]),
    "iiofab_block_release": (_I, [_P, Block_p]),
    "iiofab_stream_get_free": (_I, [_P, _I, c_void_pp]),
    "iiofab_stream_submit": (_I, [_P, _I, _Z, _U]),
    "iiofab_stream_drain": (_I, [_P, _I]),
    "iiofab_stream_set_prefill": (_I, [_P, _U]),
    "iiofab_stream_fd": (_I, [_P]),
    "iiofab_stream_get_scan_bytes": (_Z, [_P]),
    "iiofab_stream_get_block_size": (_Z, [_P]),
    "iiofab_stream_get_block_count": (_U, [_P]),
    "iiofab_stream_get_mode": (_I, [_P]),
    "iiofab_stream_get_channels_count": (_U, [_P]),
    "iiofab_stream_get_channel": (_P, [_P, _U]),
    "iiofab_stream_get_channel_offset": (_Z, [_P, _U]),
    "iiofab_stream_get_reg_path": (_S, [_P]),
    "iiofab_stream_stats": (_I, [_P, ctypes.POINTER(StreamStats)]),
}


def library_path():
    """The path (or soname) of the libiiofab this package uses."""
    env = os.environ.get("IIOFAB_LIBRARY")
    if env:
        return env
    try:
        from . import _installed
        return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             _installed.LIBRARY))
    except ImportError:
        pass
    return ctypes.util.find_library("iiofab") or "libiiofab.so.0"


def _load():
    path = library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            "iiofab: cannot load libiiofab (%s): %s; set IIOFAB_LIBRARY to "
            "the library's path" % (path, e)) from e
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _load()
