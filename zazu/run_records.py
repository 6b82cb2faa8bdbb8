"""The run folder: where every record of a search lives, and how it is written.

    <run>/config.yaml           resolved config
    <run>/run.json              manifest and progress: dataset fingerprint, the models in search
                                order with their trial shares and status, one entry per session
    <run>/dataset.json          the checked dataset records every trial reads
    <run>/split.json            which images are train / val (same for every trial)
    <run>/data_fit.json         detection / segmentation: the boxes' statistics and what was fitted to them
    <run>/models/               the searched models' models.json entries and adapter folders
                                (a zoo folder: `zoo: <run>/models` reruns exactly this code)
    <run>/tuner/<model>/        keras-tuner's own oracle state, one project per model (oracle.json and
                                oracle.last-good.json, the copy a resume falls back on; trial_<id>/, tuner0.json)
    <run>/costs/                with a device budget: each architecture's int8 cost measured before training
    <run>/trials/<model>-<id>/  trial.json (its TrialStatus, inputs, metrics, int8 metrics and cost),
                                hyperparameters.json, log.txt, history.csv, tensorboard/, labels.json;
                                completed: model.keras (best epoch only, or its int8 fine-tuned version when
                                that ships), metrics.json, profile.json (its int8
                                model scored and measured), final_state.json, per_class_ap.json (detection,
                                segmentation: AP per class and by size); failed: traceback.txt; while
                                training: resume/ (the last epoch's resume point); int8_layers.json
                                (`zazu export --explain-int8`, or the search when int8 is over the bar)
    <run>/workers/worker-<i>.log output of each local worker process (parallel search)
    <run>/leaderboard.csv, best_trial.json, pareto.json
    <run>/export/               the winner: model.keras, saved_model/, model_{float32,float16,dynamic,int8}.tflite,
                                labels.txt, metadata.json, export.json (every variant scored), profile.json,
                                edgetpu_report.json, predictions/ (drawn on val images)
    <run>/report.html, report/  `zazu report`'s page and its plots
    <run>/zazu.log              TensorFlow's, Keras's and LiteRT's own output (zazu.library_log)
    <run>/.zazu.lock            held by the one process using the folder (zazu.run_lock)

Files that matter are written atomically (`zazu.atomic_io`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path
from typing import Any

from zazu.atomic_io import atomic_write_json, atomic_write_text, read_json
from zazu.run_lock import LOCK_FILE
from zazu.trial_status import FINAL_STATUSES, TrialStatus


RUN_MARKERS = ("config.yaml", "run.json", "trials", "tuner")


def check_output_free(output: str | None, dataset: str | None = None) -> None:
    """A new run writes only into a new or empty folder: never over another run (its oracle state
    would be picked up), over files that are not a run's, nor inside the dataset."""
    from zazu.errors import ConfigError

    if not output:
        return
    path = Path(output)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"`output` names a file. Expected a new or empty folder for the run. Received: output={output}")
    if path.is_dir() and any((path / m).exists() for m in RUN_MARKERS):
        raise ConfigError(f"`output` already holds a run. Expected a new or empty folder; resume that run with "
                          f"`zazu search --resume {output}`. Received: output={output}")
    if path.is_dir() and any(p.name != LOCK_FILE for p in path.iterdir()):
        raise ConfigError(f"`output` holds files that are not a Zazu run; the run would overwrite some of them. "
                          f"Expected a new or empty folder. Received: output={output}")
    existing = next((p for p in [path, *path.absolute().parents] if p.exists()), None)
    if existing is not None and existing != path and (not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK)):
        what = "a file" if not existing.is_dir() else "a folder this user cannot write"
        raise ConfigError(f"`output` cannot be made: {existing} is {what}. Expected a new or empty folder in a place "
                          f"this user can write. Received: output={output}")
    if dataset and (path.resolve() == Path(dataset).resolve() or Path(dataset).resolve() in path.resolve().parents):
        raise ConfigError(f"`output` is inside the dataset folder {dataset}: the run's files would become part of "
                          f"the dataset. Expected a folder outside it. Received: output={output}")


def new_run_dir(task: str, output: str | None) -> Path:
    if output:
        run_dir = Path(output)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = Path("runs") / f"{stamp}-{task}"
        n = 1
        while run_dir.exists():
            n += 1
            run_dir = Path("runs") / f"{stamp}-{task}-{n}"
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir.resolve()


def trial_dir(run_dir: Path, model: str, trial_id: str) -> Path:
    return Path(run_dir) / "trials" / f"{model}-{trial_id}"




