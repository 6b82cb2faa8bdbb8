"""Int8 weight rounding chosen against the calibration images (a greedy form of AdaRound: Nagel et al. 2020,
"Up or Down? Adaptive Rounding for Post-Training Quantization").

TensorFlow Lite rounds each weight to the nearest of its channel's 255 steps. Nearest is best for each weight
alone, not for the output: a channel's errors e meet the layer's inputs x as the dot product e.x, whose mean
square E[(e.x)^2] = e C e^T (C = E[x x^T] over the layer's input patches) depends on how the errors line up
with the inputs' correlations. Rounding some weights the other way (floor for ceil, or back) can lower it a
lot: on a trained EfficientNet-Lite0's stem the summed output error power fell to 0.02 of nearest's, 0.10 over
the whole backbone, and a digits classifier's int8 accuracy went from 0.900 to 0.916 (float 0.911).

Each output channel is solved alone: its weights visited in turn, each moved to its other neighbour on the
grid when that lowers e C e^T, until a pass changes nothing (or `PASSES`). The channel's largest weight keeps
its nearest rounding, so the channel's step (max|w| / 127) is the one the converter will compute, and the
chosen weights are set on that grid, where the converter's own nearest rounding reproduces them
(`zazu.nn.int8_weights` sets them for the conversion and puts the model's own back).

C (the covariance where bias correction takes the mean off) is measured in one pass over the calibration
images, a recorder before each layer adding up its input patches' outer products (at most `ROWS_PER_CALL`
patches a call, evenly spread), then pulled towards its diagonal (`SHRINKAGE`: a few images of flat scenes
make it nearly singular, and a rounding fitted to that does worse on other images). The layers are those
`zazu.nn.bias_correction` corrects (a batch norm folded in, or a bias of their own), with the same folding.

Imports Keras at import time: import it only where a model is converted (`zazu.nn.int8_weights`).
"""

from __future__ import annotations

import keras
import numpy as np

from zazu.nn.bias_correction import Target, int8_step, run_with_recorders

PASSES = 4  # passes over a channel's weights; the greedy search settles in two or three
ROWS_PER_CALL = 2048  # input patches a layer call adds to C: a 224-px stem has 12544 an image
# The input covariance pulled this far towards its diagonal (where nearest is the best rounding): 32 images of
# flat synthetic shapes make it nearly singular, and a rounding fitted to it lost 0.019 mask mAP where nearest
# lost none; at 0.3 that loss went (and the digits' 0.017 fell to 0.008). Measured on four runs, not tuned finer.
SHRINKAGE = 0.3
MAX_PATCH = 2304  # patch length (kernel h x w x input channels) above which C (n x n) is not measured


def choose_rounding(weights: np.ndarray, step: np.ndarray, moments: np.ndarray, group: np.ndarray,
                    keep: np.ndarray) -> np.ndarray:
    """The rounding error (chosen grid value minus weight) of `weights` [n, channels], each column rounded on
    the grid `step` [channels] to lower e C e^T against `moments[group[j]]` (C [n, n] of column j's inputs),
    starting from nearest; `keep` [n, channels] marks the weights that keep their nearest rounding."""
    weights = np.asarray(weights, np.float64)
    step = np.asarray(step, np.float64)
    moments = np.asarray(moments, np.float64)
    ratio = weights / step
    grid = np.round(ratio)
    error = (grid - ratio) * step
    shared = moments.shape[0] == 1  # one C for every column (a convolution, a dense layer) or one a column's
    column_moments = None if shared else moments[group]  # [channels, n, n]: small, a depthwise kernel's n
    # C e, per column: what the error of every weight makes of each weight's inputs
    pulled = moments[0] @ error if shared else np.einsum("jik,kj->ij", column_moments, error)
    diagonal = (np.repeat(np.diag(moments[0])[:, None], weights.shape[1], 1) if shared
                else np.einsum("jii->ij", column_moments))
    for _ in range(PASSES):
        changed = False
        for i in range(weights.shape[0]):
            other = np.where(grid[i] > ratio[i], np.floor(ratio[i]), np.ceil(ratio[i]))
            move = (other - grid[i]) * step
            # the change in e C e^T when weight i moves by `move`: 2 move (C e)_i + move^2 C_ii
            gain = 2 * move * pulled[i] + move * move * diagonal[i]
            better = (gain < -1e-18) & (other != grid[i]) & ~keep[i]
            if not better.any():
                continue
            move = np.where(better, move, 0.0)
            grid[i] = np.where(better, other, grid[i])
            error[i] += move
            pulled += moments[0][:, i:i + 1] * move[None] if shared else column_moments[:, :, i].T * move
            changed = True
        if not changed:
            break
    return error


def shrunk(moments: np.ndarray, amount: float) -> np.ndarray:
    """`moments` [groups, n, n] with their off-diagonal terms scaled by 1 - `amount`."""
    diagonal = np.einsum("gii->gi", moments)[:, :, None] * np.eye(moments.shape[1])
    return (1 - amount) * moments + amount * diagonal


def error_power(error: np.ndarray, moments: np.ndarray, group: np.ndarray) -> float:
    """The summed e C e^T of every column of `error` [n, channels]: the output error power it makes."""
    if moments.shape[0] == 1:
        return float(np.sum(error * (moments[0] @ error)))
    return float(np.einsum("ij,jik,kj->", error, moments[group], error))


