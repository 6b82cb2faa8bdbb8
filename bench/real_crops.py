"""Real photos: pretrained EfficientNet-Lite against the from-scratch zoo on object crops, side by side.

First a folder-per-class classification dataset is made from the real photos in
the shared datasets folder (`raccoon/`, Pascal VOC, and `tiny_coco/`, COCO):
every non-crowd box at least --min-size px on each side is cropped with a
--margin (a fraction of the box's width and height on each side, clipped to the
image) and saved as a JPEG; images with the same bytes as an earlier one are
skipped. Classes are the box labels with at least --min-crops crops (at most
--max-classes, the largest); a class with more than --max-ratio times the
smallest one's crops is cut down to that (a seeded sample). The folder goes to
--crops (default $ZAZU_CACHE/bench/real_crops/<settings>, or under
~/.cache/zazu), written to a temporary folder and renamed when complete; a
complete folder made with the same settings is reused.

Then two searches run one after the other on it, each into its own run folder
under --output, with the same seed (so the same val split):

- pretrained: the config defaults, i.e. `python main.py --task classification --data CROPS`
  (the ranking picks the pretrained EfficientNet-Lite models);
- scratch: `models: [tiny_cnn, small_resnet, mobilenet_v2]` with the same max_trials,
  epochs and time budget as the defaults.

The table gives each setup's best model, its float val_accuracy (the trial's),
the int8 val_accuracy of the exported winner (export/export.json), the wall time
of the whole search (trials, export and report) and the number of val images.
--quick makes a handful of crops per class, 1 trial of 1 epoch per setup (of the top-ranked
model, top_k 1, and of tiny_cnn) and an int8-only export: a check of the code path, not a benchmark.

    python bench/real_crops.py [--output runs/bench-real-crops] [--shared ../shared/datasets] [--crops DIR]
                               [--min-size 24] [--margin 0.1] [--min-crops 20] [--max-ratio 1.5]
                               [--max-classes 4] [--seed 0] [--quick] [--verbose] [--json rows.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

SHARED = REPO.parent / "shared" / "datasets"  # beside the repository
SOURCES = ("raccoon", "tiny_coco")  # folders of the shared datasets folder
SCRATCH_MODELS = ["tiny_cnn", "small_resnet", "mobilenet_v2"]
MANIFEST = "real_crops.json"  # written last into a complete crops folder (no COCO key names in it)
QUICK_PER_CLASS = 6


@dataclass(frozen=True)
class Crop:
    source: str  # the dataset folder's name, e.g. raccoon
    path: str  # image path relative to that dataset's root
    index: int  # the box's index among the image's instances
    label: str
    box: tuple[int, int, int, int]  # what is cut out: left, top, right, bottom in image pixels

    @property
    def file_name(self) -> str:
        stem = Path(self.path).stem
        return f"{self.source}_{stem}_{self.index}.jpg"


def crop_window(box, width: int, height: int, margin: float) -> tuple[int, int, int, int]:
    """The pixels cut out for `box` [x0, y0, x1, y1]: the box grown by `margin` times its width
    (left and right) and height (top and bottom), rounded outwards and clipped to the image."""
    x0, y0, x1, y1 = box
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    return (max(0, math.floor(x0 - dx)), max(0, math.floor(y0 - dy)),
            min(width, math.ceil(x1 + dx)), min(height, math.ceil(y1 + dy)))


def find_crops(root: Path, min_size: float, margin: float) -> list[Crop]:
    """Every non-crowd box of the dataset at `root` with both sides >= min_size px, as a Crop.
    The dataset is read and checked by Zazu (boxes clipped to their image, unreadable images out);
    an image with the same bytes as an earlier one is skipped, so no crop appears twice."""
    from zazu.data.check import check_dataset
    from zazu.data.readers import read_dataset

    report = check_dataset(read_dataset(root))
    if report.fatal:
        fatal = "; ".join(str(p) for p in report.problems if p.fatal) or "no usable image"
        raise SystemExit(f"{root}: dataset not usable: {fatal}")
    dataset = report.dataset
    crops = []
    for record in dataset.records:
        if record.path in dataset.duplicates:
            continue
        for index, instance in enumerate(record.instances):
            x0, y0, x1, y1 = instance.box
            if instance.iscrowd or min(x1 - x0, y1 - y0) < min_size:
                continue
            crops.append(Crop(root.name, record.path, index, dataset.classes[instance.label],
                              crop_window(instance.box, record.width, record.height, margin)))
    return crops


def choose(crops: list[Crop], min_crops: int, max_classes: int, max_ratio: float | None,
           per_class: int | None, seed: int) -> tuple[dict[str, list[Crop]], dict[str, int]]:
    """({class: its crops after selection}, {class: crops found}) for the classes kept: those with
    >= min_crops crops (the max_classes largest), each cut to max_ratio x the smallest kept class's
    count and to per_class (a sample seeded by seed and the class name, in a stable order)."""
    by_label: dict[str, list[Crop]] = defaultdict(list)
    for crop in crops:
        by_label[crop.label].append(crop)
    found = {label: len(items) for label, items in sorted(by_label.items(), key=lambda kv: (-len(kv[1]), kv[0]))}
    kept = [label for label, n in found.items() if n >= min_crops][:max_classes]
    if len(kept) < 2:
        raise SystemExit(f"Only {len(kept)} class(es) with at least {min_crops} crops ({_counts(found)}). "
                         "Expected 2 or more: lower --min-crops or --min-size.")
    cap = min(found[label] for label in kept)
    cap = math.ceil(max_ratio * cap) if max_ratio else None
    if per_class:
        cap = per_class if cap is None else min(cap, per_class)
    chosen = {}
    for label in sorted(kept):
        items = sorted(by_label[label], key=lambda c: (c.source, c.path, c.index))
        if cap is not None and len(items) > cap:
            items = random.Random(f"{seed}:{label}").sample(items, cap)
        chosen[label] = sorted(items, key=lambda c: (c.source, c.path, c.index))
    return chosen, found


def write_crops(sources: list[Path], out: Path, *, min_size: float = 24, margin: float = 0.1, min_crops: int = 20,
                max_classes: int = 4, max_ratio: float | None = 1.5, per_class: int | None = None, seed: int = 0,
                log=print) -> dict:
    """Write the folder-per-class crops dataset of `sources` (detection datasets) into `out`.

    Written into a temporary folder beside `out`, then renamed; a complete `out` made with the
    same settings is reused as it is. Returns its manifest (settings, {class: crops found},
    {class: crops written})."""
    from PIL import Image

    out = Path(out)
    settings = {"sources": [str(Path(s).resolve()) for s in sources], "min_size": min_size, "margin": margin,
                "min_crops": min_crops, "max_classes": max_classes, "max_ratio": max_ratio,
                "per_class": per_class, "seed": seed, "version": 1}
    done = _complete(out, settings)
    if done is not None:
        log(f"crops: reusing {out}")
        return done
    crops = [crop for source in sources for crop in find_crops(Path(source), min_size, margin)]
    chosen, found = choose(crops, min_crops, max_classes, max_ratio, per_class, seed)

    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    try:
        roots = {Path(s).name: Path(s) for s in sources}
        for label, items in chosen.items():
            (temp / label).mkdir(parents=True)
            for crop in items:
                with Image.open(roots[crop.source] / crop.path) as image:
                    image.crop(crop.box).convert("RGB").save(temp / label / crop.file_name, "JPEG", quality=95)
        manifest = {"settings": settings, "found": found,
                    "written": {label: len(items) for label, items in chosen.items()}}
        (temp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        try:
            os.rename(temp, out)
        except OSError:  # made meanwhile by another run with the same settings: use that one
            if _complete(out, settings) is None:
                raise
            shutil.rmtree(temp)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    log(f"crops: wrote {out}")
    return manifest


def _complete(out: Path, settings: dict) -> dict | None:
    """`out`'s manifest when it is a complete crops folder made with `settings`; None when `out` does not
    exist; an error when it holds something else (never overwritten)."""
    if not out.exists():
        return None
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        raise SystemExit(f"{out} exists but is not a crops folder made by this script (no {MANIFEST}). "
                         "Expected a new folder: give another --crops or remove it.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("settings") != settings:
        differ = sorted(k for k in settings if manifest.get("settings", {}).get(k) != settings[k])
        raise SystemExit(f"{out} holds crops made with other settings ({', '.join(differ)}). "
                         "Expected the same settings: give another --crops or remove it.")
    return manifest


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label} {n}" for label, n in counts.items())


def default_crops_folder(args) -> Path:
    cache = Path(os.environ.get("ZAZU_CACHE", Path.home() / ".cache" / "zazu"))
    tag = (f"min{args.min_size:g}-margin{args.margin:g}-crops{args.min_crops}-ratio{args.max_ratio:g}"
           f"-classes{args.max_classes}-seed{args.seed}" + (f"-quick{QUICK_PER_CLASS}" if args.quick else ""))
    return cache / "bench" / "real_crops" / tag


# ---------------------------------------------------------------- the searches


def setups(crops: Path, output: Path, args) -> list[tuple[str, dict]]:
    """(name, config) of the two searches: the defaults, then the from-scratch models with the
    defaults' max_trials, epochs and time budget."""
    from zazu.config import resolve_config

    common = {"seed": args.seed, "max_trials": args.max_trials, "epochs": args.epochs,
              "time_budget": args.time_budget}
    scratch_models, top_k = SCRATCH_MODELS, None
    if args.quick:  # one model per setup: the top-ranked one, and the first from-scratch one
        scratch_models, top_k = SCRATCH_MODELS[:1], 1
        common.update(max_trials=1, epochs=1,
                      export={"formats": ["int8"], "calibration_images": 8, "profile_runs": 1,
                              "edgetpu_compiler": False, "profile_trials": False})
    pretrained = resolve_config(overrides={"task": "classification", "data": {"home_path": str(crops)},
                                           "output": str(output / "pretrained"), "top_k": top_k, **common})
    same = {key: pretrained[key] for key in ("max_trials", "epochs", "time_budget")}
    scratch = resolve_config(overrides={"task": "classification", "data": {"home_path": str(crops)},
                                        "output": str(output / "scratch"), "models": scratch_models,
                                        **common, **same})
    for name, config in (("pretrained", pretrained), ("scratch", scratch)):
        # Zazu shares max_trials out among the models; a model left with 0 would get keras-tuner's
        # max_trials=0, which means no limit at all (trials until the time budget is spent).
        models = len(config["models"]) if config["models"] else config["top_k"]
        if config["max_trials"] < models:
            raise SystemExit(f"--max-trials {config['max_trials']} leaves a model of the {name} setup without "
                             f"a trial. Expected at least {models}, one per model searched.")
    return [("pretrained", pretrained), ("scratch", scratch)]


