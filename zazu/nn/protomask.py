"""Prototype masks on the CenterNet detector (YOLACT's idea, anchor-free).

Besides the heatmap and box heads, the network predicts a set of P prototype
masks and, at every heatmap cell, P coefficients. An instance's mask is
sigmoid(coefficients at its centre . prototypes), cropped to its box. Everything
up to the prototypes and coefficients is plain convolutions (int8, Edge TPU);
mask assembly runs outside the network, in NumPy.

Outputs: heatmap [B, h, w, C], regression [B, h, w, 4], and mask features
[B, h, w, 2P] (coefficients then prototypes, one tensor so that one loss sees both).
"""

from __future__ import annotations

import numpy as np

from zazu.nn.centernet import CenterNetCoder


class ProtoMaskCoder(CenterNetCoder):
    def __init__(self, image_size, num_classes, head_channels: int = 64, prototypes: int = 8,
                 mask_weight: float = 1.0):
        super().__init__(image_size, num_classes, head_channels)
        self.prototypes = prototypes
        self.mask_weight = mask_weight

    def outputs(self, features):
        from keras import layers

        from zazu.nn.backbones import conv_bn_relu

        heat, reg = super().outputs(features)
        x = features[self.stride]
        protos = conv_bn_relu(conv_bn_relu(x, self.head_channels), self.head_channels)
        protos = layers.Conv2D(self.prototypes, 1, activation="relu", name="prototypes")(protos)
        coeffs = conv_bn_relu(x, self.head_channels)
        coeffs = layers.Conv2D(self.prototypes, 1, activation="tanh", name="coefficients")(coeffs)
        return [heat, reg, layers.Concatenate(name="mask_features")([coeffs, protos])]

    def encode(self, boxes, labels, masks):
        """masks [B, H, W, M] at input resolution -> mask targets [B, M, 1, 2*h*w + 2]:
        the instance mask and its box crop at the grid resolution, its centre cell and a valid flag."""
        import tensorflow as tf

        heat, reg = super().encode(boxes, labels)
        h, w = self.grid
        m = tf.shape(boxes)[1]
        small = tf.image.resize(masks, (h, w), method="area")  # [B, h, w, M], fraction covered
        small = tf.cast(small >= 0.5, tf.float32)
        small = tf.reshape(tf.transpose(small, [0, 3, 1, 2]), [-1, m, h * w])
        out = boxes / self.stride
        ys = tf.range(h, dtype=tf.float32)[:, None] + 0.5
        xs = tf.range(w, dtype=tf.float32)[None, :] + 0.5
        inside = ((xs[None, None] >= out[..., 0, None, None]) & (xs[None, None] <= out[..., 2, None, None])
                  & (ys[None, None] >= out[..., 1, None, None]) & (ys[None, None] <= out[..., 3, None, None]))
        crop = tf.reshape(tf.cast(inside, tf.float32), [-1, m, h * w])
        centre = tf.clip_by_value(tf.floor((out[..., :2] + out[..., 2:]) / 2), 0.0, [w - 1.0, h - 1.0])
        index = centre[..., 1] * w + centre[..., 0]
        valid = tf.cast(labels >= 0, tf.float32)
        target = tf.concat([small, crop, index[..., None], valid[..., None]], -1)
        return heat, reg, target[:, :, None, :]

    def losses(self):
        import tensorflow as tf

        heatmap_loss, regression_loss = super().losses()
        p = self.prototypes
        h, w = self.grid
        n_cells = h * w
        weight = self.mask_weight

        def mask_loss(y_true, y_pred):
            y_true = y_true[:, :, 0, :]
            gt, crop = y_true[..., :n_cells], y_true[..., n_cells:2 * n_cells]
            index = tf.cast(y_true[..., 2 * n_cells], tf.int32)
            valid = y_true[..., 2 * n_cells + 1]
            flat = tf.reshape(y_pred, [-1, n_cells, 2 * p])
            coeffs = tf.gather(flat[..., :p], index, batch_dims=1)  # [B, M, P]
            logits = tf.einsum("bmp,bnp->bmn", coeffs, flat[..., p:])  # [B, M, cells]
            bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=gt, logits=logits) * crop
            per_instance = tf.reduce_sum(bce, -1) / tf.maximum(tf.reduce_sum(crop, -1), 1.0)
            n = tf.maximum(tf.reduce_sum(valid, -1), 1.0)
            return weight * tf.reduce_sum(per_instance * valid, -1) / n

        return [heatmap_loss, regression_loss, mask_loss]

    def decode(self, outputs, score_threshold: float = 0.05, max_detections: int = 100):
        """-> boxes, scores, labels (letterboxed px) and masks [K, h, w] (probabilities on the grid)."""
        heat, reg, mask_features = outputs
        ys, xs, cs, scores = self.peaks(heat, score_threshold, max_detections)
        coeffs = mask_features[ys, xs, :self.prototypes]
        protos = mask_features[..., self.prototypes:]
        masks = 1 / (1 + np.exp(-np.einsum("kp,hwp->khw", coeffs, protos)))
        return self.boxes_at(reg, ys, xs), scores.astype(np.float32), cs.astype(np.int64), masks.astype(np.float32)
