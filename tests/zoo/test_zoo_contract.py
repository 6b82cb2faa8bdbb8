"""The zoo contract, run over every entry in models.json: the adapter builds, trains one epoch on
tiny images, returns its task's objective, and its int8 export maps fully to the Edge TPU."""

from __future__ import annotations

import math

import pytest

from zazu.adapters.lifecycle import run_lifecycle
from zazu.registry import Registry
from zazu.search.space import SpaceCodec
from zazu.tasks import TASKS

REGISTRY = Registry.load()


@pytest.mark.parametrize("name", sorted(REGISTRY.models))
def test_zoo_entry_builds_trains_reports_its_objective_and_maps_to_the_edge_tpu(name, task_datasets, tmp_path):
    """One epoch on tiny images, then Zazu's own Edge TPU report on the trained model's int8 export: every
    op mappable, nothing after a fallback. (One test, so each entry is built and traced once.)"""
    import keras
    import numpy as np

    from zazu.export.edgetpu import compatibility_report
    from zazu.export.tflite import convert_int8

    spec = REGISTRY.models[name]
    codec = SpaceCodec(spec.hp_search_space)
    hp = codec.hyperparameters()  # the search space itself must convert
    size = 32 if spec.task == "classification" else 64
    hp_values = {**spec.training_configs, **codec.decode(hp.values), "epochs": 1, "input_size": size, "batch_size": 8}
    model_specs = {"name": name, "task": spec.task, "data": {"home_path": str(task_datasets[spec.task])},
                   "trial_dir": str(tmp_path)}
    adapter = spec.adapter_class(model_specs, hp_values)

    metrics = run_lifecycle(adapter, TASKS[spec.task].objective)

    assert isinstance(adapter.model, keras.Model)
    assert adapter.model.input_shape == (None, size, size, 3)
    objective = TASKS[spec.task].objective
    # one epoch on tiny images proves the contract, not learning (tests/test_learning.py): the objective
    # must be a real number, not NaN from a broken loss or None from a metric never computed
    assert isinstance(metrics[objective], float) and math.isfinite(metrics[objective])
    adapter.save(tmp_path)
    assert (tmp_path / "model.keras").is_file()

    rng = np.random.default_rng(0)
    # converted in memory: the same ops as the shipping route (tests/export/test_convert_to_measure.py), in a
    # quarter of the time (mobilenet_v2: 3 s against 26 s), which keeps the suite under its 25 minutes
    path = convert_int8(adapter.model,
                        lambda: (rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32) for _ in range(4)),
                        tmp_path / "model_int8.tflite", for_measuring=True)
    report = compatibility_report(path)
    assert report["first_fallback"] is None, report["first_fallback"]
    assert report["ops_share"] == 1.0 and report["macs_share"] == 1.0


def _hp_reads(source: str) -> tuple[set[str], list[str]]:
    """Names a zoo adapter reads from `self.hp`: subscripts, and `.get` calls (with their defaults)."""
    import ast

    names, with_defaults = set(), []
    for node in ast.walk(ast.parse(source)):
        target = node.value if isinstance(node, ast.Subscript) else (
            node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" else None)
        if not (isinstance(target, ast.Attribute) and target.attr == "hp"):
            continue
        key = node.slice if isinstance(node, ast.Subscript) else node.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
            if isinstance(node, ast.Call) and len(node.args) > 1:
                with_defaults.append(key.value)
    return names, with_defaults


@pytest.mark.parametrize("name", sorted(REGISTRY.models))
def test_a_zoo_model_reads_its_hyperparameters_from_its_entry_alone(name):
    """models.json is the one place a zoo model's hyperparameter values are written: its adapter reads
    each by name (no second default in the code, which drifted: protonet_lite's said 64 where its entry
    says 48), and every name it reads is in its entry (training_configs or hp_search_space)."""
    spec = REGISTRY.get(name)
    names, with_defaults = _hp_reads(spec.adapter_path.read_text(encoding="utf-8"))
    entry = set(spec.training_configs) | {hp["name"] for hp in spec.hp_search_space}
    assert with_defaults == []
    assert names - entry == set()
