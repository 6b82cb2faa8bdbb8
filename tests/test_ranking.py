"""rank_models / select_models on a hand-made registry."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from zazu.errors import ConfigError
from zazu.ranking import rank_models, select_models
from zazu.registry import ModelSpec, Registry


class DummyAdapter:
    def __init__(self, model_specs, hp_values):
        pass

    def train(self):
        pass

    def get_metrics(self):
        return {}


def spec(name: str, ratings: tuple[float, float, float], task: str = "classification") -> ModelSpec:
    space = dict(zip(("accuracy_rating", "speed_rating", "memory_rating"), ratings))
    return ModelSpec(
        name=name,
        task=task,
        model_space=space,
        hp_search_space=[],
        training_configs={},
        adapter_path=Path("/nowhere") / name / "adapter.py",
        adapter_class=DummyAdapter,
        entry={},
    )


@pytest.fixture
def registry() -> Registry:
    specs = [
        spec("fast", (3, 10, 10)),
        spec("accurate", (9, 2, 2)),
        spec("middle", (6, 6, 6)),
        spec("twin_b", (5, 5, 5)),
        spec("twin_a", (5, 5, 5)),
        spec("detector", (9, 3, 2), task="detection"),
    ]
    return Registry(Path("/zoo"), {s.name: s for s in specs})


def config(**changes) -> dict:
    base = {"task": "classification", "models": None, "model_priority_space": [9, 3, 2], "top_k": 2}
    base.update(changes)
    return base


def test_rank_orders_by_euclidean_distance_with_exact_distances(registry):
    ranked = rank_models(registry, "classification", [9, 3, 2])
    assert [r.spec.name for r in ranked] == ["accurate", "twin_a", "twin_b", "middle", "fast"]
    distances = {r.spec.name: r.distance for r in ranked}
    assert distances["accurate"] == pytest.approx(1.0)  # (0, 1, 0)
    assert distances["middle"] == pytest.approx(math.sqrt(9 + 9 + 16))  # (3, 3, 4)
    assert distances["twin_a"] == pytest.approx(math.sqrt(16 + 4 + 9))  # (4, 2, 3)
    assert distances["fast"] == pytest.approx(math.sqrt(36 + 49 + 64))  # (6, 7, 8)


def test_rank_changes_with_priorities(registry):
    ranked = rank_models(registry, "classification", [3, 10, 10])
    assert ranked[0].spec.name == "fast"
    assert ranked[0].distance == 0
    assert ranked[-1].spec.name == "accurate"


def test_rank_ties_are_broken_by_name(registry):
    ranked = rank_models(registry, "classification", [5, 5, 5])
    assert [r.spec.name for r in ranked[:2]] == ["twin_a", "twin_b"]
    assert ranked[0].distance == ranked[1].distance == 0


def test_rank_only_includes_the_requested_task(registry):
    names = [r.spec.name for r in rank_models(registry, "classification", [9, 3, 2])]
    assert "detector" not in names
    assert [r.spec.name for r in rank_models(registry, "detection", [0, 0, 0])] == ["detector"]


def test_rank_task_without_models_is_a_config_error(registry):
    with pytest.raises(ConfigError) as info:
        rank_models(registry, "instance_segmentation", [5, 5, 5])
    assert "instance_segmentation" in str(info.value)


def test_select_takes_the_top_k_ranked(registry):
    assert [s.name for s in select_models(registry, config(top_k=2))] == ["accurate", "twin_a"]
    assert [s.name for s in select_models(registry, config(top_k=1))] == ["accurate"]


def test_select_top_k_larger_than_the_zoo_returns_every_model_of_the_task(registry):
    chosen = select_models(registry, config(top_k=50))
    assert len(chosen) == 5
    assert all(s.task == "classification" for s in chosen)


def test_select_explicit_models_overrides_ranking_and_keeps_order(registry):
    chosen = select_models(registry, config(models=["fast", "twin_b"], top_k=1))
    assert [s.name for s in chosen] == ["fast", "twin_b"]


def test_select_rejects_a_model_of_another_task(registry):
    with pytest.raises(ConfigError) as info:
        select_models(registry, config(models=["fast", "detector"]))
    msg = str(info.value)
    assert "detector" in msg
    assert "detection" in msg
    assert "classification" in msg


def test_select_unknown_model_suggests_near_name(registry):
    with pytest.raises(ConfigError, match="Did you mean `middle`"):
        select_models(registry, config(models=["midle"]))


def test_select_for_a_task_without_models_is_a_config_error(registry):
    with pytest.raises(ConfigError):
        select_models(registry, config(task="instance_segmentation"))
