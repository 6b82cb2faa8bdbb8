"""Dataset readers: one small dataset written as COCO, Pascal VOC, YOLO and folder-per-class must read
back as the same classes and boxes; then each reader's own specifics (ids, RLE, difficult, splits,
segments) and the problems it reports. All data is generated here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zazu.data.readers import detect_format, read_dataset
from zazu.data.readers.coco import read_coco_dataset
from zazu.data.readers.voc import read_voc_dataset
from zazu.data.readers.yolo import read_yolo_dataset

W, H = 40, 30
CLASSES = ["cat", "dog"]
COCO_IDS = {"cat": 3, "dog": 17}  # non-contiguous, and in the same order as the sorted names
# stem -> (image mode, [(class index, (x0, y0, x1, y1)) in pixels])
IMAGES = {
    "a": ("RGB", [(0, (2, 3, 12, 13)), (1, (20, 5, 35, 25))]),
    "b": ("RGB", [(1, (5, 5, 25, 20))]),
    "c": ("L", [(0, (10, 4, 30, 28))]),
    "d": ("RGB", [(0, (1, 1, 9, 9)), (1, (15, 10, 39, 29))]),
}
DIFFICULT = ("d", 1)  # (stem, box index) written as <difficult>1</difficult> in VOC


# ---------------------------------------------------------------- writers


def write_image(path: Path, mode: str = "RGB", seed: int = 0, size: tuple[int, int] = (W, H)) -> Path:
    """A noisy image (distinct bytes per seed), saved by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    Image.fromarray(rng.integers(0, 256, channels, dtype=np.uint8), mode=mode).save(path)
    return path


def write_images(folder: Path) -> None:
    for seed, (stem, (mode, _)) in enumerate(IMAGES.items()):
        write_image(folder / f"{stem}.jpg", mode, seed)


def coco_dict(images: list[dict], annotations: list[dict], categories: dict[str, int] = COCO_IDS) -> dict:
    cats = [{"id": i, "name": n} for n, i in categories.items()]
    return {"info": {}, "images": images, "annotations": annotations, "categories": cats}


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def write_coco(root: Path) -> Path:
    write_images(root / "images")
    images, annotations = [], []
    for image_id, (stem, (_, boxes)) in enumerate(IMAGES.items(), 1):
        images.append({"id": image_id, "file_name": f"{stem}.jpg", "width": W, "height": H})
        for label, (x0, y0, x1, y1) in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": COCO_IDS[CLASSES[label]], "bbox": [x0, y0, x1 - x0, y1 - y0],
                                "area": (x1 - x0) * (y1 - y0), "iscrowd": 0, "segmentation": []})
    write_json(root / "annotations" / "instances.json", coco_dict(images, annotations))
    return root


