"""Simulated int8 activations for quantization-aware fine-tuning: a layer that rounds a tensor to the 256 steps
the int8 model will give it, and the rewrite that puts one wherever the int8 model keeps a tensor.

Imports Keras at import time: import it only where a model is being rewritten (`zazu.adapters.quantization_aware`).
"""

from __future__ import annotations

import keras

from zazu.nn.layers import all_layers

# Activations TensorFlow Lite folds into the op before them, as batch norms are: the tensor they read is never
# stored in int8
FUSED_ACTIVATIONS = ("relu", "relu6")
# Layers that only move or drop values: their output keeps their input's int8 step
STEP_PRESERVING = (keras.layers.Reshape, keras.layers.Dropout, keras.layers.Flatten, keras.layers.InputLayer)


class ActivationQuantizer(keras.layers.Layer):
    """Rounds its input to 8 bits over [range_min, range_max], with a straight-through gradient (TensorFlow's
    `fake_quant_with_min_max_vars`). In training the range grows to the smallest and largest value any batch
    held (and 0), as the converter's calibration takes the min and max of all it sees: the steps trained with
    are the steps the int8 model gets. (A moving average of each batch's range, as tfmot keeps, would train
    with narrower steps than the calibrated file has.) In inference it stays where training left it."""

    def build(self, input_shape):
        self.range_min = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_min")
        self.range_max = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_max")
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

    def call(self, x, training=None):
        from keras import ops

        if training:
            low, high = ops.minimum(ops.min(x), 0.0), ops.maximum(ops.max(x), 0.0)
            seen = self.seen > 0
            self.range_min.assign(ops.where(seen, ops.minimum(self.range_min, low), low))
            self.range_max.assign(ops.where(seen, ops.maximum(self.range_max, high), high))
            self.seen.assign(1.0)
        # a range of width 0 (never seen) would divide by zero: leave such a tensor as it is
        width = self.range_max - self.range_min
        quantized = keras.quantizers.fake_quant_with_min_max_vars(
            x, self.range_min, ops.maximum(self.range_max, self.range_min + 1e-6), num_bits=8)
        return ops.where(width > 0, quantized, x)



def quantized_outputs(model) -> set[int]:
    """ids of the layers (in `model` and the models nested in it) whose output the int8 model stores as a
    tensor of its own: every layer but those whose every reader folds it in (a convolution read only by its
    batch norm, a batch norm read only by its ReLU), those that keep their input's step, and nested models
    (their own layers are looked at)."""
    marked: set[int] = set()
    for layer in all_layers(model):
        if isinstance(layer, keras.Model) or isinstance(layer, STEP_PRESERVING):
            continue
        readers = [node.operation for node in layer._outbound_nodes]
        if readers and all(_folds_into_previous(reader) for reader in readers):
            continue
        marked.add(id(layer))
    return marked


def with_activation_quantizers(model):
    """A model of the same layers (the same weights: training it trains `model`) with an
    `ActivationQuantizer` after each layer in `quantized_outputs`, nested models rewritten too.

    Returns (the rewritten model, its quantizers)."""
    marked = quantized_outputs(model)
    quantizers = []

    def call(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        if id(layer) not in marked:
            return out
        quantizer = ActivationQuantizer(name=f"{layer.name}_int8_sim")
        quantizers.append(quantizer)
        return quantizer(out)

    rewritten = keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call,
                                         recursive=True)
    return rewritten, quantizers


def _folds_into_previous(layer) -> bool:
    if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.ReLU)):
        return True
    if isinstance(layer, keras.layers.Activation):
        return getattr(layer.activation, "__name__", "") in FUSED_ACTIVATIONS
    return False
