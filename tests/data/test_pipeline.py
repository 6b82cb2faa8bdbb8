"""tf.data pipelines: letterboxing with boxes and masks, the file cache, representative data, previews."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zazu.data import pipeline
from zazu.data.check import check_dataset
from zazu.data.readers import read_dataset
from zazu.data.records import ImageRecord, Instance
from zazu.data.synthetic import ensure_synthetic


def _image(path, w, h, colour=(200, 30, 30)):
    Image.new("RGB", (w, h), colour).save(path)
    return str(path)


def test_letterbox_keeps_aspect_and_pads_bottom_right(tmp_path):
    path = _image(tmp_path / "wide.png", 80, 40)
    image, scale = pipeline.load_letterboxed(path, (32, 32))
    image = image.numpy()
    assert float(scale) == pytest.approx(0.4)
    assert image.shape == (32, 32, 3)
    assert np.allclose(image[:16, :, 0], 200)  # the picture: 80x40 -> 32x16, top-left
    assert np.allclose(image[16:, :, :], 114.0)  # padding below it: grey 114, as YOLO-style letterboxes


def test_greyscale_and_rgba_become_rgb(tmp_path):
    Image.new("L", (20, 20), 77).save(tmp_path / "grey.png")
    Image.new("RGBA", (20, 20), (10, 20, 30, 128)).save(tmp_path / "rgba.png")
    grey = pipeline.load_image(str(tmp_path / "grey.png"), (8, 8)).numpy()
    rgba = pipeline.load_image(str(tmp_path / "rgba.png"), (8, 8)).numpy()
    assert grey.shape == rgba.shape == (8, 8, 3)
    assert np.allclose(grey, 77) and np.allclose(rgba[0, 0], (10, 20, 30))


def test_instance_targets_scale_boxes_and_rasterise_masks_with_the_letterbox(tmp_path):
    path = _image(tmp_path / "a.png", 100, 50)
    square = Instance(label=1, box=(10, 10, 30, 30), polygons=((10, 10, 30, 10, 30, 30, 10, 30),))
    crowd = Instance(label=0, box=(0, 0, 5, 5), iscrowd=True)
    record = ImageRecord("a.png", width=100, height=50, instances=(square, crowd))
    targets = pipeline.instance_targets([record], (40, 40), max_instances=3, with_masks=True)
    assert np.allclose(targets.scales, [0.4])
    assert np.allclose(targets.boxes[0, 0], [4, 4, 12, 12])
    assert list(targets.labels[0]) == [1, -1, -1]  # crowd regions are not training targets
    mask = targets.masks[0, :, :, 0]
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (4, 4, 12, 12)

    batch = next(iter(pipeline.instance_dataset([path], targets, (40, 40), 1, training=False)))
    assert batch["images"].shape == (1, 40, 40, 3)
    assert batch["segmentation_masks"].shape == (1, 40, 40, 3)
    assert np.allclose(batch["bounding_boxes"]["boxes"][0, 0], [4, 4, 12, 12])


def test_file_cache_is_used_when_images_do_not_fit_in_memory_and_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pipeline, "MEMORY_CACHE_LIMIT", 10)
    paths = [_image(tmp_path / f"{i}.png", 30, 20, (i * 40, 0, 0)) for i in range(4)]

    def run():
        ds = pipeline.classification_dataset(paths, [0, 1, 0, 1], (16, 16), 2, training=False)
        return np.concatenate([x.numpy() for x, _ in ds])

    first = run()
    index_files = list((tmp_path / "cache" / "tfdata").glob("*/images.index"))
    assert len(index_files) == 1  # one fingerprinted cache, complete
    stamp = index_files[0].stat().st_mtime_ns
    assert np.array_equal(run(), first)
    assert index_files[0].stat().st_mtime_ns == stamp  # read back, not rewritten

    _image(tmp_path / "0.png", 30, 20, (255, 255, 255))  # a changed file: new fingerprint
    changed = run()
    assert len(list((tmp_path / "cache" / "tfdata").glob("*/images.index"))) == 2
    assert not np.array_equal(changed, first)


def test_representative_images_are_unaugmented_inference_inputs(tmp_path):
    paths = [_image(tmp_path / f"{i}.png", 64, 32) for i in range(3)]
    batches = list(pipeline.representative_images(paths, (32, 32), limit=2, letterbox=True))
    assert len(batches) == 2
    assert batches[0].shape == (1, 32, 32, 3) and batches[0].dtype == np.float32
    assert np.array_equal(batches[0][0], pipeline.load_letterboxed(paths[0], (32, 32))[0].numpy())


def test_calibration_images_come_from_the_whole_training_list_not_its_first_class(tmp_path):
    paths = []
    for k, grey in enumerate([0] * 30 + [200] * 30):  # listed class by class, as folder datasets are
        path = tmp_path / f"{k:02d}.png"
        Image.new("RGB", (8, 8), (grey, grey, grey)).save(path)
        paths.append(str(path))
    levels = [float(image.mean()) for image in pipeline.representative_images(paths, (8, 8), limit=10)]
    assert len(levels) == 10
    assert 3 <= sum(level == 0.0 for level in levels) <= 7  # both classes, about half each


def test_embedded_detection_and_segmentation_sets_read_as_coco(tmp_path, monkeypatch):
    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path / "cache"))
    for task, polygons in (("detection", False), ("instance_segmentation", True)):
        root = ensure_synthetic(task, seed=0)
        report = check_dataset(read_dataset(root))
        assert report.dataset.format == "coco" and report.exit_code() == 0
        assert len(report.dataset.records) == 400
        instances = [i for r in report.dataset.records for i in r.instances]
        assert len(instances) >= 400
        assert all(bool(i.polygons) == polygons for i in instances)


def test_preview_writes_a_png_grid(tmp_path, monkeypatch):
    from zazu.data.augment import resolve_augmentation
    from zazu.data.preview import write_preview

    monkeypatch.setenv("ZAZU_CACHE", str(tmp_path / "cache"))
    dataset = check_dataset(read_dataset(ensure_synthetic("instance_segmentation"))).dataset
    out = write_preview(dataset, tmp_path / "grid.png", (64, 64), count=8,
                        augment_settings=resolve_augmentation({"rotation_range": 15}, "classification"))
    with Image.open(out) as im:
        assert im.size == (4 * 64 + 3 * 4, 2 * 64 + 4)


def test_training_batches_mix_every_class_of_a_class_by_class_listing(tmp_path):
    """Readers list folder-per-class files class by class: each epoch must be a permutation of the
    whole set (a 512-image buffer left the first batches with one or two classes), and every image
    must keep its own label."""
    paths, labels = [], []
    for label in range(3):
        for i in range(300):  # 900 images: more than the old buffer, listed class by class
            paths.append(_image(tmp_path / f"{label}-{i}.png", 4, 4, (label * 100, 0, 0)))
            labels.append(label)
    ds = pipeline.classification_dataset(paths, labels, (4, 4), 64, training=True, seed=0)
    for epoch in range(2):
        images, batch_labels = next(iter(ds))
        counts = np.bincount(batch_labels.numpy(), minlength=3)
        assert counts.min() >= 10, f"epoch {epoch}: first batch of 64 holds classes {counts.tolist()}"
        assert np.array_equal(images.numpy()[:, 0, 0, 0], batch_labels.numpy() * 100.0)
    seen = np.concatenate([y.numpy() for _, y in ds])
    assert np.bincount(seen).tolist() == [300, 300, 300]


def test_endless_epochs_of_steps_batches_are_each_one_fresh_permutation_of_the_set(tmp_path):
    """Training fits on `endless(train_ds)` with `steps_per_epoch` one pass: each epoch's batches must
    hold every image exactly once (a count off by one would shift every later epoch), reshuffled."""
    paths, labels = [], []
    for i in range(37):  # not a multiple of the batch: the last batch of each pass is short
        paths.append(_image(tmp_path / f"{i}.png", 4, 4, (i, 0, 0)))
        labels.append(i % 3)
    ds = pipeline.classification_dataset(paths, labels, (4, 4), 8, training=True, seed=0)
    repeated, steps = pipeline.endless(ds)
    assert steps == 5
    batches = iter(repeated)
    orders = []
    for _ in range(3):
        order = np.concatenate([next(batches)[0].numpy()[:, 0, 0, 0] for _ in range(steps)])
        assert sorted(order.tolist()) == list(range(37))
        orders.append(order.tolist())
    assert orders[0] != orders[1] != orders[2]
    unknown_length = ds.filter(lambda x, y: True)
    assert pipeline.endless(unknown_length) == (unknown_length, None)
