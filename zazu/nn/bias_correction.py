"""Bias correction of int8 weight rounding (Nagel et al. 2019, "Data-Free Quantization Through Weight
Equalization and Bias Correction", its empirical variant; Finkelstein et al. 2019, "Fighting Quantization Bias
With Bias").

TensorFlow Lite rounds each convolution's and dense layer's weights to int8 per output channel (symmetric, a
step of max|w| / 127, after folding a batch norm that alone reads the layer into it). Rounding error that
cancels on average over a layer's inputs is noise; but where the inputs share a sign, as every input after a
ReLU6 does, the error of a channel's few weights adds up to a shift of that channel's output, the same at
every position. A depthwise 3x3 convolution sums 9 weights: in a trained segmenter's first block (CI-sized
shapes, seed 4) the shift reached 11 output steps and cost the int8 model 0.12 mask mAP against its float self.

The shift is measured, not guessed: each layer's rounding error applied to the layer's own float inputs over
a few calibration images, averaged per output channel, to be taken off the layer's bias (or off the batch norm
it folds into) while the model is converted (`zazu.nn.int8_weights`, which puts the model's own weights back).

Imports Keras at import time: import it only where a model is converted (`zazu.nn.int8_weights`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from zazu.nn.layers import all_layers

SHIFT_IMAGES = 32  # calibration images the shifts are averaged over: a mean settles long before 100
INT8_LEVELS = 127  # TensorFlow Lite's weights: symmetric int8 in [-127, 127]
WEIGHTED = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)


def int8_step(kernel: np.ndarray, depthwise: bool, per_channel: bool = True) -> np.ndarray:
    """TensorFlow Lite's int8 step for `kernel`'s weights, max|w| / 127, one per output channel (`per_channel`)
    or one for the whole kernel, shaped to broadcast over it (1 where every weight is 0). Output channels are the
    last axis of a Conv2D's or a Dense's kernel, the last two of a DepthwiseConv2D's [h, w, channels, multiplier]."""
    kernel = np.asarray(kernel, np.float64)
    if not per_channel:
        axes = tuple(range(kernel.ndim))
    else:
        axes = (0, 1) if depthwise else tuple(range(kernel.ndim - 1))
    step = np.abs(kernel).max(axis=axes, keepdims=True) / INT8_LEVELS
    return np.where(step > 0, step, 1.0)


def rounding_error(kernel: np.ndarray, depthwise: bool, per_channel: bool = True) -> np.ndarray:
    """Q(kernel) - kernel, Q as TensorFlow Lite rounds weights: symmetric int8 on `int8_step`'s grid."""
    kernel = np.asarray(kernel, np.float64)
    step = int8_step(kernel, depthwise, per_channel)
    return (np.round(kernel / step) * step - kernel).astype(np.float32)


@dataclass
class Target:
    layer: object  # the Conv2D, DepthwiseConv2D or Dense whose weights are rounded
    batch_norm: object | None  # the batch norm folded into it (its only reader), whose beta takes the correction
    delta: np.ndarray  # the rounding error of the weights as converted (folded with the batch norm)
    folded: np.ndarray  # the weights as converted: the kernel, the batch norm's scale folded in


def correction_targets(model, per_channel: bool = True) -> list[Target]:
    """The layers of `model` (nested models included) whose rounding shift can be taken off a bias: those with
    a bias of their own, and those a batch norm alone reads (the converter folds it in: its beta)."""
    targets = []
    for layer in all_layers(model):
        if not isinstance(layer, WEIGHTED) or not layer.built:
            continue
        # each operation once: a probe of the same layers (`run_with_recorders`) adds its own nodes to them
        readers = list({id(node.operation): node.operation for node in layer._outbound_nodes}.values())
        # the converter folds a batch norm into the convolution it alone follows (not into a dense layer)
        folds = len(readers) == 1 and isinstance(readers[0], keras.layers.BatchNormalization) \
            and not isinstance(layer, keras.layers.Dense)
        batch_norm = readers[0] if folds else None
        if batch_norm is None and not layer.use_bias:
            continue  # no bias to correct, none folded in
        depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
        kernel = np.asarray(layer.kernel)
        if batch_norm is not None:
            kernel = kernel * batch_norm_scale(batch_norm).reshape(output_shape(kernel, depthwise))
        targets.append(Target(layer, batch_norm, rounding_error(kernel, depthwise, per_channel), kernel))
    return targets


def batch_norm_scale(batch_norm) -> np.ndarray:
    gamma = np.asarray(batch_norm.gamma) if batch_norm.scale else 1.0
    return gamma / np.sqrt(np.asarray(batch_norm.moving_variance) + batch_norm.epsilon)


def output_shape(kernel: np.ndarray, depthwise: bool) -> tuple:
    """The shape that broadcasts one value per output channel over `kernel`."""
    if depthwise:
        return (1, 1, kernel.shape[2], kernel.shape[3])
    return (1,) * (kernel.ndim - 1) + (kernel.shape[-1],)


class _ShiftRecorder(keras.layers.Layer):
    """Passes its input on unchanged, adding up what the target's rounding error makes of it per output channel
    (the sum over positions and images, and the positions counted), whichever call of a shared layer it is."""

    def __init__(self, target: Target, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def build(self, input_shape):
        channels = int(np.prod(output_shape(self.target.delta, self._depthwise)))
        self.total = self.add_weight(shape=(channels,), initializer="zeros", trainable=False, name="total")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    @property
    def _depthwise(self) -> bool:
        return isinstance(self.target.layer, keras.layers.DepthwiseConv2D)

    def call(self, x):
        from keras import ops

        layer, delta = self.target.layer, ops.convert_to_tensor(self.target.delta)
        if isinstance(layer, keras.layers.Dense):
            shift = ops.matmul(x, delta)
        elif self._depthwise:
            shift = ops.depthwise_conv(x, delta, layer.strides, layer.padding, layer.data_format,
                                       layer.dilation_rate)
        else:
            shift = ops.conv(x, delta, layer.strides, layer.padding, layer.data_format, layer.dilation_rate)
        axes = tuple(range(len(shift.shape) - 1))
        self.total.assign_add(ops.sum(shift, axis=axes))
        self.count.assign_add(ops.sum(ops.ones_like(shift[..., 0])))
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def mean(self) -> np.ndarray:
        return np.asarray(self.total) / max(float(np.asarray(self.count)), 1.0)


def run_with_recorders(model, images, recorders: dict) -> None:
    """Run `images` (float32 batches shaped as the model's input) through a clone of `model` made of the same
    layers, each layer whose id is a key of `recorders` reading its first input through that recorder first
    (a layer that passes its input on unchanged, noting what it needs); shared layers' calls go through theirs."""
    import tensorflow as tf

    def call(layer, *args, **kwargs):
        recorder = recorders.get(id(layer))
        if recorder is not None and args:
            args = (recorder(args[0]), *args[1:])
        return layer(*args, **kwargs)

    probe = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call, recursive=True)
    run = tf.function(lambda batch: probe(batch, training=False))
    for batch in images:
        run(tf.constant(batch, tf.float32))


def measure_shifts(model, images, targets: list[Target]) -> list[np.ndarray]:
    """Each target's mean output shift per channel over `images` (float32 batches shaped as the model's input)."""
    recorders = {id(t.layer): _ShiftRecorder(t, name=f"{t.layer.name}_rounding_shift") for t in targets}
    run_with_recorders(model, images, recorders)
    return [recorders[id(t.layer)].mean() for t in targets]
