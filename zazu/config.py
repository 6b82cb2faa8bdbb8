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

from zazu.budget import TARGET_RULES, resolve_target
from zazu.config_rules import Rule, boolean, check_rules, choice, integer, is_integer, is_number, nullable, text
from zazu.data.augment import AUGMENT_RULES, resolve_augmentation
from zazu.defaults import load_defaults
from zazu.errors import ConfigError
from zazu.export.options import EXPORT_RULES, resolve_export_options
from zazu.suggest import did_you_mean
from zazu.tasks import TASKS, get_task

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
    from zazu.unique_keys import DuplicateKeyError, loads_json, loads_yaml

    try:
        data = loads_json(text) if path.suffix == ".json" else loads_yaml(text)
    except DuplicateKeyError as e:
        raise ConfigError(f"{path}: {e}.") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read. Expected a config of a few levels "
                          "(see defaults.yaml).") from None
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
            kept = _drop_none(v)
            if kept or not v:  # a dict given empty is a value (`zazu train` fixing nothing); one emptied of Nones is not
                out[k] = kept
        elif v is not None:
            out[k] = v
    return out


# The default job's minutes (`Task.auto_time_budget_min`), growing with the pixels of the largest input size the data fit chose (zazu.search.data_fit):
# a 512-px epoch costs 2.6 times a 320-px one. At most 1.5 times: 9 minutes of a 512-px detector on
# a few hundred 640x480 photos, plus its export, stays within 15 minutes.
AUTO_BUDGET_SIDE = 320
AUTO_BUDGET_MAX_GROWTH = 1.5


def auto_time_budget(task: str, input_side: int | None = None) -> float:
    """The minutes `time_budget: auto` stands for, for `task` and the largest input side searched first."""
    growth = 1.0 if not input_side else min(AUTO_BUDGET_MAX_GROWTH, max(1.0, (input_side / AUTO_BUDGET_SIDE) ** 2))
    minutes = round(get_task(task).auto_time_budget_min * growth, 1)
    return int(minutes) if minutes.is_integer() else minutes  # "6 min", as the budget a user gives reads


def resolve_time_budget(config: dict, input_side: int | None) -> None:
    """`time_budget: auto` made minutes, once the data fit has chosen the input sizes (before config.yaml
    is written, so a resumed run keeps them)."""
    if config["time_budget"] == "auto":
        config["time_budget"] = auto_time_budget(config["task"], input_side)


def _folder(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _priorities(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and all(is_number(p) and 0 <= p <= 10 for p in value)


# Every key of the top level and the `data` block, with what its value must be, in the order they are
# checked (text first: a list where a path belongs would otherwise fail deep in another check). The
# `export`, `target` and `augmentation` blocks add their own tables (`CONFIG_RULES` below).
MAX_TIME_BUDGET = 10080  # minutes: beyond a week a deadline is no deadline (and 1e308 minutes overflows)
RULES: dict[str, Rule | tuple[Rule, ...]] = {
    "task": (text(), choice(TASKS, suggest=True)),
    "search_method": (text(), choice(SEARCH_METHODS)),
    "output": nullable(text()),
    "zoo": Rule("a folder (a non-empty string), a non-empty list of folders, or null",
                lambda v: v is None or _folder(v) or (isinstance(v, list) and bool(v) and all(map(_folder, v)))),
    "data.home_path": nullable(text()),
    "data.annotation_type": (text(), choice(ANNOTATION_TYPES)),
    "data.strict": boolean(),
    "model_priority_space": Rule("three numbers in [0, 10]: [accuracy, speed, memory]", _priorities),
    "top_k": integer(1),
    "max_trials": integer(1),
    "max_instances_at_once": integer(1),
    "epochs": Rule("an integer >= 1 or auto", lambda v: v == "auto" or (is_integer(v) and v >= 1)),
    "max_consecutive_failed_trials": integer(1),
    "seed": integer(0),
    "time_budget": Rule(f"a positive number of minutes up to {MAX_TIME_BUDGET} (a week), auto or null",
                        lambda v: v is None or v == "auto" or (is_number(v) and 0 < v <= MAX_TIME_BUDGET)),
    "val_split": Rule("a number between 0 and 1", lambda v: is_number(v) and 0 < v < 1),
    "test_split": Rule("a number >= 0 with val_split + test_split < 1", lambda v: is_number(v) and 0 <= v < 1),
    "models": nullable(Rule("a non-empty list of zoo model names",
                            lambda v: isinstance(v, list) and bool(v) and all(isinstance(m, str) for m in v))),
    "fixed_hyperparameters": nullable(Rule("a mapping of hyperparameter names to values",
                                           lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v))),
}
# The one table of every key a config may set.
CONFIG_RULES: dict[str, Rule | tuple[Rule, ...]] = {
    **RULES,
    **{f"export.{key}": rule for key, rule in EXPORT_RULES.items()},
    **{f"target.{key}": rule for key, rule in TARGET_RULES.items()},
    **{f"augmentation.{key}": rule for key, rule in AUGMENT_RULES.items()},
}


def _validate(config: dict) -> None:
    check_rules(config, CONFIG_RULES)
    if config["val_split"] + config["test_split"] >= 1:
        raise ConfigError(f"`test_split` must be a number >= 0 with val_split + test_split < 1. "
                          f"Received: test_split={config['test_split']!r}")
    if config["time_budget"] == "auto" and config["fixed_hyperparameters"] is not None:
        config["time_budget"] = None  # one fixed training has none; a search's is `resolve_time_budget`'s
    config["augmentation"] = resolve_augmentation(config["augmentation"])
    config["export"] = resolve_export_options(config["export"])
    config["target"] = resolve_target(config["target"])


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
                if name in named:
                    raise ConfigError(f"Priority `{name}` given twice. Expected each of accuracy, speed and memory "
                                      f"at most once. Received: --priority {text}")
                named[name] = float(value)
            values = [named.get(a, 0.0) for a in axes]
    except ValueError:
        raise ConfigError(
            f"Expected --priority like accuracy=9,speed=3,memory=2 or 9,3,2. Received: --priority {text}"
        ) from None
    if not all(math.isfinite(v) and 0 <= v <= 10 for v in values):  # as the config's own rule for them
        raise ConfigError(f"Expected --priority values in [0, 10] (finite numbers). Received: --priority {text}")
    return [int(v) if v.is_integer() else v for v in values]


def save_config(config: dict[str, Any], path: Path) -> None:
    import yaml

    from zazu.atomic_io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(copy.deepcopy(config), sort_keys=False))
