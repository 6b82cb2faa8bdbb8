"""Pretrained weights: read PyTorch `.pth` files without torch.

Importing this package does not import TensorFlow or Keras.
"""

from zazu.nn.pretrained.sources import WEIGHT_PACKAGES, file_sha256, package_file
from zazu.nn.pretrained.torch_reader import read_state_dict

__all__ = ["WEIGHT_PACKAGES", "file_sha256", "package_file", "read_state_dict"]
