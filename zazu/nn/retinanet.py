"""RetinaNet-style single-shot detection with anchors on a feature pyramid (Lin et al. 2017).

Network outputs: class probabilities [B, A, C] (sigmoid) and box deltas [B, A, 4]
over all anchors of the pyramid. Anchors are matched to boxes in tf.data by ATSS
(`zazu.nn.assign`: IoU >= 0.5 positive, below 0.4 background, each box's best
anchor positive; or ATSS with `assigner="atss"`); decoding and NMS run in NumPy
outside the exported network.
"""

from __future__ import annotations

import numpy as np

from zazu.nn.assign import REACH_GOAL, atss_assign, iou_assign, reach_share
from zazu.nn.boxes import anchor_grid, decode, decode_tf, encode, giou

PRIOR_BIAS = -4.595  # sigmoid = 0.01: the focal-loss paper's prior for rare foreground
ANCHOR_BASE = 4.0  # an anchor at stride s has side ANCHOR_BASE * s * scale (RetinaNet's 32 px at P3)
SCALE_STEP = 2 ** (1 / 3)  # the ladder `fit_anchor_scales` adds scales on: RetinaNet's octave thirds
ASSIGNERS = ("iou", "atss")
# "huber": smooth L1 on the deltas; "giou": plus 1 - GIoU of the decoded boxes (Rezatofighi et al. 2019), which
# weighs a box's overlap, what COCO's AP at 0.5-0.95 scores, rather than each coordinate apart
BOX_LOSSES = ("huber", "giou")
MAX_ADDED_SCALES = 3  # an octave beyond the pyramid's ends, at most


