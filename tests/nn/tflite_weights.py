"""The int8 weights a .tflite file stores, dequantized: what the converter made of a model's kernels."""

from __future__ import annotations

import numpy as np


def tflite_weights(path) -> dict[tuple, np.ndarray]:
    """{shape: dequantized int8 weights} of every constant int8 tensor of a .tflite file."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    weights = {}
    for tensor in model.subgraphs[0].tensors:
        data = model.buffers[tensor.buffer].data
        if tensor.type != 9 or data is None or len(data) == 0:  # 9: INT8
            continue
        values = np.frombuffer(bytes(bytearray(data)), np.int8).astype(np.float64).reshape(tensor.shape)
        scale = np.asarray(tensor.quantization.scale)
        shape = [1] * values.ndim
        shape[tensor.quantization.quantizedDimension] = -1
        weights[tuple(tensor.shape)] = values * scale.reshape(shape)
    return weights
