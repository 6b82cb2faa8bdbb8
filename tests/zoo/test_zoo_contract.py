"""The zoo contract, run over every entry in models.json: the adapter builds,
trains one epoch on tiny images and returns its task's objective."""

from __future__ import annotations

import math

import pytest

from zazu.registry import Registry
from zazu.search.lifecycle import run_lifecycle
from zazu.search.space import SpaceCodec
from zazu.tasks import TASKS

REGISTRY = Registry.load()


@pytest.mark.parametrize("name", sorted(REGISTRY.models))
def test_zoo_entry_builds_trains_and_reports_its_objective(name, task_datasets, tmp_path):
    import keras

    spec = REGISTRY.models[name]
    codec = SpaceCodec(spec.hp_search_space)
    hp = codec.hyperparameters()  # the search space itself must convert
    hp_values = {**spec.training_configs, **codec.decode(hp.values),
                 "epochs": 1, "input_size": 32 if spec.task == "classification" else 64, "batch_size": 8}
    model_specs = {"name": name, "task": spec.task, "data": {"home_path": str(task_datasets[spec.task])},
                   "trial_dir": str(tmp_path)}
    adapter = spec.adapter_class(model_specs, hp_values)

    metrics = run_lifecycle(adapter, TASKS[spec.task].objective)

    assert isinstance(adapter.model, keras.Model)
    size = hp_values["input_size"]
    assert adapter.model.input_shape == (None, size, size, 3)
    objective = TASKS[spec.task].objective
    # one epoch on tiny images proves the contract, not learning (tests/test_learning.py): the objective
    # must be a real number, not NaN from a broken loss or None from a metric never computed
    assert isinstance(metrics[objective], float) and math.isfinite(metrics[objective])
    adapter.save(tmp_path)
    assert (tmp_path / "model.keras").is_file()


@pytest.mark.parametrize("name", sorted(REGISTRY.models))
def test_zoo_entry_int8_export_maps_fully_to_the_edge_tpu(name, tmp_path):
    """Zazu's own Edge TPU report on each model's int8 export: every op mappable, nothing after a fallback."""
    import numpy as np

    from zazu.export.edgetpu import compatibility_report
    from zazu.export.tflite import convert_int8

    spec = REGISTRY.models[name]
    codec = SpaceCodec(spec.hp_search_space)
    size = 32 if spec.task == "classification" else 64
    hp_values = {**spec.training_configs, **codec.decode(codec.hyperparameters().values), "input_size": size}
    adapter = spec.adapter_class({"name": name, "task": spec.task, "trial_dir": str(tmp_path)}, hp_values)
    adapter.classes = ["a", "b", "c"]
    if hasattr(adapter, "make_coder"):
        adapter.coder = adapter.make_coder()
    model = adapter.build()
    rng = np.random.default_rng(0)
    path = convert_int8(model, lambda: (rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32) for _ in range(4)),
                        tmp_path / "model_int8.tflite")

    report = compatibility_report(path)
    assert report["first_fallback"] is None, report["first_fallback"]
    assert report["ops_share"] == 1.0 and report["macs_share"] == 1.0
