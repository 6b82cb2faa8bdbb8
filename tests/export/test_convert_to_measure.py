"""The fast int8 conversion that prices a trial before it trains must produce what the shipping conversion
produces: the same ops in the same order, the same tensors and quantisation, the same size within bytes."""

import numpy as np
import pytest

from zazu.export.tflite_graph import read_graph


def _representative():
    rng = np.random.default_rng(0)
    return (rng.uniform(0, 255, (1, 24, 24, 3)).astype(np.float32) for _ in range(3))


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """A two-headed model (like a detector's) with BatchNorm to fold, a depthwise layer and the FPN's nearest
    upsampling, converted both ways."""
    import keras

    from zazu.export.tflite import convert_int8
    from zazu.nn.layers import upsample_nearest

    keras.utils.set_random_seed(0)
    inputs = keras.Input((24, 24, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(max_value=6)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    coarse = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Add()([x, upsample_nearest(coarse, (12, 12))])
    boxes = keras.layers.Conv2D(4, 1)(x)
    scores = keras.layers.Conv2D(3, 1, activation="sigmoid")(x)
    model = keras.Model(inputs, [boxes, scores])
    folder = tmp_path_factory.mktemp("measure")
    return (read_graph(convert_int8(model, _representative, folder / "shipped.tflite")),
            read_graph(convert_int8(model, _representative, folder / "measured.tflite", for_measuring=True)))


def test_same_ops_tensors_and_quantisation(both):
    shipped, measured = both
    assert [op.name for op in measured.ops] == [op.name for op in shipped.ops]
    assert len(measured.ops) >= 5

    def tensors(graph):
        return sorted((t.shape, t.dtype, t.is_constant) for t in graph.tensors)

    assert tensors(measured) == tensors(shipped)
    image_shipped, image_measured = shipped.tensors[shipped.inputs[0]], measured.tensors[measured.inputs[0]]
    assert (image_measured.shape, image_measured.dtype) == ((1, 24, 24, 3), "INT8")
    assert image_measured.shape == image_shipped.shape


def test_same_size_within_a_few_hundred_bytes(both):
    shipped, measured = both
    # the SavedModel's signature names are the difference
    assert abs(measured.file_size - shipped.file_size) < 512, (measured.file_size, shipped.file_size)


def test_nudged_weights_measure_the_trained_size_and_are_restored_exactly(tmp_path):
    """An untrained model's identical constants (zero biases, BatchNorm's ones) are stored once by the
    converter, so it measures smaller than it ships; nudged, it measures as a trained one does."""
    import keras

    from zazu.export.tflite_cost import weights_as_if_trained
    from zazu.export.tflite import convert_int8

    keras.utils.set_random_seed(0)
    inputs = keras.Input((24, 24, 3))
    x = inputs
    for filters in (32, 32, 32, 32):
        x = keras.layers.Conv2D(filters, 1, use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Conv2D(filters, 1)(x)
    model = keras.Model(inputs, x)
    batch_norm = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    gamma, beta, mean, variance = batch_norm.get_weights()
    variance[::2] = 0.0  # dead channels, as pretrained backbones have: a variance nudged below 0 folds into NaN
    batch_norm.set_weights([gamma, beta, mean, variance])
    untrained = [w.copy() for w in model.get_weights()]

    def size(name):
        return convert_int8(model, _representative, tmp_path / name, for_measuring=True).stat().st_size

    as_built = size("untrained.tflite")
    with weights_as_if_trained(model):
        nudged = size("nudged.tflite")
    constants = {t.dtype for t in read_graph(tmp_path / "nudged.tflite").tensors if t.is_constant}
    assert constants <= {"INT8", "INT32"}, constants  # nothing left in float
    assert all((a == b).all() for a, b in zip(model.get_weights(), untrained))  # restored bit for bit
    rng = np.random.default_rng(1)
    # "trained": fresh random values everywhere, variances positive
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) if "variance" in v.path
                       else rng.normal(0, 0.1, w.shape).astype(w.dtype) for v, w in zip(model.weights, untrained)])
    trained = size("trained.tflite")
    assert abs(nudged - trained) <= 64, (as_built, nudged, trained)
    assert trained - as_built >= 256, (as_built, trained)  # the effect is there to measure