def run_setup(name: str, config: dict, verbose: bool) -> dict:
    from zazu.console import Reporter
    from zazu.errors import ZazuError
    from zazu.search.driver import run_search

    started = time.perf_counter()
    try:
        result = run_search(config, reporter=Reporter(quiet=not verbose))
    except ZazuError as e:  # e.g. no trial completed: the other setup still runs
        print(f"  {name}: {type(e).__name__}: {e}", flush=True)
        return {"setup": name, "error": str(e), "wall_seconds": time.perf_counter() - started,
                "run_dir": config["output"]}
    wall = time.perf_counter() - started
    run = result.run_dir
    export_json = run / "export" / "export.json"
    export = json.loads(export_json.read_text()) if export_json.is_file() else {}
    manifest = json.loads((run / "run.json").read_text())
    best = result.best
    return {"setup": name, "models": [m["name"] for m in manifest["models"]],
            "trials": sum(r["status"] == "COMPLETED" for r in result.ranked),
            "best_model": best["model"], "best_trial": best["trial_id"], "hyperparameters": best.get("hyperparameters"),
            "val_accuracy": best["metrics"].get("val_accuracy"),
            "int8_val_accuracy": export.get("metrics", {}).get("int8", {}).get("val_accuracy"),
            "wall_seconds": wall, "val_images": manifest["dataset"]["split"].get("val"),
            "train_images": manifest["dataset"]["split"].get("train"), "run_dir": str(run)}


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED,
                        help=f"the shared datasets folder holding {' and '.join(SOURCES)} (default: {SHARED})")
    parser.add_argument("--crops", type=Path, default=None, help="where the crops dataset goes (default: in the cache)")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder for the run folders pretrained/ and scratch/ "
                             "(default: runs/bench-real-crops-<time>)")
    parser.add_argument("--min-size", type=float, default=24, help="skip boxes smaller than this on a side (px)")
    parser.add_argument("--margin", type=float, default=0.1, help="added on each side, a fraction of the box's size")
    parser.add_argument("--min-crops", type=int, default=20, help="a class needs this many crops to be kept")
    parser.add_argument("--max-classes", type=int, default=4, help="keep at most this many classes (the largest)")
    parser.add_argument("--max-ratio", type=float, default=1.5,
                        help="cap every class at this times the smallest kept class's crops (0: no cap)")
    parser.add_argument("--seed", type=int, default=0, help="the crops' sampling and both searches")
    parser.add_argument("--max-trials", type=int, default=None, help="both setups (default: the config default)")
    parser.add_argument("--epochs", type=int, default=None, help="both setups (default: the config default)")
    parser.add_argument("--time-budget", type=float, default=None, help="minutes, both setups (default: auto)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_PER_CLASS} crops per class, one model per setup, 1 trial of 1 epoch, int8-only "
                        "export: a code-path check")
    parser.add_argument("--verbose", action="store_true", help="show Zazu's own progress lines")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    if args.min_size < 1 or args.margin < 0 or args.min_crops < 1 or args.max_classes < 2 or args.max_ratio < 0 \
            or args.seed < 0:
        parser.error("--min-size and --min-crops must be >= 1, --margin, --max-ratio and --seed >= 0, "
                     "--max-classes >= 2")
    if args.max_ratio and args.max_ratio < 1:
        parser.error(f"--max-ratio must be 0 (no cap) or >= 1. Received: {args.max_ratio:g}")
    for key in ("max_trials", "epochs"):
        if getattr(args, key) is not None and getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.time_budget is not None and args.time_budget <= 0:
        parser.error("--time-budget must be a positive number of minutes")
    missing = [args.shared / name for name in SOURCES if not (args.shared / name).is_dir()]
    if missing:
        parser.error(f"shared datasets not found: expected the folder{'s' * (len(missing) > 1)} "
                     f"{', '.join(map(str, missing))} (give the folder holding {' and '.join(SOURCES)} with --shared)")
    output = args.output or Path("runs") / f"bench-real-crops-{time.strftime('%Y%m%d-%H%M%S')}"
    taken = [output / name for name in ("pretrained", "scratch") if (output / name).exists()]
    if taken:
        parser.error(f"{taken[0]} already exists. Expected a new --output folder.")

    if not args.verbose:  # TensorFlow's retracing warnings and Keras's optimizer-reload notes
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
    crops = (args.crops or default_crops_folder(args)).resolve()
    started = time.perf_counter()
    manifest = write_crops([args.shared / name for name in SOURCES], crops, min_size=args.min_size,
                           margin=args.margin, min_crops=args.min_crops, max_classes=args.max_classes,
                           max_ratio=args.max_ratio or None, per_class=QUICK_PER_CLASS if args.quick else None,
                           seed=args.seed)
    print(f"crops of boxes >= {args.min_size:g} px, margin {args.margin:g}, from {args.shared} "
          f"({time.perf_counter() - started:.1f} s)")
    found = manifest["found"]
    small = {label: n for label, n in found.items() if n < 5}
    print(f"  found:   {_counts({k: n for k, n in found.items() if k not in small})}"
          + (f" (+{len(small)} classes with 1-4)" if small else ""))
    print(f"  written: {_counts(manifest['written'])}  -> {crops}")

    rows = []
    for name, config in setups(crops, output, args):
        models = ", ".join(config["models"]) if config["models"] else \
            f"ranked by priority {config['model_priority_space']}, top {config['top_k']}"
        print(f"{name}: {models}; max_trials {config['max_trials']}, epochs {config['epochs']}, "
              f"time budget {config['time_budget']} min, seed {config['seed']} -> {config['output']}", flush=True)
        rows.append({**run_setup(name, config, args.verbose), "classes": manifest["written"]})

    splits = [json.loads(path.read_text())["val"] if path.is_file() else None
              for path in (Path(row["run_dir"]) / "split.json" for row in rows)]
    same = "yes" if splits[0] is not None and splits[0] == splits[1] else "NO"
    print(f"\n{os.cpu_count()} CPUs; val split identical in both runs: {same}")
    header = (f"{'setup':<11}{'best model':<20}{'trials':>7}{'val acc':>9}{'int8 acc':>10}{'wall s':>9}"
              f"{'val imgs':>10}")
    print(header)
    print("-" * len(header))
    for row in rows:
        if "error" in row:
            print(f"{row['setup']:<11}failed: {row['error'][:120]}")
            continue
        print(f"{row['setup']:<11}{row['best_model'] + ' #' + str(row['best_trial']):<20}{row['trials']:>7}"
              f"{_fmt(row['val_accuracy'], '.3f'):>9}{_fmt(row['int8_val_accuracy'], '.3f'):>10}"
              f"{row['wall_seconds']:>9.0f}{_fmt(row['val_images'], 'd'):>10}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 1 if any("error" in row for row in rows) or same == "NO" else 0


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    sys.exit(main())
