"""check_dataset and `zazu data check`: every problem is named with its file, unreadable images are left
out, boxes clipped or dropped, duplicates noted; exit codes 0 usable / 1 warnings / 2 fatal. Also the
real datasets in shared/datasets beside the repository."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from zazu.cli import cli
from zazu.data.check import check_dataset
from zazu.data.readers import read_dataset

REPO = Path(__file__).resolve().parents[2]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
W, H = 40, 30
CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]


def jpeg_bytes(seed: int, size: tuple[int, int] = (W, H)) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def write_coco(root: Path, images: dict[str, bytes | None], boxes: dict[str, list[list[float]]]) -> Path:
    """COCO with annotations/instances.json and images/. `images`: file name -> bytes (None: not written).
    `boxes`: file name -> COCO [x, y, w, h] boxes, all of class cat."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    coco = {"images": [], "annotations": [], "categories": CATEGORIES}
    for image_id, (name, data) in enumerate(images.items(), 1):
        if data is not None:
            (root / "images" / name).write_bytes(data)
        coco["images"].append({"id": image_id, "file_name": name, "width": W, "height": H})
        for bbox in boxes.get(name, [[2, 2, 10, 10]]):
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": image_id, "category_id": 1,
                                        "bbox": bbox, "iscrowd": 0, "segmentation": []})
    (root / "annotations" / "instances.json").write_text(json.dumps(coco))
    return root


