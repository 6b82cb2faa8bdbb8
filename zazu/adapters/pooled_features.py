"""Pooled backbone features, computed once per (backbone, weights, resolution, images) and reused.

While a pretrained backbone is frozen, a classifier's trials that share the
backbone and input size differ only in their heads: the head trains on these
cached features (un-augmented images), so such a trial costs seconds instead
of a pass of the backbone per epoch. Kept in memory for the process and on disk
under `<cache>/features/`, keyed by the image files (path, size, mtime) and the
settings, so later trials and runs reuse them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from zazu.run_records import CHECKPOINT

_MEMORY: dict[str, np.ndarray] = {}


def pooled_features(extractor, paths: Sequence[str], size: tuple[int, int], batch_size: int,
                    settings: dict) -> np.ndarray:
    """[N, C] float32: `extractor` (image -> pooled features) on the un-augmented images of `paths`,
    in order. `settings` names what else decides the features (backbone, weights)."""
    from zazu.data.pipeline import fingerprint
    from zazu.data.synthetic import cache_root

    key = fingerprint(paths, {**settings, "size": list(size), "kind": "pooled-features"})
    if key in _MEMORY:
        return _MEMORY[key]
    path = cache_root() / "features" / f"{key}.npy"
    if path.is_file():
        features = np.load(path)
    else:
        features = _compute(extractor, paths, size, batch_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(partial, "wb") as f:
            np.save(f, features)
        os.replace(partial, path)
    _MEMORY[key] = features
    return features


def _compute(extractor, paths, size, batch_size) -> np.ndarray:
    from zazu.data.pipeline import classification_dataset

    images = classification_dataset(list(paths), [0] * len(paths), size, batch_size, training=False)
    parts = [np.asarray(extractor(x, training=False), np.float32) for x, _ in images]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def clear_memory() -> None:
    _MEMORY.clear()


__all__ = ["pooled_features", "clear_memory"]


def fit_head(adapter, phase) -> tuple[int, float, dict]:
    """The frozen phase on cached pooled features: only the head (dropout + dense) learns, on
    un-augmented images. Leaves the whole model, best head epoch, in the trial's checkpoint.
    Returns (epochs done, best val_accuracy, per-epoch history)."""
    import keras

    from zazu.interrupts import interrupt_callback

    folder = adapter.require_trial_dir()
    extractor = keras.Model(adapter.model.input, adapter.model.get_layer("pool").output)
    settings = {"backbone": str(adapter.hp["backbone"]), "weights": str(adapter.hp["weights"])}
    batch = int(adapter.hp["batch_size"])
    train_x = pooled_features(extractor, adapter.train_paths, adapter.input_size, batch, settings)
    val_x = pooled_features(extractor, adapter.val_paths, adapter.input_size, batch, settings)
    features = keras.Input(train_x.shape[1:])
    head = keras.Model(features, adapter.model.get_layer("probabilities")(adapter.model.get_layer("head_dropout")(features)))
    head.compile(optimizer=keras.optimizers.Adam(phase.learning_rate), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    patience = int(adapter.hp["patience"])
    fitted = head.fit(train_x, np.asarray(adapter.train_labels), batch_size=batch, epochs=phase.end_epoch,
                      validation_data=(val_x, np.asarray(adapter.val_labels)), shuffle=True, verbose=0,
                      callbacks=[keras.callbacks.EarlyStopping(monitor=adapter.objective, mode="max",
                                                               patience=patience, restore_best_weights=True),
                                 keras.callbacks.CSVLogger(str(folder / "history.csv")),
                                 *adapter.progress_callbacks, interrupt_callback()])
    best = float(head.evaluate(val_x, np.asarray(adapter.val_labels), verbose=0, return_dict=True)["accuracy"])
    adapter.compile_for(phase.learning_rate)  # the checkpoint reloads compiled, for get_metrics
    adapter.model.save(folder / CHECKPOINT)
    return phase.end_epoch, best, {k: [float(v) for v in values] for k, values in fitted.history.items()}
