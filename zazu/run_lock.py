"""One owner per run folder: a search, a resume or an export holds `<run>/.zazu.lock` while it works.

Two processes writing one run (two `--resume` at once, two searches on one `--output`) would run the
same trials into the same folders. The lock is an advisory `flock` on a file in the run folder: the
kernel drops it when its holder exits, however it exits (kill -9 included), so a lock is never
stale; while held, the file names the holder's pid, host and command to a process refused (and
gets its previous bytes back on release).
keras-tuner's workers of the same search (local child processes or `zazu worker` on other hosts)
never take it: they are the holder's, not rivals.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from zazu.errors import RunFolderError

LOCK_FILE = ".zazu.lock"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"`{info['command']}` (pid {info['pid']} on {info['host']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def hold_run(run_dir: str | Path, command: str) -> Iterator[None]:
    """Hold the run folder's lock for the block; RunFolderError naming the holder if another process has it."""
    path = Path(run_dir) / LOCK_FILE
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks; the run is used as before
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise RunFolderError(f"{path}: cannot create the run folder's lock ({e.strerror}). Expected a folder this "
                             "user can write.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderError(
                f"{Path(run_dir)} is in use by {_holder(path)}. Expected one process per run folder: wait for it "
                "to finish (or stop it), then run this again; to share one search use `zazu worker`.") from None
        before = path.read_bytes()
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _rewrite(fd, (json.dumps(info) + "\n").encode("utf-8"))
        try:
            yield
        finally:  # the holder's details were for a process refused meanwhile; a refused command changes nothing
            _rewrite(fd, before)
    finally:
        os.close(fd)  # closing releases the flock


def _rewrite(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def command_line() -> str:
    """How this process was started, as a short string for the lock's holder."""
    return " ".join(["zazu", *sys.argv[1:]])[:200]
