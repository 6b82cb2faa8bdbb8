"""Which anchors learn from which boxes, and which boxes any anchor can reach.

Two assignments. `iou_assign` (the default, RetinaNet's): IoU >= 0.5 positive, below 0.4
background, between ignored, each box's best anchor positive however low. `atss_assign` is ATSS (Zhang et al. 2020, "Bridging the Gap Between Anchor-based and Anchor-free
Detection"): for each box, the anchors at the `CANDIDATE_LOCATIONS` grid cells nearest its centre on
every pyramid level are candidates; those whose IoU with the box is at least the candidates' mean
plus their standard deviation, and whose centre lies inside the box, are positive. The threshold
adapts to each object, so a 20-px object gets about as many positives as a 200-px one. A fixed IoU
of 0.5 gave a small object one forced positive at IoU 0.4 where a large one had dozens. Measured on
the dense set (bench/dense_detection.py, retinanet_lite at 512 px, 10 epochs), ATSS lost to the IoU
rule once the input size and anchor scales were fitted to the data (which give small objects anchors
at IoU >= 0.5): mAP50 0.715 (9 cells a level) and 0.702 (1 cell) against 0.772. So the IoU rule is
the default and ATSS a choice (`assigner: atss`).

Reach (AutoAnchor's "best possible recall", Ultralytics): a box is reachable when some anchor
shape, centred on it, overlaps it at IoU >= `REACH_IOU`. Measured before training, per class.
"""

from __future__ import annotations

import numpy as np

CANDIDATE_LOCATIONS = 9  # nearest grid cells per level (the ATSS paper's top-k)
REACH_IOU = 0.5  # the IoU at which an anchor's regression starts from a reasonable guess
MAX_BOXES = 1 << 16  # boxes an image may hold in one encoding (the assignment's key packs the index)
REACH_GOAL = 0.98  # share of boxes that must be reachable (AutoAnchor's best-possible-recall bar)


POSITIVE_IOU = 0.5
NEGATIVE_IOU = 0.4


def iou_assign(anchors: np.ndarray, boxes, labels):
    """(positive [B, A] bool, ignored [B, A] bool, index of the matched box [B, A]) under RetinaNet's rule."""
    import tensorflow as tf

    valid = labels >= 0
    iou = _iou(tf.constant(anchors)[None, :, None, :], boxes[:, None, :, :])  # [B, A, M]
    iou = tf.where(valid[:, None, :], iou, -1.0)
    best_box = tf.argmax(iou, axis=2, output_type=tf.int32)  # [B, A]
    best_iou = tf.reduce_max(iou, axis=2)
    best_anchor_iou = tf.reduce_max(iou, axis=1, keepdims=True)  # [B, 1, M]
    forced = tf.reduce_any((iou >= best_anchor_iou) & (iou > 0) & valid[:, None, :], axis=2)
    positive = (best_iou >= POSITIVE_IOU) | forced
    return positive, ~positive & (best_iou >= NEGATIVE_IOU), best_box


