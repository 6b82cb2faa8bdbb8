"""Paths inside a dataset: nothing an annotation names may escape the dataset root."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")  # what tf.io.decode_image reads
# images a user may well have that the pipeline cannot decode: listed by `data check`, never skipped silently
UNSUPPORTED_IMAGE_SUFFIXES = (".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jp2")


def inside_root(root: Path, name: str, base: Path | None = None) -> str | None:
    """`name` (relative to `base`, default the root) as a root-relative posix path,
    or None when it is absolute or its `..` parts lead outside the root.

    The check is on the path as written (normalised, not resolved): annotation
    files cannot climb out of the dataset, while links the user put inside the
    dataset (e.g. images/ pointing at another disk) keep working."""
    name = name.replace("\\", "/")
    if PurePosixPath(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        return None
    root = Path(os.path.abspath(root))
    target = Path(os.path.normpath(os.path.join(os.path.abspath(base or root), name)))
    if target != root and root not in target.parents:
        return None
    return target.relative_to(root).as_posix()


def read_text(path: Path) -> str:
    """A dataset's text file (label file, class names, split list) as UTF-8, a leading byte-order mark
    dropped (Windows editors write one; it would otherwise become part of the first class name or
    image name). Bytes that are not UTF-8 are a DatasetError naming the file, not a traceback."""
    from zazu.errors import DatasetError

    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text. Expected a UTF-8 text file (save it as UTF-8). "
                           f"Received: byte 0x{e.object[e.start]:02x} at offset {e.start}") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror}).") from None


def not_utf8(name: str) -> str | None:
    """None when `name` (a path from the file system, or one an annotation gives) is valid UTF-8;
    else the name as it can be shown: the repr of its bytes. Python hands such names over with
    surrogate escapes, which cannot be printed or written to JSON, so they must never go further."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return repr(name.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:  # a lone surrogate an annotation wrote as \udXXX, not file-system bytes
            return ascii(name)
    return None


def not_utf8_problem(rel: str, what: str = "file name", consequence: str = "left out"):
    """A warning for a root-relative name that is not valid UTF-8 (see `not_utf8`), or None."""
    from zazu.data.records import Problem

    shown = not_utf8(rel)
    if shown is None:
        return None
    return Problem(shown, f"{what} is not valid UTF-8. Expected a UTF-8 name (rename it as UTF-8); {consequence}")


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
