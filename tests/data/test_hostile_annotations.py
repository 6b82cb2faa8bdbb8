"""Annotation files with wrong types, NaNs, repeated ids and XML bombs: each is one clear problem or
error naming the file and field, never a traceback and never a silently wrong box."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from zazu.data.check import check_dataset
from zazu.data.readers import read_dataset
from zazu.errors import DatasetError

GOOD_IMAGE = {"id": 1, "file_name": "a.png", "width": 64, "height": 64}
GOOD_BOX = {"id": 7, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}


def _coco(root, images=(GOOD_IMAGE,), annotations=(GOOD_BOX,), categories=({"id": 1, "name": "a"},), **top):
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    for img in images:
        if isinstance(img, dict) and isinstance(img.get("file_name"), str):
            Image.new("RGB", (64, 64), (9, 9, 9)).save(root / "images" / img["file_name"])
    data = {"images": list(images), "annotations": list(annotations), "categories": categories, **top}
    (root / "annotations" / "instances.json").write_text(json.dumps(data))  # NaN is written as NaN
    return root


def _only_box(root):
    report = check_dataset(read_dataset(root))
    return [inst.box for r in report.dataset.records for inst in r.instances], [str(p) for p in report.problems]


@pytest.mark.parametrize("bbox", [["1", "2", "3", "4"], None, [1, 2, 3], [1, 2, 3, True], [1, 2, 3, [4]]])
def test_a_coco_bbox_of_the_wrong_type_drops_its_object_with_a_warning(tmp_path, bbox):
    _coco(tmp_path, annotations=[{**GOOD_BOX, "bbox": bbox}, {**GOOD_BOX, "id": 8}])
    boxes, problems = _only_box(tmp_path)
    assert boxes == [(10.0, 10.0, 30.0, 30.0)]  # the good object stays
    assert any("instances.json annotation 7" in p and "`bbox` must be" in p and "ignored" in p for p in problems)


def test_a_coco_segmentation_nested_one_level_off_drops_its_object(tmp_path):
    _coco(tmp_path, annotations=[{**GOOD_BOX, "segmentation": [5]}])
    boxes, problems = _only_box(tmp_path)
    assert boxes == []
    assert any("`segmentation` must be a list of polygons" in p for p in problems)


@pytest.mark.parametrize("bad, field", [
    ({"images": [{"id": 1, "width": 64, "height": 64}]}, "file_name"),
    ({"categories": [{"name": "a"}]}, "id"),
    ({"categories": {"1": "a"}}, "categories"),
    ({"images": [{**GOOD_IMAGE, "width": "abc"}]}, "width"),
    ({"annotations": {"1": GOOD_BOX}}, "annotations"),
])
def test_a_coco_file_without_the_fields_it_needs_is_refused_naming_file_and_field(tmp_path, bad, field):
    _coco(tmp_path)
    path = tmp_path / "annotations" / "instances.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **bad}))
    with pytest.raises(DatasetError) as error:
        read_dataset(tmp_path)
    message = str(error.value)
    assert message.startswith(str(path)) and f"`{field}`" in message


def test_two_coco_images_with_the_same_id_are_refused(tmp_path):
    second = {**GOOD_IMAGE, "file_name": "b.png"}
    _coco(tmp_path, images=[GOOD_IMAGE, second])
    with pytest.raises(DatasetError, match=r"instances.json: image ids must be unique. Received the id 1 on 2 images"):
        read_dataset(tmp_path)


@pytest.mark.parametrize("bbox", [[float("nan"), 10, 20, 20], [10, 10, float("inf"), 20], [10, 10, 20, float("-inf")]])
def test_a_non_finite_coco_coordinate_is_a_problem_not_a_full_width_box(tmp_path, bbox):
    _coco(tmp_path, annotations=[{**GOOD_BOX, "bbox": bbox}])
    boxes, problems = _only_box(tmp_path)
    assert boxes == []
    assert any("`bbox` must be" in p for p in problems)


def _voc(root, xml: str):
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (root / "Annotations").mkdir(exist_ok=True)
    Image.new("RGB", (64, 48)).save(root / "JPEGImages" / "a.jpg")
    (root / "Annotations" / "a.xml").write_text(xml)
    return root


def _voc_object(xmin="1", width="64"):
    return (f"<annotation><filename>a.jpg</filename><size><width>{width}</width><height>48</height></size>"
            f"<object><name>cat</name><bndbox><xmin>{xmin}</xmin><ymin>1</ymin><xmax>20</xmax><ymax>20</ymax>"
            "</bndbox></object></annotation>")


def test_a_voc_nan_coordinate_is_a_problem_not_a_full_width_box(tmp_path):
    boxes, problems = _only_box(_voc(tmp_path, _voc_object(xmin="nan")))
    assert boxes == []
    assert any("Annotations/a.xml" in p and "not a finite number" in p for p in problems)


def test_a_voc_size_that_is_not_a_number_is_a_warning_and_the_image_size_is_used(tmp_path):
    dataset = read_dataset(_voc(tmp_path, _voc_object(width="abc")))
    assert any("<size><width> must be a positive number. Received: width='abc'" in str(p) for p in dataset.problems)
    report = check_dataset(dataset)
    assert (report.dataset.records[0].width, report.dataset.records[0].height) == (64, 48)
    assert [i.box for i in report.dataset.records[0].instances] == [(1.0, 1.0, 20.0, 20.0)]


def test_a_voc_file_declaring_entities_is_refused_without_expanding_them(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' + _voc_object().replace("cat", "&c;"))
    dataset = read_dataset(_voc(tmp_path, bomb))
    fatal = [str(p) for p in dataset.problems if p.fatal]
    assert fatal and "Annotations/a.xml" in fatal[0] and "entities" in fatal[0]
    assert dataset.classes == []  # nothing of the file was read


def _yolo(root, names, line="0 0.5 0.5 0.2 0.2"):
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    Image.new("RGB", (50, 40)).save(root / "images" / "a.png")
    (root / "labels" / "a.txt").write_text(line + "\n")
    (root / "data.yaml").write_text(json.dumps({"names": names}))
    return root


@pytest.mark.parametrize("names, received", [({"cat": "a", "dog": "b"}, "names key 'cat'"),
                                             ({0: "a", 2: "c"}, "keys [0, 2]")])
def test_yolo_names_as_a_map_need_class_indices_from_zero(tmp_path, names, received):
    with pytest.raises(DatasetError, match=r"data.yaml: `names` as a map") as error:
        read_dataset(_yolo(tmp_path, names), "yolo")
    assert received in str(error.value)


def test_yolo_names_as_a_map_of_index_strings_still_read_in_order(tmp_path):
    assert read_dataset(_yolo(tmp_path, {"1": "b", "0": "a"}), "yolo").classes == ["a", "b"]


def test_a_yolo_nan_coordinate_is_a_problem_not_a_full_width_box(tmp_path):
    boxes, problems = _only_box(_yolo(tmp_path, ["a"], line="0 nan 0.4 0.5 0.5"))
    assert boxes == []
    assert any("labels/a.txt" in p and "not a finite number" in p for p in problems)


def test_a_folder_dataset_with_one_class_is_refused(tmp_path):
    (tmp_path / "cat").mkdir()
    for k in range(3):
        Image.new("RGB", (16, 16), (k, 0, 0)).save(tmp_path / "cat" / f"{k}.png")
    report = check_dataset(read_dataset(tmp_path))
    assert report.exit_code() == 2
    with pytest.raises(DatasetError, match=r"at least two class folders with images. Received: 1 class \(cat\)"):
        report.usable_for("classification", tmp_path)


def test_webp_images_in_a_folder_dataset_are_listed_not_skipped_silently(tmp_path):
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (16, 16)).save(tmp_path / name / "a.png")
    Image.new("RGB", (16, 16)).save(tmp_path / "dog" / "b.webp")
    dataset = read_dataset(tmp_path)
    assert [r.path for r in dataset.records] == ["cat/a.png", "dog/a.png"]
    assert any(p.file == "dog/b.webp" and ".webp images are not supported" in p.message for p in dataset.problems)


@pytest.mark.parametrize("flag", [["--size", "0"], ["--count", "0"]])
def test_data_preview_refuses_a_size_or_count_below_one_before_reading_anything(tmp_path, flag):
    from click.testing import CliRunner

    from zazu.cli import cli

    result = CliRunner().invoke(cli, ["data", "preview", str(tmp_path), *flag, "--output", str(tmp_path / "p.png")])
    assert result.exit_code == 2 and f"Invalid value for '{flag[0]}'" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("output", ["preview", "preview.txt", "grid."])
def test_data_preview_refuses_an_output_that_is_not_an_image_name_in_one_line(tmp_path, output):
    from click.testing import CliRunner

    from zazu.cli import cli

    result = CliRunner().invoke(cli, ["data", "preview", str(tmp_path), "--output", str(tmp_path / output)])
    assert result.exit_code == 2 and "Expected a name ending in .png or .jpg or .jpeg" in result.output
    assert f"Received: --output {tmp_path / output}" in result.output and "Traceback" not in result.output


def _voc_pair(root, second_filename="b.jpg", image_sets=None):
    """Two VOC files, a.xml (a cat in a.jpg) and b.xml (a dog in `second_filename`); ImageSets/Main files
    {name: bytes} if given."""
    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    for k, name in enumerate(("a.jpg", "b.jpg")):
        Image.new("RGB", (64, 48), (k * 90, 0, 0)).save(root / "JPEGImages" / name)
    (root / "Annotations" / "a.xml").write_text(_voc_object())
    (root / "Annotations" / "b.xml").write_text(_voc_object().replace("a.jpg", second_filename).replace("cat", "dog"))
    for name, data in (image_sets or {}).items():
        (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "Main" / name).write_bytes(data)
    return root


def _text_file_not_utf8(root, fmt):
    """A dataset of `fmt` whose text file (returned, relative to root) holds a Latin-1 byte."""
    if fmt == "coco":
        _coco(root, categories=({"id": 1, "name": "a"},))
        path = root / "annotations" / "instances.json"
        path.write_bytes(path.read_bytes().replace(b'"a"', b'"caf\xe9"'))
    elif fmt == "voc":
        _voc_pair(root, image_sets={"train.txt": b"a\n", "val.txt": b"b\xe9\n"})
        path = root / "ImageSets" / "Main" / "val.txt"
    else:
        _yolo(root, ["cat"])
        path = root / {"data.yaml": "data.yaml", "classes.txt": "classes.txt", "label": "labels/a.txt"}[fmt]
        if fmt == "classes.txt":
            (root / "data.yaml").unlink()
        if fmt == "label":  # a second image, so the dataset is still usable without a.png
            Image.new("RGB", (50, 40), (0, 90, 0)).save(root / "images" / "b.png")
        path.write_bytes(b"0 0.5 0.5 0.2 0.2\n\xe9\n" if fmt == "label" else b"names: [caf\xe9]\n")
    return path


@pytest.mark.parametrize("fmt", ["coco", "voc", "data.yaml", "classes.txt", "label"])
def test_a_text_file_that_is_not_utf8_is_one_line_naming_it_not_a_traceback(tmp_path, fmt):
    from click.testing import CliRunner

    from zazu.cli import cli

    path = _text_file_not_utf8(tmp_path, fmt)
    result = CliRunner().invoke(cli, ["data", "check", str(tmp_path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if fmt == "label":  # its objects are unknown: the image is left out with a warning, not kept as background
        assert result.exit_code == 1
        assert "labels/a.txt: not UTF-8 text" in result.output and "images/a.png left out" in result.output
    else:
        assert result.exit_code == 2
        assert f"error: {path}: not " in result.output and ("UTF-8" in result.output or "utf-8" in result.output)


def test_a_byte_order_mark_does_not_become_part_of_a_class_name_or_a_label(tmp_path):
    root = _yolo(tmp_path, ["cat"])
    (root / "data.yaml").unlink()
    (root / "classes.txt").write_bytes(b"\xef\xbb\xbfcat\ndog\n")  # as Windows Notepad saves UTF-8
    (root / "labels" / "a.txt").write_bytes(b"\xef\xbb\xbf1 0.5 0.5 0.2 0.2\n")
    dataset = read_dataset(root)
    assert dataset.classes == ["cat", "dog"]
    assert [i.label for i in dataset.records[0].instances] == [1] and dataset.problems == []


@pytest.mark.parametrize("names, received", [(["cat", "cat"], "'cat' as class 0 and class 1"),
                                             (["cat", None], "names[1]=None"), (["cat", ""], "names[1]=''"),
                                             (["cat", ["dog"]], "names[1]=['dog']")])
def test_yolo_class_names_must_be_unique_non_empty_strings(tmp_path, names, received):
    with pytest.raises(DatasetError, match=r"data.yaml: class names must be") as error:
        read_dataset(_yolo(tmp_path, names), "yolo")
    assert received in str(error.value)


def test_two_coco_categories_with_the_same_name_are_refused(tmp_path):
    root = _coco(tmp_path, categories=({"id": 1, "name": "a"}, {"id": 4, "name": "b"}, {"id": 9, "name": "a"}))
    with pytest.raises(DatasetError, match=r"instances.json: category names must be unique. "
                                           r"Received: name 'a' for category ids 1, 9"):
        read_dataset(root)


def test_an_image_named_by_two_voc_files_is_kept_once(tmp_path):
    dataset = read_dataset(_voc_pair(tmp_path, second_filename="a.jpg"))
    assert [(r.path, r.source) for r in dataset.records] == [("JPEGImages/a.jpg", "Annotations/a.xml")]
    assert [str(p) for p in dataset.problems] == [
        "JPEGImages/a.jpg: named in both Annotations/a.xml and Annotations/b.xml; kept once, from Annotations/a.xml"]


def test_an_image_in_both_voc_train_and_val_lists_is_kept_on_one_side(tmp_path):
    dataset = read_dataset(_voc_pair(tmp_path, image_sets={"train.txt": b"a\nb\n", "val.txt": b"b\na\n"}))
    assert dataset.given_split == {"train": ["JPEGImages/a.jpg", "JPEGImages/b.jpg"], "val": []}
    assert any(p.file == "JPEGImages/b.jpg" and "listed in both ImageSets/Main/train.txt and val.txt" in p.message
               for p in dataset.problems)


def _with_a_name_not_utf8(root, fmt):
    """A `fmt` dataset of valid images plus one file whose name's bytes are not UTF-8 (Python lists it
    with surrogate escapes); returns (the number of valid images, how the warning shows the bad name)."""
    import os

    def png(folder, name, shade):
        folder.mkdir(parents=True, exist_ok=True)
        # Linux file systems take any bytes; one that refused them would fail here, loudly, not skip
        with open(os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else name.encode()), "wb") as f:
            Image.new("RGB", (32, 24), (shade, 40, 0)).save(f, format="PNG")

    if fmt == "folder":
        for k, name in enumerate(("cat", "dog", "cat", "dog")):
            png(root / name, f"{k}.png", 50 * k)
        png(root / "cat", b"\xff\xfe.png", 250)
        return 4, r"b'cat/\xff\xfe.png'"
    if fmt == "yolo":
        (root / "classes.txt").write_text("cat\ndog\n")
        (root / "labels").mkdir()
        for k in range(3):
            png(root / "images", f"{k}.png", 50 * k)
            (root / "labels" / f"{k}.txt").write_text(f"{k % 2} 0.5 0.5 0.2 0.2\n")
        png(root / "images", b"\xff\xfe.png", 250)
        return 3, r"b'images/\xff\xfe.png'"
    if fmt == "voc":
        _voc_pair(root)
        os.rename(root / "Annotations" / "b.xml", os.path.join(os.fsencode(root / "Annotations"), b"\xff.xml"))
        return 1, r"b'Annotations/\xff.xml'"
    # coco: a \udcff escape in the JSON names the file whose name is the byte 0xff
    _coco(root, images=[GOOD_IMAGE, {**GOOD_IMAGE, "id": 2, "file_name": "b.png"}])
    png(root / "images", b"\xff.png", 250)
    path = root / "annotations" / "instances.json"
    path.write_text(path.read_text().replace('"b.png"', '"\\udcff.png"'))
    return 1, r"b'\xff.png'"


@pytest.mark.parametrize("fmt", ["folder", "yolo", "voc", "coco"])
def test_a_file_name_that_is_not_utf8_is_a_warning_showing_it_escaped_not_a_traceback(tmp_path, fmt):
    from click.testing import CliRunner

    from zazu.cli import cli
    from zazu.data.records import dataset_to_json

    valid, shown = _with_a_name_not_utf8(tmp_path, fmt)
    result = CliRunner().invoke(cli, ["data", "check", str(tmp_path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert f"warning: {shown}: " in result.output and "rename it as UTF-8" in result.output
    assert f"images: {valid} " in result.output
    # what the run folder gets (dataset.json) holds no surrogate-escaped name: it encodes as UTF-8 as it is
    json.dumps(dataset_to_json(check_dataset(read_dataset(tmp_path)).dataset), ensure_ascii=False).encode("utf-8")
