"""Int8 weight rounding chosen against the calibration images (zazu.nn.weight_rounding): the choice worked by
hand, the converter keeping the chosen grid values, and the int8 file nearer its float self than with nearest."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from zazu.export.tflite import convert_int8  # noqa: E402
from zazu.nn.bias_correction import correction_targets  # noqa: E402
from zazu.nn.int8_weights import int8_weights  # noqa: E402
from zazu.nn.weight_rounding import calibrated_rounding, choose_rounding, error_power, shrunk  # noqa: E402

from tflite_weights import tflite_weights  # noqa: E402  tests/nn/tflite_weights.py

# inputs 1 and 2 always equal (their errors add), input 0 uncorrelated with them
CORRELATED = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]])


def test_the_choice_worked_by_hand():
    """Weights [10, 0.4, 0.4] on a grid of 1, the 10 kept: nearest rounds both 0.4 down, errors -0.4 and -0.4
    that add to -0.8 on equal inputs (power 0.64); rounding the first up instead gives +0.6 - 0.4 = 0.2
    (power 0.04); rounding both up, 1.2 (1.44)."""
    weights = np.array([[10.0], [0.4], [0.4]])
    keep = np.array([[True], [False], [False]])
    group = np.zeros(1, int)
    error = choose_rounding(weights, np.ones(1), CORRELATED, group, keep)
    np.testing.assert_allclose(error[:, 0], [0.0, 0.6, -0.4])
    assert error_power(error, CORRELATED, group) == pytest.approx(0.04)
    nearest = np.round(weights) - weights
    assert error_power(nearest, CORRELATED, group) == pytest.approx(0.64)
    # a weight kept keeps its nearest rounding: the other one moves
    keep[1, 0] = True
    np.testing.assert_allclose(choose_rounding(weights, np.ones(1), CORRELATED, group, keep)[:, 0], [0.0, -0.4, 0.6])


def test_each_column_is_chosen_against_its_own_group_of_inputs():
    """A depthwise kernel's channels read different inputs: column 0's inputs are equal (errors add: one weight
    moves), column 1's opposite (x2 = -x1: the two -0.4 errors cancel already, nothing moves)."""
    opposite = np.array([[[1.0, -1.0], [-1.0, 1.0]]])
    moments = np.concatenate([CORRELATED[:, 1:, 1:], opposite])
    weights = np.array([[0.4, 0.4], [0.4, 0.4]])
    keep = np.zeros((2, 2), bool)
    error = choose_rounding(weights, np.ones(2), moments, np.array([0, 1]), keep)
    np.testing.assert_allclose(error, [[0.6, -0.4], [-0.4, -0.4]])


def _smooth_images(count, shape, seed, coarseness=4):
    """Images whose neighbouring pixels are alike, as photos' are: a patch's inputs are correlated."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.0, 1.0, (count, shape[0] // coarseness, shape[1] // coarseness, shape[2]))
    fine = np.repeat(np.repeat(coarse, coarseness, 1), coarseness, 2).astype(np.float32)
    return list(fine[:, None])


def _conv_model(seed=3):
    """A convolution with a batch norm folded in, then a depthwise one with its own: what a backbone is made of."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv")
    bn = keras.layers.BatchNormalization(name="bn")
    dw = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", name="dw")
    model = keras.Model(inputs, dw(keras.layers.ReLU(6.0)(bn(conv(inputs)))))
    conv.set_weights([rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32)])
    bn.set_weights([rng.uniform(0.5, 2.0, 8), rng.uniform(-0.5, 0.5, 8), rng.uniform(-0.2, 0.2, 8),
                    rng.uniform(0.1, 2.0, 8)])
    dw.set_weights([rng.normal(0, 0.3, (3, 3, 8, 1)).astype(np.float32), np.zeros(8, np.float32)])
    return model, conv, dw


def test_the_converter_keeps_the_chosen_rounding_and_the_model_gets_its_own_weights_back(tmp_path):
    model, conv, dw = _conv_model()
    images = _smooth_images(8, (16, 16, 3), seed=0)
    own = [np.asarray(w).copy() for w in model.weights]
    chosen, report = calibrated_rounding(model, images, correction_targets(model))
    assert report["layers"] == 2 and report["error_power"] < 0.9
    nearest = {t.layer.name: t.delta for t in correction_targets(model)}
    for target in chosen:  # some weights rounded the other way
        assert not np.allclose(target.delta, nearest[target.layer.name], atol=1e-6)
    path = convert_int8(model, lambda: iter(images), tmp_path / "m.tflite", correct_bias=True,
                        weight_rounding="calibrated")
    stored = tflite_weights(path)
    by_name = {t.layer.name: t for t in chosen}
    conv_stored = np.transpose(stored[(8, 3, 3, 3)], (1, 2, 3, 0))  # TFLite's [out, h, w, in]
    np.testing.assert_allclose(conv_stored, by_name["conv"].folded + by_name["conv"].delta, atol=1e-6)
    dw_stored = stored[(1, 3, 3, 8)][0][..., None]  # TFLite's [1, h, w, channels]
    np.testing.assert_allclose(dw_stored, by_name["dw"].folded + by_name["dw"].delta, atol=1e-6)
    for weight, value in zip(model.weights, own):
        np.testing.assert_array_equal(np.asarray(weight), value)


