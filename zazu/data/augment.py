"""Augmentation from config, as Keras 3 preprocessing layers inside tf.data.

Geometry (flips, rotation, zoom, shift) is one layer, `zazu.data.affine.RandomAffine`,
that resamples once instead of once per transform; contrast and brightness are
Keras's own layers; noise is added last. Boxes and masks follow the image: the
geometric layer transforms `bounding_boxes` and `segmentation_masks` with it. Afterwards boxes are clipped to the image and
boxes left with (almost) no area are dropped (label -1), as are their masks.

Config keys (the familiar ImageDataGenerator names):
    horizontal_flip: bool          vertical_flip: bool
    rotation_range: degrees        zoom_range: fraction (0.2 = +-20%)
    width_shift_range / height_shift_range: fraction of the size
    contrast_range: fraction       brightness_range: fraction
    noise: std of Gaussian noise in pixel units (0-255)
    mosaic: probability (0-1) that a training image is a mosaic of four (detection and
        instance segmentation only; `zazu.data.mosaic`). Applied first, so the flips, zoom
        (scale jitter, as Ultralytics' `scale`) and the rest act on the mosaic.
        `auto`: the task's (`zazu.tasks.Task.auto_mosaic`).
    close_mosaic: the last this many of a trial's `epochs` train without mosaics (`mosaic_schedule`);
        `auto`: 15% of them, and under a time budget, of the epochs it leaves room for.
"""

from __future__ import annotations

from typing import Any

from zazu.config_rules import Rule, boolean, check_rules, integer, is_number, number_from
from zazu.data.letterbox import PAD_VALUE  # the letterbox grey, also where a rotation or zoom uncovers
from zazu.errors import ConfigError
from zazu.suggest import did_you_mean
from zazu.tasks import CLASSIFICATION


MIN_BOX_SIDE = 2.0  # pixels; a box thinner than this after augmentation is dropped


# The block's keys and what each must be (`zazu.config.CONFIG_RULES` holds them as `augmentation.<key>`).
AUGMENT_RULES: dict[str, Rule] = {
    "horizontal_flip": boolean(),
    "vertical_flip": boolean(),
    "rotation_range": number_from(0),
    # a scale of 1 - zoom_range must stay above 0
    "zoom_range": Rule("a number >= 0 and below 1", lambda v: is_number(v) and 0 <= v < 1),
    **{key: number_from(0) for key in ("width_shift_range", "height_shift_range", "contrast_range",
                                       "brightness_range", "noise")},
    "mosaic": Rule("auto or a probability, a number from 0 to 1",
                   lambda v: v == AUTO or (is_number(v) and 0 <= v <= 1)),
    "close_mosaic": Rule("auto or an integer >= 0", lambda v: v == AUTO or integer(0).accepts(v)),
}
AUTO = "auto"
CLOSE_MOSAIC_SHARE = 0.15  # close_mosaic: auto (Ultralytics closes 10 of 100 epochs; Zazu's trials are short)


def check_mosaic_task(settings: dict[str, Any] | None, task: str) -> None:
    """A mosaic of four images has no single class: refuse it for classification rather than ignore it."""
    if settings and task == CLASSIFICATION and settings.get("mosaic", 0) not in (0, AUTO):
        raise ConfigError("Expected augmentation.mosaic: 0 for classification (a mosaic of four images has no "
                          "single class label; it is for detection and instance_segmentation). "
                          f"Received: mosaic={settings['mosaic']!r}")


def resolve_augmentation(config: dict | None, task: str | None = None) -> dict[str, Any]:
    """Defaults updated with `config`; unknown keys and bad values are errors. With `task`, `mosaic: auto`
    becomes the task's probability (`close_mosaic: auto` waits for the trial's epochs: `mosaic_schedule`)."""
    from zazu.defaults import load_defaults

    defaults = load_defaults()["augmentation"]  # one defaults file for everything, read when needed
    for key in config or {}:
        if key not in defaults:
            raise ConfigError(f"unknown augmentation key `augmentation.{key}`.{did_you_mean(key, defaults)} "
                              f"Valid keys: {', '.join(defaults)}.")
    resolved = {**defaults, **(config or {})}
    check_rules(resolved, AUGMENT_RULES, "augmentation.")
    if task is not None and resolved["mosaic"] == AUTO:
        from zazu.tasks import get_task

        resolved["mosaic"] = get_task(task).auto_mosaic
    return resolved


