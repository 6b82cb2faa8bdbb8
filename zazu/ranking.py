"""Rank the zoo's models for a task by how close they sit to the user's priorities.

Each model is a point (accuracy, speed, memory) in the ZazuML model space; the
user's `model_priority_space` is another point; the nearest models (Euclidean
distance) enter the search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zazu.errors import ConfigError
from zazu.registry import ModelSpec, Registry


@dataclass(frozen=True)
class Ranked:
    spec: ModelSpec
    distance: float


def rank_models(registry: Registry, task: str, priorities: list[float]) -> list[Ranked]:
    """Models of `task`, nearest to `priorities` first (ties broken by name)."""
    candidates = registry.for_task(task)
    if not candidates:
        raise ConfigError(f"The zoo at {registry.root} has no model for task={task!r}.")
    ranked = [Ranked(spec, math.dist(spec.ratings, priorities)) for spec in candidates]
    ranked.sort(key=lambda r: (r.distance, r.spec.name))
    return ranked


def select_models(registry: Registry, config: dict) -> list[ModelSpec]:
    """The models that enter the search: `models` if given, else the top_k ranked."""
    task = config["task"]
    if config["models"]:
        chosen = [registry.get(name) for name in config["models"]]
        for spec in chosen:
            if spec.task != task:
                raise ConfigError(f"Zoo model `{spec.name}` is a {spec.task} model. Expected a {task} model.")
        return chosen
    ranked = rank_models(registry, task, config["model_priority_space"])
    return [r.spec for r in ranked[: config["top_k"]]]