def voc_xml(filename: str, objects: list[tuple[str, tuple, bool]], width: int = W, height: int = H) -> str:
    parts = [f"<annotation><folder>JPEGImages</folder><filename>{filename}</filename>"
             f"<path>/home/labeller/{filename}</path>"
             f"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>"]
    for name, (x0, y0, x1, y1), difficult in objects:
        parts.append(f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
                     f"<difficult>{int(difficult)}</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
                     f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>")
    return "".join(parts) + "</annotation>"


def write_voc(root: Path) -> Path:
    write_images(root / "JPEGImages")
    (root / "Annotations").mkdir(parents=True)
    for stem, (_, boxes) in IMAGES.items():
        objects = [(CLASSES[label], box, (stem, i) == DIFFICULT) for i, (label, box) in enumerate(boxes)]
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.jpg", objects))
    return root


def yolo_line(label: int, box: tuple, width: int = W, height: int = H) -> str:
    x0, y0, x1, y1 = box
    return (f"{label} {(x0 + x1) / 2 / width!r} {(y0 + y1) / 2 / height!r} "
            f"{(x1 - x0) / width!r} {(y1 - y0) / height!r}")


def write_yolo(root: Path) -> Path:
    write_images(root / "images")
    (root / "labels").mkdir(parents=True)
    for stem, (_, boxes) in IMAGES.items():
        (root / "labels" / f"{stem}.txt").write_text("\n".join(yolo_line(label, box) for label, box in boxes) + "\n")
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return root


def write_folder(root: Path) -> Path:
    """Folder-per-class: each image filed under the class of its first box."""
    for seed, (stem, (mode, boxes)) in enumerate(IMAGES.items()):
        write_image(root / CLASSES[boxes[0][0]] / f"{stem}.jpg", mode, seed)
    return root


def write_all_formats(tmp_path: Path) -> dict[str, Path]:
    """The same 4 images, 2 classes and 6 boxes in each of the four formats."""
    return {"coco": write_coco(tmp_path / "coco"), "voc": write_voc(tmp_path / "voc"),
            "yolo": write_yolo(tmp_path / "yolo"), "folder": write_folder(tmp_path / "folder")}


def boxes_by_stem(dataset) -> dict[str, list[tuple[int, tuple]]]:
    return {Path(r.path).stem: sorted((i.label, i.box) for i in r.instances) for r in dataset.records}


def messages(dataset) -> list[str]:
    return [str(p) for p in dataset.problems]


@pytest.fixture
def roots(tmp_path) -> dict[str, Path]:
    return write_all_formats(tmp_path)


# ---------------------------------------------------------------- the four formats agree


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo", "folder"])
def test_auto_detects_each_format(roots, fmt):
    assert detect_format(roots[fmt]) == fmt
    dataset = read_dataset(roots[fmt], "auto")
    assert dataset.format == fmt
    assert dataset.problems == []


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo", "folder"])
def test_all_formats_give_the_same_classes_and_images(roots, fmt):
    dataset = read_dataset(roots[fmt], "auto")
    assert dataset.classes == CLASSES
    assert sorted(Path(r.path).stem for r in dataset.records) == sorted(IMAGES)


def test_folder_labels_come_from_the_class_folders(roots):
    dataset = read_dataset(roots["folder"], "auto")
    labels = {Path(r.path).stem: r.label for r in dataset.records}
    assert labels == {stem: boxes[0][0] for stem, (_, boxes) in IMAGES.items()}
    assert all(r.instances == () for r in dataset.records)


def test_coco_voc_and_yolo_agree_on_the_same_boxes(roots):
    expected = {stem: sorted(boxes) for stem, (_, boxes) in IMAGES.items()}
    for fmt in ("coco", "voc", "yolo"):
        got = boxes_by_stem(read_dataset(roots[fmt], "auto"))
        assert set(got) == set(expected), fmt
        for stem, boxes in expected.items():
            assert [label for label, _ in got[stem]] == [label for label, _ in boxes], (fmt, stem)
            for (_, got_box), (_, want_box) in zip(got[stem], boxes):
                assert got_box == pytest.approx(want_box, abs=1e-3), (fmt, stem)


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo"])
def test_readers_record_image_sizes_and_keep_the_greyscale_image(roots, fmt):
    dataset = read_dataset(roots[fmt], "auto")
    by_stem = {Path(r.path).stem: r for r in dataset.records}
    assert "c" in by_stem
    with Image.open(dataset.abspath(by_stem["c"])) as im:
        assert im.mode == "L"
    assert all((r.width, r.height) == (W, H) for r in dataset.records)


def test_letterboxed_greyscale_image_has_three_channels(roots):
    from zazu.data.pipeline import load_letterboxed

    image, scale = load_letterboxed(str(roots["voc"] / "JPEGImages" / "c.jpg"), (32, 32))
    assert tuple(image.shape) == (32, 32, 3)
    assert float(scale) == pytest.approx(32 / W)
    pixels = image.numpy()
    # greyscale expands to identical R, G and B; the bottom rows are letterbox padding
    assert np.array_equal(pixels[:20, :, 0], pixels[:20, :, 1])
    assert np.array_equal(pixels[:20, :, 0], pixels[:20, :, 2])
    assert (pixels[25:] == 114.0).all()


def test_unknown_annotation_type_is_refused(roots):
    from zazu.errors import DatasetError

    with pytest.raises(DatasetError, match="Unknown annotation type"):
        read_dataset(roots["coco"], "labelme")


# ---------------------------------------------------------------- COCO


def coco_root(tmp_path: Path, images: list[dict], annotations: list[dict],
              categories: dict[str, int] = COCO_IDS) -> Path:
    root = tmp_path / "coco"
    for img in images:
        if not img.get("missing"):
            write_image(root / "images" / img["file_name"], seed=img["id"])
    write_json(root / "annotations" / "instances.json",
               coco_dict([{k: v for k, v in img.items() if k != "missing"} for img in images], annotations,
                         categories))
    return root


def ann(ann_id: int, category_id: int, bbox=(1, 2, 10, 8), image_id: int = 1, **extra) -> dict:
    return {"id": ann_id, "image_id": image_id, "category_id": category_id, "bbox": list(bbox),
            "iscrowd": 0, "segmentation": [], **extra}


def test_coco_non_contiguous_ids_map_to_indexes_in_id_order(tmp_path):
    categories = {"zebra": 90, "ant": 2, "moth": 41}
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
                     [ann(1, 90), ann(2, 2), ann(3, 41)], categories)
    dataset = read_coco_dataset(root)
    assert dataset.classes == ["ant", "moth", "zebra"]  # id order 2, 41, 90 — not name or file order
    assert [i.label for i in dataset.records[0].instances] == [2, 0, 1]


