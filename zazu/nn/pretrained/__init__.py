"""Pretrained weights: read PyTorch `.pth` files without torch and convert them to Keras.

    from zazu.nn.pretrained import imagenet_weights, read_state_dict
    path = imagenet_weights("efficientnet_lite0")  # cached Keras .weights.h5

Importing this package does not import TensorFlow or Keras.
"""

from zazu.nn.pretrained.convert import convert_efficientnet_lite, keras_layer_name
from zazu.nn.pretrained.sources import (WEIGHT_PACKAGES, cached_weights_path, check_weights_source, file_sha256,
                                        imagenet_weights, load_weights, package_file,
                                        pretrained_efficientnet_lite)
from zazu.nn.pretrained.torch_reader import read_state_dict

__all__ = [
    "WEIGHT_PACKAGES", "cached_weights_path", "check_weights_source", "convert_efficientnet_lite", "file_sha256", "imagenet_weights",
    "keras_layer_name", "load_weights", "package_file", "pretrained_efficientnet_lite", "read_state_dict",
]
