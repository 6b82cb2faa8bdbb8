"""`predict` and `evaluate` never write over their own inputs: one line, exit 2, every input unchanged.

The check runs before the model is read, so the model here is any file; what counts is that nothing
the user owns changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from zazu.cli import cli


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def user_files(tmp_path) -> Path:
    (tmp_path / "photos").mkdir()
    for name in ("a.png", "b.jpg"):
        (tmp_path / "photos" / name).write_bytes(b"\x89PNG not really " + name.encode())
    (tmp_path / "model.tflite").write_bytes(b"TFL3 a model")
    (tmp_path / "data" / "cats").mkdir(parents=True)
    (tmp_path / "data" / "cats" / "1.png").write_bytes(b"a cat")
    return tmp_path


def _refused(args: list[str], root: Path, expected: str) -> None:
    before = _snapshot(root)
    result = CliRunner().invoke(cli, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.output
    assert _snapshot(root) == before


@pytest.mark.parametrize("output", ["photos", "photos/sub"])
def test_predict_output_among_its_images_is_refused(user_files, output):
    root = user_files
    _refused(["predict", str(root / "model.tflite"), str(root / "photos"), "--draw", "--output", str(root / output)],
             root, "inside the folder of the images")


def test_predict_on_one_image_into_its_own_folder_is_refused(user_files):
    root = user_files
    _refused(["predict", str(root / "model.tflite"), str(root / "photos" / "a.png"), "--draw",
              "--output", str(root / "photos")], root, "inside the folder of the images")


def test_predict_result_over_the_model_is_refused(user_files):
    root = user_files
    (root / "a.json").write_bytes(b"{}")  # not an input: a folder of other files is fine, the model is not
    (root / "model.png").write_bytes(b"the model's own picture")
    model = root / "a.png"  # a model file named like the result of photos/a.png
    model.write_bytes(b"TFL3")
    _refused(["predict", str(model), str(root / "photos"), "--draw", "--output", str(root)], root,
             "would replace an input")


def test_evaluate_report_over_the_model_or_into_the_dataset_is_refused(user_files):
    root = user_files
    model = str(root / "model.tflite")
    _refused(["evaluate", model, "--data", str(root / "data"), "--output", model], root,
             "is the model being evaluated")
    _refused(["evaluate", model, "--data", str(root / "data"), "--output", str(root / "data" / "eval.json")], root,
             "inside the dataset being read")
    # the confusion plot beside the report must not replace the model either
    (root / "r_confusion.png").write_bytes(b"TFL3")
    _refused(["evaluate", str(root / "r_confusion.png"), "--data", str(root / "data"), "--output", str(root / "r.json")],
             root, "is the model being evaluated")
