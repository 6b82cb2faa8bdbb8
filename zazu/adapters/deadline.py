"""The search's time budget as a trial sees it: a deadline (`time.time()`) its training must not overrun."""

from __future__ import annotations

import time


def past_deadline(deadline: float | None) -> bool:
    return deadline is not None and time.time() >= deadline


def deadline_callbacks(deadline: float | None) -> list:
    """Stop training when the search's time budget (`deadline`, a `time.time()`; None: no budget)
    would be overrun: at an epoch end when the next epoch, as long as this one was, would end past
    it; and inside an epoch when its batches so far say it will end past it (the first epoch of a
    fine-tuning phase can take many times a frozen-phase epoch: nothing measured before says how
    long). An epoch stopped early is still validated, and the best epoch so far is what the trial
    keeps."""
    import keras

    if deadline is None:
        return []

    class StopAtDeadline(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = time.time()
            self.first_batch_end = None

        def on_train_batch_end(self, batch, logs=None):
            # the projection leaves out the first batch, which pays for tracing the step
            now = time.time()
            if self.first_batch_end is None:
                self.first_batch_end = now
                return
            steps = (self.params or {}).get("steps")
            timed = batch  # batches after the first that have ended
            if not steps or batch + 1 >= steps or timed < 2:
                return
            if now + (now - self.first_batch_end) / timed * (steps - batch - 1) > deadline:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            now = time.time()
            if now + (now - self.epoch_start) > deadline:
                self.model.stop_training = True

    return [StopAtDeadline()]
