"""Box utilities: anchors, box coding, IoU and NMS. Boxes are [x0, y0, x1, y1] pixels."""

from __future__ import annotations

import numpy as np

BOX_VARIANCE = np.array([0.1, 0.1, 0.2, 0.2], np.float32)  # the usual SSD/RetinaNet delta scaling


def anchor_grid(image_size: tuple[int, int], strides, scales, ratios, base: float = 4.0) -> np.ndarray:
    """Anchors [A, 4] for each stride's grid, each cell with len(scales) * len(ratios) anchors.

    An anchor at stride s has side base * s * scale, reshaped by ratio (height / width)."""
    anchors = []
    for stride in strides:
        h, w = image_size[0] // stride, image_size[1] // stride
        cy, cx = np.meshgrid((np.arange(h) + 0.5) * stride, (np.arange(w) + 0.5) * stride, indexing="ij")
        shapes = []
        for scale in scales:
            for ratio in ratios:
                side = base * stride * scale
                shapes.append((side / np.sqrt(ratio), side * np.sqrt(ratio)))  # (width, height)
        shapes = np.asarray(shapes, np.float32)
        centres = np.stack([cx, cy], -1).reshape(-1, 1, 2)
        half = shapes[None] / 2
        grid = np.concatenate([centres - half, centres + half], -1).reshape(-1, 4)
        anchors.append(grid)
    return np.concatenate(anchors).astype(np.float32)


def used_slots(boxes, labels, *masks):
    """A batch's padded instances (labels -1) cut after the last slot any of its images uses (at
    least one): boxes [B, M, 4], labels [B, M] and masks [B, H, W, M] -> the same with M the slots
    used. Encoding works on every slot, and `max_instances` (50) is mostly padding: RetinaNet's
    anchor matching at 96 px spent 98 ms of CPU a batch of 16 on it, a sixth of the training step
    beside it on 2 cores (`bench/training_feed.py`). A coder's targets must not depend on how many
    padding slots follow (`tests/nn/test_box_coding.py`)."""
    import tensorflow as tf

    slot_numbers = tf.range(1, tf.shape(labels)[1] + 1)
    used = tf.maximum(tf.reduce_max(tf.where(labels >= 0, slot_numbers[None], 0)), 1)
    return (boxes[:, :used], labels[:, :used], *[m[..., :used] for m in masks])


def encode(boxes, anchors):
    """Boxes -> deltas relative to anchors (centre offsets and log sizes, scaled by BOX_VARIANCE)."""
    import tensorflow as tf

    a_wh = anchors[..., 2:] - anchors[..., :2]
    a_c = anchors[..., :2] + a_wh / 2
    b_wh = tf.maximum(boxes[..., 2:] - boxes[..., :2], 1e-3)
    b_c = boxes[..., :2] + b_wh / 2
    deltas = tf.concat([(b_c - a_c) / a_wh, tf.math.log(b_wh / a_wh)], -1)
    return deltas / BOX_VARIANCE


def decode(deltas: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Inverse of `encode`, in NumPy (decoding runs outside the exported network)."""
    deltas = deltas * BOX_VARIANCE
    a_wh = anchors[:, 2:] - anchors[:, :2]
    a_c = anchors[:, :2] + a_wh / 2
    c = a_c + deltas[:, :2] * a_wh
    wh = a_wh * np.exp(np.clip(deltas[:, 2:], -6.0, 6.0))
    return np.concatenate([c - wh / 2, c + wh / 2], -1)


def decode_tf(deltas, anchors):
    """`decode` in TensorFlow, for a loss: deltas [..., 4] against anchors broadcast to them."""
    import tensorflow as tf

    deltas = deltas * BOX_VARIANCE
    a_wh = anchors[..., 2:] - anchors[..., :2]
    a_c = anchors[..., :2] + a_wh / 2
    c = a_c + deltas[..., :2] * a_wh
    wh = a_wh * tf.exp(tf.clip_by_value(deltas[..., 2:], -6.0, 6.0))
    return tf.concat([c - wh / 2, c + wh / 2], -1)


def giou(a, b):
    """Generalized IoU of boxes a and b [..., 4], elementwise: IoU less the share of their enclosing box
    that neither covers; 1 for equal boxes, towards -1 for far apart ones."""
    import tensorflow as tf

    area_a = tf.reduce_prod(tf.maximum(a[..., 2:] - a[..., :2], 0.0), -1)
    area_b = tf.reduce_prod(tf.maximum(b[..., 2:] - b[..., :2], 0.0), -1)
    inter = tf.reduce_prod(tf.maximum(tf.minimum(a[..., 2:], b[..., 2:]) - tf.maximum(a[..., :2], b[..., :2]), 0.0), -1)
    union = area_a + area_b - inter
    enclosing = tf.reduce_prod(tf.maximum(a[..., 2:], b[..., 2:]) - tf.minimum(a[..., :2], b[..., :2]), -1)
    return inter / tf.maximum(union, 1e-6) - (enclosing - union) / tf.maximum(enclosing, 1e-6)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5, max_out: int = 100) -> np.ndarray:
    """Greedy non-maximum suppression; indexes of the kept boxes, best first."""
    order = np.argsort(-scores)
    keep = []
    while order.size and len(keep) < max_out:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
        area = np.prod(boxes[rest, 2:] - boxes[rest, :2], axis=1)
        iou = inter / np.maximum(np.prod(boxes[i, 2:] - boxes[i, :2]) + area - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float = 0.5,
                max_out: int = 100) -> np.ndarray:
    """NMS per class (boxes of different classes never suppress each other)."""
    if not len(boxes):
        return np.zeros((0,), np.int64)
    offset = labels[:, None].astype(np.float32) * (boxes.max() + 1.0)
    keep = nms(boxes + offset, scores, iou_threshold, max_out)
    return keep
