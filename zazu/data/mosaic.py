"""Mosaic augmentation for detection and segmentation batches, as Ultralytics trains YOLO.

With probability `probability` per output image, the output is four images of the
batch (itself top-left, then the next three of the batch: top-right, bottom-left,
bottom-right) tiled on a 2H x 2W canvas, and an H x W window of that canvas whose
top-left corner is uniform in [0, W] x [0, H]: the tiles meet at a point uniform
over the whole output, as Ultralytics draws its mosaic centre in [0.5, 1.5] x size
and crops the middle. Nothing is resized, so objects keep their scale; scale
jitter is RandomAffine's `zoom_range` afterwards (Ultralytics' `scale`, drawn the
same way: uniform in [1 - r, 1 + r] about the centre).

Boxes move with their tile and are clipped to the window; a box is dropped (label
-1) when less than `MIN_VISIBLE_FRACTION` of its area or less than `MIN_BOX_SIDE`
pixels of a side stays visible (Ultralytics' `box_candidates` thresholds, 10% and
2 px: a sliver of an object is a label no model can learn, while dropping a
larger part would leave visible object pixels labelled as background). Masks
follow their boxes.

Every output has 4M instance slots for the inputs' M: the own image's instances
and each partner's, none dropped for want of a slot. The kept ones come first (in
tile order), so `zazu.nn.boxes.used_slots` cuts the padding before encoding.
An image that is not a mosaic keeps its pixels, boxes and masks unchanged.

Pixel-exact: the window offset is a whole number of pixels and the pixels are
gathered, not resampled (row gather over the batch, then column gather per image).
"""

from __future__ import annotations

import keras

MIN_BOX_SIDE = 2.0  # pixels, as `zazu.data.augment.MIN_BOX_SIDE` (imported from there would be a circle)
MIN_VISIBLE_FRACTION = 0.1  # of a box's area; less visible after the crop and it is dropped


