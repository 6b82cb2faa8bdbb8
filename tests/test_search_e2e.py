"""Whole searches: CLI to int8 TFLite on a user folder, and a failing adapter that must not stop the search."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from zazu.cli import cli
from zazu.config import resolve_config
from zazu.registry import Registry
from zazu.search.driver import run_search

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')


def test_cli_search_on_a_user_folder_exports_int8_tflite(digits_dataset, tmp_path):
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "--task", "classification", "--data", str(digits_dataset), "--models", "tiny_cnn,small_resnet",
        "--max-trials", "2", "--epochs", "1", "--output", str(run_dir),
    ])
    assert result.exit_code == 0, result.output

    for name in ("config.yaml", "split.json", "leaderboard.csv", "best_trial.json",
                 "export/model.keras", "export/model_int8.tflite", "export/export.json"):
        assert (run_dir / name).is_file(), name
    rows = list(csv.DictReader(open(run_dir / "leaderboard.csv")))
    assert {r["model"] for r in rows} == {"tiny_cnn", "small_resnet"}
    assert all(r["status"] == "COMPLETED" for r in rows)
    for r in rows:
        trial = run_dir / "trials" / f"{r['model']}-{r['trial_id']}"
        assert json.loads((trial / "trial.json").read_text())["status"] == "COMPLETED"
        assert (trial / "hyperparameters.json").is_file() and (trial / "log.txt").is_file()
        assert (trial / "history.csv").is_file()
        assert list((trial / "tensorboard" / "train").glob("events.out.tfevents.*"))
        assert list((trial / "tensorboard" / "validation").glob("events.out.tfevents.*"))
        assert [p.name for p in trial.glob("*.keras")] == ["model.keras"]  # the best epoch only
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished" and manifest["dataset"]["fingerprint"].startswith("sha256:")
    for model in ("tiny_cnn", "small_resnet"):
        assert (run_dir / "models" / "zoo" / model / "adapter.py").is_file()
        assert model in json.loads((run_dir / "models" / "models.json").read_text())

    best = json.loads((run_dir / "best_trial.json").read_text())
    assert best["metrics"]["val_accuracy"] == max(float(r["val_accuracy"]) for r in rows)

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(run_dir / "export/model_int8.tflite"))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert list(inp["shape"]) == [1, 32, 32, 3]  # static batch 1
    assert list(out["shape"]) == [1, 3]
    export = json.loads((run_dir / "export/export.json").read_text())
    assert export["classes"] == ["digit_0", "digit_1", "digit_2"]
    # scored on the run's validation split: a whole number of its images (learning and int8 fidelity
    # are held to bars in tests/test_learning.py; one epoch on 36 digits proves the plumbing)
    n_val = len(json.loads((run_dir / "split.json").read_text())["val"])
    correct = export["metrics"]["int8"]["val_accuracy"] * n_val
    assert correct == pytest.approx(round(correct), abs=1e-6)


DUCK_ZOO = {
    "good": """
        class AdaptModel:
            def __init__(self, model_specs, hp_values):
                self.hp = hp_values
            def train(self):
                pass
            def get_metrics(self):
                return {"val_accuracy": self.hp["quality"]}
    """,
    "broken": """
        class AdaptModel:
            def __init__(self, model_specs, hp_values):
                pass
            def train(self):
                raise RuntimeError("boom: the GPU caught fire")
            def get_metrics(self):
                return {"val_accuracy": 1.0}
    """,
}


def _duck_zoo(root: Path) -> Path:
    entries = {}
    for name, source in DUCK_ZOO.items():
        (root / "zoo" / name).mkdir(parents=True)
        (root / "zoo" / name / "adapter.py").write_text(textwrap.dedent(source))
        entries[name] = {
            "task": "classification",
            "model_space": {"accuracy_rating": 5, "speed_rating": 5, "memory_rating": 5},
            "hp_search_space": [{"name": "quality", "values": [0.25, 0.5, 0.75], "sampling": None}],
            "training_configs": {},
        }
    (root / "models.json").write_text(json.dumps(entries))
    return root


def _duck_config(zoo: Path, tmp_path: Path, dataset: Path, **overrides) -> dict:
    return resolve_config(overrides={
        "zoo": str(zoo), "models": ["good"], "output": str(tmp_path / "run"),
        "data": {"home_path": str(dataset)}, **overrides,
    })


def test_a_failing_adapter_is_recorded_and_the_search_continues(shapes_dataset, tmp_path):
    zoo = _duck_zoo(tmp_path / "zoo_root")
    config = _duck_config(zoo, tmp_path, shapes_dataset, models=["broken", "good"], max_trials=4,
                          max_consecutive_failed_trials=5)
    result = run_search(config, registry=Registry.load(zoo))

    by_status = {}
    for record in result.ranked:
        by_status.setdefault((record["model"], record["status"]), []).append(record)
    assert len(by_status[("broken", "FAILED")]) == 2
    assert len(by_status[("good", "COMPLETED")]) == 2
    for record in by_status[("broken", "FAILED")]:
        traceback = (Path(record["trial_dir"]) / "traceback.txt").read_text()
        assert "RuntimeError: boom: the GPU caught fire" in traceback
        assert "in train" in traceback
    assert result.best["model"] == "good"
    assert result.export is None  # a duck-typed adapter has no export(); said, not crashed
    rows = list(csv.DictReader(open(result.run_dir / "leaderboard.csv")))
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED", "FAILED", "FAILED"]


def test_consecutive_failures_stop_that_models_search(shapes_dataset, tmp_path):
    zoo = _duck_zoo(tmp_path / "zoo_root")
    config = _duck_config(zoo, tmp_path, shapes_dataset, models=["broken", "good"], max_trials=8,
                          max_consecutive_failed_trials=2)
    result = run_search(config, registry=Registry.load(zoo))

    broken = [r for r in result.ranked if r["model"] == "broken"]
    assert len(broken) == 2 and all(r["status"] == "FAILED" for r in broken)
    note = "broken: search stopped after 2 consecutive failed trials (last: "
    assert any(n.startswith(note) and "boom: the GPU caught fire" in n for n in result.notes), result.notes
    assert sum(r["model"] == "good" and r["status"] == "COMPLETED" for r in result.ranked) >= 1
    models = json.loads((result.run_dir / "run.json").read_text())["models"]
    assert models[0]["name"] == "broken" and models[0]["note"].startswith(note)

    # The stop is part of the run's saved state: a resumed search does not start that model again.
    from zazu.run_records import update_manifest
    from zazu.search.driver import resume_search

    update_manifest(result.run_dir, status="interrupted",
                    models=[{**m, "status": "searching"} for m in models])  # as if killed during the stop
    resume_search(result.run_dir)
    assert len(list((result.run_dir / "trials").glob("broken-*"))) == 2


@pytest.mark.parametrize("method", ["random", "bayesian", "hyperband", "grid"])
def test_every_keras_tuner_oracle_drives_the_adapters(method, shapes_dataset, tmp_path):
    zoo = _duck_zoo(tmp_path / "zoo_root")
    config = _duck_config(zoo, tmp_path, shapes_dataset, search_method=method, max_trials=3, epochs=2)
    result = run_search(config, registry=Registry.load(zoo))

    completed = [r for r in result.ranked if r["status"] == "COMPLETED"]
    assert 1 <= len(completed) <= 3
    assert {r["hyperparameters"]["quality"] for r in completed} <= {0.25, 0.5, 0.75}
    assert not any(k.startswith("tuner/") for r in completed for k in r["hyperparameters"])
    if method == "grid":  # a grid visits each of the 3 values once
        assert sorted(r["hyperparameters"]["quality"] for r in completed) == [0.25, 0.5, 0.75]
    if method == "hyperband":  # Hyperband's epochs reach the adapter as hp_values["epochs"]
        assert all(1 <= r["hp_values"]["epochs"] <= 2 for r in completed)


SLOW_ADAPTER = """
import time

