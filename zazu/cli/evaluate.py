"""`zazu evaluate MODEL --data PATH`: score an exported model on a dataset with the task's metrics."""

from __future__ import annotations

import click

from zazu.cli._base import cli, fails_cleanly, quiet_tensorflow
from zazu.config import ANNOTATION_TYPES
from zazu.inference.evaluate import SPLITS


@cli.command("evaluate")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--data", default=None, type=click.Path(file_okay=False),
              help="Dataset folder (folder-per-class, COCO, VOC or YOLO). Default: the run's own dataset, "
                   "when the model is in its run folder.")
@click.option("--split", type=click.Choice(SPLITS), default=None,
              help="val/test: the run's split.json when the dataset is the run's, else the dataset split as a "
                   "search would (the run's seed and shares, or the defaults). Default: val on the run's own "
                   "dataset, all on any other.")
@click.option("--run", "run_dir", default=None, type=click.Path(file_okay=False),
              help="The run folder the model came from. Default: found when the model is in <run>/export/.")
@click.option("--format", "annotation_type", type=click.Choice(ANNOTATION_TYPES),
              default="auto", show_default=True, help="Dataset format.")
@click.option("--output", default="evaluation.json", show_default=True, type=click.Path(dir_okay=False),
              help="Report file (JSON); classification also writes <name>_confusion.png beside it.")
@click.option("--threads", type=int, default=None, help="CPU threads for a .tflite. Default: all cores.")
@fails_cleanly
def evaluate_command(model, data, split, run_dir, annotation_type, output, threads):
    """Score a .keras or .tflite model exported by Zazu on a dataset, through the same
    preprocessing and decoding as `zazu predict`. Classification: accuracy, per-class
    precision/recall/F1, confusion matrix; detection and segmentation: COCO mAP, AP per
    class (and AP50) and AP by object size (small, medium, large).
    Class names are matched by name between the model and the dataset."""
    from zazu.inference.outputs import check_evaluate_output

    check_evaluate_output(output, model, data)
    quiet_tensorflow("evaluate")
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress

    from zazu.inference.evaluate import evaluate_model, write_report

    console = Console(highlight=False, soft_wrap=True)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("evaluating", total=None)
        report = evaluate_model(model, data, split, run_dir, annotation_type, threads,
                                progress=lambda done, total: bar.update(task, completed=done, total=total))
    written = write_report(report, output)
    info = report["model"]
    console.print(f"{escape(info['file'])} ({info['task']}, {info.get('variant') or '?'}) on "
                  f"{escape(report['data']['path'])}: {report['images']} images, split {report['split']} "
                  f"({escape(report['split_source'])}); classes {report['data']['class_order']}")
    problems = report["dataset_problems"]
    for problem in problems[:5]:
        console.print(f"[yellow]dataset:[/yellow] {escape(problem)}")
    if len(problems) > 5:
        console.print(f"[yellow]dataset:[/yellow] {len(problems) - 5} more problems in the report")
    for problem in report["skipped"]:
        console.print(f"[yellow]skipped[/yellow] {escape(problem)}")
    console.print("  ".join(f"{name} {value:.4f}" for name, value in report["metrics"].items()))
    if "per_class" in report:
        _print_per_class(console, report["per_class"])
    if "per_class_AP" in report:
        _print_per_class_ap(console, report["per_class_AP"])
    if "AP_by_size" in report:
        _print_ap_by_size(console, report["AP_by_size"])
    console.print("wrote " + ", ".join(escape(str(p)) for p in written))


def _print_per_class(console, per_class: dict) -> None:
    from rich.table import Table

    table = Table(title_justify="left")
    for column in ("class", "precision", "recall", "F1", "images"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, v in per_class.items():
        table.add_row(name, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"]))
    console.print(table)


def _print_per_class_ap(console, per_class: dict) -> None:
    """COCO AP (0.5:0.95), AP50 and objects of each class with ground truth, worst AP first."""
    from rich.markup import escape
    from rich.table import Table

    if not per_class:
        console.print("AP per class: no class has ground truth in these images")
        return
    table = Table(title="AP per class (worst first)", title_justify="left")
    for column in ("class", "AP", "AP50", "objects"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, v in sorted(per_class.items(), key=lambda item: item[1]["AP"]):
        table.add_row(escape(name), f"{v['AP']:.3f}", f"{v['AP50']:.3f}", str(v["instances"]))
    console.print(table)


def _print_ap_by_size(console, by_size: dict) -> None:
    """COCO AP (0.5:0.95) of small, medium and large objects; a size without objects has no AP."""
    from rich.table import Table

    table = Table(title="AP by object size (area in original pixels)", title_justify="left")
    for column in ("size", "area", "objects", "AP"):
        table.add_column(column, justify="left" if column in ("size", "area") else "right")
    for size, v in by_size.items():
        low, high = v["area"]
        area = f"{low}-{high} px²" if high is not None else f"> {low} px²"
        table.add_row(size, area, str(v["instances"]), f"{v['AP']:.3f}" if "AP" in v else "- (no objects)")
    console.print(table)
