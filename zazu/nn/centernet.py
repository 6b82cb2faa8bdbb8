"""CenterNet-style anchor-free detection (Zhou et al. 2019, "Objects as Points").

Network outputs (both at stride 4): a class heatmap [B, h, w, C] (sigmoid) and a
regression map [B, h, w, 4] (box width, height in grid cells; centre offset).
Targets are built in tf.data, decoding (peaks of the heatmap) runs in NumPy
outside the exported network.
"""

from __future__ import annotations

import numpy as np

PRIOR_BIAS = -2.19  # sigmoid(-2.19) = 0.1: a calm start for a sparse heatmap
WH_WEIGHT = 0.1


class CenterNetCoder:
    stride = 4  # the heads' level
    strides = (4, 8, 16, 32)  # the pyramid it needs: top-down from the backbone's deepest level to stride 4

    def __init__(self, image_size: tuple[int, int], num_classes: int, head_channels: int = 64):
        self.image_size = image_size
        self.num_classes = num_classes
        self.head_channels = head_channels
        self.grid = (image_size[0] // self.stride, image_size[1] // self.stride)

    # -- network ------------------------------------------------------------------
    def outputs(self, features: dict[int, object]):
        """Heads on the stride-4 map of an FPN (or any stride-4 feature)."""
        import keras
        from keras import layers

        from zazu.nn.backbones import conv_bn_relu

        x = features[self.stride]
        heat = conv_bn_relu(x, self.head_channels)
        heat = layers.Conv2D(self.num_classes, 1, activation="sigmoid", name="heatmap",
                             bias_initializer=keras.initializers.Constant(PRIOR_BIAS))(heat)
        reg = conv_bn_relu(x, self.head_channels)
        reg = layers.Conv2D(4, 1, name="regression")(reg)
        return [heat, reg]

    # -- targets (tf, batched) ----------------------------------------------------------
    def encode(self, boxes, labels):
        """boxes [B, M, 4] letterboxed pixels, labels [B, M] (-1 = none) -> (heatmap, regression+mask)."""
        import tensorflow as tf

        h, w = self.grid
        c = self.num_classes
        b_size = tf.shape(boxes)[0]
        m = tf.shape(boxes)[1]
        valid = labels >= 0
        out = boxes / self.stride
        centre = (out[..., :2] + out[..., 2:]) / 2
        size = tf.maximum(out[..., 2:] - out[..., :2], 1e-3)
        cell = tf.clip_by_value(tf.floor(centre), 0.0, [w - 1.0, h - 1.0])
        sigma = tf.maximum(size / 6.0, 0.5)
        ys = tf.range(h, dtype=tf.float32)[:, None]
        xs = tf.range(w, dtype=tf.float32)[None, :]
        dx = (xs[None, None] - cell[..., 0, None, None]) / sigma[..., 0, None, None]
        dy = (ys[None, None] - cell[..., 1, None, None]) / sigma[..., 1, None, None]
        gauss = tf.exp(-(dx * dx + dy * dy) / 2)  # [B, M, h, w], exactly 1 at each centre cell
        segment = tf.where(valid, tf.range(b_size)[:, None] * c + tf.maximum(labels, 0), b_size * c)
        heat = tf.math.unsorted_segment_max(tf.reshape(gauss, [-1, h * w]), tf.reshape(segment, [-1]),
                                            b_size * c + 1)[:-1]
        heat = tf.maximum(heat, 0.0)
        heat = tf.transpose(tf.reshape(heat, [b_size, c, h, w]), [0, 2, 3, 1])

        idx = tf.cast(cell, tf.int32)
        batch_idx = tf.broadcast_to(tf.range(b_size)[:, None], [b_size, m])
        scatter = tf.stack([batch_idx, idx[..., 1], idx[..., 0]], -1)[valid]
        values = tf.concat([size, centre - cell, tf.ones_like(size[..., :1])], -1)[valid]
        # One regression slot per cell: when two objects share a centre cell one of them is the target
        # (scatter_nd would add their sizes and offsets into a box that is neither).
        reg = tf.tensor_scatter_nd_update(tf.zeros([b_size, h, w, 5]), scatter, values)
        return heat, reg

    # -- loss ---------------------------------------------------------------------
    def losses(self):
        import tensorflow as tf

        def heatmap_loss(y_true, y_pred):
            p = tf.clip_by_value(y_pred, 1e-4, 1 - 1e-4)
            pos = tf.cast(tf.equal(y_true, 1.0), tf.float32)
            pos_loss = -tf.math.log(p) * tf.square(1 - p) * pos
            neg_loss = -tf.math.log(1 - p) * tf.square(p) * tf.pow(1 - y_true, 4) * (1 - pos)
            n = tf.maximum(tf.reduce_sum(pos, axis=[1, 2, 3]), 1.0)
            return tf.reduce_sum(pos_loss + neg_loss, axis=[1, 2, 3]) / n

        def regression_loss(y_true, y_pred):
            mask = y_true[..., 4:5]
            wh = tf.abs(y_true[..., :2] - y_pred[..., :2]) * mask
            off = tf.abs(y_true[..., 2:4] - y_pred[..., 2:4]) * mask
            n = tf.maximum(tf.reduce_sum(mask, axis=[1, 2, 3]), 1.0)
            return (WH_WEIGHT * tf.reduce_sum(wh, axis=[1, 2, 3]) + tf.reduce_sum(off, axis=[1, 2, 3])) / n

        return [heatmap_loss, regression_loss]

    # -- decoding (NumPy) ---------------------------------------------------------------
    def peaks(self, heat: np.ndarray, score_threshold: float, max_detections: int):
        """Local maxima of the heatmap [h, w, C] above the threshold: (ys, xs, classes, scores), best first."""
        pooled = _max_pool3(heat)
        ys, xs, cs = np.nonzero((heat == pooled) & (heat >= score_threshold))
        scores = heat[ys, xs, cs]
        order = np.argsort(-scores)[:max_detections]
        return ys[order], xs[order], cs[order], scores[order]

    def boxes_at(self, reg: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Boxes (letterboxed pixels) predicted at grid cells (ys, xs)."""
        w, h = np.maximum(reg[ys, xs, 0], 0), np.maximum(reg[ys, xs, 1], 0)
        cx, cy = xs + reg[ys, xs, 2], ys + reg[ys, xs, 3]
        return (np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1) * self.stride).astype(np.float32)

    def decode(self, outputs, score_threshold: float = 0.05, max_detections: int = 100):
        """One image's [heatmap [h, w, C], regression [h, w, 4]] -> boxes (letterboxed px), scores, labels."""
        heat, reg = outputs[:2]
        ys, xs, cs, scores = self.peaks(heat, score_threshold, max_detections)
        return self.boxes_at(reg, ys, xs), scores.astype(np.float32), cs.astype(np.int64)


def _max_pool3(x: np.ndarray) -> np.ndarray:
    """3x3 max filter over the first two axes (same size)."""
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    h, w = x.shape[:2]
    return np.max([padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=0)
