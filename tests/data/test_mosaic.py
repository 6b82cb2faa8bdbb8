"""RandomMosaic: four images tiled, a window cropped; boxes and masks follow their tile pixel-exactly.

Every image is a solid background with solid, non-overlapping boxes, each box its
own colour and its own label. After the mosaic, a kept box must be exactly the
extent of its colour in the output, its mask exactly those pixels, and a colour
visible enough (>= 10% of the box, >= 2 px a side) must have its box kept."""

from __future__ import annotations

import numpy as np
import pytest

from zazu.data.mosaic import MIN_BOX_SIDE, MIN_VISIBLE_FRACTION, RandomMosaic

B, H, W, M = 6, 32, 40, 4  # not square, so rows and columns cannot be mixed up; slot 3 is padding
USED = 3


def _colour(label: int) -> np.ndarray:
    return np.array([200.0, 10.0 * label, 50.0], np.float32)


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    images = np.zeros((B, H, W, 3), np.float32)
    boxes = np.zeros((B, M, 4), np.float32)
    labels = np.full((B, M), -1, np.int32)
    masks = np.zeros((B, H, W, M), np.uint8)
    for i in range(B):
        images[i] = (0.0, 0.0, 20.0 * i)  # backgrounds: red 0, never a box colour
        for j in range(USED):
            band = W // USED  # box j within its own band of columns: boxes never overlap
            x0 = j * band + rng.integers(0, band - 6)
            x1 = rng.integers(x0 + 4, (j + 1) * band + 1)
            y0 = rng.integers(0, H - 6)
            y1 = rng.integers(y0 + 4, H + 1)
            label = i * M + j
            images[i, y0:y1, x0:x1] = _colour(label)
            masks[i, y0:y1, x0:x1, j] = 1
            boxes[i, j] = (x0, y0, x1, y1)
            labels[i, j] = label
    return {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}, "segmentation_masks": masks}


def _run(layer, batch, **kwargs):
    import tensorflow as tf

    out = layer(tf.nest.map_structure(tf.constant, batch), training=True, **kwargs)
    return tf.nest.map_structure(lambda t: t.numpy(), out)


def _is_plain(out, batch, i) -> bool:
    return np.array_equal(out["images"][i], batch["images"][i])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boxes_and_masks_follow_their_tile_exactly(seed):
    batch = _batch(seed)
    out = _run(RandomMosaic(1.0, seed=seed), batch)
    assert out["images"].shape == (B, H, W, 3)
    assert out["bounding_boxes"]["boxes"].shape == (B, 4 * M, 4)
    assert out["segmentation_masks"].shape == (B, H, W, 4 * M)
    areas = {int(l): (b[2] - b[0]) * (b[3] - b[1]) for b, l in
             zip(batch["bounding_boxes"]["boxes"].reshape(-1, 4), batch["bounding_boxes"]["labels"].ravel()) if l >= 0}
    kept_total = dropped_total = 0
    for i in range(B):
        assert not _is_plain(out, batch, i)
        image = out["images"][i]
        labels = out["bounding_boxes"]["labels"][i]
        kept = labels[labels >= 0]
        assert (labels[:len(kept)] >= 0).all()  # kept ones first: used_slots cuts the rest
        assert len(set(kept.tolist())) == len(kept)
        # every pixel comes from one of the four tiles: the own image and the next three of the batch
        backgrounds = {20.0 * ((i + t) % B) for t in range(4)}
        plain = image[..., 0] == 0
        assert set(np.unique(image[plain][:, 2]).tolist()) <= backgrounds
        for label in {int(l) for l in areas}:
            region = np.all(image == _colour(label), axis=-1)
            slot = np.nonzero(labels == label)[0]
            if slot.size:
                ys, xs = np.nonzero(region)
                extent = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
                np.testing.assert_array_equal(out["bounding_boxes"]["boxes"][i, slot[0]], extent)
                np.testing.assert_array_equal(out["segmentation_masks"][i, ..., slot[0]] > 0, region)
                side_x, side_y = extent[2] - extent[0], extent[3] - extent[1]
                assert min(side_x, side_y) >= MIN_BOX_SIDE and side_x * side_y >= MIN_VISIBLE_FRACTION * areas[label]
                kept_total += 1
            elif region.any():  # dropped, yet partly visible: too little of it
                ys, xs = np.nonzero(region)
                w, h = xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()
                assert w < MIN_BOX_SIDE or h < MIN_BOX_SIDE or w * h < MIN_VISIBLE_FRACTION * areas[label], label
                dropped_total += 1
        # a dropped or padding slot has no box and no mask
        np.testing.assert_array_equal(out["bounding_boxes"]["boxes"][i, labels < 0], 0)
        assert not out["segmentation_masks"][i][..., labels < 0].any()
    assert kept_total >= B * 3  # the cases above really happened
    assert dropped_total >= 1 or seed != 0