def test_coco_bbox_xywh_becomes_corners(tmp_path):
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
                     [ann(1, 3, bbox=(4.5, 6, 10, 12.25))])
    (inst,) = read_coco_dataset(root).records[0].instances
    assert inst.box == pytest.approx((4.5, 6, 14.5, 18.25))
    assert inst.iscrowd is False and inst.rle is None


def test_coco_compressed_rle_crowd_is_kept(tmp_path):
    from pycocotools import mask as mask_utils

    from zazu.data.masks import rle_to_mask

    mask = np.zeros((H, W), np.uint8)
    mask[5:12, 8:20] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode("ascii")
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
                     [ann(1, 17, bbox=(8, 5, 12, 7), iscrowd=1, segmentation=rle)])
    dataset = read_coco_dataset(root)
    (inst,) = dataset.records[0].instances
    assert inst.iscrowd is True
    assert inst.rle == rle
    assert inst.polygons == ()
    assert inst.label == 1
    assert np.array_equal(rle_to_mask(inst.rle), mask)
    assert dataset.problems == []


def test_coco_uncompressed_rle_crowd_is_kept(tmp_path):
    from zazu.data.masks import rle_to_mask

    # column-major counts: 65 background, 10 foreground (column 2, rows 5..14), rest background
    rle = {"size": [H, W], "counts": [65, 10, W * H - 75]}
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
                     [ann(1, 3, bbox=(2, 5, 1, 10), iscrowd=1, segmentation=rle)])
    (inst,) = read_coco_dataset(root).records[0].instances
    assert inst.iscrowd is True
    assert inst.rle == rle
    expected = np.zeros((H, W), np.uint8)
    expected[5:15, 2] = 1
    assert np.array_equal(rle_to_mask(inst.rle), expected)


def test_coco_polygons_are_kept_and_short_polygon_is_a_problem(tmp_path):
    good = [2, 2, 12, 2, 12, 10, 2, 10]
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
                     [ann(7, 3, bbox=(2, 2, 10, 8), segmentation=[good, [1, 1, 5, 5]])])
    dataset = read_coco_dataset(root)
    (inst,) = dataset.records[0].instances
    assert inst.polygons == (tuple(float(v) for v in good),)
    assert len(dataset.problems) == 1
    assert "fewer than 3 points" in dataset.problems[0].message
    assert dataset.problems[0].file == "annotations/instances.json annotation 7"


