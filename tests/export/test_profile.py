"""zazu.export.profile: parameters, MACs, activation memory and measured latency of a .tflite."""

from __future__ import annotations

import os

import numpy as np
import pytest

from zazu.errors import ZazuError
from zazu.export.tflite_graph import Graph, OpInfo, TensorInfo, read_graph
from zazu.export.profile import parameter_count, peak_activation_bytes, profile_tflite


@pytest.fixture(scope="module")
def chain_int8(tmp_path_factory):
    """8x8x3 int8 -> Conv2D 1x1x4 (ReLU fused) -> MaxPool 2x2: two ops in a chain."""
    import keras

    from zazu.export.tflite import convert_int8

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 1, activation="relu", bias_initializer="ones")(inputs)
    outputs = keras.layers.MaxPooling2D(2)(x)

    def representative():
        rng = np.random.default_rng(1)
        return (rng.uniform(0, 255, (1, 8, 8, 3)).astype(np.float32) for _ in range(3))

    path = tmp_path_factory.mktemp("profile") / "chain_int8.tflite"
    return convert_int8(keras.Model(inputs, outputs), representative, path)


def test_static_figures_of_a_chain_model_match_hand_computation(chain_int8):
    graph = read_graph(chain_int8)
    assert [op.name for op in graph.ops] == ["CONV_2D", "MAX_POOL_2D"]

    # int8 activations, 1 byte each: input 8*8*3 = 192, conv output 8*8*4 = 256, pool output 4*4*4 = 64.
    # During CONV_2D the input and its output are alive (448); during MAX_POOL_2D only 256 + 64 (the input is dead).
    assert peak_activation_bytes(graph) == 192 + 256
    # 1x1x3x4 int8 weights + 4 int32 biases
    assert parameter_count(graph) == 3 * 4 + 4


def test_graph_inputs_stay_alive_until_their_last_reader():
    def tensor(index, size, constant=False):
        return TensorInfo(index, f"t{index}", (size,), None, "INT8", constant, size)

    # a (100 B, input) -> op0 -> b (10 B) -> op1 -> c (20 B); op2 reads a and c -> d (5 B, output)
    tensors = (tensor(0, 100), tensor(1, 10), tensor(2, 20), tensor(3, 5), tensor(4, 1000, constant=True))
    ops = (OpInfo(0, "RELU", (0,), (1,)), OpInfo(1, "ADD", (1, 4), (2,)), OpInfo(2, "ADD", (0, 2), (3,)))
    graph = Graph("hand.tflite", ops, tensors, (0,), (3,), 0)

    # op0: a+b = 110; op1: a+b+c = 130; op2: a+c+d = 125. Constants (4) are not activations.
    assert peak_activation_bytes(graph) == 130
    # the 1000-element constant is an ADD operand (INT8): a parameter
    assert parameter_count(graph) == 1000


def test_profile_reports_static_figures_and_measured_latency(chain_int8):
    result = profile_tflite(chain_int8)

    assert result["file_size_bytes"] == chain_int8.stat().st_size
    assert result["parameters"] == 16
    assert result["macs"] == 8 * 8 * 4 * 3  # out_h*out_w*out_c * 1*1*in_c
    assert result["peak_activation_bytes"] == 448
    assert result["input_shape"] == [1, 8, 8, 3] and result["input_dtype"] == "int8"
    assert result["runs"] >= 50 and result["warmup"] == 5
    assert result["latency_median_ms"] > 0 and result["latency_p90_ms"] >= result["latency_median_ms"]
    assert result["num_threads"] == os.cpu_count() and result["num_threads_source"] == "os.cpu_count()"
    print(f"\nchain_int8 latency: median {result['latency_median_ms']:.3f} ms, "
          f"p90 {result['latency_p90_ms']:.3f} ms, {result['num_threads']} threads")


def test_profile_uses_the_requested_thread_count(chain_int8):
    result = profile_tflite(chain_int8, runs=60, warmup=0, num_threads=1)

    assert result["num_threads"] == 1 and result["num_threads_source"] == "requested"
    assert result["runs"] == 60 and result["latency_median_ms"] > 0


@pytest.mark.parametrize("kwargs, name", [({"runs": 0}, "runs"), ({"warmup": -1}, "warmup"),
                                          ({"num_threads": 0}, "num_threads")])
def test_bad_arguments_are_zazu_errors(chain_int8, kwargs, name):
    with pytest.raises(ZazuError, match=f"Received: {name}="):
        profile_tflite(chain_int8, **kwargs)


def test_profile_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(ZazuError, match="missing.tflite"):
        profile_tflite(tmp_path / "missing.tflite")
