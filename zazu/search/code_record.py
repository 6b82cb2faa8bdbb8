"""What code a run ran: Zazu's version, the sha256 of every source file of the `zazu` package and the git
commit, recorded in run.json when a search starts and compared when it resumes.

The run folder's `models/` copy pins the zoo adapters; this pins the rest (task base classes, coders,
backbones, the search itself). A resume after an edit to `zazu/` would otherwise mix old and new code in
one leaderboard without a word; it now warns, naming the files.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[1]  # zazu/
SOURCE_SUFFIXES = (".py", ".yaml", ".json")


def code_record(package: Path = PACKAGE) -> dict[str, Any]:
    """{"zazu_version", "git_commit" (None outside a git checkout), "sources_sha256" (of all the files below),
    "files": {path relative to the package's parent: sha256}}."""
    from zazu import __version__

    files = {path.relative_to(package.parent).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
             for path in sorted(package.rglob("*"))
             if path.suffix in SOURCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts}
    overall = hashlib.sha256("".join(f"{name}:{digest}\n" for name, digest in files.items()).encode()).hexdigest()
    return {"zazu_version": __version__, "git_commit": _git_commit(package.parent),
            "sources_sha256": overall, "files": files}


def code_changes(recorded: Any, package: Path = PACKAGE) -> str | None:
    """One warning naming the files of `zazu/` that changed, appeared or went since `recorded` (run.json's
    `code`), or None when the code is the same (or the run predates the record)."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        return None
    now = code_record(package)
    if now["sources_sha256"] == recorded.get("sources_sha256"):
        return None
    before = recorded["files"]
    changed = sorted(name for name in now["files"].keys() & before.keys() if now["files"][name] != before[name])
    added = sorted(now["files"].keys() - before.keys())
    removed = sorted(before.keys() - now["files"].keys())
    parts = [f"{label}: {_names(names)}" for label, names in (("changed", changed), ("new", added),
                                                             ("removed", removed)) if names]
    return ("Zazu's code differs from the code this run started with (" + "; ".join(parts) + "). Trials run from "
            "here on use the new code; the finished ones keep their results. Start a new search to compare like "
            "with like.")


def _names(names: list[str], shown: int = 8) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _git_commit(folder: Path) -> str | None:
    if not (folder / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
