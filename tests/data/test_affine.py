"""RandomAffine: one resampling for flips, rotation, zoom and shift; boxes and masks move with it."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.data.affine import RandomAffine

SIZE = 32


def _batch(n=12, mask_dtype=np.uint8):
    rng = np.random.default_rng(5)
    images = rng.uniform(0, 255, (n, SIZE, SIZE + 8, 3)).astype(np.float32)  # not square: axes can't be mixed up
    boxes = np.tile(np.array([[3.0, 5.0, 20.0, 11.0]], np.float32), (n, 1, 1))
    masks = np.zeros((n, SIZE, SIZE + 8, 1), mask_dtype)
    masks[:, 5:11, 3:20, 0] = 1
    return {"images": images, "bounding_boxes": {"boxes": boxes, "labels": np.zeros((n, 1), np.int32)},
            "segmentation_masks": masks}


def _run(layer, batch):
    import tensorflow as tf

    out = layer(tf.nest.map_structure(tf.constant, batch), training=True)
    return tf.nest.map_structure(lambda t: t.numpy(), out)


def test_a_flip_mirrors_pixels_boxes_and_masks_exactly():
    batch = _batch()
    out = _run(RandomAffine(horizontal_flip=True, vertical_flip=True, seed=0), batch)
    width, height = SIZE + 8, SIZE
    seen = set()
    for i in range(len(batch["images"])):
        for flip_x in (False, True):
            for flip_y in (False, True):
                image = batch["images"][i]
                mask = batch["segmentation_masks"][i]
                x0, y0, x1, y1 = batch["bounding_boxes"]["boxes"][i, 0]
                if flip_x:
                    image, mask, (x0, x1) = image[:, ::-1], mask[:, ::-1], (width - x1, width - x0)
                if flip_y:
                    image, mask, (y0, y1) = image[::-1], mask[::-1], (height - y1, height - y0)
                if np.allclose(out["images"][i], image, atol=1e-3):
                    seen.add((flip_x, flip_y))
                    np.testing.assert_array_equal(out["segmentation_masks"][i], mask)
                    np.testing.assert_allclose(out["bounding_boxes"]["boxes"][i, 0], [x0, y0, x1, y1], atol=1e-4)
                    break
            else:
                continue
            break
        else:
            pytest.fail(f"image {i} is neither the input nor one of its mirrors")
    assert len(seen) >= 3  # the flips are random per image


def test_flips_alone_reverse_the_pixels_resampling_would_give():
    """Flips only, the layer reverses the pixels instead of resampling them (a twelfth of a RetinaNet
    step on 2 cores): the same images and masks, for each of the four flips."""
    import tensorflow as tf

    from zazu.data.affine import flip_pixels

    batch = _batch(n=8)
    layer = RandomAffine(horizontal_flip=True, vertical_flip=True, seed=0)
    assert layer.flips_only and not RandomAffine(horizontal_flip=True, zoom_range=0.1).flips_only
    sx, sy = np.array([1, -1, 1, -1] * 2, np.float32), np.array([1, 1, -1, -1] * 2, np.float32)
    width, height = SIZE + 8, SIZE
    forward = tf.constant(np.stack([np.stack([sx, 0 * sx, (1 - sx) * width / 2], -1),
                                    np.stack([0 * sy, sy, (1 - sy) * height / 2], -1)], 1))
    data = {k: tf.constant(batch[k]) for k in ("images", "segmentation_masks")}
    reversed_, resampled = flip_pixels(data, forward), layer.resample(data, forward)
    for key in data:
        np.testing.assert_allclose(reversed_[key].numpy(), resampled[key].numpy(), atol=1e-3)
    assert not np.allclose(reversed_["images"].numpy()[1], batch["images"][1])  # the flips did happen


def test_uncovered_areas_are_filled_grey_in_images_and_empty_in_masks():
    batch = _batch()
    batch["segmentation_masks"][:] = 1
    out = _run(RandomAffine(zoom_range=0.5, rotation_range=20, fill_value=114.0, seed=2), batch)
    assert out["segmentation_masks"].dtype == np.uint8
    empty = out["segmentation_masks"][..., 0] == 0
    # well inside an uncovered area (its 3x3 neighbourhood too), so bilinear sampling blends in no image pixel
    padded = np.pad(empty, ((0, 0), (1, 1), (1, 1)), constant_values=True)
    deep = np.ones_like(empty)
    for dy in range(3):
        for dx in range(3):
            deep &= padded[:, dy:dy + empty.shape[1], dx:dx + empty.shape[2]]
    assert deep.sum() > 50  # zoomed out or rotated: parts came from outside the image
    np.testing.assert_allclose(out["images"][deep], 114.0, atol=1e-3)
    assert not np.isclose(out["images"][~empty], 114.0, atol=1e-3).all(axis=-1).all()  # the image is still there


def test_not_training_or_nothing_enabled_returns_the_batch_unchanged():
    batch = _batch()
    for layer, training in ((RandomAffine(rotation_range=30, seed=0), False), (RandomAffine(seed=0), True)):
        out = _run(layer, batch) if training else layer(batch, training=False)
        np.testing.assert_array_equal(out["images"], batch["images"])
        np.testing.assert_array_equal(out["bounding_boxes"]["boxes"], batch["bounding_boxes"]["boxes"])


def test_a_zoom_range_of_one_or_more_is_refused():
    with pytest.raises(ValueError, match="zoom_range"):
        RandomAffine(zoom_range=1.0)
