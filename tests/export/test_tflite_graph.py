"""zazu.export.tflite_graph: reading a .tflite flatbuffer, MACs per op."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from zazu.errors import ZazuError
from zazu.export.tflite_graph import op_macs, read_graph


def _representative():
    rng = np.random.default_rng(0)
    return (rng.uniform(0, 255, (1, 16, 16, 3)).astype(np.float32) for _ in range(3))


@pytest.fixture(scope="module")
def tiny_int8(tmp_path_factory):
    """16x16x3 -> Conv2D 3x3x8 -> ReLU6 -> DepthwiseConv2D 3x3 -> GlobalAveragePooling -> Dense 4 softmax."""
    import keras

    from zazu.export.tflite import convert_int8

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", bias_initializer="ones")(inputs)
    x = keras.layers.ReLU(max_value=6)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", bias_initializer="ones")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax", bias_initializer="ones")(x)
    path = tmp_path_factory.mktemp("graph") / "tiny_int8.tflite"
    return convert_int8(keras.Model(inputs, outputs), _representative, path)


def test_ops_in_execution_order_with_their_tensors(tiny_int8):
    graph = read_graph(tiny_int8)

    assert [op.name for op in graph.ops] == ["CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"]
    assert [op.index for op in graph.ops] == [0, 1, 2, 3, 4]
    # each op reads what the previous one wrote
    for before, after in zip(graph.ops, graph.ops[1:]):
        assert after.inputs[0] == before.outputs[0]
    assert graph.ops[0].inputs[0] == graph.inputs[0]
    assert graph.ops[-1].outputs[0] == graph.outputs[0]
    assert graph.file_size == tiny_int8.stat().st_size

    image = graph.tensors[graph.inputs[0]]
    assert (image.shape, image.dtype, image.is_constant, image.size_bytes) == ((1, 16, 16, 3), "INT8", False, 768)
    assert image.shape_signature in (None, (1, 16, 16, 3))
    conv_weights = graph.tensors[graph.ops[0].inputs[1]]
    assert (conv_weights.shape, conv_weights.dtype, conv_weights.is_constant) == ((8, 3, 3, 3), "INT8", True)
    conv_bias = graph.tensors[graph.ops[0].inputs[2]]
    assert (conv_bias.shape, conv_bias.dtype, conv_bias.is_constant, conv_bias.size_bytes) == ((8,), "INT32", True, 32)
    probabilities = graph.tensors[graph.outputs[0]]
    assert (probabilities.shape, probabilities.dtype, probabilities.is_constant) == ((1, 4), "INT8", False)


def test_macs_match_hand_computation(tiny_int8):
    graph = read_graph(tiny_int8)
    macs = {op.name: op_macs(graph, op) for op in graph.ops}

    assert macs["CONV_2D"] == 16 * 16 * 8 * (3 * 3 * 3)  # out_h*out_w*out_c * k_h*k_w*in_c = 55296
    assert macs["DEPTHWISE_CONV_2D"] == 16 * 16 * 8 * (3 * 3)  # 18432
    assert macs["FULLY_CONNECTED"] == 8 * 4  # in_features * out_features, batch 1
    assert macs["MEAN"] == 0 and macs["SOFTMAX"] == 0


def test_missing_file_is_a_zazu_error_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "model.tflite"
    with pytest.raises(ZazuError, match="not found") as error:
        read_graph(missing)
    assert str(missing) in str(error.value)


def test_a_file_that_is_not_tflite_is_a_zazu_error_naming_the_path(tmp_path):
    text = tmp_path / "model.tflite"
    text.write_text("this is not a flatbuffer, just some text\n")
    with pytest.raises(ZazuError, match="TFL3") as error:
        read_graph(text)
    assert str(text) in str(error.value)


def test_a_truncated_model_is_a_zazu_error(tiny_int8, tmp_path):
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(tiny_int8.read_bytes()[:64])  # keeps the TFL3 identifier, loses the tables
    with pytest.raises(ZazuError, match="Corrupt") as error:
        read_graph(truncated)
    assert str(truncated) in str(error.value)


def test_importing_the_export_modules_does_not_import_tensorflow():
    code = ("import sys, zazu.export.tflite_graph, zazu.export.edgetpu, zazu.export.profile; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