def test_coco_unknown_category_is_a_problem_and_ignored(tmp_path):
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
                     [ann(1, 3), ann(2, 99)])
    dataset = read_coco_dataset(root)
    assert [i.label for i in dataset.records[0].instances] == [0]
    (problem,) = dataset.problems
    assert "unknown class" in problem.message and "99" in problem.message
    assert problem.severity == "warning"


def test_coco_annotation_of_unlisted_image_is_a_problem(tmp_path):
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H}],
                     [ann(1, 3), ann(2, 3, image_id=42)])
    dataset = read_coco_dataset(root)
    assert len(dataset.records[0].instances) == 1
    assert any("image_id 42" in m for m in messages(dataset))


def test_coco_missing_image_file_is_a_problem_naming_the_file(tmp_path):
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H},
                                {"id": 2, "file_name": "gone.jpg", "width": W, "height": H, "missing": True}],
                     [ann(1, 3), ann(2, 3, image_id=2)])
    dataset = read_coco_dataset(root)
    assert [r.path for r in dataset.records] == ["images/a.jpg"]
    (problem,) = dataset.problems
    assert problem.file == "gone.jpg"
    assert "missing image file" in problem.message
    assert problem.severity == "warning"


def test_coco_file_name_outside_the_dataset_is_fatal(tmp_path):
    """JSON and images in the root: '../outside.jpg' names a real file beside the dataset; it is not read."""
    root = tmp_path / "ds"
    write_image(root / "a.jpg")
    write_image(tmp_path / "outside.jpg", seed=5)
    write_json(root / "instances.json", coco_dict(
        [{"id": 1, "file_name": "a.jpg", "width": W, "height": H},
         {"id": 2, "file_name": "../outside.jpg", "width": W, "height": H}], [ann(1, 3), ann(2, 3, image_id=2)]))
    dataset = read_dataset(root, "auto")
    assert dataset.format == "coco"
    assert [r.path for r in dataset.records] == ["a.jpg"]
    (problem,) = dataset.problems
    assert problem.fatal
    assert "outside the dataset folder" in problem.message
    assert "../outside.jpg" in problem.message


def test_coco_escape_from_images_folder_is_fatal(tmp_path):
    root = coco_root(tmp_path, [{"id": 1, "file_name": "a.jpg", "width": W, "height": H},
                                {"id": 2, "file_name": "../../outside.jpg", "width": W, "height": H,
                                 "missing": True}], [ann(1, 3)])
    write_image(tmp_path / "outside.jpg")
    dataset = read_coco_dataset(root)
    assert [r.path for r in dataset.records] == ["images/a.jpg"]
    assert [p.severity for p in dataset.problems] == ["fatal"]
    assert "outside the dataset folder" in dataset.problems[0].message


def test_coco_split_files_make_the_given_split(tmp_path):
    root = tmp_path / "coco"
    for split, stems in (("train", ["a", "b", "c"]), ("val", ["d"])):
        images = []
        for n, stem in enumerate(stems, 1):
            write_image(root / "images" / split / f"{stem}.jpg", seed=ord(stem))
            images.append({"id": n, "file_name": f"{stem}.jpg", "width": W, "height": H})
        write_json(root / "annotations" / f"instances_{split}.json",
                   coco_dict(images, [ann(n, 3, image_id=n) for n in range(1, len(stems) + 1)]))
    dataset = read_dataset(root, "auto")
    assert dataset.format == "coco"
    assert dataset.given_split == {"train": ["images/train/a.jpg", "images/train/b.jpg", "images/train/c.jpg"],
                                   "val": ["images/val/d.jpg"]}
    assert len(dataset.records) == 4
    assert all(len(r.instances) == 1 for r in dataset.records)


def test_coco_single_file_has_no_given_split(roots):
    assert read_dataset(roots["coco"], "auto").given_split is None


def test_coco_conflicting_category_names_are_refused(tmp_path):
    from zazu.errors import DatasetError

    root = tmp_path / "coco"
    write_image(root / "images" / "a.jpg")
    write_json(root / "annotations" / "instances_train.json", coco_dict([], [], {"cat": 3}))
    write_json(root / "annotations" / "instances_val.json", coco_dict([], [], {"dog": 3}))
    with pytest.raises(DatasetError, match="category id 3"):
        read_coco_dataset(root)


