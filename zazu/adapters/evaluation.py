"""Scoring a model on the val split one image at a time, through the adapter's inference hooks: the path
export scoring shares with `zazu predict` and serving, so they cannot disagree."""

from __future__ import annotations

from typing import Any

import numpy as np


def read_input(adapter, path) -> tuple[np.ndarray, dict[str, Any]]:
    """An image file -> (model input, context), through the adapter's `inference_input`."""
    from zazu.data.pipeline import decode_encoded

    with open(path, "rb") as f:
        return adapter.inference_input(decode_encoded(f.read()))


def evaluate_on_val(adapter, predict_fn) -> tuple[dict[str, float], list]:
    """Score `predict_fn` (batch -> list of outputs: a Keras model or a .tflite runner) on the adapter's val
    split, one image at a time through `inference_input` and `decode_outputs`. Returns (metrics, predictions)."""
    predictions = []
    for path in adapter.val_image_paths():
        batch, context = read_input(adapter, path)
        predictions.append(adapter.decode_outputs(predict_fn(batch), context))
    return adapter.score_records(predictions, adapter.val_records)[0], predictions