def test_the_int8_file_with_the_chosen_rounding_is_nearer_its_float_self(tmp_path):
    """The output error of the int8 file against the float model, on images it was not calibrated on, both files
    bias-corrected. Each channel's largest weight (1.0, a step of 1/127) reads an input that is always 0, so the
    output's int8 step is small beside what the rounding of the 71 small weights does. Measured: 0.64 of nearest's
    error (0.635 with the covariance not pulled towards its diagonal); chosen against E[x x^T] instead of the
    covariance (the mean, which bias correction takes off anyway, counted in), 0.95."""
    from zazu.export.litert import TFLiteRunner

    rng = np.random.default_rng(3)
    inputs = keras.Input((32, 32, 8))
    conv = keras.layers.Conv2D(8, 3, padding="same", name="conv")
    model = keras.Model(inputs, conv(inputs))
    kernel = rng.normal(0, 0.03, (3, 3, 8, 8)).astype(np.float32)
    kernel[1, 1, 0, :] = 1.0
    conv.set_weights([kernel, np.zeros(8, np.float32)])

    def images(seed):
        batches = _smooth_images(32, (32, 32, 8), seed, coarseness=2)
        for batch in batches:
            batch[..., 0] = 0.0
        return batches

    calibration, test_images = images(0), np.concatenate(images(1))
    float_out = np.asarray(model(test_images))

    def error(weight_rounding):
        path = convert_int8(model, lambda: iter(calibration), tmp_path / f"{weight_rounding}.tflite",
                            correct_bias=True, weight_rounding=weight_rounding)
        runner = TFLiteRunner(path)
        out = np.concatenate([np.asarray(runner(image[None])[0]) for image in test_images])
        return float(np.mean((out - float_out) ** 2))

    nearest, calibrated = error("nearest"), error("calibrated")
    assert calibrated < 0.75 * nearest, (calibrated, nearest)


def test_an_unknown_rounding_is_named():
    model, _, _ = _conv_model()
    with pytest.raises(ValueError, match="Expected weight_rounding to be one of .*Received: weight_rounding='up'"):
        with int8_weights(model, [], weight_rounding="up"):
            pass


def test_the_covariance_pulled_towards_its_diagonal_keeps_a_rounding_that_only_a_perfect_correlation_would_change():
    """Weights [10, 0.28, 0.28]: on equal inputs rounding the first up lowers the power (errors -0.28 and -0.28
    add to -0.56, power 0.3136; +0.72 - 0.28 = 0.44, power 0.1936); with the correlation scaled by 0.7 it does
    not: moving it changes the power by 2 x 1 x (-0.28 - 0.7 x 0.28) + 1 = +0.048."""
    weights = np.array([[10.0], [0.28], [0.28]])
    keep, group = np.array([[True], [False], [False]]), np.zeros(1, int)
    np.testing.assert_allclose(choose_rounding(weights, np.ones(1), CORRELATED, group, keep)[:, 0], [0.0, 0.72, -0.28])
    pulled = shrunk(CORRELATED, 0.3)
    np.testing.assert_allclose(pulled[0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.7], [0.0, 0.7, 1.0]])
    np.testing.assert_allclose(choose_rounding(weights, np.ones(1), pulled, group, keep)[:, 0], [0.0, -0.28, -0.28])


def test_calibrated_rounding_chooses_against_the_covariance_pulled_towards_its_diagonal():
    """The case above as a dense layer whose inputs 1 and 2 are always equal (input 0 always 0): its weights, in
    steps of 1/127, 127, 0.28, 0.28; chosen with the covariance as measured, 0.28 would round up."""
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(1, name="dense")
    model = keras.Model(inputs, dense(inputs))
    step = 1.0 / 127
    dense.set_weights([np.array([[1.0], [0.28 * step], [0.28 * step]], np.float32), np.zeros(1, np.float32)])
    x = np.random.default_rng(0).uniform(0.0, 1.0, (32, 1, 1)).astype(np.float32)
    images = list(np.concatenate([np.zeros_like(x), x, x], axis=2))
    (target,), _ = calibrated_rounding(model, images, correction_targets(model))
    np.testing.assert_allclose(target.delta[:, 0] / step, [0.0, -0.28, -0.28], atol=1e-4)
