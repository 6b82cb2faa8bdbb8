"""Bias correction of int8 weight rounding (zazu.nn.bias_correction): the rounding it assumes is the converter's,
the shift it measures is the one worked by hand, and the int8 file it helps convert no longer carries the shift."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from zazu.export.tflite import convert_int8  # noqa: E402
from zazu.nn.bias_correction import correction_targets, measure_shifts, rounding_error  # noqa: E402
from zazu.nn.int8_weights import int8_weights  # noqa: E402

from tflite_weights import tflite_weights  # noqa: E402  tests/nn/tflite_weights.py

STEP = 1.0 / 127  # a kernel whose largest weight is 1.0 rounds in steps of 1/127
SMALL = 0.0059  # 0.749 of a step: rounds up to one step, an error of +0.0019740 (worked below)


def _positive_images(count, shape=(8, 8, 4), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.0, 1.0, (1, *shape)).astype(np.float32) for _ in range(count)]


def _bn(name, channels, rng):
    layer = keras.layers.BatchNormalization(name=name)
    return layer, [rng.uniform(0.5, 3.0, channels), rng.uniform(-0.5, 0.5, channels),
                   rng.uniform(-0.2, 0.2, channels), rng.uniform(0.05, 2.0, channels)]


def test_the_rounding_assumed_is_the_converters_for_every_layer_kind(tmp_path):
    """Q(W) = W + rounding_error(W) against the weights the int8 file holds, for a convolution with a batch
    norm folded in, a depthwise one with its batch norm, a convolution with its own bias and a dense layer."""
    rng = np.random.default_rng(1)
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(5, 3, padding="same", use_bias=False, name="conv")
    bn1, bn1_weights = _bn("bn1", 5, rng)
    dw = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")
    bn2, bn2_weights = _bn("bn2", 5, rng)
    conv_bias = keras.layers.Conv2D(6, 1, name="conv_bias")
    dense = keras.layers.Dense(7, name="dense")
    x = keras.layers.ReLU(6.0)(bn1(conv(inputs)))
    x = keras.layers.ReLU(6.0)(bn2(dw(x)))
    x = conv_bias(x)
    outputs = dense(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    bn1.set_weights(bn1_weights)
    bn2.set_weights(bn2_weights)
    path = convert_int8(model, lambda: iter(_positive_images(8, (8, 8, 3))), tmp_path / "m.tflite")
    stored = tflite_weights(path)

    targets = {t.layer.name: t for t in correction_targets(model)}
    assert targets["conv"].batch_norm is bn1 and targets["dw"].batch_norm is bn2
    assert targets["conv_bias"].batch_norm is None and targets["dense"].batch_norm is None

    def folded(kernel, bn_weights, axis_shape):
        gamma, _, _, variance = bn_weights
        return kernel * (gamma / np.sqrt(variance + 1e-3)).reshape(axis_shape)

    kernel = folded(np.asarray(conv.kernel), bn1_weights, (1, 1, 1, 5))  # [3, 3, 3, 5]; the file: [5, 3, 3, 3]
    np.testing.assert_allclose(np.transpose(kernel + targets["conv"].delta, (3, 0, 1, 2)), stored[(5, 3, 3, 3)],
                               atol=1e-6)
    kernel = folded(np.asarray(dw.kernel), bn2_weights, (1, 1, 5, 1))  # [3, 3, 5, 1]; the file: [1, 3, 3, 5]
    np.testing.assert_allclose(np.transpose(kernel + targets["dw"].delta, (3, 0, 1, 2)), stored[(1, 3, 3, 5)],
                               atol=1e-6)
    kernel = np.asarray(conv_bias.kernel)  # [1, 1, 5, 6]; the file: [6, 1, 1, 5]
    np.testing.assert_allclose(np.transpose(kernel + targets["conv_bias"].delta, (3, 0, 1, 2)), stored[(6, 1, 1, 5)],
                               atol=1e-6)
    kernel = np.asarray(dense.kernel)  # [6, 7]; the file: [7, 6]
    np.testing.assert_allclose((kernel + targets["dense"].delta).T, stored[(7, 6)], atol=1e-6)


def _shifted_depthwise(padding="same"):
    """A depthwise 3x3 layer whose centre weight is 1.0 and the 8 others SMALL, on 4 channels: each rounds to
    one step, 8 x 0.0019740 too much per unit of input."""
    inputs = keras.Input((8, 8, 4))
    layer = keras.layers.DepthwiseConv2D(3, padding=padding, name="dw")
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    kernel = np.full((3, 3, 4, 1), SMALL, np.float32)
    kernel[1, 1] = 1.0
    layer.set_weights([kernel, np.zeros(4, np.float32)])
    return model, layer


def test_the_shift_measured_is_the_one_worked_by_hand():
    model, layer = _shifted_depthwise(padding="valid")
    (target,) = correction_targets(model)
    np.testing.assert_allclose(target.delta[1, 1], 0.0, atol=1e-7)  # 1.0 is 127 steps exactly
    np.testing.assert_allclose(target.delta[0, 0], STEP - SMALL, rtol=1e-5)  # 0.0078740 - 0.0059 = 0.0019740
    # every input 0.5: each output gains 8 x 0.0019740 x 0.5 = 0.0078961
    (shift,) = measure_shifts(model, [np.full((1, 8, 8, 4), 0.5, np.float32)] * 3, [target])
    np.testing.assert_allclose(shift, np.full(4, 0.0078961), rtol=1e-4)


def test_the_correction_is_taken_off_the_bias_within_the_block_and_put_back_after():
    model, layer = _shifted_depthwise(padding="valid")
    images = [np.full((1, 8, 8, 4), 0.5, np.float32)]
    with int8_weights(model, images) as report:
        np.testing.assert_allclose(np.asarray(layer.bias), np.full(4, -0.0078961), rtol=1e-4)
        assert report["corrected"] == 1
    np.testing.assert_array_equal(np.asarray(layer.bias), np.zeros(4))
    with pytest.raises(RuntimeError):
        with int8_weights(model, images):
            raise RuntimeError("the conversion failed")
    np.testing.assert_array_equal(np.asarray(layer.bias), np.zeros(4))  # put back whatever happens


def test_the_int8_file_converted_with_the_correction_no_longer_carries_the_shift(tmp_path):
    """Without the correction the int8 outputs sit about 0.0079 above the float ones (inputs uniform in [0, 1]:
    8 x 0.0019740 x 0.5, less at the borders, where the padding adds zeros); with it, the mean difference is a
    small part of that. The model's own weights are untouched."""
    model, layer = _shifted_depthwise()
    calibration = _positive_images(32, seed=0)
    test_images = np.concatenate(_positive_images(16, seed=1))
    float_out = np.asarray(model(test_images))

    def mean_error(correct_bias):
        from zazu.export.litert import TFLiteRunner

        path = convert_int8(model, lambda: iter(calibration), tmp_path / f"m{correct_bias}.tflite",
                            correct_bias=correct_bias)
        runner = TFLiteRunner(path)
        return float(np.mean(np.concatenate([np.asarray(runner(image[None])[0]) for image in test_images])
                             - float_out))

    plain, corrected = mean_error(False), mean_error(True)
    assert 0.005 < plain < 0.009
    assert abs(corrected) < 0.2 * plain
    np.testing.assert_array_equal(np.asarray(layer.bias), np.zeros(4))


