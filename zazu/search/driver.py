"""The search, end to end: config -> ranked models -> keras-tuner trials -> leaderboard -> export.

Nothing here knows a model by name: models come from the registry, and every
difference between them lives behind the adapter contract.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zazu.config import save_config
from zazu.errors import DatasetError, ZazuError
from zazu.ranking import select_models
from zazu.registry import ModelSpec, Registry
from zazu.runs import atomic_write_json, load_trial_records, new_run_dir, rank_trials, write_leaderboard
from zazu.tasks import Task, get_task


@dataclass
class SearchResult:
    run_dir: Path
    ranked: list[dict[str, Any]]
    best: dict[str, Any] | None
    export: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def load_data(config: dict, reporter):
    """Find (or generate) the dataset, check it and split it once for the whole run.

    Runs before the run folder exists, so a dataset error leaves nothing behind."""
    from zazu.data.check import check_dataset
    from zazu.data.readers import read_dataset
    from zazu.data.split import split_dataset
    from zazu.data.synthetic import ensure_synthetic

    task = config["task"]
    home = config["data"]["home_path"]
    if home is None:
        home = ensure_synthetic(task, seed=config["seed"])
        reporter.message(f"No --data given: using the embedded synthetic {task} dataset at {home}")
    report = check_dataset(read_dataset(home, config["data"]["annotation_type"]))
    dataset = report.dataset
    for problem in report.problems:
        (reporter.note if problem.severity == "note" else reporter.warning)(str(problem))
    strict = config["data"]["strict"]
    if report.exit_code(strict) == 2:
        fatal = [str(p) for p in report.problems if p.fatal or strict] or ["no usable image"]
        raise DatasetError(f"{home}: dataset not usable{' (data.strict is on)' if strict else ''}: "
                           + "; ".join(fatal[:5]) + (f" (+{len(fatal) - 5} more)" if len(fatal) > 5 else ""))
    needs_labels = task == "classification"
    if needs_labels != (dataset.format == "folder"):
        expected = "a folder-per-class dataset" if needs_labels else "COCO, Pascal VOC or YOLO annotations"
        raise DatasetError(f"{home}: task={task} needs {expected}. Received: a {dataset.format} dataset.")
    return dataset, split_dataset(dataset, config["val_split"], config["seed"], config["test_split"])


def write_data(config: dict, run_dir: Path, dataset, split: dict, reporter) -> dict[str, Any]:
    """<run>/dataset.json (the checked records every trial reads back) and <run>/split.json;
    returns the `data` part of every trial's model_specs."""
    from zazu.data.records import dataset_to_json
    from zazu.data.split import write_split

    atomic_write_json(run_dir / "dataset.json", dataset_to_json(dataset))
    split_path = run_dir / "split.json"
    write_split(split_path, dataset, split, config["seed"], config["val_split"], config["test_split"],
                records_file="dataset.json")
    reporter.message(
        f"Dataset {dataset.root} ({dataset.format}): {len(dataset.records)} images, {len(dataset.classes)} classes, "
        + " / ".join(f"{len(v)} {k}" for k, v in split.items()))
    return {"home_path": str(dataset.root), "annotation_type": dataset.format, "split": str(split_path),
            "records": str(run_dir / "dataset.json"), "augmentation": config["augmentation"]}


def share_trials(max_trials: int, n_models: int) -> list[int]:
    """Spread max_trials over the models, best-ranked first: 5 over 2 -> [3, 2]."""
    base, extra = divmod(max_trials, n_models)
    return [base + (1 if i < extra else 0) for i in range(n_models)]


