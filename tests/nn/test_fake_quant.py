"""Simulated int8 activations: where the quantizers go, what they do to a tensor, and that training the
simulation trains the model itself."""

from __future__ import annotations

import numpy as np

import keras
from keras import layers

from zazu.nn.fake_quant import ActivationQuantizer, quantized_outputs, with_activation_quantizers


def _nested_model():
    pixels = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(pixels)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(6.0, name="relu")(x)
    project = layers.BatchNormalization(name="project_bn")(layers.Conv2D(4, 1, use_bias=False, name="project")(x))
    block = layers.Add(name="add")([project, x])
    backbone = keras.Model(pixels, block, name="backbone")
    image = keras.Input((8, 8, 3))
    features = backbone(image)
    head = layers.Conv2D(2, 1, activation="sigmoid", name="head")(features)
    return keras.Model(image, layers.Reshape((-1, 2), name="flat")(head)), backbone


def test_a_quantizer_follows_each_tensor_the_int8_model_stores():
    model, backbone = _nested_model()
    marked = {layer.name for layer in [*model.layers, *backbone.layers] if id(layer) in quantized_outputs(model)}
    # conv -> bn -> relu is one int8 op: only its relu output is stored; project's bn output feeds the add
    assert marked == {"relu", "project_bn", "add", "head"}


def test_the_quantizer_rounds_to_256_steps_of_the_range_it_learned():
    quantizer = ActivationQuantizer()
    x = np.linspace(-1.0, 3.0, 2001, dtype=np.float32)[None]
    trained = keras.ops.convert_to_numpy(quantizer(x, training=True))
    assert abs(float(quantizer.range_min.numpy()) + 1.0) < 1e-6 and abs(float(quantizer.range_max.numpy()) - 3.0) < 1e-6
    assert len(np.unique(trained)) <= 256
    assert np.abs(trained - x).max() <= 4.0 / 255 / 2 + 1e-5  # half a step at most
    # in inference the range stays: a wider input is clipped to it
    wide = keras.ops.convert_to_numpy(quantizer(np.array([[-5.0, 10.0]], np.float32), training=False))
    assert abs(wide[0, 0] + 1.0) < 0.02 and abs(wide[0, 1] - 3.0) < 0.02


def test_an_unseen_quantizer_passes_its_input_through():
    quantizer = ActivationQuantizer()
    x = np.array([[0.123, 4.567]], np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(quantizer(x, training=False)), x)


def test_training_the_simulation_trains_the_model_and_leaves_no_quantizer_in_it():
    model, backbone = _nested_model()
    simulated, quantizers = with_activation_quantizers(model)
    assert len(quantizers) == 4
    assert not any(isinstance(layer, ActivationQuantizer) for layer in [*model.layers, *backbone.layers])
    x = np.random.default_rng(0).uniform(0, 255, (8, 8, 8, 3)).astype(np.float32)
    for name in ("bn", "project_bn"):  # as fine-tuning freezes them: training then runs them as inference does
        backbone.get_layer(name).trainable = False
    simulated(x, training=True)  # the quantizers take their ranges from x
    # the simulation's output is the model's own, each stored tensor rounded
    difference = np.abs(keras.ops.convert_to_numpy(simulated(x)) - keras.ops.convert_to_numpy(model(x)))
    assert 0 < difference.max() < 0.05
    before = model.get_layer("head").get_weights()[0].copy()
    simulated.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    simulated.fit(x, np.ones((8, 64, 2), np.float32), epochs=1, verbose=0)
    assert not np.allclose(model.get_layer("head").get_weights()[0], before)


def test_the_range_grows_to_every_value_seen_as_calibration_takes_it():
    quantizer = ActivationQuantizer()
    quantizer(np.array([[-1.0, 3.0]], np.float32), training=True)
    quantizer(np.array([[-2.0, 1.0]], np.float32), training=True)
    quantizer(np.array([[0.5, 0.7]], np.float32), training=True)  # a narrower batch narrows nothing
    assert (float(quantizer.range_min.numpy()), float(quantizer.range_max.numpy())) == (-2.0, 3.0)
