"""Files written whole or not at all: a temporary file in the same folder, then renamed into place.

A kill in mid-write leaves the old file or the new one, never half of either; every state file of a run,
a cache or an export goes through here. `read_json` reads such a file back and names it when it no
longer parses.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_with(path: Path, write: Callable[[Path], Any], suffix: str = ".tmp") -> None:
    """`write(tmp)` into a temporary file beside `path` (named with `suffix`: Keras saves only to a `.keras`
    name), then renamed over it: a crash leaves the old file whole, and no temporary file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give what open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_make_folder(target: Path, fill) -> Path:
    """Create the folder `target` by `fill(tmp)` on a temporary sibling renamed into place, so a
    half-written folder is never seen. If another process made `target` first, theirs is kept."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        fill(tmp)
        os.replace(tmp, target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def replace_folder(target: Path, fill):
    """Write the whole folder `target` anew: `fill(staging)` fills a sibling, which is then swapped in.

    A kill or a full disk at any moment leaves the previous `target` as it was (or, between the two
    renames of the swap, as `.<name>.previous`, which `recover_folder` puts back). Returns what
    `fill` returns; if it raises, the staging folder is removed and `target` is untouched."""
    target = Path(target)
    recover_folder(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
    try:
        result = fill(staging)
        previous = _previous(target)
        if target.exists():
            os.replace(target, previous)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    return result


def _previous(target: Path) -> Path:
    return target.with_name(f".{target.name}.previous")


def recover_folder(target: Path) -> bool:
    """Undo what a killed `replace_folder` left: its previous copy put back if `target` is missing,
    staging folders removed. Returns whether the previous copy was put back."""
    target = Path(target)
    previous, restored = _previous(target), False
    if previous.is_dir():
        if not target.exists():
            os.replace(previous, target)
            restored = True
        else:
            shutil.rmtree(previous, ignore_errors=True)
    for staging in target.parent.glob(f".{target.name}.*.partial"):
        shutil.rmtree(staging, ignore_errors=True)
    return restored


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path) -> Any:
    """A state file Zazu wrote; one that no longer parses (truncated, edited, overwritten) is a
    RunFolderError naming it, never a raw JSONDecodeError deep in a resume or an export."""
    from zazu.errors import RunFolderError

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        detail = f"line {e.lineno} column {e.colno}: {e.msg}" if isinstance(e, json.JSONDecodeError) else str(e)
        raise RunFolderError.not_as_written(path, f"corrupt or truncated JSON ({detail})") from None
