"""The search, end to end: config -> ranked models -> keras-tuner trials -> leaderboard -> export.

A new search checks the dataset, creates the run folder (config, data, a copy
of the models' code, run.json) and then runs it exactly as a resumed search
does: from the folder alone. Models are searched one after another (serially,
or by parallel workers: `zazu.search.distributed`); keras-tuner's saved oracle
state says where each model's search stands.

Nothing here knows a model by name: models come from the registry, and every
difference between them lives behind the adapter contract.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zazu import __version__
from zazu.atomic_io import atomic_write_json
from zazu.budget import describe_target, has_budget, over_budget
from zazu.code_trust import remember
from zazu.config import resolve_time_budget, save_config
from zazu.data.augment import check_mosaic_task
from zazu.errors import ConfigError, ZazuError
from zazu.interrupts import catching_interrupts, raise_if_interrupted
from zazu.library_log import follow_run
from zazu.nn.backbones import check_pretrained_weights
from zazu.ranking import select_models, upscale_note
from zazu.registry import ModelSpec, Registry
from zazu.run_lock import command_line, hold_run
from zazu.run_records import (DATA_FIT_FILE, budget_cost, busy_seconds, check_output_free, chosen_by,
                       load_trial_records, new_run_dir, refresh_leaderboard, set_model_status, update_manifest,
                       write_leaderboard, write_manifest)
from zazu.search.cost_before_training import describe_cost
from zazu.search.data_fit import first_input_side, first_input_size, fit_models, size_text
from zazu.search.parallel_env import wants_chief
from zazu.search.run_folder import RunFolder, check_config_unchanged, recorded_config, start_margin
from zazu.search.snapshot import FOLDER as SNAPSHOT
from zazu.search.snapshot import adapter_digest, snapshot_models
from zazu.search.state_files import check_resumable
from zazu.tasks import Task, get_task
from zazu.trial_status import FINAL_STATUSES, MEASURED_STATUSES, TrialStatus


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM (`stop`, the interrupt raised) stopped the search; `run_dir` can be resumed with
    `zazu search --resume`."""

    def __init__(self, run_dir: Path, stop: KeyboardInterrupt):
        super().__init__(str(run_dir))
        self.run_dir = run_dir
        self.stop = stop


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
    for problem in report.problems:
        (reporter.note if problem.severity == "note" else reporter.warning)(str(problem))
    dataset = report.usable_for(task, home, strict=config["data"]["strict"])
    return dataset, split_dataset(dataset, config["val_split"], config["seed"], config["test_split"])


def median_shorter_side(dataset) -> float | None:
    """The median of the images' shorter sides (the data's scale, for ranking); None if no size is known."""
    import statistics

    sides = [min(r.width, r.height) for r in dataset.records if r.width and r.height]
    return statistics.median(sides) if sides else None


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


def fit_to_data(models: list[ModelSpec], dataset, split: dict, config: dict, reporter
                ) -> tuple[list[ModelSpec], dict[str, Any]]:
    """The models' entries fitted to the training boxes (`zazu.search.data_fit`), each choice told
    on the console; returns them and what `data_fit.json` records."""
    train = set(split["train"])
    stats, fits = fit_models(models, dataset.classes, [r for r in dataset.records if r.path in train], config)
    for fit in fits:
        for note in fit.notes:
            reporter.message(f"{fit.spec.name}: {note}")
        for warning in fit.warnings:
            reporter.warning(warning)
    record = {"box_stats": stats.to_json() if stats else None,
              "models": {fit.spec.name: {**fit.record, "notes": fit.notes, "warnings": fit.warnings} for fit in fits}}
    return [fit.spec for fit in fits], record


def share_trials(max_trials: int, n_models: int) -> list[int]:
    """Spread max_trials over the models, best-ranked first: 5 over 2 -> [3, 2]."""
    base, extra = divmod(max_trials, n_models)
    return [base + (1 if i < extra else 0) for i in range(n_models)]


