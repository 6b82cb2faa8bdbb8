"""bench/dense_set.py's dense development set, built small from the real photos in shared/datasets beside the
repository: a Pascal VOC folder Zazu reads with its given split, class sizes in their bands, crowded images,
val made of other source photos than train, and the same bytes for the same seed. No training here."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from bench_modules import load_bench

REPO = Path(__file__).resolve().parents[2]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
N_TRAIN, N_VAL = 6, 3
# sqrt(box area) px: each class's median must fall in its band (intended: 39, 102 and 188)
SIZE_BANDS = {"vehicle": (25, 55), "person": (70, 140), "raccoon": (130, 260)}


dense_set = load_bench("dense_set")


def shared_datasets() -> Path:
    """shared/datasets; its absence fails the test (never skips: CI must provide it)."""
    if not SHARED_DATASETS.is_dir():
        pytest.fail(f"The shared datasets are missing: expected {SHARED_DATASETS} (the `shared` folder beside the "
                    f"repository {REPO}). Clone or copy shared/ next to the repository.")
    return SHARED_DATASETS


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(folder, returned summary) of a small dense set, seed 0."""
    folder = tmp_path_factory.mktemp("dense") / "voc"
    return folder, dense_set.write_dense_set(folder, shared_datasets(), n_train=N_TRAIN, n_val=N_VAL, seed=0)


def read_boxes(folder: Path) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    """{stem: [(class, (xmin, ymin, xmax, ymax))]} of every annotation file."""
    boxes = {}
    for path in sorted((folder / "Annotations").glob("*.xml")):
        root = ET.parse(path).getroot()
        assert (int(root.findtext("size/width")), int(root.findtext("size/height"))) == (640, 480), path
        boxes[path.stem] = [(obj.findtext("name"), tuple(int(obj.findtext(f"bndbox/{k}"))
                                                         for k in ("xmin", "ymin", "xmax", "ymax")))
                            for obj in root.findall("object")]
    return boxes


def test_the_files_exist_parse_and_zazu_reads_the_given_split(built):
    from zazu.data.check import check_dataset
    from zazu.data.readers import read_dataset

    folder, _ = built
    boxes = read_boxes(folder)
    assert len(boxes) == N_TRAIN + N_VAL
    for stem, objects in boxes.items():
        with Image.open(folder / "JPEGImages" / f"{stem}.jpg") as image:
            assert image.size == (640, 480) and image.mode == "RGB", stem
        for name, (x0, y0, x1, y1) in objects:
            assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480, (stem, name, (x0, y0, x1, y1))
    splits = {name: (folder / "ImageSets" / "Main" / f"{name}.txt").read_text().split() for name in ("train", "val")}
    assert len(splits["train"]) == N_TRAIN and len(splits["val"]) == N_VAL
    assert set(splits["train"]) | set(splits["val"]) == set(boxes)

    report = check_dataset(read_dataset(folder))
    assert not report.fatal and not report.problems, [str(p) for p in report.problems]
    assert report.dataset.format == "voc"  # dense_set.json is not taken for a COCO file
    assert report.dataset.classes == sorted(SIZE_BANDS)
    assert {k: len(v) for k, v in report.dataset.given_split.items()} == {"train": N_TRAIN, "val": N_VAL}


def test_class_sizes_fall_in_their_bands_and_images_are_crowded(built):
    folder, summary = built
    boxes = read_boxes(folder)
    for name, (low, high) in SIZE_BANDS.items():
        sizes = [np.sqrt((x1 - x0) * (y1 - y0)) for objects in boxes.values() for label, (x0, y0, x1, y1) in objects
                 if label == name]
        assert len(sizes) >= 3, name
        assert low <= np.median(sizes) <= high, (name, np.median(sizes))
        assert summary["summary"]["classes"][name]["median_size"] == pytest.approx(np.median(sizes))
    per_image = [len(objects) for objects in boxes.values()]
    assert np.mean(per_image) >= 8, per_image
    assert summary["summary"]["boxes_per_image"]["mean"] == pytest.approx(np.mean(per_image))