def read_trial_record(folder: Path) -> dict[str, Any] | None:
    """A trial folder's trial.json, or None if the trial never got that far."""
    path = Path(folder) / "trial.json"
    return read_json(path) if path.is_file() else None


def load_trial_records(run_dir: Path) -> list[dict[str, Any]]:
    """Every trial.json under <run>/trials, oldest first."""
    records = []
    for path in sorted((Path(run_dir) / "trials").glob("*/trial.json")):
        records.append(read_json(path))
    records.sort(key=lambda r: r.get("started_at", 0))
    return records


def shipped_value(record: dict[str, Any], objective: str) -> float | None:
    """The objective of what ships: the trial's int8 model when it was scored, else its float model."""
    int8 = (record.get("int8_metrics") or {}).get(objective)
    return int8 if int8 is not None else (record.get("metrics") or {}).get(objective)


def chosen_by(record: dict[str, Any], objective: str) -> str:
    """Which metric ranked a trial: 'int8 val_accuracy' or 'float val_accuracy'."""
    return f"{'int8' if (record.get('int8_metrics') or {}).get(objective) is not None else 'float'} {objective}"


def budget_cost(record: dict[str, Any]) -> dict[str, Any] | None:
    """The figures a trial's budget is judged on: its trained int8 model's (what ships), else the ones
    measured before training (an OVER_BUDGET trial has no other)."""
    return record.get("cost") or record.get("cost_before_training")