def run_search(config: dict, reporter=None, registry: Registry | None = None) -> SearchResult:
    """A new search: check the dataset, create the run folder, then run it (see `_search`)."""
    from zazu.console import Reporter

    reporter = reporter or Reporter()
    # here, not in the config's own check: `zazu train` reads a config file before it knows its model's task
    check_mosaic_task(config["augmentation"], config["task"])
    registry = registry or Registry.load(config["zoo"])
    task = get_task(config["task"])
    models = select_models(registry, config)  # `models` and fixed values are checked before the data is read
    check_output_free(config["output"], config["data"]["home_path"])
    wants_chief(config)  # a worker's KERASTUNER_TUNER_ID here is refused before anything is written
    dataset, split = load_data(config, reporter)
    if not config["models"]:  # ranked again, now that the images' scale is known
        side = median_shorter_side(dataset)
        models = select_models(registry, config, side)
        if note := upscale_note(registry, task.name, side):
            reporter.note(note)
    if len(models) > config["max_trials"]:  # a model with no trial would be searched without a limit
        reporter.message(f"Not searched, max_trials={config['max_trials']} leaves them no trial: "
                         + ", ".join(m.name for m in models[config["max_trials"]:]))
        models = models[: config["max_trials"]]
    for spec in models:  # a missing weights package is one line now, not a failed trial later
        check_pretrained_weights(spec.name, spec.training_configs,
                                 {e["name"]: e["values"] for e in spec.hp_search_space if "values" in e})
    reporter.message("Models entering the search: " + ", ".join(m.name for m in models))
    models, data_fit = fit_to_data(models, dataset, split, config, reporter)
    if config["time_budget"] == "auto":
        side, largest = max(((first_input_side(m) or 0, m) for m in models), key=lambda pair: pair[0],
                            default=(0, None))
        resolve_time_budget(config, side or None)  # from the pixels: [384, 512] costs as a 443-px square
        reporter.message(f"Time budget {config['time_budget']:g} min (auto for {task.name}"
                         + (f", first trials at {size_text(first_input_size(largest))} px)" if side else ")"))
    run_dir = new_run_dir(task.name, config["output"])
    with hold_run(run_dir, command_line()):
        check_output_free(str(run_dir))  # again, as its owner: another process may have started a run there
        follow_run(run_dir)  # library output (if diverted from the terminal) into the run's zazu.log
        save_config(config, run_dir / "config.yaml")
        reporter.message(f"Run folder: {run_dir}")
        write_data(config, run_dir, dataset, split, reporter)
        atomic_write_json(run_dir / DATA_FIT_FILE, data_fit)
        snapshot_models(models, run_dir)
        remember([run_dir / SNAPSHOT / "zoo" / spec.name for spec in models])  # the user's own code, from now on
        manifest = new_manifest(task, dataset, split, models, share_trials(config["max_trials"], len(models)))
        write_manifest(run_dir, {**manifest, "config": recorded_config(config)})
        return _search(RunFolder.open(run_dir, trust_code=True), reporter, resumed=False)


def resume_search(run_dir: str | Path, reporter=None, max_instances: int | None = None,
                  trust_code: bool = False) -> SearchResult:
    """Continue a killed or interrupted search from its run folder (config, data, code and oracle state).

    Everything is checked before the run's lock is taken (a refused resume writes nothing, not even
    the lock's holder); the status is read again once it is held."""
    from zazu.console import Reporter
    from zazu.run_records import read_manifest
    from zazu.search.code_record import code_changes

    reporter = reporter or Reporter()
    run = RunFolder.open(run_dir, max_instances, trust_code)
    check_config_unchanged(run)
    _check_not_finished(run.manifest, run.run_dir, run_dir)
    run.check_dataset_unchanged()
    notes = check_resumable(run.run_dir)  # a broken state file: refused here, before anything runs
    with hold_run(run.run_dir, command_line()):
        follow_run(run.run_dir)
        run.manifest = read_manifest(run.run_dir)
        _check_not_finished(run.manifest, run.run_dir, run_dir)  # finished by the holder we waited on
        if warning := code_changes(run.manifest.get("code")):
            reporter.warning(warning)
        for note in notes:
            reporter.warning(note)
        records = load_trial_records(run.run_dir)
        finished = sum(r["status"] in FINAL_STATUSES for r in records)
        reporter.message(f"Resuming {run.run_dir}: {finished} of {run.config['max_trials']} trials finished; "
                         "finished trials are kept, an interrupted one is rerun")
        return _search(run, reporter, resumed=True)


def _check_not_finished(manifest: dict[str, Any], folder: Path, given: str | Path) -> None:
    if manifest["status"] == "finished":
        raise ConfigError(f"{folder}: this search finished; there is nothing to resume. Expected a run that "
                          f"was interrupted. Received: --resume {given}")


