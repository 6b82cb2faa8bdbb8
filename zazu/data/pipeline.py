"""tf.data input pipelines. Images leave here as float32 pixels in [0, 255];
normalisation is part of each model, so a .tflite takes plain pixels too.

`load_image` is the one decode-and-resize used for training, evaluation,
quantization data and prediction, so all of them see identical pixels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def load_image(path, size: tuple[int, int]):
    """Decode any PNG/JPEG/BMP/GIF file to RGB float32 [H, W, 3] resized to `size`."""
    import tensorflow as tf

    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False)  # grey/RGBA -> RGB
    image = tf.image.resize(image, size, method="bilinear", antialias=True)
    image = tf.clip_by_value(image, 0.0, 255.0)
    image.set_shape((size[0], size[1], 3))
    return image


def augmentation_layers(seed: int):
    import keras

    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed),
    ], name="augment")


def classification_dataset(
    paths: Sequence[str],
    labels: Sequence[int],
    size: tuple[int, int],
    batch_size: int,
    *,
    training: bool,
    augment: bool = False,
    seed: int = 0,
):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((list(paths), np.asarray(labels, dtype=np.int32)))
    ds = ds.map(lambda p, y: (load_image(p, size), y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.cache()
    if training:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and augment:
        layers = augmentation_layers(seed)
        ds = ds.map(lambda x, y: (layers(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def representative_images(paths: Sequence[str], size: tuple[int, int], limit: int = 100) -> Iterator[np.ndarray]:
    """Un-augmented training images, batch of 1, preprocessed exactly as at inference."""
    for path in list(paths)[:limit]:
        yield load_image(path, size).numpy()[None]
