"""Run folders for the report tests, and helpers to read the report back.

The files are made up but shaped like a real run's, including those the export
work adds (export.json `profile` / `edgetpu`, export/val_predictions.json,
trials/*/profile.json)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from zazu.atomic_io import atomic_write_json
from zazu.config import resolve_config, save_config
from zazu.run_records import rank_trials, write_leaderboard

CLASSES = ["circle", "cross", "square"]

# trial -> (hyperparameters, val_accuracy, int8 latency ms, int8 file bytes, status)
TRIALS = {
    ("tiny_cnn", "0"): ({"learning_rate": 0.002, "filters": 16}, 0.80, 1.0, 50_000, "COMPLETED"),
    ("tiny_cnn", "1"): ({"learning_rate": 0.001, "filters": 32}, 0.78, 1.5, 60_000, "COMPLETED"),
    ("small_resnet", "0"): ({"learning_rate": 0.003, "depth": 8}, 0.90, 3.0, 200_000, "COMPLETED"),
    ("small_resnet", "1"): ({"learning_rate": 0.001, "depth": 14}, None, None, None, "FAILED"),
}
PARETO = {"tiny_cnn #0", "small_resnet #0"}  # tiny_cnn #1 is slower, bigger and worse than tiny_cnn #0

# (label, int8 prediction, keras prediction): int8 confuses one cross for a circle and one square for a cross
VAL = [(0, 0, 0), (0, 0, 0), (0, 0, 0), (1, 1, 1), (1, 0, 1), (1, 1, 1), (2, 2, 2), (2, 1, 2)]


def _profile(latency: float, size: int) -> dict:
    return {"file_size_bytes": size, "parameters": size - 4_000, "macs": size * 40,
            "peak_activation_bytes": 12_288, "latency_median_ms": latency, "latency_p90_ms": latency * 1.2,
            "num_threads": 2}


def _trial(run: Path, model: str, trial_id: str, hps: dict, accuracy, latency, size, status, started: float):
    folder = run / "trials" / f"{model}-{trial_id}"
    folder.mkdir(parents=True)
    record = {"model": model, "trial_id": trial_id, "status": status, "hyperparameters": hps,
              "hp_values": {**hps, "epochs": 3}, "model_specs": {"task": "classification", "name": model},
              "metrics": {}, "started_at": started, "trial_dir": str(folder), "wall_time_s": 4.2}
    if status == "COMPLETED":
        record["metrics"] = {"val_accuracy": accuracy, "val_loss": 1.5 - accuracy, "epochs_trained": 3.0}
        with open(folder / "history.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["epoch", "accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"])
            for epoch in range(3):
                writer.writerow([epoch, accuracy - 0.1 * (2 - epoch), hps["learning_rate"], 1.6 - 0.2 * epoch,
                                 accuracy - 0.05 * (2 - epoch), 1.7 - 0.2 * epoch])
        atomic_write_json(folder / "profile.json", _profile(latency, size))
    else:
        record["error"] = "RuntimeError: boom"
    atomic_write_json(folder / "trial.json", record)
    return record


def _images(root: Path) -> list[str]:
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i, (label, _, _) in enumerate(VAL):
        path = Path(CLASSES[label]) / f"{i:03d}.png"
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / path)
        paths.append(str(path))
    return paths


def make_classification_run(run: Path, dataset: Path) -> Path:
    """A finished classification run folder with every file the report reads."""
    run.mkdir(parents=True)
    config = resolve_config(overrides={"task": "classification", "output": str(run), "max_trials": 4,
                                       "data": {"home_path": str(dataset)}})
    save_config(config, run / "config.yaml")
    paths = _images(dataset)
    atomic_write_json(run / "dataset.json", {"root": str(dataset), "format": "folder", "classes": CLASSES,
                                             "records": [{"path": p} for p in paths]})
    records = [_trial(run, model, tid, *values, started=1000.0 + i)
               for i, ((model, tid), values) in enumerate(TRIALS.items())]
    ranked = rank_trials(records, "val_accuracy", "max")
    write_leaderboard(run, ranked, "val_accuracy")
    atomic_write_json(run / "best_trial.json", ranked[0])
    atomic_write_json(run / "pareto.json", {
        "rule": "front trials within 0.01 of the best int8 val_accuracy are equally accurate; ...",
        "priorities": [1.0, 0.5, 0.5], "chosen": "small_resnet-0",
        "trials": [{"model": model, "trial_id": tid, "val_accuracy": TRIALS[(model, tid)][1],
                    "latency_ms": TRIALS[(model, tid)][2], "model_kb": TRIALS[(model, tid)][3] / 1024}
                   for model, tid in (("small_resnet", "0"), ("tiny_cnn", "0"))]})
    export = run / "export"
    export.mkdir()
    (export / "model_int8.tflite").write_bytes(b"\0" * 200_000)
    atomic_write_json(export / "export.json", {
        "model": "small_resnet", "trial_id": "0", "classes": CLASSES, "val_images": len(VAL),
        "metrics": {"keras": {"val_accuracy": 1.0}, "float16": {"val_accuracy": 1.0},
                    "int8": {"val_accuracy": 0.75}},
        "profile": {"keras": {"parameters": 196_000}, "float16": _profile(4.0, 400_000),
                    "int8": _profile(3.0, 200_000)},
        "edgetpu": {"mapped_ops_share": 1.0, "mapped_macs_share": 1.0, "first_fallback": None,
                    "compiler": "edgetpu_compiler not on PATH"},
    })
    atomic_write_json(export / "val_predictions.json", {
        "classes": CLASSES,
        "records": [{"path": p, "label": label, "predicted": {"keras": keras_pred, "int8": int8_pred}}
                    for p, (label, int8_pred, keras_pred) in zip(paths, VAL)],
    })
    return run


def referenced_pngs(html: str) -> list[str]:
    """The src of every <img> in a report."""
    import re

    return re.findall(r'<img src="([^"]+)"', html)


def section(html: str, anchor: str) -> str:
    start = html.index(f'<section id="{anchor}">')
    return html[start:html.index("</section>", start)]


def table_rows(html: str) -> list[list[str]]:
    """Cell texts of every body row of the tables in `html`."""
    import re
    from html import unescape

    return [[unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html) if "<td" in row]