def atss_assign(anchors: np.ndarray, level_locations: list[int], per_location: int, boxes, labels):
    """(positive [B, A] bool, index of the matched box [B, A]) under ATSS.

    `anchors` [A, 4] ordered level by level, location-major (each location's `per_location` anchors
    together); `level_locations` the grid cells of each level; `boxes` [B, M, 4], `labels` [B, M]
    (-1 = padding). Works on each box's candidates only ([B, M, 9 cells x anchors x levels]) and
    scatters the choices to the anchors: an IoU over every anchor and box tripled the encoding time."""
    import tensorflow as tf

    valid = labels >= 0  # [B, M]
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2.0  # [A, 2]
    box_centres = (boxes[..., :2] + boxes[..., 2:]) / 2.0  # [B, M, 2]
    indexes, start = [], 0
    for cells in level_locations:
        location_centres = tf.constant(centres[start:start + cells * per_location:per_location])  # [L, 2]
        distance = tf.reduce_sum(tf.square(box_centres[:, :, None, :] - location_centres[None, None]), -1)
        nearest = tf.math.top_k(-distance, k=min(CANDIDATE_LOCATIONS, cells)).indices  # [B, M, k]
        anchor_index = start + nearest[..., None] * per_location + tf.range(per_location)  # [B, M, k, P]
        indexes.append(tf.reshape(anchor_index, tf.concat([tf.shape(nearest)[:2], [-1]], 0)))
        start += cells * per_location
    candidates = tf.concat(indexes, axis=2)  # [B, M, N] anchor indexes
    candidate_boxes = tf.gather(tf.constant(anchors), candidates)  # [B, M, N, 4]
    overlap = _iou(candidate_boxes, boxes[:, :, None, :])  # [B, M, N]
    mean = tf.reduce_mean(overlap, axis=2, keepdims=True)
    std = tf.math.reduce_std(overlap, axis=2, keepdims=True)
    cx = (candidate_boxes[..., 0] + candidate_boxes[..., 2]) / 2.0
    cy = (candidate_boxes[..., 1] + candidate_boxes[..., 3]) / 2.0
    b = boxes[:, :, None, :]
    inside = (cx > b[..., 0]) & (cx < b[..., 2]) & (cy > b[..., 1]) & (cy < b[..., 3])
    chosen = (overlap >= mean + std) & inside & (overlap > 0)
    # a box no candidate passed for (tinier than a grid cell, its centre between anchors) keeps its best one
    orphan = ~tf.reduce_any(chosen, axis=2, keepdims=True)
    chosen = (chosen | (orphan & (overlap >= tf.reduce_max(overlap, axis=2, keepdims=True)) & (overlap > 0)))
    chosen &= valid[:, :, None]
    # An anchor several boxes chose goes to the one it overlaps most: one key holds the overlap (high
    # digits) and the box (low digits), and a segment max over anchors picks it.
    shape = tf.shape(candidates)
    box_index = tf.broadcast_to(tf.range(shape[1], dtype=tf.int64)[None, :, None], shape)
    key = tf.cast(tf.round(overlap * 1e5), tf.int64) * MAX_BOXES + box_index
    key = tf.where(chosen, key, -1)
    total = tf.shape(anchors)[0]
    segment = tf.cast(tf.range(shape[0])[:, None, None] * total + candidates, tf.int64)
    best = tf.math.unsorted_segment_max(tf.reshape(key, [-1]), tf.reshape(segment, [-1]), shape[0] * total)
    best = tf.reshape(best, [shape[0], total])
    return best >= 0, tf.cast(tf.maximum(best, 0) % MAX_BOXES, tf.int32)


def _iou(a, b):
    """IoU of xyxy boxes broadcast against each other."""
    import tensorflow as tf

    w = tf.maximum(tf.minimum(a[..., 2], b[..., 2]) - tf.maximum(a[..., 0], b[..., 0]), 0.0)
    h = tf.maximum(tf.minimum(a[..., 3], b[..., 3]) - tf.maximum(a[..., 1], b[..., 1]), 0.0)
    inter = w * h
    union = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / tf.maximum(union - inter, 1e-9)


def shape_iou(box_wh: np.ndarray, anchor_wh: np.ndarray) -> np.ndarray:
    """IoU of boxes [N, 2] and anchor shapes [K, 2], each pair centred on one point: [N, K]."""
    inter = (np.minimum(box_wh[:, None, 0], anchor_wh[None, :, 0])
             * np.minimum(box_wh[:, None, 1], anchor_wh[None, :, 1]))
    union = box_wh[:, None].prod(-1) + anchor_wh[None].prod(-1) - inter
    return inter / np.maximum(union, 1e-9)


def reachable(box_wh: np.ndarray, anchor_wh: np.ndarray) -> np.ndarray:
    """[N] bool: does some anchor shape reach each box at IoU >= REACH_IOU?"""
    if len(box_wh) == 0:
        return np.zeros(0, bool)
    return shape_iou(box_wh, anchor_wh).max(axis=1) >= REACH_IOU


def reach_share(box_wh: np.ndarray, anchor_wh: np.ndarray) -> float:
    """The share of boxes [N, 2] some anchor shape reaches (1.0 for no box)."""
    return float(reachable(box_wh, anchor_wh).mean()) if len(box_wh) else 1.0