class AdaptModel:
    def __init__(self, model_specs, hp_values):
        pass
    def train(self):
        time.sleep(0.5)
    def get_metrics(self):
        return {"val_accuracy": 0.5}
"""


def test_time_budget_stops_starting_trials(shapes_dataset, tmp_path):
    zoo = _duck_zoo(tmp_path / "zoo_root")
    (zoo / "zoo" / "good" / "adapter.py").write_text(SLOW_ADAPTER)
    # 0.05 min = 3 s: room for a few 0.5 s trials, not for 20 of them.
    config = _duck_config(zoo, tmp_path, shapes_dataset, max_trials=20, time_budget=0.05,
                          search_method="bayesian")
    result = run_search(config, registry=Registry.load(zoo))

    assert 1 <= len(result.ranked) < 20
    assert any("time budget" in note for note in result.notes)


def test_detection_search_trains_one_epoch_and_exports_int8(shapes_instances_dataset, tmp_path):
    config = resolve_config(overrides={
        "task": "detection", "models": ["centernet"], "max_trials": 1, "epochs": 1,
        "output": str(tmp_path / "run"), "data": {"home_path": str(shapes_instances_dataset)},
    })
    from zazu.console import Reporter

    epochs = []

    class Recording(Reporter):
        def epoch_finished(self, epoch, total, logs, trial_key=None):
            epochs.append((trial_key, epoch, total, "val_loss" in logs))
            super().epoch_finished(epoch, total, logs, trial_key)

    result = run_search(config, Recording(quiet=True))

    assert epochs == [("centernet-0", 1, 1, True)]  # the tuner passed the reporter's callbacks to model.fit
    assert result.best["model"] == "centernet"
    assert {"val_mAP", "val_mAP50", "val_mAP75"} <= set(result.best["metrics"])
    details = json.loads((Path(result.best["trial_dir"]) / "per_class_ap.json").read_text())
    # AP by size in the trial's metrics for exactly the sizes the val split has objects of
    sizes = {f"val_mAP_{size}" for size, v in details["AP_by_size"].items() if v["instances"]}
    assert sizes and sizes == {k for k in result.best["metrics"] if k.rsplit("_", 1)[-1] in details["AP_by_size"]}
    assert all(set(v) == {"AP", "AP50", "instances"} for v in details["per_class_AP"].values())
    export = json.loads((result.run_dir / "export/export.json").read_text())
    assert set(export["metrics"]) == {"keras", "float32", "float16", "dynamic", "int8"}
    # one epoch: the int8 mAP is bounded against float in tests/test_learning.py, on a detector that learned
    assert set(export["metrics"]["int8"]) == {"val_mAP", "val_mAP50", "val_mAP75"} | sizes
    rows = list(csv.DictReader(open(result.run_dir / "leaderboard.csv")))
    assert all(f"int8_{k}" in rows[0] for k in sizes)  # leaderboard.csv keeps the detail

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(result.run_dir / "export/model_int8.tflite"))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    assert inp["dtype"] == np.int8 and list(inp["shape"]) == [1, 96, 96, 3]
    assert all(o["dtype"] == np.int8 for o in interpreter.get_output_details())


def test_classification_models_refuse_a_detection_dataset(shapes_instances_dataset, tmp_path):
    from zazu.errors import DatasetError

    config = resolve_config(overrides={"task": "classification", "output": str(tmp_path / "run"),
                                       "data": {"home_path": str(shapes_instances_dataset)}})
    with pytest.raises(DatasetError, match="needs a folder-per-class dataset"):
        run_search(config)
    assert not (tmp_path / "run").exists()  # a dataset error leaves no run folder behind


@pytest.mark.parametrize("model", ["centernet", "retinanet"])
def test_single_class_detection_trains(model, tmp_path):
    """One class only (like the raccoon set): Keras must not squeeze a 1-class head to match its targets."""
    from zazu.data.synthetic import write_instances_dataset

    root = write_instances_dataset(tmp_path / "data", images=8, size=64, seed=2)
    coco = json.loads((root / "annotations/instances.json").read_text())
    coco["categories"] = [{"id": 1, "name": "shape"}]
    for ann in coco["annotations"]:
        ann["category_id"] = 1
    (root / "annotations/instances.json").write_text(json.dumps(coco))
    config = resolve_config(overrides={"task": "detection", "models": [model], "max_trials": 1, "epochs": 1,
                                       "output": str(tmp_path / "run"), "data": {"home_path": str(root)},
                                       "export": {"formats": ["keras"], "profile_trials": False}})
    result = run_search(config)
    assert result.best is not None and result.best["model"] == model


def test_segmentation_search_trains_one_epoch_exports_and_draws_masks(shapes_instances_dataset, tmp_path):
    config = resolve_config(overrides={
        "task": "instance_segmentation", "models": ["protonet"], "max_trials": 1, "epochs": 1,
        "output": str(tmp_path / "run"), "data": {"home_path": str(shapes_instances_dataset)},
        "export": {"formats": ["keras", "int8"], "profile_runs": 2, "profile_trials": False},
    })
    result = run_search(config)

    assert {"val_mask_mAP", "val_mask_mAP50", "val_mAP"} <= set(result.best["metrics"])
    details = json.loads((Path(result.best["trial_dir"]) / "per_class_ap.json").read_text())
    sizes = {f"val_mask_mAP_{size}" for size, v in details["AP_by_size"].items() if v["instances"]}
    assert sizes and sizes <= set(result.best["metrics"])  # mask AP by mask size
    export = json.loads((result.run_dir / "export/export.json").read_text())
    assert {"val_mask_mAP", "val_mask_mAP50"} | sizes <= set(export["metrics"]["int8"])
    assert list((result.run_dir / "export/predictions").glob("*.png"))

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(result.run_dir / "export/model_int8.tflite"))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    assert inp["dtype"] == np.int8 and list(inp["shape"]) == [1, 96, 96, 3]
    assert len(interpreter.get_output_details()) == 3  # heatmap, boxes, mask features; assembly runs outside


def test_models_left_without_a_trial_are_not_searched(shapes_dataset, tmp_path):
    """keras-tuner reads max_trials=0 as no limit: a model whose share is 0 must not run at all."""
    zoo = _duck_zoo(tmp_path / "zoo_root")
    config = _duck_config(zoo, tmp_path, shapes_dataset, models=["good", "broken"], max_trials=1,
                          time_budget=None)
    result = run_search(config, registry=Registry.load(zoo))

    assert [(r["model"], r["status"]) for r in result.ranked] == [("good", "COMPLETED")]