def rank_trials(records: list[dict[str, Any]], objective: str, direction: str,
                target: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Best first: completed trials within the budget by their shipped (int8) objective; then completed ones
    the budget cannot vouch for (over it after all, or never measured); then OVER_BUDGET ones, closest to
    the budget first; then failed and unfinished ones. Without a budget every completed trial is within it."""
    from zazu.budget import budget_excess, has_budget, over_budget

    budgeted = target is not None and has_budget(target)

    def fits(record) -> bool:
        cost = budget_cost(record)
        return not budgeted or (cost is not None and not over_budget(target, cost))

    done = [r for r in records if r["status"] == TrialStatus.COMPLETED and shipped_value(r, objective) is not None]
    done.sort(key=lambda r: shipped_value(r, objective), reverse=(direction == "max"))
    within = [r for r in done if fits(r)]
    unvouched = [r for r in done if not fits(r)]
    over = [r for r in records if r["status"] == TrialStatus.OVER_BUDGET]
    if budgeted:
        over.sort(key=lambda r: budget_excess(target, r["cost_before_training"]))
    rest = [r for r in records if r not in done and r not in over]
    return within + unvouched + over + rest


def write_leaderboard(run_dir: Path, ranked: list[dict[str, Any]], objective: str) -> Path:
    """leaderboard.csv: per trial its status, float and int8 metrics, what its int8 model costs (size, RAM,
    latency on the target, measured or estimated as `latency_source` says), hyperparameters and error."""
    metric_names = [objective] + sorted({m for r in ranked for m in r.get("metrics", {})} - {objective})
    hp_names = sorted({h for r in ranked for h in r.get("hyperparameters", {})})
    cost_names = ("model_kb", "ram_kb", "latency_ms")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["rank", "model", "trial_id", "status", *metric_names, *[f"int8_{m}" for m in metric_names],
                     "int8_drop", "int8_method", *cost_names, "latency_source", "wall_time_s",
                     *[f"hp.{h}" for h in hp_names], "error"])
    for i, r in enumerate(ranked, 1):
        metrics, int8 = r.get("metrics") or {}, r.get("int8_metrics") or {}
        cost = r.get("cost") or r.get("cost_before_training") or {}
        hps = r.get("hyperparameters", {})
        problem = r.get("error") or "; ".join(r.get("over_budget") or [])
        writer.writerow([
            i if r["status"] == TrialStatus.COMPLETED else "", r["model"], r["trial_id"], r["status"],
            *[metrics.get(m, "") for m in metric_names], *[int8.get(m, "") for m in metric_names],
            r.get("int8_drop", ""), r.get("int8_method", ""),
            *[round(cost[c], 3) if cost.get(c) is not None else "" for c in cost_names],
            cost.get("latency_source", ""),
            round(r.get("wall_time_s", 0.0), 2),
            *[_csv_value(hps[h]) if h in hps else "" for h in hp_names],
            problem,
        ])
    path = Path(run_dir) / "leaderboard.csv"
    atomic_write_text(path, buf.getvalue())
    return path


def _csv_value(value: Any):
    """A hyperparameter's value as a leaderboard cell: lists and objects as JSON."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def refresh_leaderboard(run_dir: Path, objective: str, direction: str,
                        target: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rewrite leaderboard.csv from the trial records; returns them ranked (`rank_trials`)."""
    ranked = rank_trials(load_trial_records(run_dir), objective, direction, target)
    write_leaderboard(run_dir, ranked, objective)
    return ranked


def busy_seconds(records: list[dict[str, Any]]) -> float:
    """Seconds during which at least one finished trial was running (overlaps counted once)."""
    spans = sorted((r["started_at"], r["started_at"] + r["wall_time_s"]) for r in records
                   if r.get("status") in FINAL_STATUSES and "started_at" in r and "wall_time_s" in r)
    total, end = 0.0, float("-inf")
    for start, stop in spans:
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


# -- run.json: the manifest and progress of a search ---------------------------------------
def read_manifest(run_dir: Path) -> dict[str, Any]:
    """run.json, its fields checked: an edited or foreign file is one RunFolderError naming the field,
    not a KeyError or TypeError in the middle of a resume or an export."""
    from zazu.fields import COUNT, LIST, OBJECT, TEXT, field_errors
    from zazu.errors import RunFolderError

    path = Path(run_dir) / "run.json"
    manifest = read_json(path)
    errors = field_errors(manifest, {"status": TEXT, "dataset": OBJECT, "models": LIST, "sessions": LIST})
    if not errors:
        errors = [f"dataset {e}" for e in field_errors(manifest["dataset"], {"root": TEXT, "format": TEXT,
                                                                            "fingerprint": TEXT})]
        for k, entry in enumerate(manifest["models"]):
            errors += [f"models[{k}] {e}" for e in field_errors(entry, {"name": TEXT, "trials": COUNT, "status": TEXT})]
    if errors:
        raise RunFolderError.not_as_written(path, errors[0], "run.json")
    return manifest


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    atomic_write_json(Path(run_dir) / "run.json", manifest)


def update_manifest(run_dir: Path, **changes: Any) -> dict[str, Any]:
    manifest = read_manifest(run_dir)
    manifest.update(changes)
    write_manifest(run_dir, manifest)
    return manifest


def set_model_status(run_dir: Path, model: str, status: str, note: str | None = None) -> None:
    """`pending` -> `searching` -> `done` (with a note when it stopped early)."""
    manifest = read_manifest(run_dir)
    for entry in manifest["models"]:
        if entry["name"] == model:
            entry["status"] = status
            entry["note"] = note
    write_manifest(run_dir, manifest)


SNAPSHOT_FOLDER = "models"  # the searched models' code, copied into the run (zazu.search.snapshot)
DATA_FIT_FILE = "data_fit.json"  # the training boxes' statistics and what each model's entry took from them
CHECKPOINT = "model.keras"  # a trial's best epoch (or its int8 fine-tuned version), in its trial folder


def run_models_registry(run_dir: Path, manifest: dict, trust_code: bool = False):
    """The Registry of a run folder's own copy of its models (`models/`), loaded only once each adapter
    still has the digest run.json recorded (`check_snapshot`: accidents) and the folder's code is code the
    user runs (`code_trust.check_run_code`: a folder from elsewhere), or `trust_code`."""
    from zazu.code_trust import check_run_code
    from zazu.registry import Registry, zoo_roots

    check_snapshot(run_dir, manifest)
    check_run_code(Path(run_dir) / SNAPSHOT_FOLDER, zoo_roots(), trust_code)
    return Registry.load(Path(run_dir) / SNAPSHOT_FOLDER)


def check_snapshot(run_dir: Path, manifest: dict) -> None:
    """Each snapshot adapter still has the sha256 run.json recorded for it, checked before any of them is
    imported: importing runs its code, and a run folder can come from anywhere. (The record itself can
    be rewritten by whoever sent the folder: a run folder from someone else is code, like a zoo.)"""
    import hashlib

    from zazu.errors import RunFolderError

    for entry in manifest.get("models", []):
        recorded = entry.get("adapter_sha256")
        path = Path(run_dir) / SNAPSHOT_FOLDER / "zoo" / str(entry.get("name")) / "adapter.py"
        if not recorded:
            continue  # written before run.json recorded digests
        if not path.is_file():
            raise RunFolderError(f"{path}: missing. Expected the adapter the run searched (run.json records "
                                 f"{recorded}).")
        found = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        if found != recorded:
            raise RunFolderError(f"{path}: changed since the run recorded it (run.json: {recorded}, now {found}). "
                                 "Its code is not imported; expected the adapter the run searched.")
