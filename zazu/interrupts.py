"""Ctrl-C and SIGTERM are never lost.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be. When that is
inside a `__del__`, a weakref callback or code TensorFlow calls back from C++, Python prints
"Exception ignored ..." and carries on: a `zazu train` interrupted that way trained on, exported
and exited 0. While a search runs, `catching_interrupts()` installs a handler that records the
interrupt before raising it; training checks the record at every batch end and the search before it
exports, so an interrupt that was swallowed once is raised again where it cannot be.

SIGTERM (`timeout`, `docker stop`, a batch scheduler ending a job) is handled the same way, as
`Terminated`: by default Python would die on it at once, leaving the running trial and the run
recorded as running. The CLI exits 130 for Ctrl-C and 143 (128 + 15) for SIGTERM, as a shell does.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import threading

_interrupted: int | None = None  # the signal that arrived in the current block
HANDLED = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop as on Ctrl-C (finished work kept, the run resumable)."""


class DiskFull(KeyboardInterrupt):
    """The disk filled (or a file hit its size limit) during a trial: every following trial would fail the
    same way, so the search stops as on Ctrl-C, resumable once there is room. Exit code 2 (a local
    worker exits WORKER_DISK_FULL instead, which its chief reads as the same stop)."""


WORKER_DISK_FULL = 75  # a worker's exit code for a full disk (EX_TEMPFAIL): not a crash to restart


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})  # EDQUOT: POSIX only
DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded", "File too large")


def disk_full(error: BaseException) -> DiskFull | None:
    """A DiskFull for an error that is the disk filling up (an OSError, or a library's error saying it,
    anywhere in its chain), else None."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            where = f"{error.filename}: " if error.filename else ""
            return DiskFull(f"{where}{error.strerror}")
        text = str(error)
        if any(phrase in text for phrase in DISK_FULL_TEXT):
            return DiskFull(next(phrase for phrase in DISK_FULL_TEXT if phrase in text))
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


def _error_for(signum: int) -> KeyboardInterrupt:
    return Terminated("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()


def stopping_signal(error: KeyboardInterrupt) -> signal.Signals:
    """The signal behind an interrupt: SIGTERM for `Terminated`, else SIGINT (Ctrl-C)."""
    return signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT


def exit_code(error: KeyboardInterrupt) -> int:
    """128 + the signal's number, as a shell reports a process a signal stopped; 2 for a full disk."""
    return 2 if isinstance(error, DiskFull) else 128 + stopping_signal(error)


def _on_signal(signum, frame):
    global _interrupted
    _interrupted = signum
    raise _error_for(signum)


@contextlib.contextmanager
def catching_interrupts():
    """Record every SIGINT and SIGTERM while the block runs (main thread only: Python delivers signals there)."""
    global _interrupted
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _interrupted = None
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:  # a background job or a worker that ignores Ctrl-C keeps ignoring it
            signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _interrupted = None


def raise_if_interrupted() -> None:
    """KeyboardInterrupt (`Terminated` for SIGTERM) when a signal arrived in the current block, even if it
    was swallowed."""
    if _interrupted is not None:
        raise _error_for(_interrupted)


def interrupt_callback():
    """A Keras callback that raises a swallowed interrupt at the next batch end."""
    import keras

    class RaiseInterrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise_if_interrupted()

        def on_epoch_end(self, epoch, logs=None):
            raise_if_interrupted()

    return RaiseInterrupt()
