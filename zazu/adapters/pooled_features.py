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
