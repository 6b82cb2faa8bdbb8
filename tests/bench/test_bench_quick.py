"""Every bench script runs in `--quick` mode (seconds), so none of them can rot unnoticed; the figures
themselves come from `python bench/run_all.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

REPO = Path(__file__).resolve().parents[2]
# script -> a line its output must hold (a header or summary the README's figures are read from)
EXPECTED = {
    "augment_ops.py": "geometry: keras layers / RandomAffine =",
    "input_pipeline.py": "ratio     cold",
    "latency.py": "centernet",
    "serve.py": "req/s",
    "real_crops.py": "pretrained",
    "vs_keras_tuner.py": "digits",
    "training_feed.py": "target: pipeline >= 0.9 x memory",
    "edgetpu_estimate.py": "Zazu's estimate (not a timing)",
    "dense_detection.py": "val_mAP50",
    "fault_sweep.py": "| case | exit | traceback | files unchanged | printed |",
    "int8_fidelity.py": "largest drop over 1 seeds",
    "weight_rounding.py": "nearest (within the bar",
}
# not bench scripts: run_all.py runs them; dense_set.py builds the data dense_detection.py runs on
# (tests/bench/test_dense_set.py)
NOT_BENCHES = {"run_all.py", "dense_set.py"}


def test_every_bench_script_is_covered():
    assert {p.name for p in (REPO / "bench").glob("*.py")} - NOT_BENCHES == set(EXPECTED)
    run_all = (REPO / "bench" / "run_all.py").read_text()
    for script in EXPECTED:  # and run_all regenerates each one's figures
        assert f'"{script.removesuffix(".py")}":' in run_all, script


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_bench_script_runs_quick(script, tmp_path):
    env = {**os.environ, "ZAZU_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, str(REPO / "bench" / script), "--quick"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert EXPECTED[script] in result.stdout, result.stdout[-3000:]


def _run_all():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run_all", REPO / "bench" / "run_all.py")
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    return run_all


def test_run_all_reads_a_default_job_row_from_its_run_folder(tmp_path):
    run_all = _run_all()
    run = tmp_path / "run"
    (run / "export").mkdir(parents=True)
    (run / "export" / "model_int8.tflite").write_bytes(b"x" * 3072)
    (run / "best_trial.json").write_text(json.dumps({
        "model": "retinanet_lite", "hyperparameters": {"input_size": 320},
        "metrics": {"val_mAP": 0.5, "val_mAP50": 0.9651, "epochs_trained": 9.0}}))
    (run / "export" / "export.json").write_text(json.dumps({
        "files": {"int8": str(run / "export" / "model_int8.tflite")},
        "metrics": {"keras": {"val_mAP50": 0.9651}, "int8": {"val_mAP50": 0.9617}}}))
    row = run_all.format_job_row(run_all.job_row("raccoon", run, 712.4))
    assert row == ("| `python main.py --task detection --data ../shared/datasets/raccoon` | 11 m 52 s "
                   "| `val_mAP50` 0.965 (retinanet_lite, 320 px, 9 epochs) | 0.962, 3 KiB |")


def test_run_all_prints_what_ships_from_the_export(tmp_path):
    run = tmp_path / "run"
    (run / "export" / "model.keras").mkdir(parents=True)  # a folder's size is the sum of its files
    (run / "export" / "model.keras" / "a").write_bytes(b"x" * 2048)
    (run / "export" / "model_int8.tflite").write_bytes(b"x" * 1024)
    timing = {"latency_median_ms": 1.234, "latency_p90_ms": 2.0, "peak_activation_bytes": 4096}
    (run / "export" / "export.json").write_text(json.dumps({
        "objective": "val_accuracy", "val_images": 120, "model": "tiny_cnn", "trial_id": "3",
        "files": {"keras": str(run / "export" / "model.keras"), "int8": str(run / "export" / "model_int8.tflite")},
        "metrics": {"keras": {"val_accuracy": 0.95}, "int8": {"val_accuracy": 0.9416667}},
        "profile": {"int8": timing}}))
    assert _run_all().variants_table(run).splitlines()[2:] == [
        "| keras | 0.9500 | 2 KiB | - | - |",
        "| int8 | 0.9417 | 1 KiB | 1.23 / 2.00 ms | 4 KiB |",
        "(120 validation images; tiny_cnn, trial 3)"]


def test_vs_keras_tuner_counts_images_so_float32_and_float64_of_one_count_tie():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_vs_kt", REPO / "bench" / "vs_keras_tuner.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # 358 of 359 as Keras (float32) and keras-tuner (float64) report it
    assert bench.verdict(0.9972144961357117, 0.9972144846796658, 359) == "tie"
    assert bench.verdict(358 / 359, 357 / 359, 359) == "zazu"
    assert bench.verdict(356 / 359, 357 / 359, 359) == "script"
