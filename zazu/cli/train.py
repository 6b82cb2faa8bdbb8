"""`zazu train --model NAME`: one zoo model, fixed hyperparameters, a run folder like a search's."""

from __future__ import annotations

import click

from zazu.cli._base import TRUST_OPTION, cli, fails_cleanly, quiet_tensorflow
from zazu.errors import ConfigError


def parse_hp(items: tuple[str, ...]) -> dict:
    """('learning_rate=0.01', 'anchor_ratios=[1, 2]') -> {'learning_rate': 0.01, 'anchor_ratios': [1, 2]}.
    Values are read as YAML scalars or lists (numbers, true/false, null, [..])."""
    import yaml

    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"Expected --hp NAME=VALUE. Received: --hp {item}")
        try:
            values[name.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--hp {item}: the value cannot be read (expected a number, true/false, "
                              "a string or a [list]).") from None
    return values


def parse_size(text: str | None):
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (1, 2) or not all(p.isdigit() and int(p) >= 8 for p in parts):
        raise ConfigError(f"Expected --input-size H,W or S (pixels, >= 8). Received: --input-size {text}")
    return int(parts[0]) if len(parts) == 1 else [int(parts[0]), int(parts[1])]


@cli.command("train")
@click.option("--model", "model_name", default=None, help="Zoo model (see `zazu zoo list`).")
@click.option("--hp", "hp_items", multiple=True, metavar="NAME=VALUE",
              help="A hyperparameter, repeatable. Default: the model's training_configs and search defaults.")
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--input-size", default=None, help="H,W or S pixels.")
@click.option("--augment/--no-augment", default=None, help="Use the config's augmentation (default: the model's).")
@click.option("--data", default=None, help="Dataset folder. Default: the embedded synthetic dataset of its task.")
@click.option("--zoo", "zoos", multiple=True, default=(),
              help="Zoo folder holding the model; repeat to combine (`builtin` is Zazu's own).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None)
@click.option("--seed", type=int, default=None)
@click.option("--output", default=None, help="Run folder. Default: runs/<timestamp>-<task>.")
@click.option("--resume", "resume_dir", default=None, type=click.Path(file_okay=False),
              help="Continue an interrupted `zazu train` run folder from its last finished epoch.")
@TRUST_OPTION
@fails_cleanly
def train_command(model_name, hp_items, epochs, batch_size, input_size, augment, data, zoos, config_file, seed,
                  output, resume_dir, trust_run_code):
    """Train one zoo model with fixed hyperparameters and export it, into a run folder of the same
    shape as a search's (so `zazu export`, `evaluate`, `predict` and `report` work on it)."""
    from zazu.config import resolve_config

    given = [flag for flag, value in (("--model", model_name), ("--hp", hp_items), ("--epochs", epochs),
                                      ("--batch-size", batch_size), ("--input-size", input_size),
                                      ("--augment", augment), ("--data", data), ("--zoo", zoos), ("--config", config_file),
                                      ("--seed", seed), ("--output", output)) if value not in (None, ())]
    if resume_dir is not None:
        if given:
            raise ConfigError(f"--resume continues a run with the settings it was started with. "
                              f"Received also: {', '.join(given)}")
        return _resume(resume_dir, trust_run_code)
    if model_name is None:
        raise ConfigError("Expected --model NAME (see `zazu zoo list`), or --resume RUN_DIR.")
    from zazu.ranking import fixed_spec
    from zazu.registry import Registry

    fixed = parse_hp(hp_items)
    for name, value in (("batch_size", batch_size), ("input_size", parse_size(input_size)), ("augment", augment)):
        if value is not None:
            fixed[name] = value
    from zazu.cli.search import _zoo_flag

    zoo = _zoo_flag(zoos)
    base = resolve_config(config_file, {"zoo": zoo})
    spec = Registry.load(base["zoo"]).get(model_name)
    fixed_spec(spec, fixed)  # unknown names fail here, before TensorFlow loads
    config = resolve_config(config_file, {
        "task": spec.task, "models": [spec.name], "max_trials": 1, "fixed_hyperparameters": fixed,
        "data": {"home_path": data}, "zoo": zoo, "epochs": epochs, "seed": seed, "output": output})
    quiet_tensorflow("train")
    from zazu.cli.search import finish_search
    from zazu.search.driver import run_search

    finish_search(lambda reporter: run_search(config, reporter), "zazu train --resume")


def _resume(run_dir: str, trust_code: bool = False) -> None:
    quiet_tensorflow("train")
    from zazu.cli.search import finish_search
    from zazu.search.driver import resume_search

    finish_search(lambda reporter: resume_search(run_dir, reporter, trust_code=trust_code), "zazu train --resume")
