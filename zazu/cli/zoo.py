"""`zazu zoo ...`: inspect the model zoo."""

from __future__ import annotations

import click

from zazu.budget import DEVICES
from zazu.cli._base import cli, fails_cleanly
from zazu.errors import ConfigError
from zazu.tasks import CLASSIFICATION, TASKS


@cli.group()
def zoo():
    """Inspect, extend and check the model zoo."""


ZOOS_HELP = ("Zoo folder (holding models.json and zoo/); repeat to combine, `builtin` is Zazu's own. "
             "Default: $ZAZU_ZOO, else Zazu's own.")
ZOOS_OPTION = click.option("--zoo", "zoos", multiple=True, default=(), help=ZOOS_HELP)


@zoo.command("list")
@click.option("--task", default=None, help="Only models of this task.")
@ZOOS_OPTION
@fails_cleanly
def zoo_list(task, zoos):
    """Every registered model with its model space."""
    from rich.console import Console
    from rich.table import Table

    from zazu.registry import Registry

    registry = Registry.load(zoos or None, import_code=False)  # listing runs no adapter code
    files = ", ".join(str(root / "models.json") for root in registry.roots)
    table = Table(title=f"Zoo ({files}); speed and memory: declared / measured by "
                        "`zazu zoo calibrate` (the ranking uses the measured one)", title_justify="left")
    several = len(registry.roots) > 1
    for column in ("model", "task", "accuracy", "speed", "memory", "searched hyperparameters") + (
            ("zoo folder",) if several else ()):
        table.add_column(column)
    for spec in registry.models.values():
        if task and spec.task != task:
            continue
        declared, used = spec.declared_ratings, spec.ratings
        cells = [f"{declared[0]:g}"] + [f"{d:g} / {u:g}" if spec.measured else f"{d:g} / -"
                                        for d, u in zip(declared[1:], used[1:])]
        table.add_row(spec.name, spec.task, *cells, ", ".join(hp["name"] for hp in spec.hp_search_space),
                      *((str(spec.zoo_root),) if several else ()))
    Console(highlight=False).print(table)


@zoo.command("rank")
@click.option("--task", default=CLASSIFICATION, show_default=True)
@click.option("--priority", required=True, help="accuracy=9,speed=3,memory=2")
@ZOOS_OPTION
@fails_cleanly
def zoo_rank(task, priority, zoos):
    """Models of a task, nearest to your priorities first."""
    from rich.console import Console
    from rich.table import Table

    from zazu.config import parse_priority
    from zazu.ranking import rank_models
    from zazu.registry import Registry
    from zazu.tasks import get_task

    get_task(task)
    priorities = parse_priority(priority)
    ranked = rank_models(Registry.load(zoos or None, import_code=False), task, priorities)
    table = Table(title=f"{task} models for priorities {priorities} (accuracy, speed, memory)", title_justify="left")
    for column in ("rank", "model", "distance", "accuracy", "speed", "memory"):
        table.add_column(column)
    for i, r in enumerate(ranked, 1):
        table.add_row(str(i), r.spec.name, f"{r.distance:.2f}", *(f"{x:g}" for x in r.spec.ratings))
    Console(highlight=False).print(table)


@zoo.command("calibrate")
@click.option("--task", default=None, type=click.Choice(list(TASKS)),
              help="Only models of this task. Default: every model.")
@click.option("--device", default="cpu", show_default=True, type=click.Choice(DEVICES),
              help="Latency on this CPU, or Zazu's Edge TPU estimate.")
