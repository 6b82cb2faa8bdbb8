"""Score an exported model (.keras or .tflite) on a dataset: what `zazu evaluate` runs.

Every image goes through the `Predictor`, so preprocessing and decoding are
those of `zazu predict` and of the export's own scoring; the metrics are the
adapter's (`score_records`: accuracy, COCO mAP via pycocotools), plus
per-class precision / recall / F1 and a confusion matrix for classification;
for detection and segmentation the metrics hold AP by object size (`mAP_small`,
`mAP_medium`, `mAP_large`, each only when such objects exist) and the report
adds `per_class_AP` ({class: {AP, AP50, instances}}) and `AP_by_size` ({size:
{instances, area, AP}}), as `zazu.metrics.coco.coco_metrics` returns them.

Which images (`split`):

- `all`: every readable image of the dataset.
- `val` / `test`: when the model's run folder is known (`run_dir`, or the
  model sits in `<run>/export*/` next to that run's `split.json` and
  `trials/<its trial>/`) and the dataset is the run's own, the run's
  `split.json` lists them: exactly the images the export was scored on.
  Otherwise the dataset is split with `zazu.data.split.split_dataset`, with the
  run's seed and shares when a run is known, else the default config's: a
  dataset's own split (train/ and val/ folders, COCO or VOC split files) wins,
  as in a search.

Class names are matched by name: a dataset whose classes come in another order
is remapped to the model's; a class the model does not know is an error.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from zazu.errors import DatasetError, ZazuError
from zazu.data.records import TEST, VAL

SPLITS = (VAL, TEST, "all")  # what `zazu evaluate --split` scores


def find_run_dir(model_path: Path, metadata: dict, run_dir: str | Path | None = None) -> Path | None:
    """The run folder that made this model: `run_dir` when given (checked), else the model file's
    grandparent when it holds split.json and the trial named in the model's metadata."""
    if run_dir is not None:
        run_dir = Path(run_dir)
        if not (run_dir / "split.json").is_file():
            raise ZazuError(f"Not a Zazu run folder. Expected a folder with split.json (written by `zazu search`). "
                            f"Received: --run {run_dir}")
        return run_dir
    candidate = Path(model_path).resolve().parent.parent
    trial = metadata.get("trial")
    if trial and (candidate / "split.json").is_file() and (candidate / "trials" / trial).is_dir():
        return candidate
    return None


def load_dataset(data: str | Path, annotation_type: str, task: str):
    """Read and check the dataset as a search does; (dataset, problems as strings)."""
    from zazu.data.check import check_dataset
    from zazu.data.readers import read_dataset

    report = check_dataset(read_dataset(data, annotation_type))
    dataset = report.usable_for(task, data, subject="model's")
    return dataset, [str(p) for p in report.problems]


def select_records(dataset, split: str, run_dir: Path | None) -> tuple[list, str]:
    """(the records of `split`, a sentence saying where that split comes from)."""
    from zazu.data.split import read_split, split_dataset

    if split not in SPLITS:
        raise ZazuError(f"Unknown split. Expected one of {', '.join(SPLITS)}. Received: --split {split}")
    if split == "all":
        return list(dataset.records), f"all {len(dataset.records)} readable images of the dataset"
    by_path = {r.path: r for r in dataset.records}
    run_split = read_split(run_dir / "split.json") if run_dir is not None else None
    if run_split is not None and _same_folder(run_split.get("dataset"), dataset.root):
        if split not in run_split:
            raise ZazuError(f"The run's split ({run_dir / 'split.json'}) has no {split} images (its test_split is "
                            f"{run_split.get('test_split', 0)}). Expected --split val or all. "
                            f"Received: --split {split}")
        records = [by_path[p] for p in run_split[split] if p in by_path]
        missing = len(run_split[split]) - len(records)
        source = f"the run's split ({run_dir / 'split.json'})"
        return records, source + (f"; {missing} of its images are no longer readable, left out" if missing else "")
    if run_split is not None:
        seed, val_ratio, test_ratio = run_split["seed"], run_split["val_split"], run_split.get("test_split", 0.0)
        origin = f"the run's settings (seed={seed}, val_split={val_ratio}, test_split={test_ratio})"
    else:
        from zazu.defaults import load_defaults

        defaults = load_defaults()
        seed, val_ratio, test_ratio = defaults["seed"], defaults["val_split"], defaults["test_split"]
        origin = (f"the default settings (seed={seed}, val_split={val_ratio}, test_split={test_ratio}; "
                  "no run folder known)")
    sides = split_dataset(dataset, val_ratio, seed, test_ratio)
    source = "the dataset's own split" if dataset.given_split else f"split as a search would, with {origin}"
    if split not in sides:
        raise ZazuError(f"{dataset.root}: no {split} images in {source}. Expected --split val or all. "
                        f"Received: --split {split}")
    return [by_path[p] for p in sides[split]], source


def _same_folder(a: str | None, b: Path) -> bool:
    return a is not None and Path(a).resolve() == Path(b).resolve()