def run_search(config: dict, reporter=None, registry: Registry | None = None) -> SearchResult:
    from zazu.console import Reporter

    reporter = reporter or Reporter()
    started = time.monotonic()
    deadline = started + config["time_budget"] * 60 if config["time_budget"] else None
    registry = registry or Registry.load(config["zoo"])
    task = get_task(config["task"])
    models = select_models(registry, config)
    reporter.message("Models entering the search: " + ", ".join(m.name for m in models))
    dataset, split = load_data(config, reporter)
    run_dir = new_run_dir(task.name, config["output"])
    save_config(config, run_dir / "config.yaml")
    reporter.message(f"Run folder: {run_dir}")
    data = write_data(config, run_dir, dataset, split, reporter)
    base_model_specs = {"data": data, "run_dir": str(run_dir), "seed": config["seed"], "epochs": config["epochs"]}

    shares = share_trials(config["max_trials"], len(models))
    reporter.total = config["max_trials"]
    notes = []
    for index, (spec, n_trials) in enumerate(zip(models, shares)):
        if n_trials == 0:
            notes.append(f"{spec.name}: no trial left in max_trials={config['max_trials']}")
            continue
        if deadline is not None and time.monotonic() >= deadline:
            notes.append(f"{spec.name}: not searched, the time budget of {config['time_budget']} min was spent")
            continue
        note = _search_model(spec, n_trials, index, config, task, run_dir, base_model_specs, deadline, reporter)
        if note:
            notes.append(note)
    for note in notes:
        reporter.warning(note)

    ranked = rank_trials(load_trial_records(run_dir), task.objective, task.direction)
    write_leaderboard(run_dir, ranked)
    best = ranked[0] if ranked and ranked[0]["status"] == "COMPLETED" else None
    result = SearchResult(run_dir, ranked, best, notes=notes)
    if best is None:
        reporter.leaderboard(ranked, task.objective)
        raise ZazuError(f"No trial completed; see the trial folders in {run_dir / 'trials'} for tracebacks.")
    atomic_write_json(run_dir / "best_trial.json", best)
    result.export = export_best(registry, best, task, run_dir, reporter, config["export"])
    reporter.leaderboard(ranked, task.objective)
    return result


def _search_model(spec: ModelSpec, n_trials: int, index: int, config: dict, task: Task, run_dir: Path,
                  base_model_specs: dict, deadline: float | None, reporter) -> str | None:
    from zazu.search.space import SpaceCodec
    from zazu.search.tuner import BudgetSpent, LifecycleTuner, make_oracle

    codec = SpaceCodec(spec.hp_search_space)
    oracle = make_oracle(config["search_method"], task, codec.hyperparameters(), n_trials, config["epochs"],
                         seed=config["seed"] + index, max_failures=config["max_consecutive_failed_trials"])
    tuner = LifecycleTuner(
        oracle, spec=spec, codec=codec, task=task, run_dir=run_dir, base_model_specs=base_model_specs,
        epochs=config["epochs"], max_trials=n_trials, deadline=deadline, reporter=reporter)
    try:
        tuner.search(verbose=0)
    except BudgetSpent as e:
        if str(e) == "time budget spent":
            return f"{spec.name}: stopped starting trials, the time budget of {config['time_budget']} min was spent"
    except RuntimeError as e:
        if "consecutive failures" in str(e):  # keras-tuner's max_consecutive_failed_trials stop
            return (f"{spec.name}: search stopped after {config['max_consecutive_failed_trials']} "
                    f"consecutive failed trials")
        raise
    return None


def export_best(registry: Registry, best: dict, task: Task, run_dir: Path, reporter,
                options: dict | None = None) -> dict[str, Any] | None:
    """Let the winner's adapter export itself into <run>/export (`zazu.export.from_run`)."""
    from zazu.export.from_run import export_trial

    reporter.message(f"Exporting the winner {best['model']} #{best['trial_id']} ...")
    info = export_trial(run_dir, best, options, registry=registry, log=lambda m: reporter.message(f"  {m}"))
    if info is None:
        reporter.warning(f"{best['model']}'s adapter has no export() method: the winner was not exported.")
        return None
    for kind, path in info.get("files", {}).items():
        size = os.path.getsize(path) / 1024 if os.path.isfile(path) else None
        reporter.message(f"  {kind:>12}: {path}" + (f" ({size:.0f} KiB)" if size is not None else ""))
    return info
