"""rank_models / select_models on a hand-made registry."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from zazu.errors import ConfigError
from zazu.ranking import rank_models, select_models, smallest_input, upscale_note
from zazu.registry import ModelSpec, Registry


class DummyAdapter:
    def __init__(self, model_specs, hp_values):
        pass

    def train(self):
        pass

    def get_metrics(self):
        return {}


def spec(name: str, ratings: tuple[float, float, float], task: str = "classification",
         hp_search_space: list | None = None, training_configs: dict | None = None) -> ModelSpec:
    space = dict(zip(("accuracy_rating", "speed_rating", "memory_rating"), ratings))
    return ModelSpec(
        name=name,
        task=task,
        model_space=space,
        hp_search_space=hp_search_space or [],
        training_configs=training_configs or {},
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


@pytest.fixture
def sized() -> Registry:
    """Models with input sizes: a pretrained one searched at 224 or 128 px, nearest the priorities,
    a from-scratch one at 32 px, one at 32x24 (a [height, width] size) and one declaring none."""
    specs = [
        spec("pretrained", (9, 3, 2), hp_search_space=[{"name": "input_size", "values": [224, 128]}]),
        spec("scratch", (6, 6, 6), training_configs={"input_size": 32}),
        spec("oblong", (5, 5, 5), training_configs={"input_size": [32, 24]}),
        spec("ranged", (8, 3, 2), hp_search_space=[{"name": "input_size", "min": 96, "max": 320, "step": 32}]),
        spec("sizeless", (3, 10, 10)),
    ]
    return Registry(Path("/zoo"), {s.name: s for s in specs})


def test_smallest_input_reads_the_search_space_then_training_configs(sized):
    assert [smallest_input(sized.get(n)) for n in ("pretrained", "scratch", "oblong", "ranged", "sizeless")] \
        == [128, 32, 24, 96, None]


def test_models_that_would_upscale_tiny_images_rank_after_the_others(sized):
    # 8-px images: 128 and 96 px are 16x and 12x (ranked last, by distance), 32 px is exactly 4x (kept)
    names = [r.spec.name for r in rank_models(sized, "classification", [9, 3, 2], image_side=8)]
    assert names == ["oblong", "scratch", "sizeless", "pretrained", "ranged"]
    assert [s.name for s in select_models(sized, config(top_k=2), image_side=8)] == ["oblong", "scratch"]
    note = upscale_note(sized, "classification", 8)
    assert "pretrained (128 px)" in note and "ranged (96 px)" in note and "scratch" not in note


def test_images_large_enough_leave_the_priority_order_alone(sized):
    by_priority = [r.spec.name for r in rank_models(sized, "classification", [9, 3, 2])]
    assert by_priority[:2] == ["pretrained", "ranged"]
    assert [r.spec.name for r in rank_models(sized, "classification", [9, 3, 2], image_side=32)] == by_priority
    assert upscale_note(sized, "classification", 32) is None
    # 31 px: 128 > 4 x 31
    assert [r.spec.name for r in rank_models(sized, "classification", [9, 3, 2], image_side=31)][-1] == "pretrained"


def test_explicit_models_are_never_reordered_by_the_data(sized):
    chosen = select_models(sized, config(models=["pretrained", "scratch"]), image_side=8)
    assert [s.name for s in chosen] == ["pretrained", "scratch"]


def test_default_hyperparameters_are_training_configs_and_each_searched_default():
    from zazu.ranking import default_hyperparameters

    model = spec("m", (5, 5, 5), training_configs={"batch_size": 8, "input_size": 64},
                 hp_search_space=[{"name": "input_size", "values": [224, 128]},
                                  {"name": "depth", "min": 3, "max": 5, "step": 1},
                                  {"name": "width", "values": [16, 32], "default": 32}])
    assert default_hyperparameters(model) == {"batch_size": 8, "input_size": 224, "depth": 3, "width": 32}
