"""Letterboxing: an image resized to fit a model's input keeping its aspect ratio, the rest grey.

Below the pipeline and the augmentation (which fills what a rotation or zoom uncovers with the same grey),
so both import it and neither imports the other for it.
"""

from __future__ import annotations

PAD_VALUE = 114.0  # letterbox padding grey


def letterbox_scale(height, width, size: tuple[int, int]) -> float:
    return min(size[0] / height, size[1] / width)


def letterbox(image, size: tuple[int, int]):
    """A decoded image letterboxed to `size`: (float32 image, scale), as `load_letterboxed`."""
    import tensorflow as tf

    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.minimum(size[0] / shape[0], size[1] / shape[1])
    new = tf.cast(tf.round(shape * scale), tf.int32)
    new = tf.minimum(tf.maximum(new, 1), tf.constant(size, tf.int32))
    resized = tf.image.resize(image, new, method="bilinear", antialias=True)
    padded = tf.pad(resized - PAD_VALUE, [[0, size[0] - new[0]], [0, size[1] - new[1]], [0, 0]]) + PAD_VALUE
    padded = tf.round(tf.clip_by_value(padded, 0.0, 255.0))
    padded.set_shape((size[0], size[1], 3))
    return padded, scale
