"""A `.keras` file is a zip archive someone may have sent: its members are checked before anything
reads them.

A 1.5 MB archive can hold a `config.json` or `zazu.json` that inflates to gigabytes (Keras guards
only at 4 GiB, and Zazu's own metadata read had no guard), so every member Zazu or Keras reads
has a size cap here, checked from the zip's directory before a byte is inflated.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from zazu.errors import ZazuError

MiB = 1 << 20
# member -> the most bytes it may inflate to; other members get OTHER_MEMBER_CAP
MEMBER_CAPS = {"config.json": 64 * MiB, "metadata.json": 1 * MiB, "zazu.json": 1 * MiB,
               "model.weights.h5": 4096 * MiB}
OTHER_MEMBER_CAP = 256 * MiB


def check_keras_archive(path: str | Path) -> None:
    """ZazuError naming `path` unless it is a zip whose members all stay within their caps."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise ZazuError(f"{path}: not a readable .keras archive ({error}). Expected a model saved by Keras 3.") from None
    for member in members:
        cap = MEMBER_CAPS.get(member.filename, OTHER_MEMBER_CAP)
        if member.file_size > cap:
            raise ZazuError(f"{path}: its member {member.filename} inflates to {member.file_size / MiB:.0f} MiB, "
                            f"over the {cap / MiB:.0f} MiB a .keras model's {member.filename} may hold; refused "
                            "unread.")


def read_member(path: str | Path, name: str) -> bytes | None:
    """One member's bytes after `check_keras_archive`; None when the archive has no such member."""
    check_keras_archive(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(name) if name in archive.namelist() else None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
        raise ZazuError(f"{path}: its member {name} cannot be read ({error}): the archive is damaged.") from None
