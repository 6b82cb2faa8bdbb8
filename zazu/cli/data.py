"""`zazu data ...`: check and preview datasets."""

from __future__ import annotations

import sys

import click

from zazu.cli._base import cli, fails_cleanly, quiet_tensorflow
from zazu.config import ANNOTATION_TYPES


@cli.group()
def data():
    """Check and preview datasets."""


@data.command("check")
@click.argument("path", type=click.Path())
@click.option("--format", "annotation_type", type=click.Choice(ANNOTATION_TYPES),
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


PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg")


@data.command("preview")
@click.argument("path", type=click.Path())
@click.option("--format", "annotation_type", type=click.Choice(ANNOTATION_TYPES),
              default="auto", show_default=True)
@click.option("--augment", is_flag=True, help="Apply the config's augmentation, as training does.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file whose `augmentation` settings to use.")
@click.option("--size", type=click.IntRange(8, 2048), default=256, show_default=True,
              help="Square size the images are letterboxed to.")
@click.option("--count", type=click.IntRange(1, 1024), default=16, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default="preview.png", show_default=True)
@fails_cleanly
def data_preview(path, annotation_type, augment, config_file, size, count, seed, output):
    """Write a PNG grid of samples with their boxes and masks drawn."""
    from pathlib import Path

    from zazu.config import resolve_config
    from zazu.errors import ConfigError

    if Path(output).suffix.lower() not in PREVIEW_SUFFIXES:
        raise ConfigError(f"--output names the image file the grid is written to. Expected a name ending in "
                          f"{' or '.join(PREVIEW_SUFFIXES)}. Received: --output {output}")

    config = resolve_config(config_file)  # validates the augmentation settings before TF loads
    quiet_tensorflow("data")
    from zazu.data.check import check_dataset
    from zazu.data.preview import write_preview
    from zazu.data.readers import read_dataset

    dataset = check_dataset(read_dataset(path, annotation_type)).dataset
    written = write_preview(dataset, output, (size, size), count,
                            config["augmentation"] if augment else None, seed)
    click.echo(f"wrote {written}")