def test_boxes_outside_the_window_are_dropped():
    """Each output shows about a quarter of each of its four images: most source boxes fall outside
    the window, and none of those may keep a label."""
    batch = _batch()
    out = _run(RandomMosaic(1.0, seed=3), batch)
    for i in range(B):
        shown = {int(l) for l in out["bounding_boxes"]["labels"][i] if l >= 0}
        for t in range(4):
            for label in batch["bounding_boxes"]["labels"][(i + t) % B][:USED]:
                if not np.all(out["images"][i] == _colour(int(label)), axis=-1).any():
                    assert int(label) not in shown
        assert len(shown) < 4 * USED


def test_probability_zero_is_the_identity():
    batch = _batch()
    out = _run(RandomMosaic(0.0, seed=0), batch)
    for key in ("images", "segmentation_masks"):
        np.testing.assert_array_equal(out[key], batch[key])
    for key in ("boxes", "labels"):
        np.testing.assert_array_equal(out["bounding_boxes"][key], batch["bounding_boxes"][key])  # M slots, not 4M


def test_images_drawn_plain_keep_their_pixels_boxes_and_masks():
    batch = _batch()
    plain = 0
    for seed in range(3):
        out = _run(RandomMosaic(0.5, seed=seed), batch)
        for i in range(B):
            if _is_plain(out, batch, i):
                plain += 1
                np.testing.assert_array_equal(out["bounding_boxes"]["boxes"][i, :M], batch["bounding_boxes"]["boxes"][i])
                np.testing.assert_array_equal(out["bounding_boxes"]["labels"][i, :M],
                                              batch["bounding_boxes"]["labels"][i])
                assert (out["bounding_boxes"]["labels"][i, M:] == -1).all()
                np.testing.assert_array_equal(out["segmentation_masks"][i, ..., :M], batch["segmentation_masks"][i])
    assert 0 < plain < 3 * B


def test_enabled_false_leaves_every_image_plain():
    import tensorflow as tf

    batch = _batch()
    out = _run(RandomMosaic(1.0, seed=0), batch, enabled=tf.constant(False))
    np.testing.assert_array_equal(out["images"], batch["images"])
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"][:, :M], batch["bounding_boxes"]["labels"])


def test_the_seed_decides_the_mosaics():
    batch = _batch()
    first, again, other = (_run(RandomMosaic(0.5, seed=s), batch) for s in (7, 7, 8))
    np.testing.assert_array_equal(first["images"], again["images"])
    np.testing.assert_array_equal(first["bounding_boxes"]["boxes"], again["bounding_boxes"]["boxes"])
    assert not np.array_equal(first["images"], other["images"])


def test_a_batch_without_boxes_is_refused():
    import tensorflow as tf

    with pytest.raises(ValueError, match="Expected a batch with `bounding_boxes`"):
        RandomMosaic(1.0, seed=0)({"images": tf.zeros((2, 8, 8, 3))}, training=True)


def test_a_probability_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"Expected 0 <= probability <= 1. Received: probability=1.5"):
        RandomMosaic(1.5)


def test_training_batches_of_the_instance_pipeline_are_mosaics_of_static_size(tmp_path, monkeypatch):
    """`instance_dataset` applies it to training batches only; the model sees H x W unchanged and 4M
    slots, known before the first batch (the dataset's element spec)."""
    from zazu.data.augment import resolve_augmentation
    from zazu.data.check import check_dataset
    from zazu.data.pipeline import instance_dataset, instance_targets
    from zazu.data.readers import read_dataset
    from zazu.data.synthetic import ensure_synthetic

    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path / "cache"))
    dataset = check_dataset(read_dataset(ensure_synthetic("instance_segmentation"))).dataset
    records = dataset.records[:8]
    paths = [dataset.abspath(r) for r in records]
    targets = instance_targets(records, (64, 64), max_instances=5, with_masks=True)
    settings = resolve_augmentation({"mosaic": 1.0, "horizontal_flip": False})
    train = instance_dataset(paths, targets, (64, 64), 8, training=True, augment_settings=settings)
    spec = train.element_spec
    assert spec["images"].shape.as_list() == [None, 64, 64, 3]
    assert spec["bounding_boxes"]["boxes"].shape.as_list() == [None, 20, 4]
    assert spec["segmentation_masks"].shape.as_list() == [None, 64, 64, 20]
    batch = next(iter(train))
    kept = batch["bounding_boxes"]["labels"].numpy() >= 0
    assert kept.sum(axis=1).max() > 0
    masks = batch["segmentation_masks"].numpy()
    assert all(masks[i, ..., j].any() for i, j in zip(*np.nonzero(kept)))  # a kept box keeps its mask
    val = instance_dataset(paths, targets, (64, 64), 8, training=False, augment_settings=settings)
    assert val.element_spec["bounding_boxes"]["boxes"].shape.as_list() == [None, 5, 4]