def match_classes(records: list, dataset_classes: list[str], model_classes: list[str], data) -> tuple[list, bool]:
    """The records with labels renumbered into the model's class order; (records, remapped?).

    A class the model does not know, used by an evaluated image, is an error naming it."""
    used: dict[int, int] = {}
    for record in records:
        for label in ([record.label] if record.label is not None else []) + [i.label for i in record.instances]:
            used[label] = used.get(label, 0) + 1
    unknown = [dataset_classes[i] for i in sorted(used) if dataset_classes[i] not in model_classes]
    if unknown:
        counts = ", ".join(f"{name!r} ({used[dataset_classes.index(name)]} labels)" for name in unknown)
        raise DatasetError(f"{data}: the model does not know class {counts}. Expected classes among the model's: "
                           f"{', '.join(model_classes)}. Received: {', '.join(repr(n) for n in unknown)}")
    to_model = {i: model_classes.index(name) for i, name in enumerate(dataset_classes) if name in model_classes}
    remapped = any(to_model[i] != i for i in used)

    def renumber(record):
        return replace(record, label=None if record.label is None else to_model[record.label],
                       instances=tuple(replace(i, label=to_model[i.label]) for i in record.instances))

    return [renumber(r) for r in records] if remapped else list(records), remapped


def evaluate_model(model: str | Path, data: str | Path | None = None, split: str | None = None,
                   run_dir: str | Path | None = None, annotation_type: str = "auto", num_threads: int | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Score `model` on `data` (default: the run's own dataset) and return the report, JSON-ready.
    `split` None: val when the dataset is the run's own, else all."""
    from zazu.data.split import read_split
    from zazu.inference.predictor import Predictor

    started = time.perf_counter()
    predictor = Predictor(model, num_threads=num_threads)
    run = find_run_dir(predictor.path, predictor.metadata, run_dir)
    if data is None:
        if run is None:
            raise ZazuError(f"No dataset to evaluate {predictor.path.name} on. Expected --data PATH (or a model "
                            "inside its run folder, whose dataset is then used). Received: no --data")
        data = read_split(run / "split.json")["dataset"]
    dataset, problems = load_dataset(data, annotation_type, predictor.task)
    if split is None:  # the held-out images of the run's own dataset; every image of any other
        run_data = read_split(run / "split.json")["dataset"] if run is not None else None
        split = "val" if _same_folder(run_data, dataset.root) else "all"
    records, split_source = select_records(dataset, split, run)
    if not records:
        raise DatasetError(f"{data}: no image to evaluate in split {split}.")
    records, remapped = match_classes(records, dataset.classes, predictor.classes, data)

    predictions, scored, skipped = predict_records(predictor, dataset, records, progress)
    if not scored:
        raise DatasetError(f"{data}: none of the {len(records)} images could be read: {skipped[0]}")
    scores, details = predictor.adapter.score_records(predictions, scored)
    metrics = {key.removeprefix("val_"): value for key, value in scores.items()}
    report: dict[str, Any] = {
        "model": describe_model(predictor),
        "data": {"path": str(dataset.root), "format": dataset.format, "classes": dataset.classes,
                 "class_order": "remapped by name to the model's" if remapped else "same as the model's"},
        "split": split,
        "split_source": split_source,
        "run": str(run) if run is not None else None,
        "images": len(scored),
        "skipped": skipped,
        "dataset_problems": problems,
        "task": predictor.task,
        "metrics": metrics,
    }
    report.update(details)
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def predict_records(predictor, dataset, records: list, progress=None) -> tuple[list, list, list[str]]:
    """Each record's image through `predictor`: (predictions, the records they belong to, why each
    image left out could not be read)."""
    from zazu.inference.predictor import InvalidImage

    predictions, scored, skipped = [], [], []
    for k, record in enumerate(records):
        path = dataset.abspath(record)
        try:
            prediction, _ = predictor.predict_native(Path(path).read_bytes(), path)
        except (InvalidImage, OSError) as error:
            skipped.append(str(error))
        else:
            predictions.append(prediction)
            scored.append(record)
        if progress is not None:
            progress(k + 1, len(records))
    return predictions, scored, skipped


def describe_model(predictor) -> dict[str, Any]:
    return {"path": str(predictor.path), **predictor.describe()}


def write_report(report: dict[str, Any], output: str | Path) -> list[Path]:
    """The report as JSON at `output`, and for classification `<stem>_confusion.png` beside it."""
    from zazu.report.plots import confusion_plot  # the run report's own confusion figure
    from zazu.atomic_io import atomic_write_json

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    written = [output]
    if "confusion_matrix" in report:
        png = output.with_name(output.stem + "_confusion.png")
        confusion = report["confusion_matrix"]
        confusion_plot(confusion["matrix"], confusion["classes"],
                       f"{report['model']['file']} on {report['split']} ({report['images']} images)", png)
        report = {**report, "confusion_matrix": {**confusion, "png": str(png)}}
        written.append(png)
    atomic_write_json(output, report)
    return written