# ---------------------------------------------------------------- Pascal VOC


def test_voc_difficult_flag_is_kept(roots):
    dataset = read_voc_dataset(roots["voc"])
    flags = {(Path(r.path).stem, i): inst.difficult for r in dataset.records
             for i, inst in enumerate(sorted(r.instances, key=lambda inst: (inst.label, inst.box)))}
    assert flags[DIFFICULT] is True
    assert sum(flags.values()) == 1


def test_voc_records_name_their_xml_as_source(roots):
    dataset = read_voc_dataset(roots["voc"])
    assert {Path(r.path).stem: r.source for r in dataset.records} == {s: f"Annotations/{s}.xml" for s in IMAGES}
    assert all(r.path.startswith("JPEGImages/") for r in dataset.records)


def test_voc_image_sets_make_the_given_split(roots):
    main = roots["voc"] / "ImageSets" / "Main"
    main.mkdir(parents=True)
    (main / "train.txt").write_text("a\nb\nc\n")
    (main / "val.txt").write_text("d\n")
    dataset = read_dataset(roots["voc"], "auto")
    assert dataset.given_split == {"train": ["JPEGImages/a.jpg", "JPEGImages/b.jpg", "JPEGImages/c.jpg"],
                                   "val": ["JPEGImages/d.jpg"]}


def test_voc_without_image_sets_has_no_given_split(roots):
    assert read_voc_dataset(roots["voc"]).given_split is None


def test_voc_filename_outside_the_dataset_is_fatal(roots):
    root = roots["voc"]
    (root / "Annotations" / "evil.xml").write_text(voc_xml("../../etc/passwd", [("cat", (1, 1, 5, 5), False)]))
    dataset = read_voc_dataset(root)
    assert sorted(Path(r.path).stem for r in dataset.records) == sorted(IMAGES)
    (problem,) = dataset.problems
    assert problem.fatal
    assert problem.file == "Annotations/evil.xml"
    assert "outside the dataset folder" in problem.message


def test_voc_missing_image_and_bad_xml_are_problems(roots):
    root = roots["voc"]
    (root / "Annotations" / "ghost.xml").write_text(voc_xml("ghost.jpg", [("cat", (1, 1, 5, 5), False)]))
    (root / "Annotations" / "broken.xml").write_text("<annotation><filename>")
    dataset = read_voc_dataset(root)
    assert len(dataset.records) == len(IMAGES)
    by_file = {p.file: p for p in dataset.problems}
    assert "missing image file" in by_file["ghost.jpg"].message
    assert "not valid XML" in by_file["Annotations/broken.xml"].message


# ---------------------------------------------------------------- YOLO


def test_yolo_names_from_data_yaml_list(roots):
    root = roots["yolo"]
    (root / "classes.txt").unlink()
    (root / "data.yaml").write_text("path: .\ntrain: images\nval: images\nnames: [cat, dog]\n")
    assert detect_format(root) == "yolo"
    assert read_dataset(root, "auto").classes == ["cat", "dog"]


def test_yolo_names_from_data_yaml_index_map(roots):
    root = roots["yolo"]
    (root / "classes.txt").unlink()
    # written out of order, and with 10 after 2 to catch sorting the keys as strings
    names = {1: "dog", 0: "cat", 10: "owl", 2: "emu", **{k: f"c{k}" for k in range(3, 10)}}
    (root / "data.yaml").write_text("names:\n" + "".join(f"  {k}: {v}\n" for k, v in names.items()))
    classes = read_dataset(root, "auto").classes
    assert classes == ["cat", "dog", "emu", *(f"c{k}" for k in range(3, 10)), "owl"]


