"""The command line: parsing and printing only; the work is in the Python API.

`zazu` with no command (or options only) runs `zazu search`, so that
`python main.py --task classification` works as in ZazuML.
"""

from __future__ import annotations

import os
import sys
from functools import wraps

import click

from zazu import __version__
from zazu.errors import ZazuError


class DefaultToSearch(click.Group):
    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["search", *args]
        return super().parse_args(ctx, args)


def fails_cleanly(fn):
    """ZazuError -> one line on stderr, exit 2; Ctrl-C -> exit 130. No tracebacks for user errors."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ZazuError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


@click.group(cls=DefaultToSearch, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="zazu")
def cli():
    """Zazu: AutoML model zoo for edge vision.

    Without a command, runs `search` (see `zazu search --help`), e.g.
    `zazu --task classification`.
    """


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ info and CUDA-probe noise
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


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
    _quiet_tensorflow()
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    reporter = Reporter()
    result = run_search(config, reporter)
    reporter.message(f"\nBest: {result.best['model']} #{result.best['trial_id']} "
                     f"({', '.join(f'{k}={v:.4f}' for k, v in result.best['metrics'].items())})")
    reporter.message(f"Run folder: {result.run_dir}  (leaderboard.csv, best_trial.json, export/)")


@cli.group()
def zoo():
    """Inspect the model zoo."""


@zoo.command("list")
@click.option("--task", default=None, help="Only models of this task.")
@fails_cleanly
def zoo_list(task):
    """Every registered model with its model space."""
    from rich.console import Console
    from rich.table import Table

    from zazu.registry import Registry

    registry = Registry.load()
    table = Table(title=f"Zoo ({registry.root / 'models.json'})", title_justify="left")
    for column in ("model", "task", "accuracy", "speed", "memory", "searched hyperparameters"):
        table.add_column(column)
    for spec in registry.models.values():
        if task and spec.task != task:
            continue
        table.add_row(spec.name, spec.task, *(f"{r:g}" for r in spec.ratings),
                      ", ".join(hp["name"] for hp in spec.hp_search_space))
    Console(highlight=False).print(table)


@zoo.command("rank")
@click.option("--task", default="classification", show_default=True)
@click.option("--priority", required=True, help="accuracy=9,speed=3,memory=2")
@fails_cleanly
def zoo_rank(task, priority):
    """Models of a task, nearest to your priorities first."""
    from rich.console import Console
    from rich.table import Table

    from zazu.config import parse_priority
    from zazu.ranking import rank_models
    from zazu.registry import Registry
    from zazu.tasks import get_task

    get_task(task)
    priorities = parse_priority(priority)
    ranked = rank_models(Registry.load(), task, priorities)
    table = Table(title=f"{task} models for priorities {priorities} (accuracy, speed, memory)", title_justify="left")
    for column in ("rank", "model", "distance", "accuracy", "speed", "memory"):
        table.add_column(column)
    for i, r in enumerate(ranked, 1):
        table.add_row(str(i), r.spec.name, f"{r.distance:.2f}", *(f"{x:g}" for x in r.spec.ratings))
    Console(highlight=False).print(table)


@cli.group()
def data():
    """Check and preview datasets."""


@data.command("check")
@click.argument("path", type=click.Path())
@click.option("--format", "annotation_type", type=click.Choice(["auto", "folder", "coco", "voc", "yolo"]),
              default="auto", show_default=True)
@click.option("--strict", is_flag=True, help="Any problem is fatal (exit 2).")
@fails_cleanly
def data_check(path, annotation_type, strict):
    """Summarize a dataset and list every problem found.

    Exit code: 0 usable, 1 only warnings, 2 fatal.
    """
    from rich.console import Console

    from zazu.data.check import check_dataset
    from zazu.data.readers import read_dataset

    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    report = check_dataset(read_dataset(path, annotation_type))
    s = report.summary
    console.print(f"[bold]{escape(str(path))}[/bold] ({s['format']})")
    console.print(f"  images: {s['images']}   classes: {s['classes']} ({s['classes_used']} used)   "
                  f"instances: {s['instances']}")
    if s["width_range"]:
        console.print(f"  image size: width {s['width_range'][0]}-{s['width_range'][1]}, "
                      f"height {s['height_range'][0]}-{s['height_range'][1]}")
    if s["instances"]:
        b = s["boxes_per_image"]
        console.print(f"  boxes per image: min {b['min']}, mean {b['mean']}, max {b['max']}")
    if s["given_split"]:
        console.print("  split given by the dataset: " + ", ".join(f"{k} {v}" for k, v in s["given_split"].items()))
    console.print("  per class: " + escape(", ".join(f"{k} {v}" for k, v in s["per_class"].items())))
    colour = {"note": "cyan", "warning": "yellow", "fatal": "red"}
    for problem in report.problems:
        console.print(f"  [{colour[problem.severity]}]{problem.severity}[/]: {escape(str(problem))}")
    code = report.exit_code(strict)
    verdict = {0: "[green]usable[/green]", 1: "[yellow]usable, with warnings[/yellow]",
               2: "[red]not usable[/red]"}[code]
    counts = {sev: sum(p.severity == sev for p in report.problems) for sev in colour}
    console.print(f"{verdict}: {counts['fatal']} fatal, {counts['warning']} warnings, {counts['note']} notes")
    sys.exit(code)


@data.command("preview")
@click.argument("path", type=click.Path())
@click.option("--format", "annotation_type", type=click.Choice(["auto", "folder", "coco", "voc", "yolo"]),
              default="auto", show_default=True)
@click.option("--augment", is_flag=True, help="Apply the config's augmentation, as training does.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file whose `augmentation` settings to use.")
@click.option("--size", type=int, default=256, show_default=True, help="Square size the images are letterboxed to.")
@click.option("--count", type=int, default=16, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default="preview.png", show_default=True)
@fails_cleanly
def data_preview(path, annotation_type, augment, config_file, size, count, seed, output):
    """Write a PNG grid of samples with their boxes and masks drawn."""
    from zazu.config import resolve_config

    config = resolve_config(config_file)  # validates the augmentation settings before TF loads
    _quiet_tensorflow()
    from zazu.data.check import check_dataset
    from zazu.data.preview import write_preview
    from zazu.data.readers import read_dataset

    dataset = check_dataset(read_dataset(path, annotation_type)).dataset
    written = write_preview(dataset, output, (size, size), count,
                            config["augmentation"] if augment else None, seed)
    click.echo(f"wrote {written}")


def main(argv=None):
    cli.main(args=argv, prog_name="zazu")
