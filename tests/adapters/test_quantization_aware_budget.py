"""Quantization-aware fine-tuning and the time budget: its first epoch runs even once the budget is spent (a
trial over the int8 bar would otherwise ship degraded), the epochs after it stop at the deadline."""

from __future__ import annotations

import time

import numpy as np
import pytest

from zazu.adapters import quantization_aware

pytestmark = pytest.mark.slow  # trains


class TinyAdapter:
    """What `fine_tune` reads of an adapter: its model, hyperparameters, training data and `compile_for`."""

    def __init__(self):
        import keras
        import tensorflow as tf

        inputs = keras.Input((8, 8, 3))
        x = keras.layers.ReLU()(keras.layers.Conv2D(4, 3)(inputs))
        self.model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
        self.hp = {"epochs": 1, "learning_rate": 0.01, "weights": None}
        rng = np.random.default_rng(0)
        self.train_ds = tf.data.Dataset.from_tensor_slices(
            (rng.random((16, 8, 8, 3), dtype=np.float32), rng.integers(0, 2, 16))).batch(4)

    def compile_for(self, learning_rate):
        import keras

        self.model.compile(keras.optimizers.SGD(learning_rate),
                           keras.losses.SparseCategoricalCrossentropy(from_logits=True))


@pytest.mark.parametrize("deadline_in, epochs_run, past_budget", [
    (None, 3, False),  # no budget: every epoch
    (3600.0, 3, False),  # an hour left
    (-10.0, 1, True),  # spent: the first epoch only
])
def test_the_first_epoch_runs_past_a_spent_budget_and_no_more(deadline_in, epochs_run, past_budget):
    adapter = TinyAdapter()
    before = [w.copy() for w in adapter.model.get_weights()]
    ran = quantization_aware.fine_tune(adapter, 3, None if deadline_in is None else time.time() + deadline_in)
    assert ran["epochs"] == epochs_run and len(ran["loss"]) == epochs_run and ran["past_budget"] is past_budget
    assert any(not np.array_equal(a, b) for a, b in zip(before, adapter.model.get_weights()))  # it trained
