"""`zazu predict MODEL IMAGE_OR_FOLDER`: run an exported model on images."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from zazu.cli._base import cli, fails_cleanly, quiet_tensorflow


@cli.command("predict")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("images", type=click.Path())
@click.option("--output", default="predictions", show_default=True, type=click.Path(file_okay=False),
              help="Folder for one <image>.json per image (and <image>.png with --draw).")
@click.option("--draw", is_flag=True, help="Also write each image with its prediction drawn (PNG).")
@click.option("--threads", type=int, default=None, help="CPU threads for a .tflite. Default: all cores.")
@fails_cleanly
def predict_command(model, images, output, draw, threads):
    """Predict with a .keras or .tflite model exported by Zazu (labels and preprocessing are read
    from the file). Classification: top-k labels; detection: boxes; segmentation: boxes and masks
    (RLE). Exit code: 0 all predicted, 1 some images skipped (unreadable), 2 none predicted."""
    from zazu.inference.outputs import check_predict_output, result_base
    from zazu.inference.predictor import image_files

    files = image_files(images)
    check_predict_output(output, model, images, files, draw)
    quiet_tensorflow("predict")
    from rich.console import Console
    from rich.markup import escape

    from zazu.inference.predictor import InvalidImage, Predictor
    from zazu.atomic_io import atomic_write_json

    console = Console(highlight=False, soft_wrap=True)
    predictor = Predictor(model, num_threads=threads)
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, skipped = 0, []
    stems = [p.stem for p in files]
    for path in files:
        base = result_base(path, stems)  # a.jpg and a.png in one folder must not overwrite each other's results
        try:
            result = predictor.predict_file(path, draw_to=out_dir / f"{base}.png" if draw else None)
        except InvalidImage as error:
            skipped.append(str(error))
            console.print(f"[yellow]skipped[/yellow] {escape(str(error))}")
            continue
        atomic_write_json(out_dir / f"{base}.json", result)
        written += 1
        console.print(f"{escape(path.name)}: {escape(_headline(result))}")
    console.print(f"{written} predicted, {len(skipped)} skipped; results in {escape(str(out_dir))}")
    if skipped:
        atomic_write_json(out_dir / "skipped.json", skipped)
    if written == 0:
        click.echo(f"error: no image could be read; see {out_dir / 'skipped.json'}", err=True)
        sys.exit(2)
    sys.exit(1 if skipped else 0)


def _headline(result: dict) -> str:
    if "top_k" in result:
        return f"{result['label']} ({result['score']:.2f})"
    detections = result.get("detections", [])
    best = ", ".join(f"{d['label']} {d['score']:.2f}" for d in detections[:3])
    return f"{len(detections)} detections" + (f": {best}" if best else "")
