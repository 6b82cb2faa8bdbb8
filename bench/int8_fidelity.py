"""What int8 costs each zoo model, before and after quantization-aware fine-tuning, over several seeds.

Each (model, dataset, seed) is one `python main.py train --model M --data SET --seed S --epochs E` in a
subprocess, with an int8-only export and `export.quantization_aware` as given (default `auto`: fine-tune
when post-training int8 costs more than the task's bar). The row is read back from the trial's trial.json:
the float objective, the post-training int8 one and its drop; the method that ships, and the float and int8
objective of what ships and its drop (when the fine-tuned model ships, its own float: what of a gain is more
training), and the seconds fine-tuning took. A run folder already holding a completed trial is read, not
trained again (so a long bench can be restarted). A model's summary line gives its largest drop over the seeds before
and after, against the task's bar (`zazu.tasks.Task.int8_drop_bar`: 0.01 accuracy, 0.02 mAP).

Datasets (`--sets`): crops (object crops of ../shared/datasets' photos, bench/real_crops.py), digits
(scikit-learn's 8x8 digits as PNGs), raccoon (../shared/datasets/raccoon), the embedded synthetic sets
(embedded-detection, embedded-segmentation), and ci-shapes (the test suite's segmenter run: 120 shapes images
of 128 px, 10 epochs, backbone frozen; its epochs and hyperparameters are the test's, not --epochs). Each model
runs on the sets of its task given in --sets. For a task whose objective has a 50 variant (mAP50), its
float - int8 per seed is printed under the summary.

    python bench/int8_fidelity.py [--models efficientnet_lite0,retinanet_lite,protonet_lite] [--seeds 0,1,2]
                                  [--sets crops,digits,raccoon,embedded-segmentation] [--epochs 6]
                                  [--quantization-aware auto|never|always] [--output DIR] [--json rows.json]
    python bench/int8_fidelity.py --quick     # tiny_cnn on 40 digits, 1 epoch, 1 seed: a code-path check
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

DEFAULT_MODELS = "efficientnet_lite0,retinanet_lite,protonet_lite"
DEFAULT_SETS = "crops,digits,raccoon,embedded-segmentation"
SET_TASKS = {"crops": "classification", "digits": "classification", "raccoon": "detection",
             "embedded-detection": "detection", "embedded-segmentation": "instance_segmentation",
             "ci-shapes": "instance_segmentation"}
# ci-shapes: the test suite's segmenter run (tests/test_learning.py: 120 shapes images of 128 px, 30% val, 10
# epochs with the backbone frozen, batch 16, no augmentation), whose int8 bar is 0.03 of mask mAP50
CI_SHAPES_FLAGS = ["--input-size", "128", "--hp", "fine_tune_blocks=0", "--hp", "freeze_epochs=10", "--hp",
                   "learning_rate=0.003", "--batch-size", "16", "--no-augment"]


def dataset_folder(name: str, work: Path, quick: bool) -> Path | None:
    """The folder of dataset `name`, made under `work` when it is generated (None: the embedded set)."""
    if name == "raccoon":
        return SHARED / "raccoon"
    if name == "ci-shapes":
        from zazu.data.synthetic import write_instances_dataset

        folder = work / "ci-shapes"
        if not folder.exists():
            write_instances_dataset(folder, images=120, size=128, seed=13, max_shapes=2, with_polygons=True)
        return folder
    if name.startswith("embedded-"):
        return None
    if name == "digits":
        from vs_keras_tuner import write_digits

        folder = work / ("digits-quick" if quick else "digits")
        if not folder.exists():
            write_digits(folder, limit=40 if quick else None)
        return folder
    if name == "crops":
        from real_crops import write_crops

        folder = work / "crops"
        write_crops([SHARED / "raccoon", SHARED / "tiny_coco"], folder, min_size=16, max_ratio=2.0,
                    log=lambda *a, **k: None)
        return folder
    raise SystemExit(f"--sets: unknown set {name!r}. Expected some of: {', '.join(SET_TASKS)}")


def run_one(model: str, data: Path | None, seed: int, epochs: int, when: str, output: Path, quick: bool,
            extra: list[str] = ()) -> dict:
    """Train one model once; its row from trial.json."""
    config = output.with_suffix(".yaml")
    config.write_text("export: {formats: [int8], edgetpu_compiler: false, profile_runs: 5, "
                      f"quantization_aware: {when}" + (", calibration_images: 8" if quick else "") + "}\n"
                      + ("val_split: 0.3\n" if "--no-augment" in extra else ""))
    command = [sys.executable, str(REPO / "main.py"), "train", "--model", model, "--seed", str(seed),
               "--epochs", str(epochs), "--config", str(config), "--output", str(output)]
    if data is not None:
        command += ["--data", str(data)]
    if quick:
        command += ["--input-size", "32", "--batch-size", "8"]
    command += list(extra)
    started = time.perf_counter()
    if not _completed(output):  # a finished run of an earlier bench is read, not run again
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            return {"model": model, "seed": seed, "error": (done.stdout + done.stderr).strip().splitlines()[-1:]}
    wall = time.perf_counter() - started
    row = read_row(output)
    return {**row, "model": model, "seed": seed, "wall_s": round(wall, 1)}


def _completed(output: Path) -> bool:
    trials = list((output / "trials").glob("*/trial.json")) if output.is_dir() else []
    return len(trials) == 1 and json.loads(trials[0].read_text()).get("status") == "COMPLETED"


def read_row(output: Path) -> dict:
    """The row of a one-trial run folder: post-training float and int8, what ships and its float and int8.
    (Records of Zazu before float metrics followed the fine-tuned model kept its post-training ones and a
    dict of fine-tuned ones: read too.)"""
    from zazu.tasks import get_task

    (trial,) = (output / "trials").glob("*/trial.json")
    record = json.loads(trial.read_text())
    task = get_task(record["model_specs"]["task"])
    objective = task.objective
    tried = record.get("int8_fine_tune") or {}
    int8 = record.get("int8_metrics", {})
    kept = bool(tried.get("kept"))
    float_post = tried.get("float_post_training", record["metrics"][objective] if not kept or
                           isinstance(tried.get("float_fine_tuned"), dict) else None)
    float_tuned = old_tuned = tried.get("float_fine_tuned")
    if isinstance(float_tuned, dict):
        float_tuned = float_tuned.get(objective)
    float_shipped = record["metrics"][objective] if not kept or "float_post_training" in tried else float_tuned
    drop_post = tried.get("int8_drop_post_training", record.get("int8_drop"))
    at50 = objective + "50" if objective + "50" in int8 else None
    return {"objective": objective, "bar": task.int8_drop_bar, "float": float_post,
            "int8_post_training": float_post - drop_post, "drop_post_training": drop_post,
            "method": record.get("int8_method"), "float_shipped": float_shipped, "int8": int8.get(objective),
            "drop": float_shipped - int8.get(objective), "float_fine_tuned": float_tuned,
            "fine_tune_s": tried.get("seconds"), "fine_tune_kept": tried.get("kept"),
            "epochs": record["metrics"].get("epochs_trained"),
            "at50": at50, "int8_50": int8.get(at50),
            "float50": old_tuned.get(at50) if kept and isinstance(old_tuned, dict) else record["metrics"].get(at50)}


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every int8 bench takes: which models, sets and seeds, and where the runs go."""
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--sets", default=DEFAULT_SETS)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--output", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")