class RetinaNetCoder:
    def __init__(self, image_size: tuple[int, int], num_classes: int, anchor_scales=(1.0, 1.26, 1.587),
                 anchor_ratios=(0.5, 1.0, 2.0), head_channels: int = 64, head_depth: int = 2,
                 strides: tuple[int, ...] = (8, 16, 32), assigner: str = "iou", box_loss: str = "huber"):
        self.strides = tuple(int(s) for s in strides)  # P3-P5; (8, 16, 32, 64) adds P6 for large objects
        self.image_size = image_size
        self.num_classes = num_classes
        self.scales = [float(s) for s in anchor_scales]
        self.ratios = [float(r) for r in anchor_ratios]
        self.per_location = len(self.scales) * len(self.ratios)
        self.head_channels = head_channels
        self.head_depth = head_depth
        self.anchors = anchor_grid(image_size, self.strides, self.scales, self.ratios, ANCHOR_BASE)
        if assigner not in ASSIGNERS:
            raise ValueError(f"Expected assigner to be one of {', '.join(ASSIGNERS)}. Received: assigner={assigner!r}")
        self.assigner = assigner
        if box_loss not in BOX_LOSSES:
            raise ValueError(f"Expected box_loss to be one of {', '.join(BOX_LOSSES)}. Received: box_loss={box_loss!r}")
        self.box_loss = box_loss
        self.level_locations = [(image_size[0] // s) * (image_size[1] // s) for s in self.strides]

    def anchor_shapes(self) -> np.ndarray:
        """Every distinct anchor (width, height) over the pyramid, [K, 2] in input pixels."""
        return anchor_shapes(self.strides, self.scales, self.ratios)

    def fit_anchor_scales(self, box_wh: np.ndarray) -> list[float]:
        """This pyramid's anchor scales extended to reach boxes [N, 2] (`fit_anchor_scales`)."""
        return fit_anchor_scales(box_wh, self.strides, self.scales, self.ratios)

    # -- network ------------------------------------------------------------------------
    def outputs(self, features: dict[int, object]):
        """Shared class and box heads over P3-P5, flattened and concatenated over anchors."""
        import keras
        from keras import layers

        def tower(name):
            convs = [layers.Conv2D(self.head_channels, 3, padding="same", activation="relu", name=f"{name}_{i}")
                     for i in range(self.head_depth)]
            return convs

        cls_tower, box_tower = tower("cls_tower"), tower("box_tower")
        cls_out = layers.Conv2D(self.per_location * self.num_classes, 3, padding="same", activation="sigmoid",
                                bias_initializer=keras.initializers.Constant(PRIOR_BIAS), name="cls_head")
        box_out = layers.Conv2D(self.per_location * 4, 3, padding="same", name="box_head")
        scores, deltas = [], []
        for stride in self.strides:
            x = c = features[stride]
            for conv in cls_tower:
                c = conv(c)
            b = x
            for conv in box_tower:
                b = conv(b)
            scores.append(layers.Reshape((-1, self.num_classes))(cls_out(c)))
            deltas.append(layers.Reshape((-1, 4))(box_out(b)))
        return [layers.Concatenate(axis=1, name="scores")(scores), layers.Concatenate(axis=1, name="deltas")(deltas)]

    # -- targets (tf, batched) ------------------------------------------------------------
    def encode(self, boxes, labels):
        """boxes [B, M, 4], labels [B, M] (-1 = none) -> (class targets [B, A, 1], box targets [B, A, 5]).

        Class targets hold the class index, -1 for background and -2 for ignored anchors (none
        under ATSS);
        box targets hold the encoded deltas and a positive flag."""
        import tensorflow as tf

        anchors = tf.constant(self.anchors)
        if self.assigner == "atss":
            positive, best_box = atss_assign(self.anchors, self.level_locations, self.per_location, boxes, labels)
            ignored = tf.zeros_like(positive)
        else:
            positive, ignored, best_box = iou_assign(self.anchors, boxes, labels)
        matched_labels = tf.gather(labels, best_box, batch_dims=1)
        cls = tf.where(positive, matched_labels, tf.where(ignored, -2, -1))
        matched_boxes = tf.gather(boxes, best_box, batch_dims=1)
        deltas = encode(matched_boxes, anchors[None])
        box = tf.concat([deltas, tf.cast(positive, tf.float32)[..., None]], -1)
        # [B, A, 1]: the same rank as the scores, so Keras never squeezes a 1-class output to match
        return tf.cast(cls, tf.float32)[..., None], box

    # -- loss ---------------------------------------------------------------------------
    def losses(self, alpha: float = 0.25, gamma: float = 2.0):
        import tensorflow as tf

        num_classes = self.num_classes

        def focal_loss(y_true, y_pred):
            labels = tf.cast(y_true[..., 0], tf.int32)
            target = tf.one_hot(tf.maximum(labels, 0), num_classes) * tf.cast(labels >= 0, tf.float32)[..., None]
            p = tf.clip_by_value(y_pred, 1e-6, 1 - 1e-6)
            pt = tf.where(target > 0, p, 1 - p)
            weight = tf.where(target > 0, alpha, 1 - alpha) * tf.pow(1 - pt, gamma)
            loss = -weight * tf.math.log(pt) * tf.cast(labels != -2, tf.float32)[..., None]
            n = tf.maximum(tf.reduce_sum(tf.cast(labels >= 0, tf.float32), axis=1), 1.0)
            return tf.reduce_sum(loss, axis=[1, 2]) / n

        anchors = tf.constant(self.anchors)[None]
        with_giou = self.box_loss == "giou"

        def box_loss(y_true, y_pred):
            positive = y_true[..., 4]
            diff = tf.abs(y_true[..., :4] - y_pred)
            per_anchor = tf.reduce_sum(tf.where(diff < 1.0, 0.5 * diff * diff, diff - 0.5), -1)
            if with_giou:
                per_anchor += 1.0 - giou(decode_tf(y_true[..., :4], anchors), decode_tf(y_pred, anchors))
            n = tf.maximum(tf.reduce_sum(positive, axis=1), 1.0)
            return tf.reduce_sum(per_anchor * positive, axis=1) / n

        return [focal_loss, box_loss]

    # -- decoding (NumPy) -------------------------------------------------------------------
    def decode(self, outputs, score_threshold: float = 0.05, max_detections: int = 100, candidates: int = 1000):
        """One image's [scores [A, C], deltas [A, 4]] -> boxes (letterboxed px), scores, labels (before NMS)."""
        scores, deltas = outputs
        anchor_idx, labels = np.nonzero(scores >= score_threshold)
        values = scores[anchor_idx, labels]
        order = np.argsort(-values)[:candidates]
        anchor_idx, labels, values = anchor_idx[order], labels[order], values[order]
        boxes = decode(deltas[anchor_idx], self.anchors[anchor_idx])
        return boxes.astype(np.float32), values.astype(np.float32), labels.astype(np.int64)


def anchor_shapes(strides, scales, ratios) -> np.ndarray:
    """Every distinct anchor (width, height) of a pyramid, [K, 2] in input pixels."""
    shapes = [(ANCHOR_BASE * s * c / np.sqrt(r), ANCHOR_BASE * s * c * np.sqrt(r))
              for s in strides for c in scales for r in ratios]
    return np.asarray(shapes, np.float32)


def fit_anchor_scales(box_wh: np.ndarray, strides, scales, ratios) -> list[float]:
    """`scales` extended by up to MAX_ADDED_SCALES octave thirds below the smallest or above the
    largest, when that raises the share of boxes [N, 2] some anchor reaches and the share is under
    REACH_GOAL: AutoAnchor's check, answered with RetinaNet's own scale ladder. The fewest added
    scales that reach the goal win, else the most reached (each scale costs head outputs)."""
    scales = sorted(float(c) for c in scales)

    def share(candidate):
        return reach_share(box_wh, anchor_shapes(strides, candidate, ratios))

    current = share(scales)
    if current >= REACH_GOAL:
        return scales
    options = []  # fewest added scales first: each costs head outputs
    for k in range(1, MAX_ADDED_SCALES + 1):
        options.append([round(scales[0] / SCALE_STEP ** i, 3) for i in range(k, 0, -1)] + scales)
        options.append(scales + [round(scales[-1] * SCALE_STEP ** i, 3) for i in range(1, k + 1)])
    shares = [share(option) for option in options]
    enough = [option for option, value in zip(options, shares) if value >= REACH_GOAL]
    best = enough[0] if enough else options[max(range(len(options)), key=lambda i: (shares[i], -len(options[i])))]
    return best if share(best) > current else scales
