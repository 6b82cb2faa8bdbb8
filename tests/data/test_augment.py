"""Boxes and masks must still cover the same object after flips, rotation and zoom.

Each image holds one white square on black; after augmentation the object's
true extent is measured from the pixels and compared with the transformed box
and mask."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.config import resolve_config
from zazu.data.augment import build_augmenter, resolve_augmentation
from zazu.errors import ConfigError

SIZE = 64
N = 16


def _batch():
    rng = np.random.default_rng(0)
    images = np.zeros((N, SIZE, SIZE, 3), np.float32)
    boxes = np.zeros((N, 2, 4), np.float32)
    labels = np.full((N, 2), -1, np.int32)
    masks = np.zeros((N, SIZE, SIZE, 2), np.float32)
    for i in range(N):
        x0, y0 = rng.integers(12, 30, size=2)
        w, h = rng.integers(12, 20, size=2)
        images[i, y0:y0 + h, x0:x0 + w] = 255.0
        masks[i, y0:y0 + h, x0:x0 + w, 0] = 1.0
        boxes[i, 0] = (x0, y0, x0 + w, y0 + h)
        labels[i, 0] = 1
    return {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}, "segmentation_masks": masks}


def _extent(region: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(region)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("settings, min_box_iou", [
    ({"horizontal_flip": True, "vertical_flip": True}, 0.95),
    ({"horizontal_flip": False, "rotation_range": 30}, 0.8),
    ({"horizontal_flip": False, "zoom_range": 0.3}, 0.85),
    ({"horizontal_flip": True, "vertical_flip": True, "rotation_range": 20, "zoom_range": 0.2,
      "width_shift_range": 0.1, "height_shift_range": 0.1}, 0.8),  # all at once: one composed transform
])
def test_boxes_and_masks_follow_the_object(settings, min_box_iou):
    import tensorflow as tf

    before = _batch()
    augment = build_augmenter(resolve_augmentation({**settings, "mosaic": 0}), seed=1)
    after = augment(tf.nest.map_structure(tf.constant, before))
    images = after["images"].numpy()
    boxes = after["bounding_boxes"]["boxes"].numpy()
    labels = after["bounding_boxes"]["labels"].numpy()
    masks = after["segmentation_masks"].numpy()

    assert labels.dtype == np.int32
    moved = 0
    for i in range(N):
        assert labels[i, 1] == -1  # padding stays padding
        obj = images[i, ..., 0] > 127
        if labels[i, 0] < 0:  # dropped: it must have left the image
            assert obj.sum() < 4
            continue
        truth = _extent(obj)
        assert _iou(boxes[i, 0], truth) >= min_box_iou, (i, boxes[i, 0], truth)
        mask = masks[i, ..., 0] > 0.5
        mask_iou = (mask & obj).sum() / (mask | obj).sum()
        assert mask_iou >= 0.85, (i, mask_iou)
        moved += not np.allclose(boxes[i, 0], before["bounding_boxes"]["boxes"][i, 0], atol=0.5)
    assert moved >= N // 4  # the transform really happened to a good share of the batch


def test_boxes_leaving_the_image_are_clipped_or_dropped():
    import tensorflow as tf

    batch = _batch()
    augment = build_augmenter(resolve_augmentation({"mosaic": 0, "horizontal_flip": False, "zoom_range": 0.0,
                                                    "width_shift_range": 0.6}), seed=3)
    out = augment(tf.nest.map_structure(tf.constant, batch))
    boxes = out["bounding_boxes"]["boxes"].numpy()
    labels = out["bounding_boxes"]["labels"].numpy()
    kept = labels >= 0
    assert (boxes[kept] >= 0).all() and (boxes[kept] <= SIZE).all()
    assert ((boxes[kept][:, 2] - boxes[kept][:, 0]) >= 2).all()
    # a dropped box's mask is emptied with it
    masks = out["segmentation_masks"].numpy()
    for i, j in zip(*np.nonzero(~kept)):
        assert masks[i, ..., j].sum() == 0


def test_unknown_or_bad_augmentation_keys_are_config_errors():
    with pytest.raises(ConfigError, match="Did you mean `rotation_range`"):
        resolve_config(overrides={"augmentation": {"rotaton_range": 10}})
    with pytest.raises(ConfigError, match="noise"):
        resolve_augmentation({"noise": -1})
    with pytest.raises(ConfigError, match="horizontal_flip"):
        resolve_augmentation({"horizontal_flip": "yes"})
    with pytest.raises(ConfigError, match="zoom_range` must be a number >= 0 and below 1. Received: zoom_range=1.5"):
        resolve_augmentation({"zoom_range": 1.5})