def bench_runs(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Each (model, set, seed) to run, in order: (model, set name, its data folder, seed, epochs, extra flags,
    run folder). `--quick`: tiny_cnn on 40 digits, 1 epoch, 1 seed."""
    if args.quick:
        args.models, args.sets, args.seeds, args.epochs = "tiny_cnn", "digits", "0", 1
    from zazu.registry import Registry

    registry = Registry.load()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    for name in sets:
        if name not in SET_TASKS:
            parser.error(f"--sets: unknown set {name!r}. Expected some of: {', '.join(SET_TASKS)}")
    work = args.output or Path(tempfile.mkdtemp(prefix=f"zazu-{parser.prog.removesuffix('.py')}-"))
    work.mkdir(parents=True, exist_ok=True)
    for model in models:
        task = registry.get(model).task
        for name in [s for s in sets if SET_TASKS[s] == task]:
            data = dataset_folder(name, work, args.quick)
            for seed in seeds:
                epochs, extra = (10, CI_SHAPES_FLAGS) if name == "ci-shapes" else (args.epochs, [])
                yield model, name, data, seed, epochs, extra, work / f"{model}-{name}-seed{seed}"


def completed_groups(rows: list[dict]):
    """(model, set, its rows that completed) for each model and set, in the order they ran."""
    for model, name in dict.fromkeys((r["model"], r["set"]) for r in rows):
        mine = [r for r in rows if (r["model"], r["set"]) == (model, name) and "error" not in r]
        if mine:
            yield model, name, mine


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_bench_arguments(parser)
    parser.add_argument("--quantization-aware", default="auto", choices=("auto", "never", "always"))
    args = parser.parse_args(argv)
    rows = []
    print(f"{'':<20} {'':<22} {'':>4} {'post-training':^24} {'':<18} {'shipped':^24}")
    print(f"{'model':<20} {'set':<22} {'seed':>4} {'float':>7} {'int8':>8} {'drop':>7} {'method':<18} "
          f"{'float':>7} {'int8':>7} {'drop':>8} {'QAT s':>6} {'wall s':>7}", flush=True)
    for model, name, data, seed, epochs, extra, output in bench_runs(parser, args):
        row = run_one(model, data, seed, epochs, args.quantization_aware, output, args.quick, extra)
        row["set"] = name
        rows.append(row)
        print(_line(row), flush=True)
    print()
    for model, name, mine in completed_groups(rows):
        before = max(r["drop_post_training"] for r in mine)
        after = max(r["drop"] for r in mine)
        bar = mine[0]["bar"]
        print(f"{model} on {name}: largest drop over {len(mine)} seeds {before:+.4f} post-training, {after:+.4f} "
              f"shipped (bar {bar}): {'within' if after <= bar else 'OVER'} the bar")
        if mine[0]["at50"]:
            drops = [r["float50"] - r["int8_50"] for r in mine]
            print(f"  {mine[0]['at50']}: float - shipped int8 per seed {', '.join(f'{d:+.4f}' for d in drops)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def _line(row: dict) -> str:
    if "error" in row:
        return f"{row['model']:<20} {row['set']:<22} {row['seed']:>4} failed: {row['error']}"
    qat = "" if row["fine_tune_s"] is None else f"{row['fine_tune_s']:.0f}"
    return (f"{row['model']:<20} {row['set']:<22} {row['seed']:>4} {row['float']:>7.4f} "
            f"{row['int8_post_training']:>8.4f} {row['drop_post_training']:>+7.4f} {row['method']:<18} "
            f"{row['float_shipped']:>7.4f} {row['int8']:>7.4f} {row['drop']:>+8.4f} {qat:>6} {row['wall_s']:>7.0f}")


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")
    sys.exit(main())
