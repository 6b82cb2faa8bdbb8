"""A detector's or segmenter's data, as its adapter trains and scores on it: the letterboxed pipeline of its
records with their boxes (and masks) as targets, and the coder's training targets of a batch. Shared by the
detection adapter and its cached-feature phase (`zazu.adapters.cached_features`)."""

from __future__ import annotations


def instance_pipeline(adapter, records, training: bool, augment: dict | None, mosaic_schedule=None):
    """(batches of `records` as the adapter trains or scores on them: letterboxed, their boxes (and masks) as
    targets, augmented when `training`; the targets)."""
    from zazu.data.pipeline import instance_dataset, instance_targets

    targets = instance_targets(records, adapter.input_size, int(adapter.hp["max_instances"]),
                               with_masks=adapter.uses_masks)
    paths = [adapter.dataset.abspath(r) for r in records]
    return instance_dataset(paths, targets, adapter.input_size, int(adapter.hp["batch_size"]),
                            training=training, augment_settings=augment, seed=adapter.seed,
                            mosaic_schedule=mosaic_schedule), targets


def encoded_targets(coder, boxes, labels, *masks) -> tuple:
    """A batch's training targets from the coder, its padding slots cut first (`used_slots`), masks
    as float (the cached-feature phase holds them as uint8)."""
    import tensorflow as tf

    from zazu.nn.boxes import used_slots

    boxes, labels, *masks = used_slots(boxes, labels, *masks)
    return tuple(coder.encode(boxes, labels, *[tf.cast(m, tf.float32) for m in masks]))
