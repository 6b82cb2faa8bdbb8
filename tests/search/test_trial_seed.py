"""Every trial starts from a seed the run fixes: a rerun starts from the same weights, two trials do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zazu.config import resolve_config
from zazu.registry import Registry

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

# The metric is the sum of weights drawn by an unseeded Keras initializer, as a model's layers draw them.
WEIGHTS_ADAPTER = """
import keras


class AdaptModel:
    def __init__(self, model_specs, hp_values):
        pass

    def train(self):
        self.weights = keras.initializers.GlorotUniform()((16, 16))

    def get_metrics(self):
        return {"val_accuracy": float(keras.ops.sum(self.weights))}
"""


def _zoo(root: Path) -> Path:
    (root / "zoo" / "drawer").mkdir(parents=True)
    (root / "zoo" / "drawer" / "adapter.py").write_text(WEIGHTS_ADAPTER)
    (root / "models.json").write_text(json.dumps({"drawer": {
        "task": "classification", "model_space": {"accuracy_rating": 5, "speed_rating": 5, "memory_rating": 5},
        "hp_search_space": [{"name": "quality", "values": [1, 2, 3, 4, 5, 6], "sampling": None}],
        "training_configs": {}}}))
    return root


def _search(zoo: Path, data: Path, output: Path, seed: int) -> dict[str, dict]:
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    config = resolve_config(overrides={"zoo": str(zoo), "models": ["drawer"], "max_trials": 2, "seed": seed,
                                       "output": str(output), "data": {"home_path": str(data)}})
    result = run_search(config, Reporter(quiet=True), registry=Registry.load(zoo))
    return {r["trial_id"]: r for r in result.ranked}


def test_a_rerun_starts_from_the_same_weights_and_two_trials_do_not(shapes_dataset, tmp_path):
    zoo = _zoo(tmp_path)
    first = _search(zoo, shapes_dataset, tmp_path / "first", seed=7)
    again = _search(zoo, shapes_dataset, tmp_path / "again", seed=7)
    other = _search(zoo, shapes_dataset, tmp_path / "other", seed=8)

    assert len(first) == 2 and first.keys() == again.keys()
    draws = {trial: record["metrics"]["val_accuracy"] for trial, record in first.items()}
    assert draws == {trial: record["metrics"]["val_accuracy"] for trial, record in again.items()}
    assert len(set(draws.values())) == 2  # each trial its own seed
    assert {r["seed"] for r in first.values()} == {r["seed"] for r in again.values()}
    assert not set(draws.values()) & {r["metrics"]["val_accuracy"] for r in other.values()}  # the run's seed counts
