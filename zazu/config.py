"""One resolved config: defaults, then a config file, then CLI overrides.

`resolve_config()` merges the three, validates every key and value and returns a
plain dict; `save_config()` writes it into the run folder. Unknown keys are errors
that suggest the nearest valid key.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

from zazu.defaults import load_defaults
from zazu.errors import ConfigError
from zazu.suggest import did_you_mean
from zazu.tasks import TASKS

SEARCH_METHODS = ("random", "bayesian", "hyperband", "grid")
ANNOTATION_TYPES = ("auto", "folder", "coco", "voc", "yolo")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON config file into a dict."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found. Expected an existing YAML or JSON file. Received: --config {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}). Expected a YAML or JSON file saved as "
                          "UTF-8.") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        first_line = str(e).splitlines()[0]
        raise ConfigError(f"{path}: cannot be parsed ({first_line}).") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level. Received: {type(data).__name__}")
    return data


def _merge(base: dict, override: dict, source: str, prefix: str = "") -> None:
    for key, value in override.items():
        if key not in base:
            raise ConfigError(
                f"{source}: unknown config key `{prefix}{key}`.{did_you_mean(str(key), base)}"
                f" Valid keys: {', '.join(prefix + k for k in base)}."
            )
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: `{prefix}{key}` must be a mapping. Received: {value!r}")
            _merge(base[key], value, source, prefix=f"{prefix}{key}.")
        else:
            base[key] = value


def resolve_config(config_file: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults <- config file <- overrides (CLI flags), validated.

    `overrides` uses the same keys as the config file; nested keys may be given
    as dicts (`{"data": {"home_path": ...}}`). Values of None are ignored.
    """
    config = load_defaults()
    if config_file is not None:
        _merge(config, read_config_file(config_file), str(config_file))
    if overrides:
        _merge(config, _drop_none(overrides), "command line")
    _validate(config)
    return config


def _drop_none(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            v = _drop_none(v)
            if v:
                out[k] = v
        elif v is not None:
            out[k] = v
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int(config: dict, key: str, minimum: int) -> None:
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"`{key}` must be an integer >= {minimum}. Received: {key}={value!r}")


# Minutes of trials in the default job (`time_budget: auto`), chosen so that on 2 cores the default
# job, export and report included, stays under 5 minutes for classification (head trials on cached
# features take seconds; exporting an EfficientNet-Lite in every format takes about a minute and a
# half) and under 10 for detection and segmentation (an epoch of a pretrained detector at 256-384 px
# takes tens of seconds, and exporting and scoring it in every format two to three minutes).
AUTO_TIME_BUDGET = {"classification": 2, "detection": 6, "instance_segmentation": 6}


# Keys whose value is text (a name or a path), and whether null is allowed; checked before any other
# check reads them (a list where a path belongs would otherwise fail deep in the code).
TEXT_KEYS = {"task": False, "search_method": False, "output": True, "zoo": True,
             "data.home_path": True, "data.annotation_type": False}


def _check_text_keys(config: dict) -> None:
    for dotted, nullable in TEXT_KEYS.items():
        section, _, key = dotted.rpartition(".")
        value = (config[section] if section else config)[key]
        if value is None and nullable:
            continue
        if not isinstance(value, str) or not value.strip():
            expected = "a non-empty string" + (" or null" if nullable else "")
            raise ConfigError(f"`{dotted}` must be {expected}. Received: {key}={value!r}")


