"""`zazu zoo ...`: inspect the model zoo."""

from __future__ import annotations

import click

from zazu.cli._base import cli, fails_cleanly


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
