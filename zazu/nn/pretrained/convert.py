"""Copy a lukemelas-style EfficientNet-Lite state dict (PyTorch layout) into `zazu.nn.efficientnet_lite`.

Every tensor must land in exactly one Keras variable and every variable must receive one: a silent
leftover would mean a network that looks loaded but is partly random.
"""

from __future__ import annotations

import re

import numpy as np

from zazu.errors import WeightsError

# PyTorch module -> Keras layer name. Inside a block, the PyTorch BN names count BNs, not roles.
_TOP_LEVEL = {"_conv_stem": "stem_conv", "_bn0": "stem_bn", "_conv_head": "head_conv", "_bn1": "head_bn",
              "_fc": "logits"}
_IN_BLOCK = {"_expand_conv": "expand_conv", "_bn0": "expand_bn", "_depthwise_conv": "dwconv", "_bn1": "dw_bn",
             "_project_conv": "project_conv", "_bn2": "project_bn"}
_BLOCK_KEY = re.compile(r"_blocks\.(\d+)\.(\w+)$")

# PyTorch parameter -> Keras attribute holding the variable.
_BN_PARAMS = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


def keras_layer_name(module: str) -> str | None:
    """Returns the Keras layer name for the PyTorch module path `module` (e.g. `_blocks.3._bn1`), or None."""
    if module in _TOP_LEVEL:
        return _TOP_LEVEL[module]
    match = _BLOCK_KEY.match(module)
    if match and match.group(2) in _IN_BLOCK:
        return f"block{match.group(1)}_{_IN_BLOCK[match.group(2)]}"
    return None


def convert_efficientnet_lite(state_dict: dict[str, np.ndarray], model, source: str = "state dict") -> None:
    """Assign every tensor of `state_dict` to `model` (built by `efficientnet_lite`). Returns None.

    Raises `WeightsError` naming the key when a tensor has no layer or the wrong shape, and naming
    the variable when one is left unassigned. `_fc.*` may stay unused only when `model` has no
    `logits` layer (include_top=False). `source` names the file in messages."""
    import keras

    layers = {layer.name: layer for layer in model.layers}
    assigned = set()
    for key, value in state_dict.items():
        module, _, param = key.rpartition(".")
        if param == "num_batches_tracked":
            continue  # a PyTorch training counter; Keras has no equivalent
        layer_name = keras_layer_name(module)
        if layer_name is None or layer_name not in layers:
            if module == "_fc" and "logits" not in layers:
                continue
            raise WeightsError(f"Expected every tensor of {source} to fit {model.name}. Received: key={key} "
                               f"(no layer {layer_name or module} in the network)")
        layer = layers[layer_name]
        variable, array = _target(layer, param, value, keras)
        if variable is None:
            raise WeightsError(f"Expected every tensor of {source} to fit {model.name}. Received: key={key} "
                               f"(layer {layer_name} has no such parameter)")
        if tuple(variable.shape) != array.shape:
            raise WeightsError(f"Expected shape {tuple(variable.shape)} (after transposing) for layer {layer_name} "
                               f"from {source}. Received: key={key} shape={tuple(value.shape)}")
        variable.assign(array.astype(np.float32))
        assigned.add(id(variable))
    for variable in model.weights:
        if id(variable) not in assigned:
            raise WeightsError(f"Expected {source} to hold every weight of {model.name}. Received: no tensor for "
                               f"variable={variable.path}")


def _target(layer, param: str, value: np.ndarray, keras):
    """Returns (Keras variable, value in Keras layout) for the PyTorch parameter `param`, or (None, None)."""
    if isinstance(layer, keras.layers.BatchNormalization) and param in _BN_PARAMS:
        return getattr(layer, _BN_PARAMS[param]), value
    if isinstance(layer, keras.layers.DepthwiseConv2D) and param == "weight" and value.ndim == 4:
        return layer.kernel, value.transpose(2, 3, 0, 1)  # (C, 1, kh, kw) -> (kh, kw, C, 1)
    if isinstance(layer, keras.layers.Conv2D) and param == "weight" and value.ndim == 4:
        return layer.kernel, value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
    if isinstance(layer, keras.layers.Dense) and param == "weight" and value.ndim == 2:
        return layer.kernel, value.T  # (out, in) -> (in, out)
    if isinstance(layer, keras.layers.Dense) and param == "bias":
        return layer.bias, value
    return None, None