def test_yolo_segment_line_gives_polygon_in_pixels_and_its_extent_as_box(roots):
    root = roots["yolo"]
    (root / "labels" / "b.txt").write_text("1 0.25 0.2 0.75 0.2 0.5 0.9\n")
    dataset = read_yolo_dataset(root)
    (inst,) = next(r for r in dataset.records if r.path == "images/b.jpg").instances
    assert inst.label == 1
    (polygon,) = inst.polygons
    assert polygon == pytest.approx((10, 6, 30, 6, 20, 27), abs=1e-3)
    assert inst.box == pytest.approx((10, 6, 30, 27), abs=1e-3)


def test_yolo_class_index_out_of_range_is_unknown_class(roots):
    root = roots["yolo"]
    (root / "labels" / "b.txt").write_text(yolo_line(1, (5, 5, 25, 20)) + "\n" + yolo_line(2, (1, 1, 4, 4)) + "\n")
    dataset = read_yolo_dataset(root)
    assert len(next(r for r in dataset.records if r.path == "images/b.jpg").instances) == 1
    (problem,) = dataset.problems
    assert problem.file == "labels/b.txt:2"
    assert "unknown class" in problem.message


def test_yolo_bad_lines_are_problems(roots):
    root = roots["yolo"]
    (root / "labels" / "b.txt").write_text("0 a b c d\n\n1 0.1 0.1 0.2 0.2 0.3\n")
    dataset = read_yolo_dataset(root)
    assert next(r for r in dataset.records if r.path == "images/b.jpg").instances == ()
    by_file = {p.file: p.message for p in dataset.problems}
    assert "expected numbers" in by_file["labels/b.txt:1"]
    assert "fewer than 3 points" in by_file["labels/b.txt:3"]


def test_yolo_image_without_label_file_has_no_instances(roots):
    root = roots["yolo"]
    (root / "labels" / "b.txt").unlink()
    dataset = read_yolo_dataset(root)
    assert next(r for r in dataset.records if r.path == "images/b.jpg").instances == ()
    assert dataset.problems == []


def test_yolo_split_folders_make_the_given_split(tmp_path):
    root = tmp_path / "yolo"
    for split, stems in (("train", ["a", "b", "c"]), ("val", ["d"])):
        for stem in stems:
            mode, boxes = IMAGES[stem]
            write_image(root / "images" / split / f"{stem}.jpg", mode, ord(stem))
            label = root / "labels" / split / f"{stem}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text("\n".join(yolo_line(lbl, box) for lbl, box in boxes))
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames:\n  0: cat\n  1: dog\n")
    dataset = read_dataset(root, "auto")
    assert dataset.format == "yolo"
    assert dataset.given_split == {"train": ["images/train/a.jpg", "images/train/b.jpg", "images/train/c.jpg"],
                                   "val": ["images/val/d.jpg"]}
    got = boxes_by_stem(dataset)
    for stem, (_, boxes) in IMAGES.items():
        assert [b for _, b in got[stem]] == [pytest.approx(b, abs=1e-3) for _, b in sorted(boxes)]


def test_yolo_without_class_names_is_refused(roots):
    from zazu.errors import DatasetError

    (roots["yolo"] / "classes.txt").unlink()
    with pytest.raises(DatasetError, match="classes.txt"):
        read_yolo_dataset(roots["yolo"])


# ---------------------------------------------------------------- folder


def test_folder_layout_is_detected_from_class_subfolders(tmp_path):
    root = write_folder(tmp_path / "shapes")
    assert detect_format(root) == "folder"
    dataset = read_dataset(root, "auto")
    assert dataset.format == "folder"
    assert dataset.classes == CLASSES


def test_folder_with_train_and_val_makes_the_given_split(tmp_path):
    root = tmp_path / "split"
    write_folder(root / "train")
    shutil.copytree(root / "train", root / "val")
    dataset = read_dataset(root, "auto")
    assert dataset.format == "folder"
    assert dataset.classes == CLASSES
    assert set(dataset.given_split) == {"train", "val"}
    assert len(dataset.given_split["train"]) == len(dataset.given_split["val"]) == len(IMAGES)
