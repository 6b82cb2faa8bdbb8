"""A run folder made before the typed trial boundary (tests/fixtures/run_before_trial_inputs: a search killed
mid-trial by the code at a3725d3) still resumes, keeps its finished trial, and exports its winner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run_before_trial_inputs"
TEXT_SUFFIXES = {".json", ".yaml", ".csv", ".txt", ".py"}


def _installed_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "old"
    shutil.copytree(FIXTURE, folder)
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8")
            if "@FIXTURE@" in text:
                path.write_text(text.replace("@FIXTURE@", str(folder)), encoding="utf-8")
    return folder / "run"


@pytest.mark.slow
def test_a_run_folder_from_before_the_typed_boundary_resumes_and_exports(tmp_path):
    from click.testing import CliRunner

    from zazu.cli import cli

    run = _installed_copy(tmp_path)
    finished = json.loads((run / "trials" / "tiny_cnn-0" / "trial.json").read_text())
    assert finished["status"] == "COMPLETED"

    result = CliRunner().invoke(cli, ["search", "--resume", str(run)])

    assert result.exit_code == 0, result.output + repr(result.exception)
    # the trial finished before the kill is kept as it was, not trained again
    assert json.loads((run / "trials" / "tiny_cnn-0" / "trial.json").read_text()) == finished
    records = [json.loads(p.read_text()) for p in sorted((run / "trials").glob("*/trial.json"))]
    assert [r["status"] for r in records] == ["COMPLETED"] * 3
    rerun = records[1]
    assert rerun["model_specs"]["trial_dir"] == str(run / "trials" / "tiny_cnn-1")  # written by the new code
    assert set(rerun["int8_metrics"]) >= {"val_accuracy"}  # the tuner profiled it (save() no longer does)
    assert (run / "export" / "model_int8.tflite").is_file() and (run / "best_trial.json").is_file()
