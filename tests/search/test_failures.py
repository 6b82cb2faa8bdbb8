"""Failing trials: NaN loss, out of memory, sys.exit, a broken model search; each recorded, the search goes on."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from zazu.config import resolve_config
from zazu.registry import Registry

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

ENTRY = {"task": "classification", "model_space": {"accuracy_rating": 5, "speed_rating": 5, "memory_rating": 5},
         "hp_search_space": [{"name": "learning_rate", "values": [0.001, 0.01], "sampling": None}],
         "training_configs": {"input_size": 32, "batch_size": 8, "augment": False}}

ADAPTERS = {
    # A real Keras model whose weights are NaN: the loss is NaN from the first batch.
    "nan_cnn": """
        from zazu.adapters import ClassificationAdapter

        class AdaptModel(ClassificationAdapter):
            def build(self):
                import keras

                x = keras.layers.GlobalAveragePooling2D()(inputs := self.image_input())
                x = keras.layers.Dense(8, kernel_initializer=keras.initializers.Constant(float("nan")))(x)
                return keras.Model(inputs, self.classifier_head(x))
    """,
    # A real allocation that cannot be satisfied (8 PiB). (TensorFlow's own ResourceExhaustedError is
    # classified in test_run_records.py: its allocator retries for 10 s before giving up.)
    "oom": """
        class AdaptModel:
            def __init__(self, model_specs, hp_values):
                pass
            def train(self):
                import numpy as np
                self.big = np.ones(1 << 50)
            def get_metrics(self):
                return {"val_accuracy": 1.0}
    """,
    "quitter": """
        import sys

        class AdaptModel:
            def __init__(self, model_specs, hp_values):
                pass
            def train(self):
                sys.exit(3)
            def get_metrics(self):
                return {"val_accuracy": 1.0}
    """,
    "good": """
        class AdaptModel:
            def __init__(self, model_specs, hp_values):
                self.hp = hp_values
            def train(self):
                pass
            def get_metrics(self):
                return {"val_accuracy": 0.5 + self.hp["learning_rate"]}
    """,
}


def _zoo(root: Path) -> Path:
    for name, source in ADAPTERS.items():
        (root / "zoo" / name).mkdir(parents=True)
        (root / "zoo" / name / "adapter.py").write_text(textwrap.dedent(source))
    (root / "models.json").write_text(json.dumps({name: ENTRY for name in ADAPTERS}))
    return root


def test_nan_loss_out_of_memory_and_sys_exit_fail_their_trial_and_the_search_goes_on(shapes_dataset, tmp_path):
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    zoo = _zoo(tmp_path / "zoo")
    config = resolve_config(overrides={
        "zoo": str(zoo), "models": ["nan_cnn", "oom", "quitter", "good"], "max_trials": 4, "epochs": 1,
        "output": str(tmp_path / "run"), "data": {"home_path": str(shapes_dataset)}})
    result = run_search(config, Reporter(quiet=True), registry=Registry.load(zoo))

    by_model = {r["model"]: r for r in result.ranked}
    assert by_model["good"]["status"] == "COMPLETED" and result.best["model"] == "good"
    expected = {"nan_cnn": ("not_finite", "NaN"), "oom": ("out_of_memory", "MemoryError"),
                "quitter": ("error", "SystemExit: 3")}
    for model, (kind, words) in expected.items():
        record = by_model[model]
        assert record["status"] == "FAILED", model
        assert record["failure"] == kind, (model, record["error"])
        assert words in record["error"]
        traceback = (Path(record["trial_dir"]) / "traceback.txt").read_text()
        assert "Traceback (most recent call last)" in traceback
        assert "FAILED" in (Path(record["trial_dir"]) / "log.txt").read_text()
    assert [r["status"] for r in result.ranked] == ["COMPLETED", "FAILED", "FAILED", "FAILED"]


def test_a_model_whose_search_breaks_does_not_lose_the_other_models_results(duck_zoo, shapes_dataset, tmp_path,
                                                                            monkeypatch):
    from zazu.console import Reporter
    from zazu.search import driver
    from zazu.search.run_folder import RunFolder

    real_tuner = RunFolder.tuner

    def tuner(self, index, *args, **kwargs):
        if self.models[index].name == "good":
            raise RuntimeError("the oracle state is unreadable")
        return real_tuner(self, index, *args, **kwargs)

    monkeypatch.setattr(RunFolder, "tuner", tuner)
    config = resolve_config(overrides={"zoo": str(duck_zoo), "models": ["good", "other"], "max_trials": 4,
                                       "output": str(tmp_path / "run"), "data": {"home_path": str(shapes_dataset)}})
    result = driver.run_search(config, Reporter(quiet=True), registry=Registry.load(duck_zoo))

    assert [(r["model"], r["status"]) for r in result.ranked] == [("other", "COMPLETED")] * 2
    assert any("good: search stopped by an error: RuntimeError: the oracle state is unreadable" in n
               for n in result.notes)
    manifest = json.loads((result.run_dir / "run.json").read_text())
    assert [(m["name"], m["status"]) for m in manifest["models"]] == [("good", "done"), ("other", "done")]