def new_manifest(task: Task, dataset, split: dict, models: list[ModelSpec], shares: list[int]) -> dict[str, Any]:
    """run.json as a search starts: the dataset's fingerprint and the models in search order."""
    from zazu.search.fingerprint import fingerprint_dataset

    from zazu.search.code_record import code_record

    return {
        "zazu_version": __version__,
        "code": code_record(),
        "created": _now(),
        "task": task.name,
        "status": "searching",
        "dataset": {"root": str(dataset.root), "format": dataset.format, "images": len(dataset.records),
                    "classes": dataset.classes, "split": {k: len(v) for k, v in split.items()},
                    "fingerprint": fingerprint_dataset(dataset)},
        "models": [{"name": spec.name, "trials": n, "adapter": f"{SNAPSHOT}/zoo/{spec.name}/{spec.adapter_path.name}",
                    "adapter_sha256": adapter_digest(spec), "status": "pending", "note": None}
                   for spec, n in zip(models, shares)],
        "sessions": [],
    }


def _search(run: RunFolder, reporter, resumed: bool) -> SearchResult:
    """Search every model not done yet, then rank, record the best trial and export it.

    Ctrl-C at any point leaves a folder `resume_search` continues (`SearchInterrupted`)."""
    config, task, run_dir = run.config, run.task, run.run_dir
    parallel = wants_chief(config)
    sessions = run.manifest["sessions"] + [{"started": _now(), "resumed": resumed,
                                            "instances": config["max_instances_at_once"] if parallel else 1}]
    update_manifest(run_dir, status="searching", sessions=sessions)
    records = load_trial_records(run_dir)
    deadline = None
    if config["time_budget"]:  # a resumed search has what the finished trials left of the budget
        import keras_tuner  # noqa: F401  (TensorFlow's import, seconds, is not the trials' time)

        deadline = time.time() + config["time_budget"] * 60 - busy_seconds(records)
    reporter.total = config["max_trials"] - sum(r["status"] in FINAL_STATUSES for r in records)
    reporter.deadline = None if deadline is None else time.monotonic() + (deadline - time.time())
    try:
        with catching_interrupts():
            return _search_and_export(run, reporter, deadline, parallel)
    except KeyboardInterrupt as stop:
        try:
            _refresh(run)
            update_manifest(run_dir, status="interrupted")
        except OSError:  # a full disk: the files keep what they said; a resume reruns the unfinished trial
            pass
        raise SearchInterrupted(run_dir, stop) from None


def _search_and_export(run: RunFolder, reporter, deadline: float | None, parallel: bool) -> SearchResult:
    """The trials, then the best trial's record, export and report."""
    config, task, run_dir = run.config, run.task, run.run_dir
    if parallel:
        from zazu.search.distributed import search_in_parallel

        notes = search_in_parallel(run, reporter, deadline, after_trial=lambda: _refresh(run))
    else:
        notes = _search_serially(run, reporter, deadline)
    for note in notes:
        reporter.warning(note)
    ranked = _refresh(run)
    best = choose_winner(run_dir, ranked, task.objective, config)
    if best is not None and ranked[0] is not best:  # the front's rule chose an equally accurate, faster one
        ranked = winner_first(ranked, best)
        write_leaderboard(run_dir, ranked, task.objective)
    result = SearchResult(run_dir, ranked, best, notes=notes)
    if best is None:
        update_manifest(run_dir, status="finished")
        _write_report(run_dir, reporter)
        reporter.leaderboard(ranked, task.objective)
        raise ZazuError(no_winner_reason(ranked, config["target"], run_dir))
    raise_if_interrupted()  # an interrupt swallowed during the trials still stops the search here
    atomic_write_json(run_dir / "best_trial.json", {**best, "chosen_by": chosen_by(best, task.objective),
                                                    "target": config["target"]})
    result.export = export_best(run.registry, best, task, run_dir, reporter, config["export"])
    update_manifest(run_dir, status="finished")
    _write_report(run_dir, reporter)
    reporter.leaderboard(ranked, task.objective)
    return result


def _write_report(run_dir: Path, reporter) -> None:
    from zazu.report import write_report

    reporter.message(f"Report: {write_report(run_dir)}")


def _search_serially(run: RunFolder, reporter, deadline: float | None) -> list[str]:
    """One keras-tuner search per model, in order; a model's failure never stops the next one's search."""
    notes = []
    searched = False  # the session's first model may start until the deadline itself, as its first trial
    for index, spec in enumerate(run.models):
        if run.manifest_entry(spec.name)["status"] == "done":
            continue
        if deadline is not None and time.time() >= deadline - (start_margin(run.config) if searched else 0.0):
            note = f"{spec.name}: not searched, the time budget of {run.config['time_budget']} min was spent"
        else:
            searched = True
            set_model_status(run.run_dir, spec.name, "searching")
            note = _search_model(run, index, reporter, deadline)
        set_model_status(run.run_dir, spec.name, "done", note)
        if note:
            notes.append(note)
    return notes