class RandomMosaic(keras.layers.Layer):
    """Per image, with probability `probability`, a mosaic of it and the next three images of the batch.

    Args:
        probability: chance that an output image is a mosaic, in [0, 1].
        seed: random seed.

    Call with a dict holding `images` [B, H, W, C], `bounding_boxes` {boxes [B, M, 4] xyxy pixels,
    labels [B, M], -1 = padding} and optionally `segmentation_masks` [B, H, W, M]. Returns the same
    dict with H and W unchanged and 4M instance slots (M with probability 0: the input itself).
    `enabled` (a boolean tf.Variable, default true) turns it off without rebuilding a pipeline.
    """

    def __init__(self, probability=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= probability <= 1:
            raise ValueError(f"Expected 0 <= probability <= 1. Received: probability={probability}")
        self.probability = float(probability)
        self.seed = seed
        import tensorflow as tf

        # made here, outside any traced function, so every call continues one random stream
        self._generator = (tf.random.Generator.from_seed(seed) if seed is not None
                           else tf.random.Generator.from_non_deterministic_state())

    def get_config(self):
        return {**super().get_config(), "probability": self.probability, "seed": self.seed}

    def call(self, data, training=True, enabled=None):
        """`enabled`: an optional scalar boolean tensor; false makes every image of the batch plain
        (the slots still grow to 4M, so the dataset's shapes do not change with it)."""
        import tensorflow as tf

        if not training or self.probability == 0:
            return data
        if "bounding_boxes" not in data:
            raise ValueError("Expected a batch with `bounding_boxes` (a mosaic of four images has no single "
                             f"class label). Received: keys={sorted(data)}")
        images = data["images"]
        shape = tf.shape(images)
        batch_size, height, width = shape[0], shape[1], shape[2]
        rng = self._generator
        mosaic = rng.uniform((batch_size,)) < self.probability
        # the window's top-left corner on the 2H x 2W canvas; 0 (the image itself) when not a mosaic
        x_offset = tf.where(mosaic, rng.uniform((batch_size,), 0, width + 1, dtype=tf.int32), 0)
        y_offset = tf.where(mosaic, rng.uniform((batch_size,), 0, height + 1, dtype=tf.int32), 0)
        if enabled is not None:
            mosaic = mosaic & enabled
            x_offset = tf.where(mosaic, x_offset, 0)
            y_offset = tf.where(mosaic, y_offset, 0)
        out = dict(data)
        canvas = _Canvas(mosaic, x_offset, y_offset, batch_size, height, width)
        out["images"] = canvas.crop(images)
        boxes, labels, origins = canvas.boxes(data["bounding_boxes"]["boxes"], data["bounding_boxes"]["labels"])
        out["bounding_boxes"] = {**data["bounding_boxes"], "boxes": boxes, "labels": labels}
        if "segmentation_masks" in data:
            out["segmentation_masks"] = canvas.masks(data["segmentation_masks"], origins, labels)
        return out


class _Canvas:
    """The tiling and window drawn for one batch: tile t (0 top-left, 1 top-right, 2 bottom-left,
    3 bottom-right) of output b is batch image (b + t) mod B, or image b alone when b is no mosaic."""

    def __init__(self, mosaic, x_offset, y_offset, batch_size, height, width):
        import tensorflow as tf

        self.mosaic, self.x_offset, self.y_offset = mosaic, x_offset, y_offset
        self.batch_size, self.height, self.width = batch_size, height, width
        self.rows = tf.range(height)[None] + y_offset[:, None]  # [B, H] canvas row of each output row
        self.columns = tf.range(width)[None] + x_offset[:, None]  # [B, W] canvas column of each output column
        self.bottom = self.rows >= height  # [B, H]
        self.right = self.columns >= width  # [B, W]

    def source(self, tile):
        """[B, ...] the batch index that fills `tile` (an int tensor) of each output."""
        import tensorflow as tf

        b = tf.range(self.batch_size)
        b = tf.reshape(b, tf.concat([[-1], tf.ones(tf.rank(tile) - 1, tf.int32)], 0))
        return tf.where(tf.reshape(self.mosaic, tf.shape(b)), (b + tile) % self.batch_size, b)

    def crop(self, pixels):
        """[B, H, W, C] -> the window of each output's canvas, [B, H, W, C]."""
        import tensorflow as tf

        h, w = self.height, self.width
        channels = tf.shape(pixels)[3]
        # rows: for each output row, the canvas row of the left and of the right tile, side by side
        tile_row = 2 * tf.cast(self.bottom, tf.int32)  # [B, H]: tile 0 or 2 on the left
        left_right = tf.stack([tile_row, tile_row + 1], axis=-1)  # [B, H, 2]
        flat = tf.reshape(pixels, tf.stack([-1, w, channels]))  # [B * H, W, C]
        index = self.source(left_right) * h + (self.rows % h)[..., None]
        rows = tf.gather(flat, index)  # [B, H, 2, W, C] = canvas rows [B, H, 2W, C]
        rows = tf.reshape(rows, tf.stack([self.batch_size, h, 2 * w, channels]))
        out = tf.gather(rows, self.columns, axis=2, batch_dims=1)
        out.set_shape(pixels.shape)
        return out

    def boxes(self, boxes, labels):
        """Boxes [B, M, 4] and labels [B, M] -> [B, 4M] of both, the kept ones first, and the [B, 4M]
        origins (tile * M + slot) each output slot came from."""
        import tensorflow as tf

        w, h = tf.cast(self.width, tf.float32), tf.cast(self.height, tf.float32)
        slots = tf.shape(labels)[1]
        tiles = tf.range(4)
        sources = self.source(tiles[None, :])  # [B, 4]
        tile_boxes = tf.gather(boxes, sources)  # [B, 4, M, 4]
        tile_labels = tf.gather(labels, sources)  # [B, 4, M]
        shift_x = tf.cast(tiles % 2, tf.float32)[None] * w - tf.cast(self.x_offset, tf.float32)[:, None]  # [B, 4]
        shift_y = tf.cast(tiles // 2, tf.float32)[None] * h - tf.cast(self.y_offset, tf.float32)[:, None]
        shift = tf.stack([shift_x, shift_y, shift_x, shift_y], axis=-1)[:, :, None, :]  # [B, 4, 1, 4]
        moved = tile_boxes + shift
        clipped = tf.minimum(tf.maximum(moved, 0.0), tf.stack([w, h, w, h]))
        area = (moved[..., 2] - moved[..., 0]) * (moved[..., 3] - moved[..., 1])
        side_x = clipped[..., 2] - clipped[..., 0]
        side_y = clipped[..., 3] - clipped[..., 1]
        visible = ((side_x >= MIN_BOX_SIDE) & (side_y >= MIN_BOX_SIDE)
                   & (side_x * side_y >= MIN_VISIBLE_FRACTION * area))
        mosaic = self.mosaic[:, None, None]
        own_tile = (tiles == 0)[None, :, None]
        # a plain image keeps its own boxes exactly (not clipped) and nothing of the other tiles
        keep = (tile_labels >= 0) & tf.where(mosaic, visible, own_tile)
        new_boxes = tf.where(mosaic[..., None], clipped, tile_boxes)
        flat_keep = tf.reshape(keep, [self.batch_size, 4 * slots])
        order = tf.argsort(tf.cast(~flat_keep, tf.int32), axis=1, stable=True)  # kept first, in tile order
        kept = tf.gather(flat_keep, order, batch_dims=1)
        new_boxes = tf.gather(tf.reshape(new_boxes, [self.batch_size, 4 * slots, 4]), order, batch_dims=1)
        new_labels = tf.gather(tf.reshape(tile_labels, [self.batch_size, 4 * slots]), order, batch_dims=1)
        new_boxes = tf.where(kept[..., None], new_boxes, 0.0)
        new_labels = tf.where(kept, new_labels, -1)
        if labels.shape[1] is not None:  # static slots for the dataset's element spec
            new_boxes.set_shape((labels.shape[0], 4 * labels.shape[1], 4))
            new_labels.set_shape((labels.shape[0], 4 * labels.shape[1]))
        return new_boxes, new_labels, order

    def masks(self, masks, origins, labels):
        """Masks [B, H, W, M] -> [B, H, W, 4M]: output slot s holds the mask of instance `origins[b, s]`
        (tile * M + slot) on its tile's part of the window, zero elsewhere and for dropped slots."""
        import tensorflow as tf

        slots = tf.shape(masks)[3]
        mixed = self.crop(masks)  # every tile's slot j, each on its own part of the window
        tile_map = 2 * tf.cast(self.bottom, tf.int32)[:, :, None] + tf.cast(self.right, tf.int32)[:, None, :]
        wanted = tf.gather(mixed, origins % slots, axis=3, batch_dims=1)  # [B, H, W, 4M]
        mine = tf.equal(tile_map[..., None], (origins // slots)[:, None, None, :]) & (labels >= 0)[:, None, None, :]
        out = wanted * tf.cast(mine, masks.dtype)
        out.set_shape(masks.shape[:3] + (None if masks.shape[3] is None else 4 * masks.shape[3],))
        return out


class MosaicSchedule:
    """Mosaics for the first `mosaic_epochs` epochs of training, none after: Ultralytics' `close_mosaic`,
    the last epochs on plain images like those the model will see.

    Each batch carries its own number, drawn in order as the pipeline makes it (`number_batches`), so
    the switch is exact although tf.data prefetches batches of the next epoch before this one ends (a
    flag flipped at an epoch's start would miss those). The trainer calls `start_at(epoch)` before each
    `fit` starts an iterator (`BaseAdapter.before_fit`): a later phase, or a resumed trial, counts on
    from its first epoch, and batches an earlier iterator made but never served count for nothing.

    Under a time budget (`deadline`) the training may end before its planned epochs, so `callback()`
    watches the epochs: once the time left holds no more epochs (as long as the last one) than
    `close_epochs` (or `close_share` of all the epochs that will have run), the epochs from the next one
    on are plain. Batches the pipeline already made for that epoch keep their mosaics (a prefetch's
    worth, a few batches)."""

    def __init__(self, mosaic_epochs: int, close_epochs: int | None = None, close_share: float | None = None,
                 deadline: float | None = None):
        import tensorflow as tf

        self.steps_per_epoch = None  # set by `number_batches`
        self.close_epochs, self.close_share, self.deadline = close_epochs, close_share, deadline
        self._next_batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="mosaic_next_batch")
        self._mosaic_epochs = tf.Variable(int(mosaic_epochs), dtype=tf.int64, trainable=False,
                                          name="mosaic_epochs")

    @property
    def mosaic_epochs(self) -> int:
        return int(self._mosaic_epochs.numpy())

    def start_at(self, epoch: int) -> None:
        if self.steps_per_epoch is None:
            raise ValueError("Expected number_batches() to have made the pipeline before start_at(). "
                             f"Received: steps_per_epoch=None, epoch={epoch}")
        self._next_batch.assign(int(epoch) * self.steps_per_epoch)

    def close_after(self, epochs_done: int, epochs_left: int) -> bool:
        """Close the mosaics from epoch `epochs_done` on when `epochs_left` are as few as the rule says;
        whether it did (already closed earlier counts too)."""
        close = self.close_epochs if self.close_share is None else max(
            1, round(self.close_share * (epochs_done + epochs_left)))
        if epochs_left <= close and self.mosaic_epochs > epochs_done:
            self._mosaic_epochs.assign(int(epochs_done))
        return self.mosaic_epochs <= epochs_done

    def callback(self):
        """A Keras callback closing the mosaics before the deadline (None without one: the planned epochs
        hold)."""
        if self.deadline is None:
            return None
        import time

        import keras

        schedule = self

        class CloseMosaicBeforeDeadline(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.started = time.time()

            def on_epoch_end(self, epoch, logs=None):
                now = time.time()
                seconds = max(now - self.started, 1e-6)
                schedule.close_after(epoch + 1, int(max(0.0, schedule.deadline - now) // seconds))

        return CloseMosaicBeforeDeadline()

    def number_batches(self, ds, steps_per_epoch: int):
        """`ds` (batches, dicts) with `mosaic_enabled` added to each: its epoch < `mosaic_epochs`. A map on
        one thread, in order: the numbers follow the order the batches are served in."""
        self.steps_per_epoch = int(steps_per_epoch)

        def numbered(batch):
            number = self._next_batch.assign_add(1) - 1
            return {**batch, "mosaic_enabled": number // self.steps_per_epoch < self._mosaic_epochs}

        return ds.map(numbered)  # no num_parallel_calls: one at a time, in order