def faulty_dataset(root: Path, escape: bool = True) -> Path:
    """Two good images (one with a box reaching outside, one with a zero-area box beside a good one),
    a byte-identical copy, random bytes, a truncated JPEG, a missing file and optionally a '../' name."""
    good = jpeg_bytes(1)
    noisy = jpeg_bytes(3, (64, 64))
    images = {"good1.jpg": good, "good2.jpg": jpeg_bytes(2), "copy.jpg": good,
              "bad.jpg": np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes(),
              "truncated.jpg": noisy[: len(noisy) // 2], "missing.jpg": None}
    if escape:
        images["../../escape.jpg"] = None
        (root.parent / "escape.jpg").write_bytes(jpeg_bytes(4))  # exists, but outside the dataset
    return write_coco(root, images, {"good1.jpg": [[30, 20, 20, 20]], "good2.jpg": [[5, 5, 0, 10], [4, 4, 8, 8]]})


def clean_dataset(root: Path) -> Path:
    return write_coco(root, {"a.jpg": jpeg_bytes(1), "b.jpg": jpeg_bytes(2)}, {})


def problems_about(report, name: str) -> list:
    return [p for p in report.problems if name in str(p)]


# ---------------------------------------------------------------- check_dataset


@pytest.fixture
def faulty(tmp_path):
    return check_dataset(read_dataset(faulty_dataset(tmp_path / "ds"), "auto"))


@pytest.fixture
def faulty_no_escape(tmp_path):
    return check_dataset(read_dataset(faulty_dataset(tmp_path / "ds", escape=False), "auto"))


def test_unreadable_images_are_named_and_left_out(faulty):
    for name in ("bad.jpg", "truncated.jpg"):
        (problem,) = problems_about(faulty, name)
        assert problem.file == f"images/{name}"
        assert "unreadable or truncated" in problem.message
        assert problem.severity == "warning"
    assert sorted(r.path for r in faulty.dataset.records) == ["images/copy.jpg", "images/good1.jpg",
                                                              "images/good2.jpg"]


def test_missing_file_is_named(faulty):
    (problem,) = problems_about(faulty, "missing.jpg")
    assert problem.file == "missing.jpg"
    assert "missing image file" in problem.message


def test_escaping_file_name_is_fatal(faulty):
    (problem,) = problems_about(faulty, "escape.jpg")
    assert problem.fatal
    assert "outside the dataset folder" in problem.message
    assert not any("escape" in r.path for r in faulty.dataset.records)


def test_box_outside_the_image_is_clipped(faulty):
    (problem,) = problems_about(faulty, "outside the image")
    assert "images/good1.jpg" in str(problem)
    assert problem.file == "annotations/instances.json"
    good1 = next(r for r in faulty.dataset.records if r.path == "images/good1.jpg")
    (inst,) = good1.instances
    assert inst.box == (30.0, 20.0, float(W), float(H))


def test_zero_area_box_is_dropped(faulty):
    (problem,) = problems_about(faulty, "zero area")
    assert "images/good2.jpg" in str(problem)
    good2 = next(r for r in faulty.dataset.records if r.path == "images/good2.jpg")
    assert [i.box for i in good2.instances] == [(4.0, 4.0, 12.0, 12.0)]


def test_duplicate_file_is_a_note_and_mapped_to_the_original(faulty):
    (problem,) = problems_about(faulty, "duplicate file:")
    assert problem.file == "images/copy.jpg"
    assert problem.severity == "note"
    assert "images/good1.jpg" in problem.message
    assert faulty.dataset.duplicates == {"images/copy.jpg": "images/good1.jpg"}


def test_every_problem_names_a_bad_file(faulty):
    named = ["bad.jpg", "truncated.jpg", "missing.jpg", "escape.jpg", "copy.jpg", "outside the image", "zero area"]
    assert len(faulty.problems) == len(named)
    for word in named:
        assert len(problems_about(faulty, word)) == 1, word
    assert faulty.dataset.problems == faulty.problems


def test_cleaned_records_take_the_size_of_the_decoded_image(faulty):
    assert all((r.width, r.height) == (W, H) for r in faulty.dataset.records)
    assert faulty.summary["images"] == 3
    assert faulty.summary["instances"] == 1 + 1 + 1  # good1 clipped, good2 without its zero-area box, copy


def test_exit_code_is_2_with_a_fatal_problem(faulty):
    assert faulty.fatal
    assert faulty.exit_code() == 2


def test_exit_code_is_1_with_only_warnings(faulty_no_escape):
    assert not faulty_no_escape.fatal
    assert faulty_no_escape.exit_code() == 1
    assert faulty_no_escape.exit_code(strict=True) == 2


def test_exit_code_is_0_for_a_clean_dataset(tmp_path):
    report = check_dataset(read_dataset(clean_dataset(tmp_path / "ds"), "auto"))
    assert report.problems == []
    assert report.exit_code() == 0
    assert report.exit_code(strict=True) == 0


def test_notes_alone_are_usable_but_fatal_when_strict(tmp_path):
    same = jpeg_bytes(1)
    report = check_dataset(read_dataset(write_coco(tmp_path / "ds", {"a.jpg": same, "b.jpg": same}, {}), "auto"))
    assert [p.severity for p in report.problems] == ["note"]
    assert report.exit_code() == 0
    assert report.exit_code(strict=True) == 2


def test_no_readable_image_at_all_is_fatal(tmp_path):
    report = check_dataset(read_dataset(write_coco(tmp_path / "ds", {"bad.jpg": b"not a jpeg"}, {}), "auto"))
    assert report.dataset.records == []
    assert report.exit_code() == 2


def test_box_within_tolerance_is_clipped_silently(tmp_path):
    root = write_coco(tmp_path / "ds", {"a.jpg": jpeg_bytes(1)}, {"a.jpg": [[-0.5, 0, W + 0.5, H]]})
    report = check_dataset(read_dataset(root, "auto"))
    assert report.problems == []
    assert report.dataset.records[0].instances[0].box == (0.0, 0.0, float(W), float(H))


# ---------------------------------------------------------------- zazu data check


def run_check(*args: str):
    result = CliRunner().invoke(cli, ["data", "check", *args])
    # exit codes come from sys.exit, never from an exception escaping the command
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_cli_exit_code_2_names_every_bad_file(tmp_path):
    result = run_check(str(faulty_dataset(tmp_path / "ds")))
    assert result.exit_code == 2, result.output
    for name in ("bad.jpg", "truncated.jpg", "missing.jpg", "escape.jpg", "copy.jpg", "images/good1.jpg",
                 "images/good2.jpg"):
        assert name in result.output, name
    assert "not usable" in result.output
    assert "1 fatal, 5 warnings, 1 notes" in result.output


def test_cli_exit_code_1_with_warnings_only(tmp_path):
    result = run_check(str(faulty_dataset(tmp_path / "ds", escape=False)))
    assert result.exit_code == 1, result.output
    assert "usable, with warnings" in result.output
    assert "bad.jpg" in result.output and "truncated.jpg" in result.output


def test_cli_exit_code_0_for_a_clean_dataset(tmp_path):
    result = run_check(str(clean_dataset(tmp_path / "ds")))
    assert result.exit_code == 0, result.output
    assert "images: 2" in result.output
    assert "usable: 0 fatal, 0 warnings, 0 notes" in result.output


def test_cli_strict_makes_warnings_fatal(tmp_path):
    result = run_check(str(faulty_dataset(tmp_path / "ds", escape=False)), "--strict")
    assert result.exit_code == 2, result.output


def test_cli_format_option_overrides_detection(tmp_path):
    root = clean_dataset(tmp_path / "ds")
    assert run_check(str(root), "--format", "coco").exit_code == 0
    result = run_check(str(root), "--format", "yolo")
    assert result.exit_code == 2
    assert "classes.txt" in result.output


def test_cli_missing_folder_is_an_error_not_a_traceback(tmp_path):
    result = run_check(str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "Dataset folder not found" in result.output


# ---------------------------------------------------------------- the real datasets in shared/datasets


def shared_dataset(name: str) -> Path:
    """A folder of shared/datasets; its absence fails the test (never skips: CI must provide it)."""
    if not SHARED_DATASETS.is_dir():
        pytest.fail(f"The shared datasets are missing: expected {SHARED_DATASETS} (the `shared` folder beside the "
                    f"repository {REPO}). Clone or copy shared/ next to the repository.")
    path = SHARED_DATASETS / name
    if not path.is_dir():
        pytest.fail(f"The shared dataset {name!r} is missing: expected {path}.")
    return path


def summary_numbers(output: str) -> tuple[int, int]:
    match = re.search(r"images: (\d+)\s+classes: .*?instances: (\d+)", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def test_data_check_on_tiny_coco():
    result = run_check(str(shared_dataset("tiny_coco")))
    assert result.exit_code == 0, result.output
    assert "(coco)" in result.output
    assert summary_numbers(result.output) == (32, 288)


def test_data_check_on_raccoon():
    result = run_check(str(shared_dataset("raccoon")))
    assert result.exit_code == 0, result.output
    assert "(voc)" in result.output
    assert summary_numbers(result.output) == (200, 217)


def test_an_image_past_the_pixel_budget_is_left_out_from_its_header(tmp_path, monkeypatch):
    import zazu.data.check as check

    monkeypatch.setattr(check, "MAX_PIXELS", 100 * 80)  # the header is read, not the pixels
    root = tmp_path / "cls"
    for name, size in (("small.png", (100, 80)), ("big.png", (101, 80))):
        (root / "a").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, (10, 20, 30)).save(root / "a" / name)
    (root / "b").mkdir()
    Image.new("RGB", (50, 50)).save(root / "b" / "c.png")
    report = check_dataset(read_dataset(root))
    kept = sorted(r.path for r in report.dataset.records)
    assert kept == ["a/small.png", "b/c.png"]
    (problem,) = [str(p) for p in report.problems if "big.png" in str(p)]
    assert "101x80 = 8080 pixels; expected at most 8000" in problem


def _gif_with_canvas(width: int) -> bytes:
    """A 20x20 GIF whose header (logical screen) claims `width` columns: PIL reads the canvas,
    TensorFlow the frame."""
    import struct

    buffer = io.BytesIO()
    Image.new("P", (20, 20)).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    data[6:8] = struct.pack("<H", width)
    return bytes(data)


def test_images_tensorflow_reads_otherwise_than_pil_are_left_out(tmp_path):
    root = tmp_path / "cls"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    Image.new("RGB", (30, 20)).save(root / "a" / "fine.bmp")
    Image.new("1", (30, 20)).save(root / "a" / "one_bit.bmp")  # PIL opens it; TensorFlow refuses it
    (root / "a" / "canvas.gif").write_bytes(_gif_with_canvas(100))  # PIL 100x20, TensorFlow 20x20
    Image.new("RGB", (30, 20)).save(root / "b" / "ok.png")
    report = check_dataset(read_dataset(root))
    assert sorted(r.path for r in report.dataset.records) == ["a/fine.bmp", "b/ok.png"]
    problems = {p.file: str(p) for p in report.problems}
    assert "TensorFlow's decoder cannot read this BMP" in problems["a/one_bit.bmp"]
    assert "reads this GIF as 20x20, not 100x20" in problems["a/canvas.gif"]


def test_predict_and_serve_refuse_what_tensorflow_cannot_read_as_a_bad_image():
    from zazu.inference.predictor import InvalidImage, check_image_bytes

    buffer = io.BytesIO()
    Image.new("1", (30, 20)).save(buffer, "BMP")
    with pytest.raises(InvalidImage, match="upload.bmp: TensorFlow's decoder cannot read this BMP"):
        check_image_bytes(buffer.getvalue(), "upload.bmp")
    with pytest.raises(InvalidImage, match="reads this GIF as 20x20"):
        check_image_bytes(_gif_with_canvas(100), "upload.gif")
