"""The learning rate of a training phase: cosine decay to the phase's end or the search's deadline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zazu.adapters.schedule import cosine_factor, cosine_to_budget, phase_progress


def test_cosine_factor_falls_from_one_to_zero_and_stays_within():
    assert cosine_factor(0.0) == 1.0
    assert cosine_factor(0.5) == pytest.approx(0.5)
    assert cosine_factor(1.0) == pytest.approx(0.0)
    assert cosine_factor(-1.0) == 1.0 and cosine_factor(3.0) == pytest.approx(0.0)


def test_progress_counts_epochs_from_the_phase_start():
    # a fine-tuning phase from epoch 2 to 6: epoch 3 begins a quarter of the way in
    assert phase_progress(3, 2, 6, started=100.0, now=101.0, deadline=None) == pytest.approx(0.25)


def test_progress_follows_the_deadline_when_it_comes_first():
    # half the time to the deadline spent after one epoch of ten: the schedule is half way
    assert phase_progress(1, 0, 10, started=100.0, now=150.0, deadline=200.0) == pytest.approx(0.5)
    # the epochs further along than the clock: the epochs count
    assert phase_progress(8, 0, 10, started=100.0, now=110.0, deadline=200.0) == pytest.approx(0.8)
    # a deadline already past when the phase began says nothing about the pace
    assert phase_progress(1, 0, 4, started=100.0, now=150.0, deadline=90.0) == pytest.approx(0.25)


def test_the_callback_sets_and_logs_the_decayed_rate_every_epoch():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    history = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=4, verbose=0,
                        callbacks=[cosine_to_budget(0.01, 0, 4, deadline=None)])
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]  # 0.01, 0.0085, 0.005, 0.0015
    assert history.history["learning_rate"] == pytest.approx(expected, rel=1e-5)


def test_a_warm_up_ramps_the_first_epoch_batch_by_batch_and_only_it():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    seen = []

    class Record(keras.callbacks.Callback):  # after the schedule: the rate each batch trains at
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    # a phase from epoch 1 to 3, four batches an epoch, warmed up over four steps
    model.fit(np.zeros((8, 2)), np.zeros((8, 1)), batch_size=2, initial_epoch=1, epochs=3, verbose=0,
              callbacks=[cosine_to_budget(0.01, 1, 3, deadline=None, warmup_steps=4), Record()])
    assert seen[:4] == pytest.approx([0.0025, 0.005, 0.0075, 0.01], rel=1e-5)  # 1/4 .. 4/4 of 0.01
    assert seen[4:] == pytest.approx([0.005] * 4, rel=1e-5)  # the second epoch: the cosine's half, no ramp
