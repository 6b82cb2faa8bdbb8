"""Code from a run folder runs only where the user chose it.

A run folder carries a copy of its models' code (`models/zoo/<name>/`), and a run folder can come
from anyone: its run.json digests catch accidents, not a crafted folder (whoever edits an adapter can
rewrite its digest too). So before a command imports a run folder's code, each model folder must be
byte-identical to code the user already runs: a folder the user's own searches copied (their digests
are remembered in the cache, `trusted_code.json`), or the same model's folder in the user's zoo.
Anything else is refused, naming the folder and the flag that runs it anyway (`--trust-run-code`).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from zazu.cache import cache_root
from zazu.errors import RunFolderError

TRUST_FILE = "trusted_code.json"
TRUST_FLAG = "--trust-run-code"
_SKIPPED = ("__pycache__",)


def folder_digest(folder: str | Path) -> str:
    """sha256 over every file of a model folder (relative path and bytes), compiled caches aside."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if any(part in _SKIPPED for part in relative.parts) or path.suffix == ".pyc":
            continue
        digest.update(relative.as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + digest.hexdigest()


def _store() -> Path:
    return cache_root() / TRUST_FILE


def _known() -> dict:
    try:
        data = json.loads(_store().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def remember(folders: list[Path]) -> bool:
    """Record these model folders' code as the user's own (their searches copied it, or they said to trust
    it). Best effort: False when the cache cannot be written (then only the zoo or the flag vouch for it)."""
    from zazu.atomic_io import atomic_write_json

    known = _known()
    for folder in folders:
        known.setdefault(folder_digest(folder), {"model": Path(folder).name, "from": str(folder),
                                                 "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    try:
        atomic_write_json(_store(), known)
        return True
    except OSError:
        return False


def check_run_code(models_folder: str | Path, zoo_roots: list[Path], trust: bool = False) -> None:
    """Before importing `<run>/models/zoo/*`: each model folder is code the user runs already, or
    `trust` (the flag) was given, which also remembers it. RunFolderError naming the first that is not."""
    folders = sorted(p for p in (Path(models_folder) / "zoo").iterdir() if p.is_dir()) \
        if (Path(models_folder) / "zoo").is_dir() else []
    if trust:
        remember(folders)
        return
    known = _known()
    for folder in folders:
        digest = folder_digest(folder)
        if digest in known:
            continue
        if any((root / "zoo" / folder.name).is_dir() and folder_digest(root / "zoo" / folder.name) == digest
               for root in zoo_roots):
            continue
        raise RunFolderError(
            f"{folder}: this run folder's code for `{folder.name}` is neither code your own searches ran nor your "
            f"zoo's `{folder.name}`, so it is not imported (a run folder from elsewhere is code, like a zoo). "
            f"Expected a run you made, or read that folder and pass {TRUST_FLAG} to run it.")
