"""Ctrl-C is never lost.

Python turns SIGINT into a KeyboardInterrupt wherever the main thread happens to be. When that is
inside a `__del__`, a weakref callback or code TensorFlow calls back from C++, Python prints
"Exception ignored ..." and carries on: a `zazu train` interrupted that way trained on, exported
and exited 0. While a search runs, `catching_interrupts()` installs a handler that records the
interrupt before raising it; training checks the record at every batch end and the search before it
exports, so an interrupt that was swallowed once is raised again where it cannot be.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_interrupted = False


def _on_sigint(signum, frame):
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def catching_interrupts():
    """Record every SIGINT while the block runs (main thread only: Python delivers signals there)."""
    global _interrupted
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _interrupted = False
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # a background job or a worker that ignores Ctrl-C keeps ignoring it
        yield
        return
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted = False


def raise_if_interrupted() -> None:
    """KeyboardInterrupt when a SIGINT arrived in the current block, even if it was swallowed."""
    if _interrupted:
        raise KeyboardInterrupt


def interrupt_callback():
    """A Keras callback that raises a swallowed interrupt at the next batch end."""
    import keras

    class RaiseInterrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise_if_interrupted()

        def on_epoch_end(self, epoch, logs=None):
            raise_if_interrupted()

    return RaiseInterrupt()
