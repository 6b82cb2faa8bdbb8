"""Read a legacy (non-zip) `torch.save` state dict into numpy arrays, without torch.

A weights file is untrusted input: its pickles run through a restricted unpickler
that knows only the handful of globals a state dict needs, each replaced by a
harmless stand-in. Any other global is refused before it is looked up.

The legacy layout is a sequence of pickles followed by raw storages:

    magic number | protocol version | sys info | object (tensors refer to storages
    through persistent ids) | list of storage keys | per key: int64 element count,
    then the little-endian bytes
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zazu.errors import WeightsError

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

# torch storage classes a state dict can name, and the numpy dtype of their elements.
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class _StorageType:
    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    """A persistent id: the root storage `key`, and the window [offset, offset+size) a view covers."""
    key: str
    dtype: np.dtype
    numel: int
    offset: int
    size: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                    metadata=None):
    # Stand-in for torch._utils._rebuild_tensor_v2: remember where the tensor lives; the bytes come later.
    if not isinstance(storage, _StorageRef):
        raise ValueError("a tensor does not refer to a storage")
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)):
        raise ValueError(f"bad tensor size/stride {size!r}/{stride!r}")
    values = (storage_offset, *size, *stride)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ValueError(f"bad tensor offset/size/stride {storage_offset!r}/{size!r}/{stride!r}")
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    # A Parameter is its tensor for our purposes.
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    **{("torch", name): _StorageType(name, np.dtype(dtype)) for name, dtype in STORAGE_DTYPES.items()},
}


class _RefusedGlobal(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler whose globals are limited to `_ALLOWED` and whose persistent ids are storages."""

    def __init__(self, file, byteorder: str = "<"):
        super().__init__(file)
        self.byteorder = byteorder
        self.roots: dict[str, tuple[np.dtype, int]] = {}

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _RefusedGlobal(f"{module}.{name}") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise ValueError(f"unknown persistent id {str(pid)[:80]}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or not _count(numel):
            raise ValueError(f"bad storage id {str(pid)[:80]}")
        dtype = storage_type.dtype.newbyteorder(self.byteorder)
        if self.roots.setdefault(key, (dtype, numel)) != (dtype, numel):
            raise ValueError(f"storage {key} is named with two types or sizes")
        if view is None:
            return _StorageRef(key, dtype, numel, 0, numel)
        if not (isinstance(view, tuple) and len(view) == 3 and _count(view[1]) and _count(view[2])
                and view[1] + view[2] <= numel):
            raise ValueError(f"bad storage view {view!r} of storage {key}")
        return _StorageRef(key, dtype, numel, view[1], view[2])


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_state_dict(path) -> dict[str, np.ndarray]:
    """Read the legacy `torch.save` file `path`. Returns name -> numpy array (a copy, C order) for
    every tensor of the state dict, in file order. Raises `WeightsError` for a zip-format, truncated,
    malformed or unsafe file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"Expected an existing weights file. Received: path={path}") from None
    if data[:4] == b"PK\x03\x04":
        raise WeightsError(f"Expected a legacy (non-zip) torch.save file. Received: path={path} is a zip archive "
                           f"(torch >= 1.6 format); re-save it with torch.save(state_dict, f, "
                           f"_use_new_zipfile_serialization=False)")
    try:
        return _parse(data)
    except _RefusedGlobal as refused:
        raise WeightsError(f"Expected a plain tensor state dict in {path}. Received: global={refused.name} "
                           f"(refused: a weights file may only name tensor and storage types)") from None
    except WeightsError as error:
        raise WeightsError(f"{error} Received: path={path}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            struct.error, OverflowError, RecursionError) as error:
        detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise WeightsError(f"Expected a legacy torch.save state dict. Received: path={path} is truncated or "
                           f"malformed ({detail})") from None


def _parse(data: bytes) -> dict[str, np.ndarray]:
    stream = io.BytesIO(data)
    if _RestrictedUnpickler(stream).load() != MAGIC_NUMBER:
        raise WeightsError("Expected a torch.save file (bad magic number).")
    version = _RestrictedUnpickler(stream).load()
    if version != PROTOCOL_VERSION:
        raise WeightsError(f"Expected torch.save protocol version {PROTOCOL_VERSION}, got {version!r}.")
    sys_info = _RestrictedUnpickler(stream).load()
    little = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
    objects = _RestrictedUnpickler(stream, "<" if little else ">")
    state = objects.load()
    keys = _RestrictedUnpickler(stream).load()
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise ValueError("the storage key list is malformed")
    storages = _read_storages(data, stream.tell(), keys, objects.roots, "<" if little else ">")
    if not isinstance(state, dict):
        raise WeightsError(f"Expected a state dict (names -> tensors), got {type(state).__name__}.")
    out = {}
    for name, tensor in state.items():
        if not isinstance(name, str) or not isinstance(tensor, _TensorRef):
            raise WeightsError(f"Expected a state dict of tensors; entry {str(name)[:60]!r} is not a tensor.")
        out[name] = _tensor(storages[tensor.storage.key], tensor, name)
    return out


def _read_storages(data: bytes, pos: int, keys: list[str], roots: dict, byteorder: str) -> dict[str, np.ndarray]:
    """The raw storages after the key list, as 1-D arrays over `data` (no copy)."""
    missing = set(roots) - set(keys)
    if missing:
        raise ValueError(f"storage {sorted(missing)[0]} is used but not stored")
    out = {}
    for key in keys:
        if key not in roots:
            raise ValueError(f"storage {key} is stored but no tensor names its type")
        dtype, numel = roots[key]
        if pos + 8 > len(data):
            raise EOFError(f"storage {key} is cut off")
        (count,) = struct.unpack(byteorder + "q", data[pos:pos + 8])
        if count != numel:
            raise ValueError(f"storage {key} holds {count} elements, its tensors say {numel}")
        end = pos + 8 + count * dtype.itemsize
        if end > len(data):
            raise EOFError(f"storage {key} is cut off")
        out[key] = np.frombuffer(data, dtype=dtype, count=count, offset=pos + 8)
        pos = end
    return out


def _tensor(storage: np.ndarray, ref: _TensorRef, name: str) -> np.ndarray:
    """Copy the strided view `ref` out of its root storage, after checking it stays inside its window."""
    window = storage[ref.storage.offset:ref.storage.offset + ref.storage.size]
    if 0 in ref.shape:
        return np.zeros(ref.shape, dtype=storage.dtype.newbyteorder("="))
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride))
    if last >= window.size:
        raise ValueError(f"tensor {name} reaches past the end of its storage")
    view = np.lib.stride_tricks.as_strided(window[ref.offset:], shape=ref.shape,
                                           strides=tuple(s * window.itemsize for s in ref.stride), writeable=False)
    # np.array, not ascontiguousarray: the latter turns 0-d tensors into shape (1,)
    return np.array(view, dtype=storage.dtype.newbyteorder("="), order="C", copy=True)
