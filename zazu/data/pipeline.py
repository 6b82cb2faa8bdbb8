"""tf.data input pipelines: parallel decode, resize or letterbox, cache, augment, batch, prefetch.

Images leave here as float32 pixels in [0, 255]; normalisation is part of each
model, so a .tflite takes plain pixels too. `load_image` (classification) and
`load_letterboxed` (detection, segmentation) are the one decode-and-resize used
for training, evaluation, quantization data and prediction, so all of them see
identical pixels. Decoded images are cached as uint8: in memory when they fit,
otherwise in a file cache keyed by a fingerprint of the files and settings, so
trials and runs reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zazu.data.letterbox import letterbox, letterbox_scale

MEMORY_CACHE_LIMIT = 1 << 30  # bytes of uint8 pixels kept in memory; more goes to a file cache
CACHE_VERSION = 2  # 2: images decoded upright (EXIF orientation)


def _decode(path):
    import tensorflow as tf

    return decode_encoded(tf.io.read_file(path))


def decode_encoded(data):
    """Encoded PNG/JPEG/BMP/GIF bytes -> upright RGB uint8 [H, W, 3] (greyscale and RGBA become RGB,
    the EXIF orientation is applied: annotations are drawn on the upright image)."""
    import tensorflow as tf

    from zazu.data.orientation import bytes_orientation, orient

    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    # The tag is read once per file (decoded images are cached), with PIL on the header only.
    orientation = tf.numpy_function(lambda b: np.int32(bytes_orientation(bytes(b))), [data], tf.int32,
                                    stateful=False)
    image = orient(image, orientation)
    image.set_shape((None, None, 3))
    return image


def load_image(path, size: tuple[int, int]):
    """Decode any PNG/JPEG/BMP/GIF file to RGB float32 [H, W, 3] resized (stretched) to `size`."""
    return stretch(_decode(path), size)


def stretch(image, size: tuple[int, int]):
    """A decoded image resized (not keeping the aspect ratio) to float32 whole pixel values."""
    import tensorflow as tf

    image = tf.image.resize(image, size, method="bilinear", antialias=True)
    image = tf.round(tf.clip_by_value(image, 0.0, 255.0))  # whole values: what the uint8 cache holds
    image.set_shape((size[0], size[1], 3))
    return image


def load_letterboxed(path, size: tuple[int, int]):
    """Decode, resize keeping the aspect ratio, pad bottom/right with grey to `size`.

    Returns (image float32 [H, W, 3], scale): original pixel coordinates times
    `scale` are letterboxed coordinates (no offset: the image sits top-left)."""
    return letterbox(_decode(path), size)


def fingerprint(paths: Sequence[str], settings: dict) -> str:
    """Changes when any file (path, size, mtime) or preprocessing setting changes."""
    h = hashlib.sha256(json.dumps({**settings, "v": CACHE_VERSION}, sort_keys=True).encode())
    for path in paths:
        st = os.stat(path)
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def cache_images(ds, paths: Sequence[str], size: tuple[int, int], settings: dict):
    """Cache decoded uint8 images in memory if they fit, else in a fingerprinted file cache."""
    if len(paths) * size[0] * size[1] * 3 <= MEMORY_CACHE_LIMIT:
        return ds.cache()
    from zazu.data.synthetic import cache_root

    folder = cache_root() / "tfdata" / fingerprint(paths, {**settings, "size": list(size)})
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / "images"
    if not Path(f"{prefix}.index").exists():  # no complete cache: clear what a killed run left
        for stale in folder.glob("images*"):
            stale.unlink()
    return ds.cache(str(prefix))


def load_pixels(path, size: tuple[int, int], letterbox: bool):
    """The model input for one file: letterboxed (detection, segmentation) or resized (classification)."""
    return load_letterboxed(path, size)[0] if letterbox else load_image(path, size)


def decoded_images(paths: Sequence[str], size: tuple[int, int], letterbox: bool):
    """Parallel decode and resize (or letterbox) to uint8, cached; the start of every pipeline."""
    import tensorflow as tf

    images = tf.data.Dataset.from_tensor_slices(list(paths)).map(
        lambda p: tf.cast(load_pixels(p, size, letterbox), tf.uint8), num_parallel_calls=tf.data.AUTOTUNE)
    return cache_images(images, paths, size, {"kind": "letterbox" if letterbox else "classification"})


def feed(ds):
    """`ds` prefetched, each of its ops on one thread. On 2 cores an op of the pipeline that took
    both would stall the training step beside it: `bench/training_feed.py`'s mobilenet_v2 went
    from 0.85-0.89 of the in-memory rate to 0.91-0.95 (median epochs, 512 images, 64 px)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def endless(ds):
    """(`ds` repeated and prefetched across its ends, the batches of one pass) for
    `fit(ds, steps_per_epoch=...)`: one iterator then serves every epoch of a `fit` call. Keras starts
    a new iterator at each epoch of a finite dataset, and the training step waits while the shuffle,
    map and prefetch start again: `bench/training_feed.py`'s tiny_cnn, 8 batches an epoch, trained at
    0.86 of the in-memory rate that way and at 1.02 repeated. A dataset of unknown length is
    returned as it is, with None."""
    import tensorflow as tf

    steps = int(ds.cardinality())
    if steps <= 0:
        return ds, None
    return ds.repeat().prefetch(tf.data.AUTOTUNE), steps