def _search_model(run: RunFolder, index: int, reporter, deadline: float | None) -> str | None:
    from zazu.search.oracles import stop_note

    spec = run.models[index]
    try:
        tuner = run.tuner(index, reporter, deadline, after_trial=lambda: _refresh(run))
        tuner.search(verbose=0)
    except ZazuError:  # a broken run folder: refused whole, not counted as this model's search
        raise
    except Exception as e:  # keras-tuner or the oracle broke: keep what this model did, go on to the next
        return f"{spec.name}: search stopped by an error: {type(e).__name__}: {e}"
    return stop_note(spec.name, tuner.oracle.stop_reason, run.config)


def _refresh(run: RunFolder) -> list[dict[str, Any]]:
    return refresh_leaderboard(run.run_dir, run.task.objective, run.task.direction, run.config["target"])


def choose_winner(run_dir: Path, ranked: list[dict[str, Any]], objective: str, config: dict) -> dict | None:
    """The trial to ship, written with the front it was picked from (pareto.json): among the completed trials
    within budget, `zazu.pareto.pick_from_front`'s rule; without measured costs (export.profile_trials off),
    the best-ranked one. None when no completed trial fits."""
    from zazu.pareto import METRIC_TOLERANCE, front_trials, pick_from_front

    target = config["target"]
    front = front_trials(ranked, objective, lambda r: within_budget(r, target))
    picked = pick_from_front(front, objective, config["model_priority_space"])
    atomic_write_json(run_dir / "pareto.json", {
        "axes": [f"int8 {objective} (higher)", "latency_ms (lower)", "model_kb (lower)"],
        "rule": f"front trials within {METRIC_TOLERANCE} of the best int8 {objective} are equally accurate; among "
                "them the fastest when the speed priority >= the memory priority, else the smallest",
        "priorities": config["model_priority_space"], "trials": front,
        "chosen": None if picked is None else f"{picked['model']}-{picked['trial_id']}"})
    if picked is not None:
        return next(r for r in ranked if r["model"] == picked["model"] and r["trial_id"] == picked["trial_id"])
    first = ranked[0] if ranked else None
    return first if first and first["status"] == TrialStatus.COMPLETED and within_budget(first, target) else None


def winner_first(ranked: list[dict[str, Any]], best: dict[str, Any]) -> list[dict[str, Any]]:
    """The leaderboard with the chosen trial on top, the others in their order (so rank 1 is what ships)."""
    return [best] + [r for r in ranked if r is not best]


def within_budget(record: dict[str, Any], target: dict[str, Any]) -> bool:
    """A completed trial can win when the run has no budget, or its measured cost fits it."""
    if not has_budget(target):
        return True
    cost = budget_cost(record)
    return cost is not None and not over_budget(target, cost)


def no_winner_reason(ranked: list[dict[str, Any]], target: dict[str, Any], run_dir: Path) -> str:
    """The one line a search with no winner ends on: nothing completed, or nothing fits the budget (and the
    trial closest to it)."""
    if not has_budget(target) or not any(r["status"] in MEASURED_STATUSES for r in ranked):
        return f"No trial completed; see the trial folders in {run_dir / 'trials'} for tracebacks."
    closest = next(r for r in ranked if r["status"] in MEASURED_STATUSES)
    cost = budget_cost(closest)
    figures = describe_cost(cost) if cost else "not measured"
    broken = "; ".join(over_budget(target, cost)) if cost else "its cost could not be measured"
    return (f"No trial fits the budget ({describe_target(target)}). Closest: {closest['model']} "
            f"#{closest['trial_id']}, {figures}: {broken}. Loosen a budget or search smaller models.")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def export_best(registry: Registry, best: dict, task: Task, run_dir: Path, reporter,
                options: dict | None = None) -> dict[str, Any] | None:
    """Let the winner's adapter export itself into <run>/export (`zazu.export.from_run`)."""
    from zazu.export.from_run import export_trial

    reporter.message(f"Exporting the winner {best['model']} #{best['trial_id']} ...")
    with reporter.working("exporting: converting, scoring and timing each format"):
        info = export_trial(run_dir, best, options, registry=registry, log=lambda m: reporter.message(f"  {m}"))
    if info is None:
        reporter.warning(f"{best['model']}'s adapter has no export() method: the winner was not exported.")
        return None
    for kind, path in info.get("files", {}).items():
        size = os.path.getsize(path) / 1024 if os.path.isfile(path) else None
        reporter.message(f"  {kind:>12}: {path}" + (f" ({size:.0f} KiB)" if size is not None else ""))
    return info
