"""Write legacy (non-zip) `torch.save` files by hand, opcode by opcode, so tests need no torch.

Layout: magic | protocol | sys info | object pickle (tensors as _rebuild_tensor_v2 calls whose
storages are persistent ids) | storage key list | per key: int64 count + raw little-endian bytes.
"""

from __future__ import annotations

import pickle
import struct

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
SYS_INFO = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
STORAGE_TYPES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage",
                 np.dtype(np.float64): "DoubleStorage"}


def literal(value) -> bytes:
    """The opcodes that push `value` (str, int, None, tuple of those), without PROTO and STOP."""
    return pickle.dumps(value, protocol=2)[2:-1]


def global_(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def header() -> bytes:
    return pickle.dumps(MAGIC, protocol=2) + pickle.dumps(1001, protocol=2) + pickle.dumps(SYS_INFO, protocol=2)


def tensor_ops(storage_key: str, dtype, numel: int, offset: int, size: tuple, stride: tuple, view=None) -> bytes:
    """Opcodes for `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`."""
    pid = (b"(" + literal("storage") + global_("torch", STORAGE_TYPES[np.dtype(dtype)]) + literal(storage_key)
           + literal("cpu") + literal(numel) + literal(view) + b"t")
    hooks = global_("collections", "OrderedDict") + b")R"
    return (global_("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"Q" + literal(offset) + literal(tuple(size))
            + literal(tuple(stride)) + b"\x89" + hooks + b"tR")


def object_pickle(entries: dict[str, bytes]) -> bytes:
    """An OrderedDict of name -> tensor opcodes."""
    body = b"".join(literal(name) + ops + b"s" for name, ops in entries.items())
    return b"\x80\x02" + global_("collections", "OrderedDict") + b")R" + body + b"."


def storages_blob(storages: dict[str, np.ndarray]) -> bytes:
    out = pickle.dumps(list(storages), protocol=2)
    for array in storages.values():
        out += struct.pack("<q", array.size) + array.astype(array.dtype.newbyteorder("<")).tobytes()
    return out


def legacy_file(entries: dict[str, bytes], storages: dict[str, np.ndarray]) -> bytes:
    return header() + object_pickle(entries) + storages_blob(storages)
