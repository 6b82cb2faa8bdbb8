"""Zazu's default classification job against the keras-tuner script a user would write, side by side.

On each real classification set we have, one after the other:

- zazu: `python main.py --task classification --data SET` with the defaults (through the Python API,
  so the wall time counts the whole job: trials, export, report);
- script: the plain keras-tuner RandomSearch over a small CNN below (what a user writes in twenty
  lines: images loaded at 32 px, filters / dense units / dropout / learning rate searched, 5 epochs a
  trial), on exactly Zazu's train/val split, given the same wall time as Zazu's whole job (trials
  keep starting until it is spent).

Sets: scikit-learn's digits (1797 8x8 greyscale images written as PNGs) and object crops of the
real photos in ../shared/datasets (bench/real_crops.py's dataset, `--min-size 16 --max-ratio 2`).
The table gives each side's best val_accuracy, Zazu's int8 export's, the wall times and trials, and
the verdicts: Zazu's best trial against the script's, and Zazu's int8 export against the script's
(float) model, counted in correctly classified validation images.

    python bench/vs_keras_tuner.py [--sets digits,crops] [--output DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))  # run from a checkout without installing
SHARED = BENCH.parent.parent / "shared" / "datasets"
SCRIPT_SIZE = 32
SCRIPT_EPOCHS = 5


def write_digits(root: Path, limit: int | None = None) -> Path:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for k, (image, label) in enumerate(zip(digits.images[:limit], digits.target[:limit])):
        folder = root / f"digit_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((image * 16).clip(0, 255).astype(np.uint8), mode="L").save(folder / f"{k:04d}.png")
    return root


def write_object_crops(root: Path, quick: bool) -> Path:
    sys.path.insert(0, str(BENCH))
    from real_crops import QUICK_PER_CLASS, write_crops

    write_crops([SHARED / "raccoon", SHARED / "tiny_coco"], root, min_size=16, max_ratio=2.0,
                per_class=QUICK_PER_CLASS if quick else None, log=lambda *a, **k: None)
    return root


# ---------------------------------------------------------------- the script a user would write

def build_model(hp, num_classes: int):
    import keras

    model = keras.Sequential([keras.Input((SCRIPT_SIZE, SCRIPT_SIZE, 3)), keras.layers.Rescaling(1 / 255)])
    for i in range(hp.Int("blocks", 2, 3)):
        model.add(keras.layers.Conv2D(hp.Choice(f"filters_{i}", [16, 32, 64]), 3, padding="same", activation="relu"))
        model.add(keras.layers.MaxPooling2D())
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(hp.Choice("units", [64, 128]), activation="relu"))
    model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.25)))
    model.add(keras.layers.Dense(num_classes, activation="softmax"))
    model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_split(run_dir: Path, side: str) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    split = json.loads((run_dir / "split.json").read_text())
    root = Path(split["dataset"])
    images = np.stack([np.asarray(Image.open(root / p).convert("RGB").resize((SCRIPT_SIZE, SCRIPT_SIZE)),
                                  np.float32) for p in split[side]])
    labels = np.asarray([split["classes"].index(p.split("/")[0]) for p in split[side]])
    return images, labels


def run_script(run_dir: Path, seconds: float, folder: Path, max_trials: int = 1000) -> dict:
    """RandomSearch, one trial after another, until `seconds` of wall time are spent (at least one)."""
    import keras_tuner

    started = time.perf_counter()
    (x, y), (vx, vy) = load_split(run_dir, "train"), load_split(run_dir, "val")
    classes = int(max(y.max(), vy.max())) + 1
    tuner = keras_tuner.RandomSearch(lambda hp: build_model(hp, classes), objective="val_accuracy",
                                     max_trials=1, seed=0, directory=str(folder), project_name="script")
    while not tuner.oracle.trials or (time.perf_counter() - started < seconds
                                      and len(tuner.oracle.trials) < max_trials):
        tuner.oracle.max_trials = len(tuner.oracle.trials) + 1
        tuner.search(x, y, epochs=SCRIPT_EPOCHS, validation_data=(vx, vy), verbose=0)
    best = tuner.oracle.get_best_trials(1)[0]
    return {"val_accuracy": best.score, "trials": len(tuner.oracle.trials),
            "wall_seconds": time.perf_counter() - started, "val_images": len(vy)}


# ---------------------------------------------------------------- both sides

def run_zazu(data: Path, output: Path, quick: bool) -> dict:
    from zazu.config import resolve_config
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    overrides = {"task": "classification", "data": {"home_path": str(data)}, "output": str(output)}
    if quick:
        overrides.update(models=["tiny_cnn"], max_trials=1, epochs=1,
                         export={"formats": ["int8"], "calibration_images": 8, "profile_runs": 1,
                                 "edgetpu_compiler": False, "profile_trials": False})
    started = time.perf_counter()
    result = run_search(resolve_config(overrides=overrides), reporter=Reporter(quiet=True))
    export = json.loads((result.run_dir / "export" / "export.json").read_text())
    return {"model": result.best["model"], "val_accuracy": result.best["metrics"]["val_accuracy"],
            "int8": export["metrics"]["int8"]["val_accuracy"], "trials": len(result.ranked),
            "wall_seconds": time.perf_counter() - started, "run_dir": result.run_dir}


def verdict(zazu: float, script: float, images: int) -> str:
    """Who wins on the same `images` validation images: `zazu`, `script` or `tie`. Compared as counts of
    correct images: Keras reports accuracy in float32 and keras-tuner in float64, so the same count
    reads 0.99721449 on one side and 0.99721448 on the other."""
    zazu_correct, script_correct = round(zazu * images), round(script * images)
    return "zazu" if zazu_correct > script_correct else ("tie" if zazu_correct == script_correct else "script")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="digits,crops", help="comma-separated: digits, crops")
    parser.add_argument("--output", type=Path, default=None, help="run folders (default: a temporary folder)")
    parser.add_argument("--quick", action="store_true",
                        help="200 digits only, tiny_cnn 1 trial of 1 epoch against 1 script trial: a code-path check")
    args = parser.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",")]
    if set(sets) - {"digits", "crops"}:
        parser.error(f"--sets: expected digits and/or crops. Received: {args.sets}")
    if args.quick:
        sets = ["digits"]

    with tempfile.TemporaryDirectory(prefix="zazu-vs-kt-") as scratch:
        output = args.output or Path(scratch)
        header = (f"{'set':<8}{'val imgs':>9}  {'zazu (model)':<28}{'int8':>7}{'wall':>8}{'trials':>7}   "
                  f"{'script':>7}{'wall':>8}{'trials':>7}   winner  int8 vs script")
        print(header)
        print("-" * len(header))
        for name in sets:
            data = output / f"data-{name}"
            if name == "digits":
                write_digits(data, 200 if args.quick else None)
            else:
                write_object_crops(data, args.quick)
            zazu = run_zazu(data, output / f"zazu-{name}", args.quick)
            script = run_script(zazu["run_dir"], 0 if args.quick else zazu["wall_seconds"],
                                output / f"script-{name}", max_trials=1 if args.quick else 1000)
            winner, int8_winner = (verdict(zazu[key], script["val_accuracy"], script["val_images"])
                                   for key in ("val_accuracy", "int8"))
            print(f"{name:<8}{script['val_images']:>9}  {zazu['val_accuracy']:.3f} ({zazu['model']})"
                  f"{'':<{max(0, 20 - len(zazu['model']))}}{zazu['int8']:>7.3f}{zazu['wall_seconds']:>7.0f}s"
                  f"{zazu['trials']:>7}   {script['val_accuracy']:>7.3f}{script['wall_seconds']:>7.0f}s"
                  f"{script['trials']:>7}   {winner:<8}{int8_winner}", flush=True)
    return 0


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    sys.exit(main())
