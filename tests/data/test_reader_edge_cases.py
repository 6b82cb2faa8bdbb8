"""Awkward inputs found in review: each is a clear problem or error, never a crash."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

from zazu.cli import cli
from zazu.data.check import check_dataset
from zazu.data.readers import read_dataset
from zazu.errors import DatasetError


def _coco(root, images, annotations, name="instances.json"):
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    for img in images:
        Image.new("RGB", (img["width"], img["height"]), (9, 9, 9)).save(root / "images" / img["file_name"])
    (root / "annotations" / name).write_text(json.dumps(
        {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "a"}]}))


def test_voc_object_without_a_name_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations").mkdir()
    Image.new("RGB", (20, 20)).save(tmp_path / "JPEGImages" / "a.jpg")
    (tmp_path / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><object><name></name>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>")
    dataset = read_dataset(tmp_path)
    assert any("without a <name>" in str(p) for p in dataset.problems)


def test_yolo_data_yaml_that_is_not_a_mapping_is_a_dataset_error(tmp_path):
    (tmp_path / "data.yaml").write_text("- a\n- b\n")
    with pytest.raises(DatasetError, match="data.yaml: expected a mapping"):
        read_dataset(tmp_path, "yolo")


def test_an_rle_that_does_not_fit_its_image_loses_its_mask_with_a_warning(tmp_path):
    bad = {"size": [10, 10], "counts": [50, 80]}  # 130 pixels for a 10x10 image
    _coco(tmp_path, [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
          [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "iscrowd": 1, "segmentation": bad}])
    report = check_dataset(read_dataset(tmp_path))
    assert any("does not decode" in str(p) for p in report.problems)
    assert report.dataset.records[0].instances[0].rle is None


def test_an_image_listed_in_two_split_files_is_kept_once_with_a_warning(tmp_path):
    image = {"id": 1, "file_name": "a.png", "width": 10, "height": 10}
    _coco(tmp_path, [image], [], name="instances_train.json")
    _coco(tmp_path, [image, {"id": 2, "file_name": "b.png", "width": 10, "height": 10}], [], name="instances_val.json")
    dataset = read_dataset(tmp_path)
    assert [r.path for r in dataset.records].count("images/a.png") == 1
    assert any("listed in both" in str(p) for p in dataset.problems)


def test_file_names_with_markup_brackets_are_printed_verbatim(tmp_path):
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "[red]y.png").write_bytes(b"not an image")
    Image.new("RGB", (8, 8)).save(tmp_path / "cls" / "ok.png")
    (tmp_path / "other").mkdir()  # a second class: one class alone is fatal
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "other" / "ok.png")
    result = CliRunner().invoke(cli, ["data", "check", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "[red]y.png" in result.output
