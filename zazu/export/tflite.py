"""Keras model -> full-integer int8 TFLite, static batch 1."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from zazu.runs import atomic_write_bytes


def convert_int8(
    model,
    representative: Callable[[], Iterable[np.ndarray]],
    path: Path,
    io_type: str = "int8",
) -> Path:
    """Quantize `model` to int8 (weights, activations, input and output).

    `representative` yields float32 batches of shape [1, H, W, C], preprocessed
    exactly as at inference; the converter calibrates activation ranges on them.
    """
    import tensorflow as tf

    shape = [1, *model.input_shape[1:]]  # static batch 1: what an Edge TPU needs
    with tempfile.TemporaryDirectory(prefix="zazu-savedmodel-") as saved_model:
        # Via a SavedModel: converting a Keras 3 model's concrete function directly
        # leaves its variables unfrozen (READ_VARIABLE fails during calibration).
        model.export(saved_model, format="tf_saved_model", verbose=False,
                     input_signature=[tf.TensorSpec(shape, tf.float32, name="image")])
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        data = _quantize(converter, representative, io_type)
    atomic_write_bytes(Path(path), data)
    return Path(path)


def _quantize(converter, representative, io_type: str) -> bytes:
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([batch.astype(np.float32)] for batch in representative())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    dtype = {"int8": tf.int8, "uint8": tf.uint8}[io_type]
    converter.inference_input_type = dtype
    converter.inference_output_type = dtype
    return converter.convert()
