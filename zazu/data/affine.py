"""One Keras preprocessing layer for every geometric augmentation: flips, rotation, zoom and shift.

Keras 3 has one layer per transform (RandomFlip, RandomRotation, RandomZoom,
RandomTranslation), and each resamples the whole batch again: on 2 CPU cores
that was most of the input pipeline's time (bench/input_pipeline.py). This
layer draws all of them per image, composes them into one affine matrix and
resamples once: bilinear for images, nearest for masks, both through the same
kernel the Keras layers use (ImageProjectiveTransformV3). Boxes move with the
image: the enclosing box of their four transformed corners, as RandomRotation
does; `zazu.data.augment` then clips or drops them.

Coordinates: boxes are xyxy pixels where pixel i spans [i, i + 1]; the image
centre is (W / 2, H / 2). Rotation is counter-clockwise as shown, zoom > 1
enlarges the content, shifts are fractions of the size.
"""

from __future__ import annotations

import math

import keras


class RandomAffine(keras.layers.Layer):
    """Random flip, rotation, zoom and shift per image, fused into one resampling.

    Args:
        horizontal_flip, vertical_flip: flip with probability 0.5 each.
        rotation_range: degrees; the angle is uniform in [-rotation_range, rotation_range].
        zoom_range: fraction; the scale is uniform in [1 - zoom_range, 1 + zoom_range].
        width_shift_range, height_shift_range: fractions of the size, uniform in [-r, r].
        fill_value: image value where the transform uncovers an area (masks get 0 there).
        seed: random seed.

    Call with a dict holding `images` [B, H, W, C], and optionally `bounding_boxes`
    {boxes [B, N, 4] xyxy pixels, labels [B, N]} and `segmentation_masks` [B, H, W, M].
    Returns the same dict with those entries transformed; other entries pass through.
    """

    def __init__(self, horizontal_flip=False, vertical_flip=False, rotation_range=0.0, zoom_range=0.0,
                 width_shift_range=0.0, height_shift_range=0.0, fill_value=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= zoom_range < 1:
            raise ValueError(f"Expected 0 <= zoom_range < 1. Received: zoom_range={zoom_range}")
        self.horizontal_flip = bool(horizontal_flip)
        self.vertical_flip = bool(vertical_flip)
        self.rotation_range = float(rotation_range)
        self.zoom_range = float(zoom_range)
        self.width_shift_range = float(width_shift_range)
        self.height_shift_range = float(height_shift_range)
        self.fill_value = float(fill_value)
        self.seed = seed
        import tensorflow as tf

        # made here, outside any traced function, so every call continues one random stream
        self._generator = (tf.random.Generator.from_seed(seed) if seed is not None
                           else tf.random.Generator.from_non_deterministic_state())

    @property
    def active(self) -> bool:
        return any((self.horizontal_flip, self.vertical_flip, self.rotation_range, self.zoom_range,
                    self.width_shift_range, self.height_shift_range))

    @property
    def flips_only(self) -> bool:
        """No rotation, zoom or shift: every drawn transform maps pixels onto pixels exactly."""
        return not any((self.rotation_range, self.zoom_range, self.width_shift_range, self.height_shift_range))

    def get_config(self):
        return {**super().get_config(), "horizontal_flip": self.horizontal_flip,
                "vertical_flip": self.vertical_flip, "rotation_range": self.rotation_range,
                "zoom_range": self.zoom_range, "width_shift_range": self.width_shift_range,
                "height_shift_range": self.height_shift_range, "fill_value": self.fill_value, "seed": self.seed}

    def random_matrices(self, batch_size, height, width):
        """Per image, the forward map (original -> augmented) as [B, 2, 3] in box coordinates."""
        import tensorflow as tf

        rng = self._generator

        def uniform(limit):
            return rng.uniform((batch_size,), -limit, limit) if limit else tf.zeros((batch_size,))

        def flip(enabled):
            if not enabled:
                return tf.ones((batch_size,))
            return tf.where(rng.uniform((batch_size,)) < 0.5, -1.0, 1.0)

        angle = uniform(self.rotation_range * math.pi / 180.0)
        scale = 1.0 + uniform(self.zoom_range)
        sx, sy = flip(self.horizontal_flip) * scale, flip(self.vertical_flip) * scale
        cos, sin = tf.cos(angle), tf.sin(angle)
        cx, cy = tf.cast(width, tf.float32) / 2.0, tf.cast(height, tf.float32) / 2.0
        tx = uniform(self.width_shift_range) * tf.cast(width, tf.float32)
        ty = uniform(self.height_shift_range) * tf.cast(height, tf.float32)
        # p_out = c + t + diag(sx, sy) . R . (p_in - c), R rotating counter-clockwise on screen (y down)
        a, b = sx * cos, sx * sin
        d, e = -sy * sin, sy * cos
        return tf.stack([tf.stack([a, b, cx + tx - a * cx - b * cy], -1),
                         tf.stack([d, e, cy + ty - d * cx - e * cy], -1)], axis=1)

    @staticmethod
    def sampling_transforms(forward):
        """[B, 8] output -> input maps for ImageProjectiveTransformV3, in pixel-centre coordinates."""
        import tensorflow as tf

        a, b, c = forward[:, 0, 0], forward[:, 0, 1], forward[:, 0, 2]
        d, e, f = forward[:, 1, 0], forward[:, 1, 1], forward[:, 1, 2]
        det = a * e - b * d
        ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
        # inverse in box coordinates, then shifted by half a pixel: pixel index i has its centre at i + 0.5
        ic = -(ia * c + ib * f)
        if_ = -(id_ * c + ie * f)
        ic = ic + 0.5 * (ia + ib) - 0.5
        if_ = if_ + 0.5 * (id_ + ie) - 0.5
        zeros = tf.zeros_like(a)
        return tf.stack([ia, ib, ic, id_, ie, if_, zeros, zeros], axis=-1)

    def call(self, data, training=True):
        import tensorflow as tf

        if not training or not self.active:
            return data
        out = dict(data)
        images = data["images"]
        shape = tf.shape(images)
        forward = self.random_matrices(shape[0], shape[1], shape[2])
        if self.flips_only:
            out.update(flip_pixels(data, forward, self.horizontal_flip, self.vertical_flip))
        else:
            out.update(self.resample(data, forward))
        if "bounding_boxes" in data:
            boxes = data["bounding_boxes"]
            out["bounding_boxes"] = {**boxes, "boxes": transform_boxes(boxes["boxes"], forward)}
        return out

    def resample(self, data, forward) -> dict:
        """The images (bilinear) and masks (nearest) through the drawn transforms, in one resampling."""
        import tensorflow as tf

        out = {}
        images = data["images"]
        shape = tf.shape(images)
        transforms = self.sampling_transforms(forward)
        out["images"] = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transforms, output_shape=shape[1:3],
            fill_value=tf.cast(self.fill_value, tf.float32), interpolation="BILINEAR", fill_mode="CONSTANT")
        if "segmentation_masks" in data:
            masks = data["segmentation_masks"]
            out["segmentation_masks"] = tf.raw_ops.ImageProjectiveTransformV3(
                images=masks, transforms=transforms, output_shape=tf.shape(masks)[1:3],
                fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT")
        return out


def flip_pixels(data, forward, horizontal: bool = True, vertical: bool = True) -> dict:
    """The images and masks of `data` flipped as the drawn flips-only transforms say (a negative
    diagonal entry: mirrored on that axis), on the axes enabled. The same pixels as resampling them,
    by gathering columns (rows) in reverse order where an image is flipped: on 2 cores a batch of 16
    images of 96 px took 6.8 ms resampled, 8.4 ms reversed and selected with `tf.where`, 2.5 ms
    gathered."""
    import tensorflow as tf

    def flipped(pixels):
        for axis, diagonal, enabled in ((2, forward[:, 0, 0], horizontal), (1, forward[:, 1, 1], vertical)):
            if enabled:
                ahead = tf.range(tf.shape(pixels)[axis])
                order = tf.where((diagonal < 0)[:, None], tf.reverse(ahead, [0])[None], ahead[None])
                pixels = tf.gather(pixels, order, axis=axis, batch_dims=1)
        return pixels

    return {key: flipped(data[key]) for key in ("images", "segmentation_masks") if key in data}


def transform_boxes(boxes, forward):
    """xyxy boxes [B, N, 4] through forward maps [B, 2, 3]: the box around the four moved corners."""
    import tensorflow as tf

    x0, y0, x1, y1 = tf.unstack(boxes, axis=-1)
    xs = tf.stack([x0, x1, x1, x0], axis=-1)  # [B, N, 4 corners]
    ys = tf.stack([y0, y0, y1, y1], axis=-1)
    m = forward[:, None, :, :]  # [B, 1, 2, 3]
    nx = m[..., 0, 0:1] * xs + m[..., 0, 1:2] * ys + m[..., 0, 2:3]
    ny = m[..., 1, 0:1] * xs + m[..., 1, 1:2] * ys + m[..., 1, 2:3]
    return tf.stack([tf.reduce_min(nx, -1), tf.reduce_min(ny, -1), tf.reduce_max(nx, -1), tf.reduce_max(ny, -1)],
                    axis=-1)