def test_classification_refuses_a_mosaic(tmp_path):
    from zazu.config import resolve_config
    from zazu.data.augment import resolve_augmentation
    from zazu.data.pipeline import classification_dataset
    from zazu.errors import ConfigError

    message = r"Expected augmentation.mosaic: 0 for classification .* Received: mosaic=0.5"
    from zazu.search.driver import run_search

    with pytest.raises(ConfigError, match=message):  # before any data is read or folder written
        run_search(resolve_config(overrides={"task": "classification", "augmentation": {"mosaic": 0.5},
                                             "output": str(tmp_path / "run")}))
    assert not (tmp_path / "run").exists()
    assert resolve_config(overrides={"task": "detection", "augmentation": {"mosaic": 0.5}})["augmentation"]["mosaic"] == 0.5
    with pytest.raises(ConfigError, match=message):
        classification_dataset([str(tmp_path / "a.png")], [0], (8, 8), 1, training=True,
                               augment_settings=resolve_augmentation({"mosaic": 0.5}))


def test_close_mosaic_turns_it_off_for_the_last_epochs_exactly(tmp_path, monkeypatch):
    """2 batches an epoch, 3 epochs, close_mosaic 1: the first 4 batches served are mosaics, the last 2
    plain, although the pipeline prefetches ahead; a fit starting at a later epoch counts from there."""
    from zazu.data.augment import mosaic_schedule, resolve_augmentation
    from zazu.data.check import check_dataset
    from zazu.data.pipeline import endless, instance_dataset, instance_targets
    from zazu.data.readers import read_dataset
    from zazu.data.synthetic import ensure_synthetic

    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path / "cache"))
    dataset = check_dataset(read_dataset(ensure_synthetic("detection"))).dataset
    records = dataset.records[:8]
    paths = [dataset.abspath(r) for r in records]
    targets = instance_targets(records, (32, 32), max_instances=5, with_masks=False)
    settings = resolve_augmentation({"mosaic": 1.0, "close_mosaic": 1, "horizontal_flip": False})
    assert mosaic_schedule(resolve_augmentation({"mosaic": 1.0, "close_mosaic": 0}), 3) is None  # nothing to close
    schedule = mosaic_schedule(settings, epochs=3)
    train = instance_dataset(paths, targets, (32, 32), 4, training=True, augment_settings=settings,
                             mosaic_schedule=schedule)
    plain = {image.tobytes() for b in instance_dataset(paths, targets, (32, 32), 4, training=False)
             for image in b["images"].numpy()}

    def served(first_epoch, batches):
        schedule.start_at(first_epoch)  # as fit_keeping_best's before_fit
        ds, steps = endless(train)
        assert steps == 2
        return [sum(image.tobytes() in plain for image in b["images"].numpy()) for b in ds.take(batches)]

    assert served(0, 6) == [0, 0, 0, 0, 4, 4]
    assert served(2, 2) == [4, 4]
    assert served(1, 3) == [0, 0, 4]


def test_mosaic_auto_is_the_tasks_and_close_mosaic_auto_a_share_of_the_epochs():
    from zazu.data.augment import closed_epochs, mosaic_schedule, resolve_augmentation

    assert resolve_augmentation({}, "detection")["mosaic"] == 1.0
    assert resolve_augmentation({}, "classification")["mosaic"] == 0.0
    assert resolve_augmentation({}, "instance_segmentation")["mosaic"] == 1.0
    assert resolve_augmentation({"mosaic": 0.5}, "detection")["mosaic"] == 0.5  # a value given is kept
    assert [closed_epochs(n) for n in (1, 6, 18, 100)] == [1, 1, 3, 15]
    assert mosaic_schedule(resolve_augmentation({}, "detection"), 18).mosaic_epochs == 15


def test_under_a_deadline_the_mosaics_close_when_the_epochs_left_are_few():
    """With a time budget the planned epochs may never all run: the schedule closes the mosaics once the
    time left holds no more epochs than the share (15% of those that will have run)."""
    from zazu.data.mosaic import MosaicSchedule

    schedule = MosaicSchedule(100, close_share=0.15, deadline=1e12)  # 116 planned, say: far more than will run
    assert not schedule.close_after(epochs_done=5, epochs_left=10)  # 15 in all: close at 2 left
    assert schedule.mosaic_epochs == 100
    assert not schedule.close_after(epochs_done=12, epochs_left=3)
    assert schedule.close_after(epochs_done=13, epochs_left=2)  # the 14th epoch on is plain
    assert schedule.mosaic_epochs == 13
    assert schedule.close_after(epochs_done=14, epochs_left=1) and schedule.mosaic_epochs == 13  # stays closed
    assert MosaicSchedule(10, close_epochs=2).callback() is None  # no deadline: the planned epochs hold