def test_val_images_use_other_source_photos_than_train(built):
    _, summary = built
    used = summary["sources"]
    assert used["train"] and used["val"]
    assert not set(used["train"]) & set(used["val"])
    assert not set(summary["source_files"]["train"]) & set(summary["source_files"]["val"])
    for split in ("train", "val"):  # what an image used is within its side's files
        assert set(used[split]) <= set(summary["source_files"][split]), split
    for source in ("tiny_coco", "raccoon"):  # both sides get photos of both datasets
        assert any(s.startswith(source + "/") for s in used["val"]), source


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_images(built, tmp_path):
    folder, summary = built
    again = dense_set.write_dense_set(tmp_path / "again", shared_datasets(), n_train=N_TRAIN, n_val=N_VAL, seed=0)
    assert _digests(tmp_path / "again") == _digests(folder)
    assert again == summary
    dense_set.write_dense_set(tmp_path / "other", shared_datasets(), n_train=N_TRAIN, n_val=N_VAL, seed=1)
    assert read_boxes(tmp_path / "other") != read_boxes(folder)


def test_an_existing_folder_is_never_overwritten(built):
    folder, _ = built
    with pytest.raises(FileExistsError, match=str(folder)):
        dense_set.write_dense_set(folder, shared_datasets(), n_train=1, n_val=1)


def test_the_coco_format_writes_the_same_scenes_with_visible_masks(built, tmp_path):
    import json

    from pycocotools import mask as mask_utils

    from zazu.data.readers import read_dataset

    folder = tmp_path / "coco"
    summary = dense_set.write_dense_set(folder, shared_datasets(), n_train=4, n_val=2, seed=0, fmt="coco")
    boxes = read_boxes(built[0])  # the VOC set of the same seed: the same first scenes
    for split, count in (("train", 4), ("val", 2)):
        data = json.loads((folder / "annotations" / f"instances_{split}.json").read_text())
        assert [c["name"] for c in sorted(data["categories"], key=lambda c: c["id"])] == ["vehicle", "person", "raccoon"]
        assert [c["id"] for c in data["categories"]] == [1, 2, 3]
        assert len(data["images"]) == count
        names = {c["id"]: c["name"] for c in data["categories"]}
        stems = {img["id"]: img["file_name"][:-4] for img in data["images"]}
        for img in data["images"]:
            assert (folder / "images" / split / img["file_name"]).is_file()
        assert data["annotations"]
        for ann in data["annotations"]:
            assert ann["iscrowd"] == 0
            mask = mask_utils.decode({"size": ann["segmentation"]["size"],
                                      "counts": ann["segmentation"]["counts"].encode("ascii")})
            assert mask.shape == (480, 640)
            assert ann["area"] == int(mask.sum()) > 0
            ys, xs = np.nonzero(mask)
            x, y, w, h = ann["bbox"]
            assert x <= xs.min() and xs.max() < x + w and y <= ys.min() and ys.max() < y + h, ann["id"]
            assert [x, y, x + w, y + h] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]  # tight
        for image_id, stem in stems.items():  # the same objects as the VOC set's image of that name
            objects = [(names[a["category_id"]], (a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                                                  a["bbox"][1] + a["bbox"][3]))
                       for a in data["annotations"] if a["image_id"] == image_id]
            assert objects == boxes[stem], stem
    dataset = read_dataset(folder)
    assert dataset.format == "coco" and dataset.classes == ["vehicle", "person", "raccoon"]
    assert {k: len(v) for k, v in dataset.given_split.items()} == {"train": 4, "val": 2}
    assert sum(c["boxes"] for c in summary["summary"]["classes"].values()) == sum(
        len(r.instances) for r in dataset.records)
    assert all(inst.rle is not None for r in dataset.records for inst in r.instances)
