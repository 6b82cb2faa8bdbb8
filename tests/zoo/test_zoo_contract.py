"""The zoo contract, run over every entry in models.json: the adapter builds,
trains one epoch on tiny images and returns its task's objective."""

from __future__ import annotations

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
    assert 0.0 <= metrics[objective] <= 1.0
    adapter.save(tmp_path)
    assert (tmp_path / "model.keras").is_file()