def test_with_per_channel_rounding_turned_off_the_rounding_assumed_is_one_step_a_kernel(tmp_path):
    """`export.tflite_converter: {_experimental_disable_per_channel: true}`: one step for a whole kernel."""
    rng = np.random.default_rng(2)
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(5, 3, padding="same", name="conv")
    model = keras.Model(inputs, conv(inputs))
    kernel = rng.normal(0, 1, (3, 3, 3, 5)).astype(np.float32) * np.array([1, 3, 0.1, 1, 2], np.float32)
    conv.set_weights([kernel, np.zeros(5, np.float32)])
    path = convert_int8(model, lambda: iter(_positive_images(8, (8, 8, 3))), tmp_path / "m.tflite",
                        settings={"_experimental_disable_per_channel": True})
    (target,) = correction_targets(model, per_channel=False)
    stored = tflite_weights(path)[(5, 3, 3, 3)]
    np.testing.assert_allclose(np.transpose(kernel + target.delta, (3, 0, 1, 2)), stored, atol=1e-6)
    assert not np.allclose(target.delta, correction_targets(model, per_channel=True)[0].delta)


def test_a_probe_of_the_same_layers_leaves_the_targets_as_they_were():
    """Measuring adds a clone's nodes to the model's own layers; a second conversion of the same model (a trial
    scored, fine-tuned and scored again) must still see the batch norm that alone reads a convolution."""
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")
    bn = keras.layers.BatchNormalization(name="bn")
    model = keras.Model(inputs, keras.layers.ReLU(6.0)(bn(conv(inputs))))
    (first,) = correction_targets(model)
    measure_shifts(model, _positive_images(2, (8, 8, 3)), [first])
    (again,) = correction_targets(model)
    assert (again.layer, again.batch_norm) == (conv, bn)
