"""The learning rate over a training phase: cosine decay to the phase's end, or to the search's
deadline when that comes first.

A fixed learning rate leaves the weights jumping around the minimum at the last epochs, so which
epoch happens to be best is luck (small_resnet on scikit-learn's digits: val_accuracy 0.947, 0.997,
0.986 on consecutive epochs). Decaying to zero at the end of the budget settles them ("budgeted
training", Li et al. 2020: a schedule that reaches zero when the budget ends beats one planned
for more epochs than the budget allows). The end is whichever comes first: the phase's last epoch,
or the deadline at the pace of the epochs so far.

A fine-tuning phase also warms up: its first epoch ramps the rate linearly, batch by batch, from a
step's share of it to all of it. Unfreezing a whole pretrained backbone under a fresh Adam at full rate
threw the detector off (validation loss 1.5 -> 8.0 on its first fine-tuning epoch on the dense set, two
epochs to recover, at batch 4); warm-up is the usual cure (Goyal et al. 2017)."""

from __future__ import annotations

import math
import time


def cosine_factor(progress: float) -> float:
    """1 at the start of a phase, falling to 0 at its end (progress 0..1)."""
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


def phase_progress(epoch: int, start_epoch: int, end_epoch: int, started: float, now: float,
                   deadline: float | None) -> float:
    """How far into the phase epoch `epoch` begins: by epochs, or by the time left to `deadline`
    (a `time.time()`) when that is further along."""
    by_epochs = (epoch - start_epoch) / max(1, end_epoch - start_epoch)
    if deadline is None or deadline <= started:
        return by_epochs
    return max(by_epochs, (now - started) / (deadline - started))


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The share of the rate at batch `step` (from 0) of a warm-up over `warmup_steps` batches: 1 after it,
    or with no warm-up."""
    return 1.0 if warmup_steps <= 0 else min(1.0, (step + 1) / warmup_steps)


def cosine_to_budget(learning_rate: float, start_epoch: int, end_epoch: int, deadline: float | None,
                     warmup_steps: int = 0):
    """A Keras callback setting the optimizer's learning rate at every epoch's start; with `warmup_steps`,
    at every batch of the phase's first epoch (`start_epoch`) too, ramped by `warmup_factor`."""
    import keras

    class CosineToBudget(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = time.time()

        def on_epoch_begin(self, epoch, logs=None):
            progress = phase_progress(epoch, start_epoch, end_epoch, self.started, time.time(), deadline)
            self.epoch_rate = learning_rate * cosine_factor(progress)
            self.warming = warmup_steps > 0 and epoch == start_epoch
            if not self.warming:  # a warming epoch's rate is set batch by batch
                self.model.optimizer.learning_rate.assign(self.epoch_rate)

        def on_train_batch_begin(self, batch, logs=None):
            if self.warming:
                self.model.optimizer.learning_rate.assign(self.epoch_rate * warmup_factor(batch, warmup_steps))

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:  # history.csv shows the schedule (CSVLogger comes after this)
                logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    return CosineToBudget()
