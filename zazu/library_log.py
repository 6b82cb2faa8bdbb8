"""Library output kept off the terminal: into a log file, so the console shows Zazu's lines only.

TensorFlow's C++ logging (absl's pre-init warning, oneDNN and CUDA-probe notes), the TFLite
converter's `fully_quantize: ...` line and LiteRT's `INFO: Created ... XNNPACK delegate` write to
file descriptor 2 directly, from C++, some before any Python setting can reach them; Keras and
TensorFlow also speak through Python's `warnings` and `logging`. `divert()` points descriptor 2
at a log file and sends Python warnings and log records there too, while `sys.stderr` keeps the
terminal for Zazu's own `error:` lines (and a Python traceback, should Zazu itself fail). Child
processes inherit descriptor 2, so their library output lands in the same file.

The log starts in the cache (`<cache>/logs/`); `follow_run(run_dir)` moves it to the run folder's
`zazu.log` once a search or export knows its run folder, so nothing is lost. `ZAZU_VERBOSE=1`
(the CLI's `--verbose`) leaves everything on the terminal.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
import warnings
from pathlib import Path

VERBOSE_ENV = "ZAZU_VERBOSE"
RUN_LOG = "zazu.log"  # in a run folder
KEPT_CACHE_LOGS = 20  # logs of commands with no run folder (predict, evaluate, ...): the newest kept

_state: dict = {}  # {"path": Path, "stream": text file on the log}: set while diverted


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def log_path() -> Path | None:
    """The file library output goes to now; None when it goes to the terminal."""
    return _state.get("path")


def divert(command: str) -> Path | None:
    """Send library output of this process (and its children) to `<cache>/logs/<command>-<time>-<pid>.log`.
    Returns the log's path; None when verbose, already diverted, or the log cannot be opened (then
    the output stays on the terminal rather than be lost)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # fewer lines written at all; the rest go to the log
    if verbose() or _state or sys.stderr is not sys.__stderr__:
        # sys.stderr replaced: someone else owns it (a test runner capturing a command run in-process, an
        # application embedding Zazu); the process's descriptors are theirs too
        return None
    from zazu.cache import cache_root

    folder = cache_root() / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _prune(folder)
        path = folder / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return None
    sys.stderr.flush()
    terminal = os.dup(2)
    # Zazu's own stderr lines still reach the terminal: sys.stderr on a copy of the original descriptor
    sys.stderr = io.TextIOWrapper(os.fdopen(terminal, "wb", buffering=0), encoding=sys.stderr.encoding or "utf-8",
                                  errors="backslashreplace", line_buffering=True, write_through=True)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    stream = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)
    _state.update(path=path, stream=stream)
    _capture_python_output(stream)
    return path


def follow_run(run_dir: str | Path) -> Path | None:
    """Move the diverted log into `<run_dir>/zazu.log` (appended: a resumed run keeps one log) and send
    what follows there. No-op when nothing is diverted. Returns the run log's path."""
    if not _state:
        return None
    target = Path(run_dir) / RUN_LOG
    if _state["path"] == target:
        return target
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:  # the run folder cannot take it: keep logging where we are
        return None
    _state["stream"].flush()
    old = _state["path"]
    try:
        with open(old, "rb") as earlier:
            while chunk := earlier.read(1 << 20):
                os.write(descriptor, chunk)
    except OSError:
        pass
    os.dup2(descriptor, 2)
    os.close(descriptor)
    _state["path"] = target
    if old.parent.name == "logs":
        old.unlink(missing_ok=True)
    return target


def keep(text: str) -> None:
    """A child process's captured library output (a probe's stderr), into the log when diverted."""
    if _state and text:
        _state["stream"].write(text if text.endswith("\n") else text + "\n")


def _capture_python_output(stream) -> None:
    """Python warnings and log records (TensorFlow's, absl's, Keras's) into `stream`. Done before
    TensorFlow is imported: a root logger with a handler keeps TensorFlow from adding its own."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)

    def show(message, category, filename, lineno, file=None, line=None):
        stream.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
    for old in logs[:-KEPT_CACHE_LOGS]:
        old.unlink(missing_ok=True)
