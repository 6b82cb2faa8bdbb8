"""Rank the zoo's models for a task by how close they sit to the user's priorities.

Each model is a point (accuracy, speed, memory) in the ZazuML model space; the
user's `model_priority_space` is another point; the nearest models (Euclidean
distance) enter the search. Models that would upscale the dataset's images more
than MAX_UPSCALE times go after the others (the data's scale, known once it is read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from zazu.errors import ConfigError
from zazu.registry import ModelSpec, Registry


# A model whose smallest input side is more than this many times the images' median shorter side
# would upscale them: pixels it cannot use, paid for in time. Measured on 8-px digits (bench/
# vs_keras_tuner.py): efficientnet_lite0 at 224 px spent the 2-minute budget on one trial for
# 0.908, small_resnet at 32 px reached 0.997 in 86 s. Photo crops (median 90 px) keep the
# pretrained models first: 224 px is 2.5x.
MAX_UPSCALE = 4


@dataclass(frozen=True)
class Ranked:
    spec: ModelSpec
    distance: float
    upscaling: bool = False  # its smallest input is more than MAX_UPSCALE x the images' median side


def smallest_input(spec: ModelSpec) -> int | None:
    """The smallest input side a model can be searched at (its searched `input_size` values, else
    its `training_configs` one); None if it declares none."""
    entry = next((e for e in spec.hp_search_space if e["name"] == "input_size"), None)
    candidates = (entry.get("values") or [entry.get("min")]) if entry else [spec.training_configs.get("input_size")]
    sides = [min(v) if isinstance(v, (list, tuple)) else v for v in candidates if v is not None]
    return min(sides) if sides else None


def rank_models(registry: Registry, task: str, priorities: list[float],
                image_side: float | None = None) -> list[Ranked]:
    """Models of `task`, nearest to `priorities` first (ties broken by name); with `image_side`
    (the images' median shorter side), the models that would upscale them more than MAX_UPSCALE
    times come after all the others."""
    candidates = registry.for_task(task)
    if not candidates:
        raise ConfigError(f"The zoo at {registry.root} has no model for task={task!r}.")
    ranked = [Ranked(spec, math.dist(spec.ratings, priorities), upscales(spec, image_side)) for spec in candidates]
    ranked.sort(key=lambda r: (r.upscaling, r.distance, r.spec.name))
    return ranked


def upscales(spec: ModelSpec, image_side: float | None) -> bool:
    """Would `spec` upscale images of median shorter side `image_side` more than MAX_UPSCALE times?"""
    side = smallest_input(spec)
    return bool(image_side and side and side > MAX_UPSCALE * image_side)


def upscale_note(registry: Registry, task: str, image_side: float) -> str | None:
    """Which of the task's models rank last for upscaling, and why; None if none does."""
    names = [f"{s.name} ({smallest_input(s)} px)" for s in registry.for_task(task) if upscales(s, image_side)]
    if not names:
        return None
    return (f"Ranked last, as they would upscale images of median shorter side {image_side:g} px more than "
            f"{MAX_UPSCALE}x: " + ", ".join(names))


def select_models(registry: Registry, config: dict, image_side: float | None = None) -> list[ModelSpec]:
    """The models that enter the search: `models` if given, else the top_k ranked (by the
    priorities and, with `image_side`, the data's scale: see `rank_models`).

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
    ranked = rank_models(registry, task, config["model_priority_space"], image_side)
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
    for name, value in values.items():
        _check_fixed_value(spec, name, value, searched.get(name))
    space = []
    for name, entry in searched.items():
        default = space_default(entry)
        space.append({"name": name, "values": [values[name] if name in values else default]})
    configs = {**spec.training_configs, **{k: v for k, v in values.items() if k not in searched}}
    return dataclasses.replace(spec, hp_search_space=space, training_configs=configs)


def space_default(entry: dict):
    """A searched hyperparameter's default: its `default`, else the first of its `values`, else its `min`
    (what a model's first trial trains)."""
    return entry.get("default", entry["values"][0] if "values" in entry else entry.get("min"))


def default_hyperparameters(spec: ModelSpec) -> dict:
    """What `zazu train --model NAME` trains with: `training_configs` and each searched default."""
    fixed = fixed_spec(spec, {})
    return {**fixed.training_configs, **{e["name"]: e["values"][0] for e in fixed.hp_search_space}}


_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list"}


def _kind_of(value) -> type | None:
    for kind in (bool, int, float, str, list):
        if isinstance(value, kind):
            return kind
    return None


def _fits(value, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check_fixed_value(spec: ModelSpec, name: str, value, entry: dict | None) -> None:
    """A fixed value has the kind of the model's own default for it (its search-space values or its
    training_configs) and, for a hyperparameter its task base declares with bounds, lies in them."""
    def refuse(expected: str):
        raise ConfigError(f"Zoo model `{spec.name}`: hyperparameter `{name}` must be {expected}. "
                          f"Received: {name}={value!r}")

    declared = {h.name: h.bounds for h in getattr(spec.adapter_class, "hyperparameters", ()) if h.bounds}
    if name in declared:
        kind, low, high = declared[name]
        parts = value if name == "input_size" and isinstance(value, list) and len(value) == 2 else [value]
        if not all(_fits(v, kind) and low <= v <= high for v in parts):
            refuse(f"{_KIND_NAMES[kind]} from {low:g} to {high:g}" + (" (or [height, width])" if name == "input_size"
                                                                       else ""))
        return
    if entry is not None:
        default = entry["values"][0] if entry.get("values") else entry.get("min")
        if isinstance(entry.get("min"), float) or isinstance(entry.get("max"), float):
            default = float(default)
    else:
        default = spec.training_configs.get(name)
    kind = _kind_of(default)
    if kind is not None and value is not None and not _fits(value, kind):
        refuse(_KIND_NAMES[kind])
