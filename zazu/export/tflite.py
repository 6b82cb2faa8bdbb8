"""Keras model -> SavedModel -> TFLite, in four variants, static batch 1.

- float32: no optimization.
- float16: weights stored as float16 (dequantized at load; float compute).
- dynamic: dynamic-range quantization, int8 weights, float activations.
- int8: full-integer quantization (weights, activations, input and output),
  activation ranges calibrated on representative images; what an Edge TPU runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from zazu.atomic_io import atomic_write_bytes


def export_saved_model(model, folder: Path) -> Path:
    """A SavedModel with one serving signature: `image` float32 [1, H, W, 3] (static batch 1)."""
    import tensorflow as tf

    shape = [1, *model.input_shape[1:]]  # static batch 1: what an Edge TPU needs
    # Via a SavedModel: converting a Keras 3 model's concrete function directly
    # leaves its variables unfrozen (READ_VARIABLE fails during calibration).
    model.export(str(folder), format="tf_saved_model", verbose=False,
                 input_signature=[tf.TensorSpec(shape, tf.float32, name="image")])
    return Path(folder)


def convert_saved_model(
    saved_model: Path,
    variant: str,
    path: Path,
    representative: Callable[[], Iterable[np.ndarray]] | None = None,
    io_type: str = "int8",
    settings: dict | None = None,
) -> Path:
    """Convert `saved_model` into the TFLite `variant` at `path`.

    `representative` (int8 only) yields float32 batches [1, H, W, C] preprocessed
    exactly as at inference. `settings` are TFLiteConverter attributes
    (validated by `zazu.export.options`)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    configure_converter(converter, variant, representative, io_type, settings)
    atomic_write_bytes(Path(path), converter.convert())
    return Path(path)


def convert_int8(
    model,
    representative: Callable[[], Iterable[np.ndarray]],
    path: Path,
    io_type: str = "int8",
    settings: dict | None = None,
    for_measuring: bool = False,
    correct_bias: bool = False,
    weight_rounding: str = "nearest",
) -> Path:
    """Quantize a Keras `model` to full-integer int8 in one call, through a temporary SavedModel.

    `weight_rounding` "calibrated": each layer's weights rounded as chosen against the `representative`
    images (`zazu.nn.weight_rounding`) instead of to the nearest step; `correct_bias`: the model's biases
    corrected for the output shift of that rounding (`zazu.nn.bias_correction`, measured on the same images).
    Both only while the model is converted (`zazu.nn.int8_weights`); the model is left as it was.

    `for_measuring`: the model's call traced and frozen in memory instead, no SavedModel written and read
    back. Same ops, same size within a few hundred bytes (tests/export/test_convert_to_measure.py), in about
    a quarter of the time (mobilenet_v2 at 64 px: 4 s against 15-24 s): what lets a trial be priced before
    it trains. Its outputs carry no signature names, so `TFLiteRunner` could not put them back in the
    model's order: every file that is scored or shipped is converted through the SavedModel."""
    if correct_bias or weight_rounding != "nearest":
        with int8_prepared_weights(model, representative, settings, weight_rounding, correct_bias):
            return convert_int8(model, representative, path, io_type, settings, for_measuring)
    if not for_measuring:
        with tempfile.TemporaryDirectory(prefix="zazu-savedmodel-") as folder:
            saved_model = export_saved_model(model, Path(folder) / "saved_model")
            return convert_saved_model(saved_model, "int8", path, representative, io_type, settings)
    import tensorflow as tf

    shape = [1, *model.input_shape[1:]]
    call = tf.function(lambda image: model(image, training=False),
                       input_signature=[tf.TensorSpec(shape, tf.float32, name="image")])
    # No trackable object: given one, the converter lowers through a SavedModel again (as slow) and
    # leaves the variables unfrozen (READ_VARIABLE fails in calibration).
    converter = tf.lite.TFLiteConverter.from_concrete_functions([call.get_concrete_function()])
    configure_converter(converter, "int8", representative, io_type, settings)
    atomic_write_bytes(Path(path), converter.convert())
    return Path(path)


def int8_prepared_weights(model, representative: Callable[[], Iterable[np.ndarray]], settings: dict | None,
                          weight_rounding: str = "nearest", correct_bias: bool = True):
    """A context in which `model`'s weights are rounded as `weight_rounding` says and its biases carry the
    correction of that rounding's shift when `correct_bias` (`zazu.nn.int8_weights`, measured on
    `representative` images, rounded per channel unless `settings` turn that off, as the converter rounds);
    a context that changes nothing when there is nothing to do."""
    from contextlib import nullcontext

    if not correct_bias and weight_rounding == "nearest":
        return nullcontext()
    from zazu.nn.int8_weights import int8_weights

    per_channel = not (settings or {}).get("_experimental_disable_per_channel", False)
    return int8_weights(model, representative(), per_channel, weight_rounding, correct_bias)


def configure_converter(converter, variant: str, representative, io_type: str, settings: dict | None) -> None:
    """Set `converter` up for one of the four variants (see the module docstring)."""
    import tensorflow as tf

    for key, value in (settings or {}).items():
        setattr(converter, key, value)
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif variant == "int8":
        if representative is None:
            raise ValueError("int8 conversion needs representative images")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([batch.astype(np.float32)] for batch in representative())
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        dtype = {"int8": tf.int8, "uint8": tf.uint8}[io_type]
        converter.inference_input_type = dtype
        converter.inference_output_type = dtype
    elif variant != "float32":
        raise ValueError(f"unknown TFLite variant {variant!r}")
