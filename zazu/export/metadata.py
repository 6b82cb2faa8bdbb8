"""What a model file needs to be used on its own: labels, task, input size and
preprocessing, and the model's own parameters, stored inside the file.

- `.tflite`: a `metadata` entry named `zazu` in the flatbuffer (the TFLite
  schema's own slot for named metadata buffers; LiteRT ignores it when running)
  holding UTF-8 JSON.
- `.keras`: a `zazu.json` member added to the zip archive (Keras reads only
  the members it knows).

`read_metadata(path)` gets it back from either, for `zazu predict`,
`zazu evaluate` and `zazu serve`.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from zazu.atomic_io import atomic_write_bytes
from zazu.errors import ZazuError

METADATA_NAME = "zazu"
KERAS_MEMBER = "zazu.json"
SCHEMA_VERSION = 1


def embed_tflite_metadata(path: str | Path, metadata: dict[str, Any]) -> None:
    """Rewrite the .tflite at `path` with `metadata` as its `zazu` metadata buffer."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    path = Path(path)
    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    payload = json.dumps({"schema_version": SCHEMA_VERSION, **metadata, "file_sha256": UNSEALED},
                         sort_keys=True).encode("utf-8")
    buffer = schema.BufferT()
    buffer.data = list(payload)
    model.buffers = list(model.buffers or []) + [buffer]
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if _name(m.name) != METADATA_NAME] + [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    data = bytearray(builder.Output())
    start = data.find(payload)
    digest = _file_digest(data, start, len(payload)).encode("ascii")  # as long as UNSEALED: nothing moves
    data[start:start + len(payload)] = payload.replace(UNSEALED.encode("ascii"), digest)
    atomic_write_bytes(path, bytes(data))


# The .tflite seal: sha256 of the whole file with the bytes of Zazu's own metadata JSON zeroed (the
# JSON holds the digest, so it cannot be part of it). Weights, tensors, quantization parameters and
# operators are all covered: a file damaged after export is refused before LiteRT runs it.
UNSEALED = "sha256:" + "0" * 64


def _file_digest(data: bytes, start: int, length: int) -> str:
    import hashlib

    digest = hashlib.sha256()
    digest.update(memoryview(data)[:start])
    digest.update(bytes(length))
    digest.update(memoryview(data)[start + length:])
    return "sha256:" + digest.hexdigest()


def verify_tflite_seal(path: str | Path) -> None:
    """ZazuError naming `path` when a .tflite exported by Zazu no longer has the digest sealed into it.
    Files without Zazu's metadata, or exported before the seal, pass unchecked."""
    path = Path(path)
    data = path.read_bytes()
    payload = _tflite_payload(path, data)
    try:
        recorded = json.loads(payload.decode("utf-8")).get("file_sha256") if payload is not None else None
    except (ValueError, UnicodeDecodeError, AttributeError) as error:
        raise ZazuError(f"{path}: its Zazu metadata cannot be read ({error}).") from None
    if recorded is None:
        return
    start = data.find(payload)
    if _file_digest(data, start, len(payload)) != recorded:
        raise ZazuError(f"{path}: damaged TFLite file: its bytes no longer match the digest sealed into it at "
                        "export. Export it again.")


def _tflite_payload(path: Path, data: bytes) -> bytes | None:
    """The bytes of Zazu's metadata buffer in the .tflite `data` (read from `path`), None if it has none."""
    from ai_edge_litert import schema_py_generated as schema

    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ZazuError(f"Not a TFLite model. Expected a .tflite flatbuffer. Received: path={path}")
    try:
        model = schema.Model.GetRootAs(data, 0)
        return next((model.Buffers(model.Metadata(i).Buffer()).DataAsNumpy().tobytes()
                     for i in range(model.MetadataLength()) if _name(model.Metadata(i).Name()) == METADATA_NAME),
                    None)
    except Exception as error:  # a damaged flatbuffer fails anywhere in the generated reader (struct.error...)
        kind = type(error).__name__ if type(error).__module__ == "builtins" else \
            f"{type(error).__module__}.{type(error).__name__}"
        raise ZazuError(f"{path}: damaged TFLite file: its structure cannot be read ({kind}).") from None


def embed_keras_metadata(path: str | Path, metadata: dict[str, Any]) -> None:
    """Add `zazu.json` to the .keras archive at `path`."""
    payload = json.dumps({"schema_version": SCHEMA_VERSION, **metadata}, sort_keys=True, indent=1)
    with zipfile.ZipFile(path, "a") as archive:
        if KERAS_MEMBER in archive.namelist():
            raise ZazuError(f"{path} already holds {KERAS_MEMBER}; export into a fresh file.")
        archive.writestr(KERAS_MEMBER, payload)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Zazu's metadata from a .tflite or .keras file; a clear error when there is none."""
    path = Path(path)
    if not path.is_file():
        raise ZazuError(f"Model file not found. Expected a .tflite or .keras file. Received: path={path}")
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        found = _tflite_metadata(path)
    elif suffix == ".keras":
        found = _keras_metadata(path)
    else:
        raise ZazuError(f"Unknown model file type. Expected a .tflite or .keras file. Received: path={path}")
    if found is None:
        raise ZazuError(f"{path} holds no Zazu metadata (labels, task, input size). Expected a model exported "
                        "by Zazu (`zazu export RUN_DIR`).")
    return found


def _tflite_metadata(path: Path) -> dict[str, Any] | None:
    payload = _tflite_payload(path, path.read_bytes())
    if payload is None:
        return None
    try:
        return json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ZazuError(f"{path}: its Zazu metadata cannot be read ({error}).") from None


def _keras_metadata(path: Path) -> dict[str, Any] | None:
    from zazu.keras_archive import read_member

    data = read_member(path, KERAS_MEMBER)  # size-capped: a member may be a zip bomb
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ZazuError(f"{path}: its {KERAS_MEMBER} cannot be read ({error}).") from None


def _name(raw) -> str:
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else (raw or "")
