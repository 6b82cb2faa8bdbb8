"""The detector coder contract: what differs between detector families.

A detection or segmentation zoo entry is a coder (from `make_coder()`) and its
`models.json` entry: `DetectionAdapter.build()` puts the coder's heads on a
backbone from `zazu.nn.backbones` and a feature pyramid over `coder.strides`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class DetectionCoder(Protocol):
    strides: tuple[int, ...]
    """The pyramid levels the heads read (e.g. (8, 16, 32)); `fpn` builds them."""

    def outputs(self, features: dict[int, Any]) -> list[Any]:
        """Pyramid {stride: tensor} -> the network's output tensors (Keras), in a fixed order."""
        ...

    def encode(self, boxes, labels, *masks) -> tuple:
        """Batched targets in tf.data: boxes [B, M, 4] (letterboxed pixels), labels [B, M] (-1 = none)
        and, for segmenters, masks [B, H, W, M] -> one target tensor per output. The targets must not
        depend on the padding: the pipeline cuts each batch after the last slot it uses
        (`zazu.nn.boxes.used_slots`), so M varies from batch to batch."""
        ...

    def losses(self) -> list:
        """One Keras loss per output, in the order of `outputs`."""
        ...

    def decode(self, outputs: list[np.ndarray], score_threshold: float, max_detections: int) -> tuple:
        """One image's outputs (NumPy, no batch axis) -> boxes [K, 4] (letterboxed pixels), scores [K],
        labels [K] (and grid masks [K, h, w] for segmenters), before NMS. Runs outside the network,
        the same for the float and the int8 model."""
        ...
