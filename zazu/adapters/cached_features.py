"""A pretrained detector's frozen phase on backbone features computed once per trial: the heads learn from
cached arrays instead of running the frozen backbone every epoch (detection's counterpart of
`zazu.adapters.pooled_features`). Functions of the adapter, which keeps its data, coder and model."""

from __future__ import annotations

import numpy as np

from zazu.adapters.deadline import deadline_callbacks
from zazu.adapters.instance_data import encoded_targets, instance_pipeline
from zazu.run_records import CHECKPOINT

HEADS_LAYER = "heads"  # pyramid + heads as one nested model, when the backbone is pretrained


def fit_heads(adapter, phase) -> tuple[int, float, dict]:
    """The frozen phase on backbone features computed once per trial (`cached_feature_datasets`).
    Leaves the whole model, best epoch, in the trial's checkpoint. Returns (epochs done, best
    val_loss, history)."""
    import keras

    from zazu.interrupts import interrupt_callback

    folder = adapter.require_trial_dir()
    heads = adapter.model.get_layer(HEADS_LAYER)
    (train, steps), val = cached_feature_datasets(adapter)
    trainer = keras.Model(heads.inputs, heads.outputs)  # compiled instead of `heads`, which is saved inside the model
    trainer.compile(optimizer=keras.optimizers.Adam(phase.learning_rate, clipnorm=10.0), loss=adapter.coder.losses())
    patience = int(adapter.hp["patience"])
    fitted = trainer.fit(train, steps_per_epoch=steps, validation_data=val, epochs=phase.end_epoch, verbose=0,
                         shuffle=False,  # tf.data shuffles
                         callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=patience,
                                                                  restore_best_weights=True),
                                    keras.callbacks.CSVLogger(str(folder / "history.csv")),
                                    *adapter.progress_callbacks, *deadline_callbacks(adapter.model_specs.deadline),
                                    interrupt_callback()])
    best = float(min(fitted.history["val_loss"]))
    adapter.compile_for(phase.learning_rate)
    adapter.model.save(folder / CHECKPOINT)
    return phase.end_epoch, best, {k: [float(v) for v in values] for k, values in fitted.history.items()}


def cached_feature_datasets(adapter):
    """((train batches repeated, steps a pass), val batches) of backbone features and encoded
    targets, for the heads to learn from: the features of every training image or, drawn at random
    each epoch when the run's augmentation flips, of its mirror image (the flip, exactly), boxes and
    masks mirrored to match."""
    import tensorflow as tf

    from zazu.data.pipeline import endless, feed

    batch = int(adapter.hp["batch_size"])
    flip = bool((adapter.augmentation() or {}).get("horizontal_flip"))
    width = float(adapter.input_size[1])
    train_features, train_targets = backbone_features(adapter, adapter.train_records, mirrored=False)
    mirror_features = [backbone_features(adapter, adapter.train_records, mirrored=True)[0]] if flip else []
    masks = [train_targets.masks] if adapter.uses_masks else []
    val_features, val_targets = backbone_features(adapter, adapter.val_records, mirrored=False)

    def either(features, mirrored, boxes, labels, *masks):
        # one sample per image and epoch, mirrored or not, as the flip augmentation draws it
        coin = tf.random.uniform(()) < 0.5
        boxes = tf.where(coin, tf.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], -1),
                         boxes)
        masks = [tf.where(coin, tf.reverse(m, axis=[1]), m) for m in masks]
        return tuple(tf.where(coin, b, a) for a, b in zip(features, mirrored)), boxes, labels, *masks

    def to_xy(features, boxes, labels, *masks):
        return tuple(tf.cast(f, tf.float32) for f in features), encoded_targets(adapter.coder, boxes, labels, *masks)

    def batches(ds):
        return feed(ds.batch(batch).map(to_xy, num_parallel_calls=tf.data.AUTOTUNE))

    train = tf.data.Dataset.from_tensor_slices((tuple(train_features), *map(tuple, mirror_features),
                                                train_targets.boxes, train_targets.labels, *masks))
    train = train.shuffle(len(adapter.train_records), seed=adapter.seed, reshuffle_each_iteration=True)
    if flip:
        train = train.map(either, num_parallel_calls=tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((tuple(val_features), val_targets.boxes, val_targets.labels,
                                              *([val_targets.masks] if adapter.uses_masks else [])))
    return endless(batches(train)), batches(val)


def backbone_features(adapter, records, mirrored: bool):
    """(the frozen backbone's features of `records` at the levels the heads read, one array a
    level, their targets); of the mirrored images when `mirrored`. float16: half the memory, and
    the heads read them as float32."""
    import tensorflow as tf

    from zazu.nn.backbones import BACKBONE_LAYER, FEATURE_STRIDES

    backbone = adapter.model.get_layer(BACKBONE_LAYER)
    levels = [FEATURE_STRIDES.index(s) for s in adapter.head_strides]
    images, targets = instance_pipeline(adapter, records, False, None)
    parts = [[] for _ in levels]
    for b in images:
        outputs = backbone(tf.reverse(b["images"], axis=[2]) if mirrored else b["images"], training=False)
        for k, level in enumerate(levels):
            parts[k].append(np.asarray(outputs[level], np.float16))
    return [np.concatenate(p) for p in parts], targets
