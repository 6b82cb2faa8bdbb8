"""Faults rather than malformed files, through the CLI: places that cannot be written, outputs naming
inputs, names at the limits. Each case: no traceback, exit 2, one `error:` line, and every file that
existed before byte for byte the same. (Full disks, two processes on one run and crafted run folders
have their own tests: tests/search/test_run_lock.py, test_code_trust.py, export/test_export_run.py.)"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _main(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "200", **(env or {})}
    full_env.pop("ZAZU_ZOO", None)
    # (unwritable places are a file where a folder is expected: root, which runs CI, writes into read-only folders)
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=240)


def _one_error(result, expected: str) -> None:
    text = result.stdout + result.stderr
    assert result.returncode == 2, text
    assert "Traceback" not in text, text
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and expected in errors[0], text


@pytest.fixture
def home(tmp_path) -> Path:
    (tmp_path / "notes.txt").write_text("the user's own file", encoding="utf-8")
    return tmp_path


def test_a_cache_that_is_not_a_folder(home):
    before = _files(home)
    result = _main(["--task", "classification", "--output", str(home / "run"), "--max-trials", "1"], home,
                   env={"ZAZU_CACHE": str(home / "notes.txt")})
    _one_error(result, "notes.txt")
    assert _files(home) == before


def test_an_output_under_a_file(home):
    before = _files(home)
    result = _main(["--task", "classification", "--output", str(home / "notes.txt" / "run")], home)
    _one_error(result, "`output` cannot be made: " + str(home / "notes.txt") + " is a file")
    assert "Dataset" not in result.stdout  # refused before the dataset is read
    assert _files(home) == before


def test_zoo_new_with_a_name_past_the_file_name_limit(home):
    (home / "myzoo").mkdir()
    before = _files(home)
    _one_error(_main(["zoo", "new", "n" * 300, "--task", "classification", "--zoo", str(home / "myzoo")], home),
               "name")
    assert _files(home) == before and not any((home / "myzoo").iterdir())


def test_a_config_nested_too_deeply(home):
    (home / "deep.yaml").write_text("task: classification\nx: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    before = _files(home)
    _one_error(_main(["--config", str(home / "deep.yaml"), "--output", str(home / "run")], home),
               "nested too deeply")
    assert _files(home) == before


def test_an_absurd_time_budget(home):
    _one_error(_main(["--task", "classification", "--time-budget", "1e308", "--output", str(home / "run")], home),
               "time_budget=1e+308")
    assert not (home / "run").exists()


def test_a_detection_set_with_no_annotation_is_fatal_before_training(home):
    import json

    from PIL import Image

    (home / "coco" / "images").mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (64, 48), (40 * i, 80, 120)).save(home / "coco" / "images" / f"{i}.png")
    (home / "coco" / "annotations.json").write_text(json.dumps({
        "images": [{"id": i, "file_name": f"images/{i}.png", "width": 64, "height": 48} for i in range(4)],
        "annotations": [], "categories": [{"id": 1, "name": "thing"}]}), encoding="utf-8")
    before = _files(home)
    _one_error(_main(["--task", "detection", "--data", str(home / "coco"), "--output", str(home / "run")], home),
               "no usable annotation")
    assert _files(home) == before and not (home / "run").exists()


@pytest.mark.slow  # trains or exports
def test_hyperparameters_a_model_cannot_build_are_a_failed_trial_in_one_line(home):
    result = _main(["train", "--model", "tiny_cnn", "--hp", "input_size=8", "--hp", "depth=4", "--epochs", "1",
                    "--output", str(home / "run")], home)
    text = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in text, text
    assert "failed after" in result.stdout and "traceback in" in result.stdout  # the detail is in the trial folder
    assert (home / "run" / "trials" / "tiny_cnn-0" / "traceback.txt").is_file()
