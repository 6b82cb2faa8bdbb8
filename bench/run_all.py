"""Regenerate every figure in the README's Performance section, one command after another (never two
at once: they would share the 2 cores), and print them as the README shows them.

    python bench/run_all.py                      # everything: about 2.5 h on 2 cores (1.5 h of it training_feed),
                                                 # plus the detection search on the dense set (dense_detection)
    python bench/run_all.py --only jobs          # the default-job table only
    python bench/run_all.py --only latency,serve
    python bench/run_all.py --quick              # every command in its quick form: a code-path check

Default jobs are `python main.py ...` exactly as a user types them (into a temporary run folder);
their row is read back from the run's best_trial.json and export/export.json. Bench scripts print
their own tables, shown as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

# name -> (`python main.py` arguments as the README shows them, run from the repository; its objective)
JOBS = {
    "classification": (["--task", "classification"], "val_accuracy"),
    "detection": (["--task", "detection"], "val_mAP50"),
    "instance_segmentation": (["--task", "instance_segmentation"], "val_mask_mAP50"),
    "raccoon": (["--task", "detection", "--data", "../shared/datasets/raccoon"], "val_mAP50"),
}
JOB_QUICK = ["--max-trials", "1", "--epochs", "1"]
BENCHES = {
    "real_crops": ["--min-size", "16", "--max-ratio", "2"],
    "vs_keras_tuner": [],
    "latency": [],
    "input_pipeline": [],
    "training_feed": [],
    "augment_ops": [],
    "serve": ["--workers", "1,2"],
    "edgetpu_estimate": [],
    "dense_detection": [],
    "fault_sweep": [],
    "int8_fidelity": [],
    "weight_rounding": [],
}
GROUPS = {"jobs": list(JOBS), **{name: [name] for name in [*JOBS, *BENCHES]}}


def job_row(name: str, run_dir: Path, seconds: float) -> dict:
    """The README table's row for a finished default job, from its run folder."""
    objective = JOBS[name][1]
    best = json.loads((run_dir / "best_trial.json").read_text())
    export = json.loads((run_dir / "export" / "export.json").read_text())
    hp = best.get("hyperparameters", {})
    int8 = export["metrics"]["int8"]
    int8_file = Path(export["files"]["int8"])
    return {"name": name, "seconds": seconds, "model": best["model"], "input_size": hp.get("input_size"),
            "epochs": best["metrics"].get("epochs_trained"), "objective": objective,
            "best": best["metrics"][objective], "int8": int8[objective],
            "int8_kib": int8_file.stat().st_size / 1024 if int8_file.exists() else None}


def format_job_row(row: dict) -> str:
    minutes, seconds = divmod(round(row["seconds"]), 60)
    kib = f", {row['int8_kib']:.0f} KiB" if row["int8_kib"] is not None else ""
    return (f"| `python main.py {' '.join(JOBS[row['name']][0])}` "
            f"| {minutes} m {seconds:02d} s | `{row['objective']}` {row['best']:.3f} ({row['model']}, "
            f"{row['input_size']} px, {row['epochs']:.0f} epochs) | {row['int8']:.3f}{kib} |")


def variants_table(run_dir: Path) -> str:
    """The README's "what ships" table: every exported variant of a finished job, scored on the same
    validation images, with its file size, LiteRT latency and peak activation memory."""
    export = json.loads((run_dir / "export" / "export.json").read_text())
    objective, profile = export["objective"], export.get("profile", {})
    lines = [f"| variant | {objective} | file | latency p50 / p90 | peak activations |",
             "| --- | --- | --- | --- | --- |"]
    for variant, metrics in export["metrics"].items():
        path = Path(export["files"][variant])
        size = sum(f.stat().st_size for f in path.rglob("*")) if path.is_dir() else path.stat().st_size
        timing = profile.get(variant)
        latency = (f"{timing['latency_median_ms']:.2f} / {timing['latency_p90_ms']:.2f} ms" if timing else "-")
        peak = f"{timing['peak_activation_bytes'] / 1024:.0f} KiB" if timing else "-"
        lines.append(f"| {variant} | {metrics[objective]:.4f} | {size / 1024:.0f} KiB | {latency} | {peak} |")
    return "\n".join(lines) + f"\n({export['val_images']} validation images; {export['model']}, trial {export['trial_id']})"


def run_job(name: str, quick: bool, folder: Path) -> str:
    run_dir = folder / f"run-{name}"
    argv = [sys.executable, str(REPO / "main.py"), *JOBS[name][0], "--output", str(run_dir),
            *(JOB_QUICK if quick else [])]
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        return f"| {name} | failed (exit {result.returncode}): {result.stdout.strip().splitlines()[-1:]} | | |"
    return format_job_row(job_row(name, run_dir, seconds))


def run_bench(name: str, quick: bool) -> tuple[int, str]:
    argv = [sys.executable, str(REPO / "bench" / f"{name}.py"), *(["--quick"] if quick else BENCHES[name])]
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    return result.returncode, result.stdout + (result.stderr[-2000:] if result.returncode else "")


def machine_line() -> str:
    """Where the figures come from: the commit, the CPU (int8 kernels differ most between CPUs) and the date."""
    from zazu.search.code_record import code_record  # the commit a run records, None outside a checkout

    commit = code_record()["git_commit"]
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text(errors="replace").splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
        simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f in flags]
        cpu = f"{names[0] if names else 'CPU'} ({', '.join(simd) or 'no AVX2'})"
    return (f"# at {commit[:7] if commit else 'no git commit'}, {time.strftime('%Y-%m-%d %H:%M')}, "
            f"{os.cpu_count()} CPUs, {cpu}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help=f"comma-separated: {', '.join(GROUPS)}")
    parser.add_argument("--quick", action="store_true", help="every command's quick form: a code-path check")
    args = parser.parse_args(argv)
    wanted = [*JOBS, *BENCHES]
    if args.only:
        unknown = [g for g in args.only.split(",") if g not in GROUPS]
        if unknown:
            parser.error(f"--only: unknown {', '.join(unknown)}. Expected some of: {', '.join(GROUPS)}")
        chosen = {n for g in args.only.split(",") for n in GROUPS[g]}
        wanted = [n for n in wanted if n in chosen]

    failed = 0
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="zazu-run-all-") as folder:
        jobs = [n for n in wanted if n in JOBS]
        if jobs:
            print("| command | wall time | best trial | int8 export |\n| --- | --- | --- | --- |", flush=True)
            for name in jobs:
                line = run_job(name, args.quick, Path(folder))
                failed += "failed (exit" in line
                print(line, flush=True)
            if "classification" in jobs and (Path(folder) / "run-classification" / "export").is_dir():
                print("\nWhat ships, `python main.py --task classification`:\n"
                      + variants_table(Path(folder) / "run-classification"), flush=True)
        for name in (n for n in wanted if n in BENCHES):
            command = f"python bench/{name}.py {' '.join(['--quick'] if args.quick else BENCHES[name])}".strip()
            print(f"\n$ {command}", flush=True)
            code, output = run_bench(name, args.quick)
            failed += code != 0
            print(output.rstrip(), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
