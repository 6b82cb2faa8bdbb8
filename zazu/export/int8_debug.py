"""Where an int8 model's error comes from: each quantized layer's output against the float model's.

TensorFlow Lite's quantization debugger (`tf.lite.experimental.QuantizationDebugger`) runs the
float and the int8 model side by side on the same images and records, per quantized tensor, the
error of its int8 output. Two ratios tell the layers apart:

- `rmse / scale`: the error in quantization steps. Plain rounding gives about 0.29 (1/sqrt(12));
  well above it, error has accumulated from the layers before or values were clipped.
- `relative`: the error against the spread of the float values themselves (rmse / their standard
  deviation). Activations are quantized per tensor, and the inputs of a concatenation share its
  step: a tensor of small values whose step is set by a wider one (mask coefficients in [-1, 1]
  concatenated with prototypes up to 6; an unbounded logit) keeps few levels and this ratio grows.
  Those are the layers to bound or to train with fake quantization.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROUNDING_STEPS = 1 / math.sqrt(12)  # rmse / scale of a uniform rounding error


@dataclass(frozen=True)
class LayerError:
    op: str
    tensor: str
    elements: int
    rmse: float  # of the int8 output (dequantized) against the float model's, same inputs
    scale: float  # the int8 tensor's quantization step
    spread: float  # standard deviation of the float output: the signal the error is compared with
    steps: float  # rmse / scale
    relative: float  # rmse / spread

    def to_json(self) -> dict:
        return asdict(self)


def _float_spread(float_tensors, quant_tensors, scale, zero_point) -> float:
    return float(np.std(np.concatenate([np.ravel(t) for t in float_tensors])))


def layer_errors(saved_model: Path, representative: Callable[[], Iterable[np.ndarray]],
                 debug_images: Callable[[], Iterable[np.ndarray]], settings: dict | None = None) -> list[LayerError]:
    """Per quantized layer of the int8 conversion of `saved_model` (calibrated on `representative`, as the
    export does), its output error on `debug_images` against the float model: worst relative error first.
    Both callables yield float32 batches [1, H, W, C], preprocessed as at inference."""
    import tensorflow as tf

    from zazu.export.tflite import configure_converter

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    configure_converter(converter, "int8", representative, "int8", settings)
    # the debugger compares float and int8 tensors through float inputs and outputs
    converter.inference_input_type = tf.float32
    converter.inference_output_type = tf.float32
    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_direct_compare_metrics={"float_stddev": _float_spread})
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_options=options,
        debug_dataset=lambda: ([np.asarray(b, np.float32)] for b in debug_images()))
    debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    return parse_layer_statistics(dump.getvalue())


def parse_layer_statistics(text: str) -> list[LayerError]:
    """The debugger's CSV dump (op_name, tensor_name, num_elements, mean_squared_error, scale, float_stddev)
    as LayerErrors, worst relative error first."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        mse, scale, spread = (float(row[k]) for k in ("mean_squared_error", "scale", "float_stddev"))
        rmse = math.sqrt(max(mse, 0.0))
        rows.append(LayerError(row["op_name"], row["tensor_name"], int(float(row["num_elements"])), rmse, scale,
                               spread, rmse / scale if scale > 0 else math.inf,
                               rmse / spread if spread > 0 else 0.0))  # a constant tensor: nothing to lose
    return sorted(rows, key=lambda r: -r.relative)