def _validate(config: dict) -> None:
    _check_text_keys(config)
    if config["task"] not in TASKS:
        raise ConfigError(
            f"`task` must be one of {', '.join(TASKS)}. Received: task={config['task']!r}"
            + did_you_mean(str(config["task"]), TASKS)
        )
    if config["search_method"] not in SEARCH_METHODS:
        raise ConfigError(
            f"`search_method` must be one of {', '.join(SEARCH_METHODS)}. "
            f"Received: search_method={config['search_method']!r}"
        )
    if config["data"]["annotation_type"] not in ANNOTATION_TYPES:
        raise ConfigError(
            f"`data.annotation_type` must be one of {', '.join(ANNOTATION_TYPES)}. "
            f"Received: annotation_type={config['data']['annotation_type']!r}"
        )
    priorities = config["model_priority_space"]
    if not (isinstance(priorities, list) and len(priorities) == 3 and all(_number(p) and 0 <= p <= 10 for p in priorities)):
        raise ConfigError(
            "`model_priority_space` must be three numbers in [0, 10]: [accuracy, speed, memory]. "
            f"Received: model_priority_space={priorities!r}"
        )
    for key, minimum in (("top_k", 1), ("max_trials", 1), ("max_instances_at_once", 1), ("epochs", 1),
                         ("max_consecutive_failed_trials", 1), ("seed", 0)):
        _int(config, key, minimum)
    if config["time_budget"] == "auto":  # the default: a budget per task, none for one fixed training
        config["time_budget"] = None if config["fixed_hyperparameters"] is not None else AUTO_TIME_BUDGET[config["task"]]
    budget = config["time_budget"]
    if budget is not None and not (_number(budget) and budget > 0):
        raise ConfigError(f"`time_budget` must be a positive number of minutes, auto or null. "
                          f"Received: time_budget={budget!r}")
    if not (_number(config["val_split"]) and 0 < config["val_split"] < 1):
        raise ConfigError(f"`val_split` must be a number between 0 and 1. Received: val_split={config['val_split']!r}")
    test = config["test_split"]
    if not (_number(test) and 0 <= test < 1 and test + config["val_split"] < 1):
        raise ConfigError(f"`test_split` must be a number >= 0 with val_split + test_split < 1. Received: test_split={test!r}")
    if not isinstance(config["data"]["strict"], bool):
        raise ConfigError(f"`data.strict` must be true or false. Received: strict={config['data']['strict']!r}")
    from zazu.data.augment import resolve_augmentation

    config["augmentation"] = resolve_augmentation(config["augmentation"])
    from zazu.export.options import resolve_export_options

    config["export"] = resolve_export_options(config["export"])
    from zazu.budget import resolve_target

    config["target"] = resolve_target(config["target"])
    models = config["models"]
    if models is not None and not (isinstance(models, list) and models and all(isinstance(m, str) for m in models)):
        raise ConfigError(f"`models` must be a non-empty list of zoo model names. Received: models={models!r}")
    fixed = config["fixed_hyperparameters"]
    if fixed is not None and not (isinstance(fixed, dict) and all(isinstance(k, str) for k in fixed)):
        raise ConfigError(f"`fixed_hyperparameters` must be a mapping of hyperparameter names to values. "
                          f"Received: fixed_hyperparameters={fixed!r}")


def parse_priority(text: str) -> list[float]:
    """'accuracy=9,speed=3,memory=2' (any order, missing ones 0) or '9,3,2' -> [9, 3, 2]."""
    axes = ("accuracy", "speed", "memory")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if all("=" not in p for p in parts):
            if len(parts) != 3:
                raise ValueError
            values = [float(p) for p in parts]
        else:
            named = {}
            for part in parts:
                name, _, value = part.partition("=")
                name = name.strip()
                if name not in axes:
                    raise ConfigError(
                        f"Unknown priority `{name}`.{did_you_mean(name, axes)} Expected accuracy, speed and memory. "
                        f"Received: --priority {text}"
                    )
                named[name] = float(value)
            values = [named.get(a, 0.0) for a in axes]
    except ValueError:
        raise ConfigError(
            f"Expected --priority like accuracy=9,speed=3,memory=2 or 9,3,2. Received: --priority {text}"
        ) from None
    return [int(v) if v.is_integer() else v for v in values]


def save_config(config: dict[str, Any], path: Path) -> None:
    import yaml

    from zazu.atomic_io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(copy.deepcopy(config), sort_keys=False))
