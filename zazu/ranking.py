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
    """The models that enter the search: `models` if given, else the top_k ranked.

    With `fixed_hyperparameters` (what `zazu train` sets), the one model in
    `models` enters with every hyperparameter fixed (`fixed_spec`)."""
    task = config["task"]
    fixed = config.get("fixed_hyperparameters")
    if fixed is not None and len(config["models"] or []) != 1:
        raise ConfigError("`fixed_hyperparameters` needs exactly one model in `models`. "
                          f"Received: models={config['models']!r}")
    if config["models"]:
        chosen = [registry.get(name) for name in config["models"]]
        for spec in chosen:
            if spec.task != task:
                raise ConfigError(f"Zoo model `{spec.name}` is a {spec.task} model. Expected a {task} model.")
        return [fixed_spec(chosen[0], fixed)] if fixed is not None else chosen
    ranked = rank_models(registry, task, config["model_priority_space"])
    return [r.spec for r in ranked[: config["top_k"]]]


def hyperparameter_names(spec: ModelSpec) -> list[str]:
    """What a model reads: its `training_configs`, its searched hyperparameters and the ones
    its task's base adapter documents (`known_hyperparameters`)."""
    names = dict.fromkeys([*spec.training_configs, *(e["name"] for e in spec.hp_search_space),
                           *getattr(spec.adapter_class, "known_hyperparameters", ())])
    return list(names)


def fixed_spec(spec: ModelSpec, values: dict) -> ModelSpec:
    """`spec` with every hyperparameter fixed: each searched one becomes a one-value choice
    (`values[name]`, else its default: `default`, the first of `values`, or `min`), and the
    rest of `values` overrides `training_configs`. A name the model does not read is an error."""
    import dataclasses

    from zazu.suggest import did_you_mean

    valid = hyperparameter_names(spec)
    for name in values:
        if name not in valid:
            raise ConfigError(f"Zoo model `{spec.name}` has no hyperparameter `{name}`.{did_you_mean(name, valid)} "
                              f"Valid names: {', '.join(valid)}.")
    searched = {e["name"]: e for e in spec.hp_search_space}
    space = []
    for name, entry in searched.items():
        default = entry.get("default", entry["values"][0] if "values" in entry else entry.get("min"))
        space.append({"name": name, "values": [values.get(name, default)]})
    configs = {**spec.training_configs, **{k: v for k, v in values.items() if k not in searched}}
    return dataclasses.replace(spec, hp_search_space=space, training_configs=configs)
