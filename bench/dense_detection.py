"""Zazu's default detection job on the dense development set (bench/dense_set.py): crowded scenes of small objects.

The dense set is built first (into a temporary folder, or into --data, which is reused when it
already holds one), then Zazu runs on it in a subprocess, as a user runs it:

- by default the detection search: `python main.py --task detection --data SET --output RUN`;
- with --train-only, one model at its defaults: `python main.py train --model retinanet_lite --data SET --output RUN`.

Every flag this script does not know is passed on to main.py (e.g. --time-budget 30, --epochs 5,
--max-trials 2, --hp learning_rate=0.001). Then it prints, from the run folder: the wall time, the
winner (best_trial.json), its float and int8 (the trial's, else export/export.json's) val_mAP50 and
val_mAP side by side, every other val_mAP* key its metrics hold (val_mAP75; val_mAP_small/medium/large
when Zazu writes them), and its per-class AP from the trial folder's per_class*.json files (whatever
keys they hold: AP, AP50, ...), with each class's val boxes and median size. A temporary dense set is
removed at the end (give --data to keep it for `zazu evaluate` or `predict` on the run).
--quick builds an 8+4-image set and trains retinanet_lite for 1 epoch at 128 px with an int8-only
export: a check of the code path, not a benchmark.

    python bench/dense_detection.py [--data DIR] [--output RUN] [--set-seed 0] [--train-only]
                                    [--model retinanet_lite] [--quick] [--json result.json] [main.py flags ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))  # dense_set, beside this script

import dense_set  # noqa: E402

QUICK_IMAGES = (8, 4)  # train, val
QUICK_FLAGS = ["--epochs", "1", "--input-size", "128"]
QUICK_CONFIG = {"export": {"formats": ["int8"], "calibration_images": 8, "profile_runs": 1,
                           "edgetpu_compiler": False, "profile_trials": False}}
# printed first, in this order; any other val_mAP* key follows
METRIC_ORDER = ("val_mAP50", "val_mAP", "val_mAP75", "val_mAP_small", "val_mAP_medium", "val_mAP_large")


def ensure_dense_set(folder: Path, shared: Path, seed: int, images: tuple[int, int] = (205, 87)) -> dict:
    """The dense set's manifest: `folder`'s when it already holds a dense set made with `seed` and `images`
    (train, val), else a new one written there."""
    manifest = folder / dense_set.MANIFEST
    if manifest.is_file():
        made = json.loads(manifest.read_text(encoding="utf-8"))
        settings = made["settings"]
        if (settings["seed"], settings["train"], settings["val"]) != (seed, *images):
            raise SystemExit(f"{folder} holds a dense set made with seed {settings['seed']}, {settings['train']} "
                             f"train and {settings['val']} val images. Expected seed {seed}, {images[0]} and "
                             f"{images[1]}: give another --data or remove it.")
        return made
    try:
        return dense_set.write_dense_set(folder, shared, n_train=images[0], n_val=images[1], seed=seed)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        raise SystemExit(str(e)) from e


def zazu_command(data: Path, output: Path, train_only: bool, model: str, extra: list[str]) -> list[str]:
    main = [sys.executable, str(REPO / "main.py")]
    if train_only:
        return main + ["train", "--model", model, "--data", str(data), "--output", str(output), *extra]
    return main + ["--task", "detection", "--data", str(data), "--output", str(output), *extra]


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def read_winner(run: Path) -> dict | None:
    """best_trial.json; when the run ended before writing it, the completed trial with the best float val_mAP."""
    best = _read_json(run / "best_trial.json")
    if best is not None:
        return best
    trials = [_read_json(path) for path in sorted((run / "trials").glob("*/trial.json"))]
    done = [t for t in trials if t and t.get("status") == "COMPLETED" and (t.get("metrics") or {}).get("val_mAP")
            is not None]
    return max(done, key=lambda t: t["metrics"]["val_mAP"], default=None)


def read_per_class(trial_folder: Path) -> dict[str, dict[str, float]]:
    """{class: {figure: value}} from the trial folder's per_class*.json files: a {class: number} file gives
    the figure named after the file (per_class_ap.json: AP), a {class: {name: number}} file its names."""
    table: dict[str, dict[str, float]] = {}
    for path in sorted(trial_folder.glob("per_class*.json")):
        data = _read_json(path)
        if isinstance(data, dict) and isinstance(data.get("per_class_AP"), dict):
            data = data["per_class_AP"]  # {per_class_AP: {class: {AP, AP50, instances}}, AP_by_size: ...}
        if not isinstance(data, dict):
            continue
        figure = path.stem.removeprefix("per_class_").upper() or "AP"
        for name, value in data.items():
            if isinstance(value, dict):
                table.setdefault(name, {}).update({k: v for k, v in value.items() if isinstance(v, (int, float))})
            elif isinstance(value, (int, float)):
                table.setdefault(name, {})[figure] = value
    return table


def metric_names(*metric_sets: dict) -> list[str]:
    found = {key for metrics in metric_sets for key in metrics if key.startswith("val_mAP")}
    return [k for k in METRIC_ORDER if k in found] + sorted(found - set(METRIC_ORDER))


def _fmt(value, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def _ratio(numerator, denominator) -> str:
    return f"{numerator / denominator:.2f}x" if numerator is not None and denominator else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Unknown flags are passed on to main.py.")
    parser.add_argument("--data", type=Path, default=None,
                        help="where the dense set goes (reused when it holds one; default: a temporary folder)")
    parser.add_argument("--shared", type=Path, default=dense_set.SHARED, help="the shared datasets folder")
    parser.add_argument("--set-seed", type=int, default=0, help="the dense set's seed (main.py's --seed is passed on)")
    parser.add_argument("--output", type=Path, default=None, help="the run folder (default: runs/bench-dense-<time>)")
    parser.add_argument("--train-only", action="store_true",
                        help="`main.py train --model MODEL` instead of the detection search")
    parser.add_argument("--model", default="retinanet_lite", help="the model of --train-only (default: retinanet_lite)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_IMAGES[0]}+{QUICK_IMAGES[1]} images, --train-only {' '.join(QUICK_FLAGS)}, "
                             "int8-only export: a code-path check")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args, extra = parser.parse_known_args(argv)
    if args.model != "retinanet_lite" and not args.train_only:
        parser.error("--model is for --train-only; pass `--models NAME` for the search instead")
    output = (args.output or Path("runs") / f"bench-dense-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    if output.exists():
        parser.error(f"{output} already exists. Expected a new --output folder.")

    with tempfile.TemporaryDirectory(prefix="zazu-dense-") as temp:
        data = (args.data or Path(temp) / "dense_voc").resolve()
        started = time.perf_counter()
        manifest = ensure_dense_set(data, args.shared, args.set_seed, QUICK_IMAGES if args.quick else (205, 87))
        summary = manifest["summary"]
        print(f"dense set: {data} ({summary['images']} images: train {manifest['settings']['train']}, "
              f"val {manifest['settings']['val']}; {summary['boxes_per_image']['mean']:.1f} boxes per image, "
              f"max {summary['boxes_per_image']['max']}; seed {args.set_seed}; {time.perf_counter() - started:.0f} s)",
              flush=True)
        if args.quick:
            quick_config = Path(temp) / "quick.json"
            quick_config.write_text(json.dumps(QUICK_CONFIG), encoding="utf-8")
            extra = [*QUICK_FLAGS, "--config", str(quick_config), *extra]
        command = zazu_command(data, output, args.train_only or args.quick, args.model, extra)
        print("$ " + " ".join(command), flush=True)
        started = time.perf_counter()
        returncode = subprocess.run(command, cwd=REPO).returncode
        wall = time.perf_counter() - started

    best = read_winner(output)
    print(f"\n{os.cpu_count()} CPUs; main.py exit code {returncode}; wall time {wall:.0f} s; run folder {output}")
    if best is None:
        print("no completed trial: nothing to score (see the run folder's trials/*/log.txt)")
        return 1
    trial_folder = output / "trials" / f"{best['model']}-{best['trial_id']}"
    metrics, int8 = best.get("metrics") or {}, best.get("int8_metrics") or {}
    if not int8:  # trials not profiled (export.profile_trials false): the exported winner's int8 scores
        int8 = ((_read_json(output / "export" / "export.json") or {}).get("metrics") or {}).get("int8") or {}
    print(f"winner: {best['model']} #{best['trial_id']} ({best.get('status', '?')}, trial wall time "
          f"{_fmt(best.get('wall_time_s'), '.0f')} s, epochs {_fmt(metrics.get('epochs_trained'), '.0f')})")
    header = f"{'metric':<18}{'float':>8}{'int8':>8}{'int8/float':>12}"
    print(header)
    print("-" * len(header))
    for name in metric_names(metrics, int8):
        print(f"{name:<18}{_fmt(metrics.get(name)):>8}{_fmt(int8.get(name)):>8}"
              f"{_ratio(int8.get(name), metrics.get(name)):>12}")

    per_class = read_per_class(trial_folder)
    sizes = manifest["summary"]["classes"]
    figures = sorted({key for values in per_class.values() for key in values}, key=lambda k: (k != "AP", k))
    if per_class:
        header = f"{'class (val boxes, median px)':<32}" + "".join(f"{k:>8}" for k in figures)
        print(header)
        print("-" * len(header))
        val_sizes = manifest["splits"]["val"]["classes"]
        for name in sorted(per_class, key=lambda n: sizes.get(n, {}).get("median_size") or 0):
            stats = val_sizes.get(name, {})
            label = f"{name} ({stats.get('boxes', '?')}, {_fmt(stats.get('median_size'), '.0f')} px)"
            print(f"{label:<32}" + "".join(f"{_fmt(per_class[name].get(k)):>8}" for k in figures))
    else:
        print(f"no per-class figures in {trial_folder}")
    if args.json:
        args.json.write_text(json.dumps({"run": str(output), "returncode": returncode, "wall_seconds": wall,
                                         "model": best["model"], "trial_id": best["trial_id"], "metrics": metrics,
                                         "int8_metrics": int8, "per_class": per_class,
                                         "dense_set": manifest["summary"]}, indent=1))
    return 0 if returncode == 0 else returncode


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    sys.exit(main())