def training_order(n: int, seed: int) -> np.ndarray:
    """A seeded permutation of the training set, applied before decoding: readers list files class by
    class, and a file-cached dataset too large for a full shuffle buffer must not see one class a batch."""
    return np.random.default_rng(seed).permutation(n)


def shuffle_all(ds, n: int, size: tuple[int, int], seed: int):
    """Every epoch a fresh permutation of the whole (cached) training set. In memory the buffer holds
    references to the cached images, so a full buffer costs nothing; a file-cached set (larger than
    `MEMORY_CACHE_LIMIT`) shuffles within what fits in memory, on top of `training_order`."""
    buffer = max(1, min(n, MEMORY_CACHE_LIMIT // (size[0] * size[1] * 3)))
    return ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)


def classification_dataset(
    paths: Sequence[str],
    labels: Sequence[int],
    size: tuple[int, int],
    batch_size: int,
    *,
    training: bool,
    augment_settings: dict | None = None,
    seed: int = 0,
):
    import tensorflow as tf

    from zazu.data.augment import build_augmenter, check_mosaic_task
    from zazu.tasks import CLASSIFICATION

    check_mosaic_task(augment_settings, CLASSIFICATION)
    if training:
        order = training_order(len(paths), seed)
        paths, labels = [paths[i] for i in order], [labels[i] for i in order]
    images = decoded_images(paths, size, letterbox=False)
    ds = tf.data.Dataset.zip((images, tf.data.Dataset.from_tensor_slices(np.asarray(labels, dtype=np.int32))))
    if training:
        ds = shuffle_all(ds, len(paths), size, seed)
    augment = build_augmenter(augment_settings, seed=seed) if training and augment_settings is not None else None

    def model_batch(x, y):
        x = tf.cast(x, tf.float32)
        return (augment({"images": x})["images"] if augment is not None else x), y

    return feed(ds.batch(batch_size).map(model_batch, num_parallel_calls=tf.data.AUTOTUNE))


@dataclass
class InstanceTargets:
    """Per-image annotations in letterboxed coordinates, padded to `max_instances`."""

    boxes: np.ndarray  # [N, M, 4] float32 xyxy
    labels: np.ndarray  # [N, M] int32, -1 = padding
    scales: np.ndarray  # [N] float32
    masks: np.ndarray | None = None  # [N, H, W, M] uint8


def instance_targets(records, size: tuple[int, int], max_instances: int, with_masks: bool) -> InstanceTargets:
    """Boxes (and masks) of checked records (their width/height known), letterboxed to `size`.
    Crowd regions (iscrowd) are left out of training targets."""
    from zazu.data.masks import instance_mask

    n = len(records)
    boxes = np.zeros((n, max_instances, 4), np.float32)
    labels = np.full((n, max_instances), -1, np.int32)
    scales = np.zeros((n,), np.float32)
    masks = np.zeros((n, size[0], size[1], max_instances), np.uint8) if with_masks else None
    for i, record in enumerate(records):
        scale = letterbox_scale(record.height, record.width, size)
        scales[i] = scale
        kept = [inst for inst in record.instances if not inst.iscrowd][:max_instances]
        for j, inst in enumerate(kept):
            boxes[i, j] = np.asarray(inst.box, np.float32) * scale
            labels[i, j] = inst.label
            if with_masks:
                masks[i, :, :, j] = instance_mask(inst, record.height, record.width, scale, *size)
    return InstanceTargets(boxes, labels, scales, masks)


def instance_dataset(
    paths: Sequence[str],
    targets: InstanceTargets,
    size: tuple[int, int],
    batch_size: int,
    *,
    training: bool,
    augment_settings: dict | None = None,
    seed: int = 0,
    mosaic_schedule=None,
):
    """Batches of {images, bounding_boxes: {boxes, labels}, [segmentation_masks]}, in `paths` order
    unless training.

    Detection and instance segmentation read this; with `augment_settings` the
    boxes and masks are transformed with the images, then clipped or dropped.
    `mosaic_schedule` (a `zazu.data.mosaic.MosaicSchedule`): the epochs whose batches may be mosaics."""
    import tensorflow as tf

    from zazu.data.augment import build_augmenter

    if training:
        order = training_order(len(paths), seed)
        paths = [paths[i] for i in order]
        targets = InstanceTargets(targets.boxes[order], targets.labels[order], targets.scales[order],
                                  None if targets.masks is None else targets.masks[order])
    images = decoded_images(paths, size, letterbox=True)
    columns = {"bounding_boxes": {"boxes": targets.boxes, "labels": targets.labels}}
    if targets.masks is not None:
        columns["segmentation_masks"] = targets.masks
    ds = tf.data.Dataset.zip((images, tf.data.Dataset.from_tensor_slices(columns)))
    ds = ds.map(lambda image, rest: {"images": image, **rest})
    if training:
        ds = shuffle_all(ds, len(paths), size, seed)
    ds = ds.batch(batch_size)

    augment = build_augmenter(augment_settings, seed=seed) if training and augment_settings is not None else None
    if augment is not None and mosaic_schedule is not None:
        ds = mosaic_schedule.number_batches(ds, -(-len(paths) // batch_size))

    def model_batch(batch):
        # Masks stay uint8 through augmentation (a quarter of the bytes to resample), then become float.
        batch = {**batch, "images": tf.cast(batch["images"], tf.float32)}
        mosaic_enabled = batch.pop("mosaic_enabled", None)
        if augment is not None:
            batch = augment(batch, mosaic_enabled)
        if "segmentation_masks" in batch:
            batch["segmentation_masks"] = tf.cast(batch["segmentation_masks"], tf.float32)
        return batch

    return feed(ds.map(model_batch, num_parallel_calls=tf.data.AUTOTUNE))


def representative_images(paths: Sequence[str], size: tuple[int, int], limit: int = 100,
                          letterbox: bool = False) -> Iterator[np.ndarray]:
    """Un-augmented training images, batch of 1, preprocessed exactly as at inference: `limit` of them
    drawn from all of `paths` (seeded), not its first ones, which in a folder-per-class dataset are
    one class (on scikit-learn's ten digits, the first 100 training images were all zeros)."""
    paths = list(paths)
    chosen = paths if len(paths) <= limit else [
        paths[i] for i in sorted(np.random.default_rng(0).choice(len(paths), limit, replace=False))]
    for path in chosen:
        yield load_pixels(path, size, letterbox).numpy()[None]
