"""`zazu search` (also what `zazu` with no command runs)."""

from __future__ import annotations

import click

from zazu.cli._base import cli, fails_cleanly, quiet_tensorflow


@cli.command()
@click.option("--task", type=click.Choice(["classification", "detection", "instance_segmentation"]), default=None,
              help="What to learn. Default: classification.")
@click.option("--data", "data", default=None, help="Dataset folder. Default: the embedded synthetic dataset.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="YAML or JSON config file.")
@click.option("--priority", default=None, help="What matters: accuracy=9,speed=3,memory=2 (0-10 each).")
@click.option("--top-k", type=int, default=None, help="How many of the best-ranked models enter the search.")
@click.option("--models", default=None, help="Comma-separated zoo models to search instead of the ranking.")
@click.option("--search", "search_method", type=click.Choice(["random", "bayesian", "hyperband", "grid"]), default=None,
              help="keras-tuner oracle.")
@click.option("--max-trials", type=int, default=None, help="Trials in total.")
@click.option("--epochs", type=int, default=None, help="Epochs per trial.")
@click.option("--time-budget", type=float, default=None, help="Minutes; no trial starts once spent.")
@click.option("--seed", type=int, default=None)
@click.option("--output", default=None, help="Run folder. Default: runs/<timestamp>-<task>.")
@fails_cleanly
def search(task, data, config_file, priority, top_k, models, search_method, max_trials, epochs, time_budget, seed,
           output):
    """Rank the zoo, search hyperparameters, train, and export the winner as int8 TFLite."""
    from zazu.config import parse_priority, resolve_config

    overrides = {
        "task": task,
        "data": {"home_path": data},
        "model_priority_space": parse_priority(priority) if priority else None,
        "top_k": top_k,
        "models": [m.strip() for m in models.split(",") if m.strip()] if models else None,
        "search_method": search_method,
        "max_trials": max_trials,
        "epochs": epochs,
        "time_budget": time_budget,
        "seed": seed,
        "output": output,
    }
    config = resolve_config(config_file, overrides)
    quiet_tensorflow()
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    reporter = Reporter()
    result = run_search(config, reporter)
    reporter.message(f"\nBest: {result.best['model']} #{result.best['trial_id']} "
                     f"({', '.join(f'{k}={v:.4f}' for k, v in result.best['metrics'].items())})")
    reporter.message(f"Run folder: {result.run_dir}  (leaderboard.csv, best_trial.json, export/)")