class _MomentRecorder(keras.layers.Layer):
    """Passes its input on unchanged, adding up the outer products of the target's input patches (one C for a
    convolution or a dense layer, one per input channel for a depthwise convolution) and counting them."""

    def __init__(self, target: Target, **kwargs):
        super().__init__(**kwargs)
        self.target = target
        layer = target.layer
        self.depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
        self.dense = isinstance(layer, keras.layers.Dense)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        taps = 1 if self.dense else int(np.prod(self.target.layer.kernel_size))
        groups, length = (channels, taps) if self.depthwise else (1, taps * channels)
        self.total = self.add_weight(shape=(groups, length, length), initializer="zeros", trainable=False,
                                     name="total")
        self.sums = self.add_weight(shape=(groups, length), initializer="zeros", trainable=False, name="sums")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x):
        import tensorflow as tf

        layer, patches = self.target.layer, x
        if not self.dense and int(np.prod(layer.kernel_size)) > 1:
            patches = tf.image.extract_patches(x, [1, *layer.kernel_size, 1], [1, *layer.strides, 1],
                                               [1, *layer.dilation_rate, 1], layer.padding.upper())
        elif not self.dense:
            patches = x[:, ::layer.strides[0], ::layer.strides[1]]
        groups, length = self.total.shape[0], self.total.shape[1]
        # a patch is (kh, kw, channel)-ordered, as a kernel [kh, kw, channels, ...] flattens
        rows = tf.reshape(tf.cast(patches, tf.float32), [-1, length, groups])
        rows = rows[::tf.maximum(1, tf.shape(rows)[0] // ROWS_PER_CALL)]
        self.total.assign_add(tf.einsum("rig,rjg->gij", rows, rows))
        self.sums.assign_add(tf.transpose(tf.reduce_sum(rows, 0)))
        self.count.assign_add(tf.cast(tf.shape(rows)[0], tf.float32))
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def moments(self, centred: bool) -> np.ndarray:
        """E[x x^T] of the patches, per group; `centred`: their covariance, E[x x^T] - E[x] E[x]^T."""
        count = max(float(np.asarray(self.count)), 1.0)
        moments = np.asarray(self.total, np.float64) / count
        if centred:
            mean = np.asarray(self.sums, np.float64) / count
            moments = moments - mean[:, :, None] * mean[:, None, :]
        return moments


def _solvable(target: Target) -> bool:
    layer = target.layer
    if isinstance(layer, keras.layers.Dense):
        return int(layer.kernel.shape[0]) <= MAX_PATCH
    if layer.data_format != "channels_last" or getattr(layer, "groups", 1) != 1:
        return False  # patches taken as (kh, kw, channel) of an ungrouped NHWC input
    return isinstance(layer, keras.layers.DepthwiseConv2D) or int(np.prod(layer.kernel.shape[:-1])) <= MAX_PATCH


def calibrated_rounding(model, images, targets: list[Target], per_channel: bool = True,
                        centred: bool = True) -> tuple[list[Target], dict]:
    """`targets` (from `zazu.nn.bias_correction.correction_targets`) with each one's `delta` the rounding error of
    the rounding chosen against the inputs its layer gets from `images` (float32 batches shaped as the model's
    input), in place of nearest's; and {"layers": how many were chosen, "error_power": the summed output error
    power as a fraction of nearest's}. `centred`: the error's mean is taken off by bias correction, so the
    rounding lowers what is left, e Cov(x) e^T, instead of e E[x x^T] e^T. The model is not changed."""
    solvable = [t for t in targets if _solvable(t)]
    recorders = {id(t.layer): _MomentRecorder(t, name=f"{t.layer.name}_input_moments") for t in solvable}
    if solvable:
        run_with_recorders(model, images, recorders)
    chosen, before, after = [], 0.0, 0.0
    for target in targets:
        recorder = recorders.get(id(target.layer))
        if recorder is None or float(np.asarray(recorder.count)) == 0:
            chosen.append(target)
            continue
        folded = np.asarray(target.folded, np.float64)
        depthwise = isinstance(target.layer, keras.layers.DepthwiseConv2D)
        columns = folded.shape[2] * folded.shape[3] if depthwise else folded.shape[-1]
        weights = folded.reshape(-1, columns)
        step = np.broadcast_to(int8_step(folded, depthwise, per_channel).reshape(-1), (columns,))
        magnitude = np.abs(weights)
        keep = np.zeros(weights.shape, bool)
        if per_channel:
            keep[magnitude.argmax(0), np.arange(columns)] = True
        else:
            keep[np.unravel_index(magnitude.argmax(), weights.shape)] = True
        group = np.arange(columns) // folded.shape[3] if depthwise else np.zeros(columns, int)
        moments = shrunk(recorder.moments(centred), SHRINKAGE)
        error = choose_rounding(weights, step, moments, group, keep)
        before += error_power(target.delta.reshape(-1, columns).astype(np.float64), moments, group)  # nearest's
        after += error_power(error, moments, group)
        chosen.append(Target(target.layer, target.batch_norm, error.reshape(folded.shape).astype(np.float32),
                             target.folded))
    return chosen, {"layers": len(recorders), "error_power": after / before if before > 0 else 1.0}