@click.option("--threads", type=int, default=None, help="LiteRT threads. Default: all cores.")
@ZOOS_OPTION
@fails_cleanly
def zoo_calibrate(task, device, threads, zoos):
    """Measure each model's int8 size and latency here; write speed and memory ratings the ranking uses."""
    import sys

    from rich.console import Console
    from rich.table import Table

    from zazu.cli._base import quiet_tensorflow
    from zazu.registry import Registry

    quiet_tensorflow("zoo")
    from zazu.zoo_calibrate import calibrate_zoo

    registry = Registry.load(zoos or None)
    calibration = calibrate_zoo(registry, task, device, threads, progress=click.echo)
    written = ", ".join(str(root / "calibration.json") for root in registry.roots)
    table = Table(title=f"Measured on this machine ({device}); written to {written}",
                  title_justify="left")
    for column in ("model", "input", "int8 KiB", "RAM KiB", "latency ms", "MACs", "speed declared -> measured",
                   "memory declared -> measured"):
        table.add_column(column)
    for name, m in calibration["models"].items():
        spec = registry.models.get(name)
        if spec is None or (task and spec.task != task):
            continue
        table.add_row(name, str(m["input_size"]), f"{m['model_kb']:.0f}", f"{m['ram_kb']:.0f}",
                      f"{m['latency_ms']:.2f}", f"{m['macs'] / 1e6:.0f} M",
                      f"{m['declared']['speed_rating']:g} -> {m['speed_rating']:g}",
                      f"{m['declared']['memory_rating']:g} -> {m['memory_rating']:g}")
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)
    click.echo("speed = 10 - 2.5 log10(latency_ms / 0.1), memory = 10 - 2.5 log10(int8 KiB / 10), clipped to 0-10. "
               "`zazu zoo rank` and every search now rank with them.")


@zoo.command("hyperparameters")
@click.argument("task", type=click.Choice(list(TASKS)))
@fails_cleanly
def zoo_hyperparameters(task):
    """What a TASK model's base reads from its models.json entry, with the default when the entry is silent."""
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from zazu.adapters import TASK_BASES

    base = TASK_BASES[task]
    table = Table(title=f"{base.__name__}.hyperparameters (a zoo model adds its own in its entry)",
                  title_justify="left")
    for column in ("name", "default", "meaning"):
        table.add_column(column)
    for h in base.hyperparameters:
        table.add_row(h.name, json.dumps(h.default), escape(h.meaning))
    Console(highlight=False).print(table)


ZOO_OPTION = click.option("--zoo", "zoo_root", type=click.Path(file_okay=False), default=None,
                          help="Folder holding models.json and zoo/. Default: $ZAZU_ZOO, else Zazu's own.")


@zoo.command("new")
@click.argument("name")
@click.option("--task", required=True, type=click.Choice(list(TASKS)))
@ZOO_OPTION
@fails_cleanly
def zoo_new(name, task, zoo_root):
    """Write zoo/NAME/adapter.py (a working skeleton) and its models.json entry."""
    from zazu.registry import default_zoo_root, is_installed_builtin
    from zazu.scaffold import new_model

    root = zoo_root or default_zoo_root()
    if is_installed_builtin(root):
        raise ConfigError(f"{root} is the built-in zoo installed with Zazu, not a folder to edit. Expected "
                          f"--zoo FOLDER: `zazu zoo new {name} --task {task} --zoo myzoo` starts your own zoo "
                          "there, searched beside the built-in one with `--zoo myzoo --zoo builtin`.")
    created = new_model(root, name, task)
    click.echo(f"Created {created.adapter_path}: class AdaptModel, on the {task} base class; write your build().")
    click.echo(f"Added `{name}` to {created.models_json}: set its description, model_space ratings, "
               "hp_search_space and training_configs.")
    check_flag = f" --zoo {zoo_root}" if zoo_root else ""
    search_flags = f" --zoo {zoo_root} --zoo builtin" if zoo_root else ""
    click.echo(f"Next: zazu zoo check{check_flag}   then   zazu --task {task}{search_flags} --models {name} "
               "--epochs 1 --max-trials 1")


@zoo.command("check")
@ZOO_OPTION
@fails_cleanly
def zoo_check(zoo_root):
    """Validate every models.json entry and build each model once on a tiny input. Exit 1 if any fails."""
    import sys

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from zazu.cli._base import quiet_tensorflow
    from zazu.registry import default_zoo_root

    quiet_tensorflow("zoo")
    from zazu.zoo_check import check_zoo

    root = zoo_root or default_zoo_root()
    results = check_zoo(root)
    table = Table(title=f"Zoo check ({root}/models.json)", title_justify="left")
    for column in ("model", "task", "result", "detail"):
        table.add_column(column)
    for r in results:
        table.add_row(r.name, r.task, "[green]ok[/green]" if r.ok else "[red]FAILED[/red]", escape(r.detail))
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)
    failed = [r.name for r in results if not r.ok]
    if failed:
        click.echo(f"{len(failed)} of {len(results)} zoo entries failed: {', '.join(failed)}", err=True)
        sys.exit(1)
    click.echo(f"All {len(results)} zoo entries passed.")
