"""Int8 weight rounding side by side: each trained model converted with the converter's nearest rounding and
with the rounding chosen against the calibration images (`export.weight_rounding`), both bias-corrected.

Each (model, dataset, seed) is trained once as `bench/int8_fidelity.py` trains it, with
`export.quantization_aware: never` (the post-training model is what is compared), then exported twice as int8,
`python main.py export RUN --formats int8 --weight-rounding nearest|calibrated`; the row is read from each
export.json: the float objective, each int8 objective and its drop, and the seconds each int8 conversion took
(the calibrated one includes choosing the rounding). A run folder already holding a completed trial is read, not
trained again. A model's summary line gives its largest drop over the seeds with each rounding, against the
task's bar (0.01 accuracy, 0.02 mAP).

    python bench/weight_rounding.py [--models efficientnet_lite0,retinanet_lite,protonet_lite] [--seeds 0,1,2]
                                    [--sets crops,digits,raccoon,embedded-segmentation] [--epochs 6]
                                    [--output DIR] [--json rows.json]
    python bench/weight_rounding.py --quick     # tiny_cnn on 40 digits, 1 epoch, 1 seed: a code-path check
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from int8_fidelity import REPO, add_bench_arguments, bench_runs, completed_groups, run_one

ROUNDINGS = ("nearest", "calibrated")


def export_int8(run: Path, rounding: str) -> dict:
    """The run's trial exported as int8 with `rounding`: float and int8 objective, the int8 conversion's seconds."""
    out = run / f"export-{rounding}"
    if not (out / "export.json").exists():
        done = subprocess.run([sys.executable, str(REPO / "main.py"), "export", str(run), "--formats", "keras,int8",
                               "--weight-rounding", rounding, "--output", str(out)],
                              cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": (done.stdout + done.stderr).strip().splitlines()[-1:]}
    info = json.loads((out / "export.json").read_text())
    return {"float": info["metrics"]["keras"], "int8": info["metrics"]["int8"],
            "seconds": info["conversion_seconds"]["int8"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_bench_arguments(parser)
    args = parser.parse_args(argv)
    from zazu.registry import Registry
    from zazu.tasks import get_task

    registry = Registry.load()
    rows = []
    print(f"{'':<20} {'':<22} {'':>4} {'':>7} {'nearest':^24} {'calibrated':^24}")
    print(f"{'model':<20} {'set':<22} {'seed':>4} {'float':>7} {'int8':>7} {'drop':>8} {'convert s':>8} "
          f"{'int8':>7} {'drop':>8} {'convert s':>8}", flush=True)
    for model, name, data, seed, epochs, extra, run in bench_runs(parser, args):
        task = get_task(registry.get(model).task)
        trained = run_one(model, data, seed, epochs, "never", run, args.quick, extra)
        row = {"model": model, "set": name, "seed": seed, "objective": task.objective, "bar": task.int8_drop_bar}
        if "error" in trained:
            row["error"] = trained["error"]
        else:
            row.update({rounding: export_int8(run, rounding) for rounding in ROUNDINGS})
            failed = [row[r]["error"] for r in ROUNDINGS if "error" in row[r]]
            if failed:
                row["error"] = failed[0]
        rows.append(row)
        print(_line(row), flush=True)
    print()
    for model, name, mine in completed_groups(rows):
        bar = mine[0]["bar"]
        worst = {rounding: max(_drop(r, rounding) for r in mine) for rounding in ROUNDINGS}
        print(f"{model} on {name}: largest drop over {len(mine)} seeds " + ", ".join(
            f"{worst[r]:+.4f} {r} ({'within' if worst[r] <= bar else 'OVER'} the bar {bar})" for r in ROUNDINGS))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def _drop(row: dict, rounding: str) -> float:
    objective = row["objective"]
    return row[rounding]["float"][objective] - row[rounding]["int8"][objective]


def _line(row: dict) -> str:
    if "error" in row:
        return f"{row['model']:<20} {row['set']:<22} {row['seed']:>4} failed: {row['error']}"
    objective = row["objective"]
    cells = "".join(f" {row[r]['int8'][objective]:>7.4f} {_drop(row, r):>+8.4f} {row[r]['seconds']:>8.1f}"
                    for r in ROUNDINGS)
    return f"{row['model']:<20} {row['set']:<22} {row['seed']:>4} {row['nearest']['float'][objective]:>7.4f}{cells}"


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")
    sys.exit(main())
