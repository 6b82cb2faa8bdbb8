"""What ships is what was measured: a search's export in every format, each variant scored,
profiled and checked for the Edge TPU; `zazu export`, `zazu profile` and `zazu predict`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from zazu.adapters.evaluation import evaluate_on_val

from zazu.cli import cli
from zazu.config import resolve_config
from zazu.search.driver import run_search

from edgetpu_stub import install_stub  # tests/export/edgetpu_stub.py

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

TFLITE = ("float32", "float16", "dynamic", "int8")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def classification_run(shapes_dataset, tmp_path_factory):
    """One tiny_cnn trial on the shapes set, exported with a stub edgetpu_compiler on PATH."""
    base = tmp_path_factory.mktemp("cls_export")
    bin_dir = base / "bin"
    bin_dir.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        argv_file = install_stub(bin_dir, patch)
        config = resolve_config(overrides={
            "task": "classification", "data": {"home_path": str(shapes_dataset)}, "models": ["tiny_cnn"],
            "max_trials": 1, "epochs": 2, "output": str(base / "run"), "export": {"profile_runs": 5},
            # weights dominate the file at this size (~94k parameters); a few-kB model is mostly graph
            "fixed_hyperparameters": {"filters": 32, "depth": 3}})
        result = run_search(config)
    return {"run": result.run_dir, "export": result.export, "argv": json.loads(argv_file.read_text())}


def test_search_exports_every_format_with_metadata_inside(classification_run):
    from zazu.export.metadata import read_metadata

    export_dir = classification_run["run"] / "export"
    info = json.loads((export_dir / "export.json").read_text())
    assert set(info["files"]) >= {"keras", "saved_model", *TFLITE, "labels", "metadata"}
    assert (export_dir / "saved_model" / "saved_model.pb").is_file()
    classes = ["circle", "cross", "square", "triangle"]
    for variant in ("keras", *TFLITE):
        metadata = read_metadata(info["files"][variant])
        assert metadata["variant"] == variant
        assert metadata["task"] == "classification" and metadata["model"] == "tiny_cnn"
        assert metadata["classes"] == classes
        assert metadata["input_size"] == [32, 32] and metadata["input"]["resize"] == "stretch"
        assert metadata["hyperparameters"]["epochs"] == 2
    assert (export_dir / "labels.txt").read_text().split() == classes
    # int8 file small enough for a microcontroller-class budget: at most 30% of float32
    sizes = {v: os.path.getsize(info["files"][v]) for v in TFLITE}
    assert sizes["int8"] <= 0.3 * sizes["float32"], sizes
    assert sizes["float16"] < 0.6 * sizes["float32"], sizes


def test_every_variant_is_scored_and_the_drop_is_against_keras(classification_run):
    info = classification_run["export"]
    metrics = info["metrics"]
    assert set(metrics) == {"keras", *TFLITE}
    for variant in TFLITE:
        assert info["drop"][variant] == pytest.approx(metrics["keras"]["val_accuracy"] - metrics[variant]["val_accuracy"])
    # the float model scored per image equals what the trial measured through the batched pipeline
    assert metrics["keras"]["val_accuracy"] == pytest.approx(info["trial_metrics"]["val_accuracy"])
    # float32 TFLite is the same network: at most one val image may flip on rounding
    one_image = 1 / info["val_images"]
    assert abs(metrics["float32"]["val_accuracy"] - metrics["keras"]["val_accuracy"]) <= one_image + 1e-9


def test_profile_and_edgetpu_reports_are_written(classification_run):
    info = classification_run["export"]
    export_dir = classification_run["run"] / "export"
    profiles = json.loads((export_dir / "profile.json").read_text())
    assert set(profiles) == set(TFLITE)
    for variant, p in profiles.items():
        assert p["runs"] == 5 and p["latency_median_ms"] > 0 and p["latency_p90_ms"] >= p["latency_median_ms"]
        assert p["peak_activation_bytes"] > 0 and p["parameters"] > 1000 and p["macs"] > 0
        assert p["file_size_bytes"] == os.path.getsize(info["files"][variant])
    # int8 activations are a quarter of float32's
    assert profiles["int8"]["peak_activation_bytes"] < profiles["float32"]["peak_activation_bytes"] / 2
    edgetpu = info["edgetpu"]
    assert edgetpu["mapped_ops_share"] == 1.0 and edgetpu["first_fallback"] is None
    # the stub compiler was called on the int8 export, and its log parsed into the report
    # (in the folder the export is written in before it replaces export/ whole)
    assert Path(classification_run["argv"][-1]).name == Path(info["files"]["int8"]).name == "model_int8.tflite"
    assert not any(".partial" in p.read_text(errors="replace") for p in export_dir.iterdir()
                   if p.suffix in (".json", ".txt", ".log"))  # no file names the folder it was written in
    assert edgetpu["compiler"]["ok"] and edgetpu["compiler"]["ops_on_edgetpu"] == 30
    report = json.loads((export_dir / "edgetpu_report.json").read_text())
    assert report["zazu"]["fully_mapped"] and report["compiler"]["ops_on_cpu"] == 1


@pytest.mark.parametrize("variant", ["keras", "int8"])
def test_predict_gives_what_the_evaluation_counted(classification_run, variant):
    from zazu.inference import Predictor

    export_dir = classification_run["run"] / "export"
    recorded = json.loads((export_dir / "val_predictions.json").read_text())
    predictor = Predictor(classification_run["export"]["files"][variant])
    correct = 0
    for record in recorded["records"]:
        result = predictor.predict_file(record["path"])
        assert result["class_id"] == record["predicted"][variant], record["path"]
        assert result["label"] == recorded["classes"][result["class_id"]]
        assert [t["class_id"] for t in result["top_k"]][0] == result["class_id"]
        correct += result["class_id"] == record["label"]
    accuracy = correct / len(recorded["records"])
    assert accuracy == pytest.approx(classification_run["export"]["metrics"][variant]["val_accuracy"])


def test_cli_predict_on_a_folder_writes_json_and_pngs_and_skips_a_corrupt_image(classification_run, tmp_path):
    records = json.loads((classification_run["run"] / "export" / "val_predictions.json").read_text())["records"]
    images = tmp_path / "images"
    images.mkdir()
    for record in records[:3]:
        shutil.copy(record["path"], images / Path(record["path"]).name)
    good = sorted(p.name for p in images.iterdir())
    twin = images / (Path(good[0]).stem + ".jpg")  # same stem as a PNG: its own result files
    from PIL import Image

    Image.open(images / good[0]).convert("RGB").save(twin, "JPEG")
    (images / "truncated.png").write_bytes(Path(records[0]["path"]).read_bytes()[:120])
    (images / "notes.png").write_text("not an image")
    out = tmp_path / "out"
    model = classification_run["export"]["files"]["int8"]

    result = CliRunner().invoke(cli, ["predict", model, str(images), "--draw", "--output", str(out)])

    assert result.exit_code == 1, result.output  # 1: some images were skipped
    twins = [good[0], twin.name]  # a.png and a.jpg: results named by the full file name, not overwritten
    assert {json.loads((out / f"{n}.json").read_text())["image"] for n in twins} == {str(images / n) for n in twins}
    assert all((out / f"{n}.png").is_file() for n in twins)
    for name in good[1:]:
        data = json.loads((out / f"{Path(name).stem}.json").read_text())
        assert data["image"].endswith(name) and data["label"] in ("circle", "cross", "square", "triangle")
        from PIL import Image

        with Image.open(out / f"{Path(name).stem}.png") as drawn:
            assert drawn.size == (data["width"], data["height"])
    assert not (out / "truncated.json").exists() and not (out / "notes.json").exists()
    assert "truncated.png: unreadable image" in result.output and "notes.png: not an image" in result.output
    assert "4 predicted, 2 skipped" in result.output
    assert len(json.loads((out / "skipped.json").read_text())) == 2


def test_cli_export_again_with_chosen_formats(classification_run, tmp_path):
    out = tmp_path / "again"
    result = CliRunner().invoke(cli, ["export", str(classification_run["run"]), "--formats", "int8,keras",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "export.json").read_text())
    assert set(info["metrics"]) == {"keras", "int8"}
    assert not (out / "model_float32.tflite").exists() and not (out / "saved_model").exists()
    # same trained weights, same val images: the same int8 accuracy as the search's export
    assert info["metrics"]["keras"] == classification_run["export"]["metrics"]["keras"]
    assert "int8" in result.output and "drop vs keras" in result.output
    assert info["options"]["bias_correction"] is True  # the default
    assert info["options"]["weight_rounding"] == "calibrated"  # the default


def test_cli_export_without_bias_correction_converts_the_weights_as_trained(classification_run, tmp_path):
    runs = {}
    for flag in ("--no-bias-correction", "--bias-correction"):
        out = tmp_path / flag
        result = CliRunner().invoke(cli, ["export", str(classification_run["run"]), "--formats", "int8",
                                          "--output", str(out), flag])
        assert result.exit_code == 0, result.output
        runs[flag] = json.loads((out / "export.json").read_text())
    assert runs["--no-bias-correction"]["options"]["bias_correction"] is False
    assert runs["--bias-correction"]["options"]["bias_correction"] is True
    # the same weights, biases apart: the int8 files differ
    assert (tmp_path / "--no-bias-correction" / "model_int8.tflite").read_bytes() != \
        (tmp_path / "--bias-correction" / "model_int8.tflite").read_bytes()


def test_cli_export_with_nearest_weight_rounding_rounds_as_the_converter_does(classification_run, tmp_path):
    runs = {}
    for rounding in ("nearest", "calibrated"):
        out = tmp_path / rounding
        result = CliRunner().invoke(cli, ["export", str(classification_run["run"]), "--formats", "int8",
                                          "--output", str(out), "--weight-rounding", rounding])
        assert result.exit_code == 0, result.output
        runs[rounding] = json.loads((out / "export.json").read_text())
    assert runs["nearest"]["options"]["weight_rounding"] == "nearest"
    assert runs["calibrated"]["options"]["weight_rounding"] == "calibrated"
    assert (tmp_path / "nearest" / "model_int8.tflite").read_bytes() != \
        (tmp_path / "calibrated" / "model_int8.tflite").read_bytes()


def test_cli_export_errors_name_what_is_wrong(classification_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(classification_run["run"]), "--trial", "tiny_cn-0"])
    assert result.exit_code == 2
    assert "No trial 'tiny_cn-0'" in result.output and "Did you mean `tiny_cnn-0`?" in result.output
    result = runner.invoke(cli, ["export", str(tmp_path)])
    assert result.exit_code == 2 and "is not a Zazu run folder" in result.output
    result = runner.invoke(cli, ["export", str(classification_run["run"]), "--formats", "int8,tflite"])
    assert result.exit_code == 2 and "unknown format 'tflite'" in result.output


def test_cli_profile_prints_latency_and_memory(classification_run, tmp_path):
    model = classification_run["export"]["files"]["int8"]
    result = CliRunner().invoke(cli, ["profile", model, "--runs", "5", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["input_dtype"] == "int8" and figures["runs"] == 5 and figures["latency_median_ms"] > 0
    assert figures["peak_activation_bytes"] > 0
    assert figures["edgetpu"].startswith(f"{figures['ops']}/{figures['ops']} ops mappable")
    table = CliRunner().invoke(cli, ["profile", classification_run["export"]["files"]["keras"], "--runs", "3"])
    assert table.exit_code == 0, table.output
    assert "Keras" in table.output and "latency" in table.output
    missing = CliRunner().invoke(cli, ["profile", str(tmp_path / "none.tflite")])
    assert missing.exit_code == 2 and "none.tflite" in missing.output


@pytest.mark.parametrize("task,model", [("detection", "centernet"), ("instance_segmentation", "protonet")])
def test_instance_predict_equals_the_evaluation_code(task, model, shapes_instances_dataset, tmp_path):
    """`Predictor` on each val image gives exactly the prediction the export's scoring used."""
    from zazu.export.from_run import trial_record
    from zazu.export.litert import TFLiteRunner
    from zazu.inference import Predictor
    from zazu.registry import Registry
    from zazu.adapters.lifecycle import run_lifecycle

    config = resolve_config(overrides={
        "task": task, "data": {"home_path": str(shapes_instances_dataset)}, "models": [model],
        "max_trials": 1, "epochs": 1, "output": str(tmp_path / "run"),
        "export": {"formats": ["keras", "int8"], "profile_runs": 2, "calibration_images": 4}})
    result = run_search(config)
    int8 = result.export["files"]["int8"]

    record = trial_record(result.run_dir)
    adapter = Registry.load().get(model).adapter_class(record["model_specs"], record["hp_values"])
    run_lifecycle(adapter, result.export["objective"], steps=("reformat", "data_loader", "preprocess"))
    metrics, predictions = evaluate_on_val(adapter, TFLiteRunner(int8))
    assert metrics == result.export["metrics"]["int8"]

    predictor = Predictor(int8)
    for path, expected in zip(adapter.val_image_paths(), predictions):
        answer = predictor.predict_file(path)
        assert answer == {"image": str(path), "width": answer["width"], "height": answer["height"], "task": task,
                          **adapter.prediction_json(expected)}
        if task == "instance_segmentation":
            assert all("mask" in d for d in answer["detections"])
        boxes = np.array([d["box"] for d in answer["detections"]]).reshape(-1, 4)
        assert np.allclose(boxes, np.round(expected.boxes, 2), atol=0.01)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier_export(classification_run, tmp_path_factory):
    """A good export of the run into its own folder (the one the faults below must leave as it was)."""
    out = tmp_path_factory.mktemp("earlier") / "export"
    result = CliRunner().invoke(cli, ["export", str(classification_run["run"]), "--formats", "keras,saved_model,int8",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _export_child(run: Path, out: Path, file_limit: int | None = None) -> subprocess.Popen:
    import resource

    def limits():
        if file_limit is not None:  # a full disk, as `ulimit -f` makes one: writes past it fail with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), "export", str(run), "--formats",
                             "keras,saved_model,int8", "--output", str(out)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limits)


def test_a_full_disk_during_export_keeps_the_previous_export(classification_run, earlier_export):
    before = _bytes(earlier_export)
    child = _export_child(classification_run["run"], earlier_export, file_limit=200_000)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 2, out + err
    assert "Traceback" not in out + err
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]  # (TensorFlow's C++ log aside)
    assert "the export could not be written" in line and "the previous export is kept unchanged" in line
    assert _bytes(earlier_export) == before
    assert not list(earlier_export.parent.glob(".export.*"))  # its staging folder was removed


def test_a_kill_during_export_keeps_the_previous_export(classification_run, earlier_export):
    from zazu.atomic_io import recover_folder

    before = _bytes(earlier_export)
    child = _export_child(classification_run["run"], earlier_export)
    try:
        deadline = time.time() + 240
        while not any(earlier_export.parent.glob(".export.*.partial/model.keras")):  # mid-export
            assert child.poll() is None and time.time() < deadline, child.communicate()
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    assert _bytes(earlier_export) == before
    recover_folder(earlier_export)  # what the next export does first: the killed one's staging goes
    assert not list(earlier_export.parent.glob(".export.*")) and _bytes(earlier_export) == before