def mosaic_schedule(settings: dict[str, Any] | None, epochs: int | None, deadline: float | None = None):
    """A `zazu.data.mosaic.MosaicSchedule` for a training of `epochs` epochs when `settings` (resolved for
    the task) ask for mosaics and close them (`close_mosaic` > 0 or auto), else None (mosaics, if any, in
    every epoch). With a `deadline` (the search's time budget, which may end the training before `epochs`),
    the schedule also closes them once the epochs left before it are as few as `close_mosaic` says."""
    if not settings or not settings.get("mosaic") or not settings.get("close_mosaic"):
        return None
    if settings["mosaic"] == AUTO:
        raise ValueError("Expected augmentation settings resolved for the task. Received: mosaic='auto'")
    if epochs is None:
        raise ValueError("Expected the number of epochs to close the mosaic before the end. Received: epochs=None")
    from zazu.data.mosaic import MosaicSchedule

    close = settings["close_mosaic"]
    if close == AUTO:
        return MosaicSchedule(max(0, int(epochs) - closed_epochs(int(epochs))), close_share=CLOSE_MOSAIC_SHARE,
                              deadline=deadline)
    return MosaicSchedule(max(0, int(epochs) - int(close)), close_epochs=int(close), deadline=deadline)


def closed_epochs(epochs: int) -> int:
    """`close_mosaic: auto` for a training of `epochs` epochs: 15% of them, at least one."""
    return max(1, round(CLOSE_MOSAIC_SHARE * epochs))


def build_augmenter(settings: dict[str, Any], seed: int = 0):
    """Return fn(batch) -> batch for dicts with `images` (float 0-255), optional
    `bounding_boxes` {boxes [B, N, 4] xyxy pixels, labels [B, N], -1 = padding}
    and `segmentation_masks` [B, H, W, N]. With `mosaic` > 0 the batch must hold boxes, and
    comes out with 4N instance slots; fn(batch, mosaic_enabled) takes a scalar boolean tensor
    that turns the mosaic off for that batch."""
    import keras
    import tensorflow as tf

    from zazu.data.affine import RandomAffine
    from zazu.data.mosaic import RandomMosaic

    s = settings
    if s["mosaic"] == AUTO:
        raise ValueError("Expected augmentation settings resolved for the task (resolve_augmentation(settings, "
                         "task)). Received: mosaic='auto'")
    mosaic = RandomMosaic(s["mosaic"], seed=seed + 7) if s["mosaic"] else None
    geometric = RandomAffine(s["horizontal_flip"], s["vertical_flip"], s["rotation_range"], s["zoom_range"],
                             s["width_shift_range"], s["height_shift_range"], fill_value=PAD_VALUE, seed=seed)
    photometric = []  # pixel values only
    if s["contrast_range"]:
        photometric.append(keras.layers.RandomContrast(s["contrast_range"], value_range=(0, 255), seed=seed + 4))
    if s["brightness_range"]:
        photometric.append(keras.layers.RandomBrightness(s["brightness_range"], value_range=(0, 255), seed=seed + 5))
    noise = float(s["noise"])
    generator = tf.random.Generator.from_seed(seed + 6) if noise else None

    def augment(batch: dict, mosaic_enabled=None) -> dict:
        if mosaic is not None:
            batch = mosaic(batch, training=True, enabled=mosaic_enabled)
        out = geometric(batch, training=True)
        images = out["images"]
        for layer in photometric:
            images = layer(images, training=True)
        if generator is not None:
            images = images + generator.normal(tf.shape(images), stddev=noise)
        out["images"] = tf.clip_by_value(images, 0.0, 255.0)
        if "bounding_boxes" in out:
            out = _clip_and_drop(out)
        return out

    return augment


def _clip_and_drop(batch: dict) -> dict:
    import tensorflow as tf

    images = batch["images"]
    height = tf.cast(tf.shape(images)[1], tf.float32)
    width = tf.cast(tf.shape(images)[2], tf.float32)
    boxes = batch["bounding_boxes"]["boxes"]
    labels = batch["bounding_boxes"]["labels"]
    x0 = tf.clip_by_value(boxes[..., 0], 0.0, width)
    y0 = tf.clip_by_value(boxes[..., 1], 0.0, height)
    x1 = tf.clip_by_value(boxes[..., 2], 0.0, width)
    y1 = tf.clip_by_value(boxes[..., 3], 0.0, height)
    keep = (labels >= 0) & (x1 - x0 >= MIN_BOX_SIDE) & (y1 - y0 >= MIN_BOX_SIDE)
    boxes = tf.where(keep[..., None], tf.stack([x0, y0, x1, y1], axis=-1), 0.0)
    out = dict(batch)
    out["bounding_boxes"] = {"boxes": boxes, "labels": tf.where(keep, labels, -1)}
    if "segmentation_masks" in batch:
        masks = batch["segmentation_masks"]
        out["segmentation_masks"] = masks * tf.cast(keep, masks.dtype)[:, None, None, :]
    return out
