"""Reads a run folder for the report, tolerating whatever is missing.

Only the folder itself is required. Every file in it may be absent (an older
run, an interrupted search, an export that failed or has not been written yet)
or unreadable: it then becomes None plus one sentence in `RunData.unavailable`,
and the report says "not available" instead of crashing.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zazu.errors import ZazuError
from zazu.tasks import TASKS


class ReportError(ZazuError):
    """The report cannot be written at all (the folder is not a run folder, or not writable)."""


@dataclass
class Trial:
    """One trial folder: its record, per-epoch history and int8 profile (each may be missing)."""

    folder: Path
    record: dict[str, Any]
    history: dict[str, list[float]] | None = None
    profile: dict[str, Any] | None = None
    profile_source: str | None = None

    @property
    def model(self) -> str:
        return str(self.record.get("model", self.folder.name.rsplit("-", 1)[0]))

    @property
    def trial_id(self) -> str:
        return str(self.record.get("trial_id", self.folder.name.rsplit("-", 1)[-1]))

    @property
    def name(self) -> str:
        return f"{self.model} #{self.trial_id}"

    @property
    def status(self) -> str:
        return str(self.record.get("status", "UNKNOWN"))

    @property
    def metrics(self) -> dict[str, float]:
        return numbers_only(self.record.get("metrics"))

    @property
    def hyperparameters(self) -> dict[str, Any]:
        hps = self.record.get("hyperparameters")
        return hps if isinstance(hps, dict) else {}


@dataclass
class ApDetails:
    """A trial's per_class_ap.json. Written by `coco_metrics` as {"per_class_AP": {class: {AP, AP50,
    instances}}, "AP_by_size": {size: {instances, area, AP}}}; older runs wrote {class: AP} (then only
    `per_class` is filled, each with "AP" alone, and `older` says so)."""

    per_class: dict[str, dict[str, float]]
    by_size: dict[str, dict[str, Any]] = field(default_factory=dict)
    older: bool = False


def ap_details(data: Any) -> ApDetails | None:
    """per_class_ap.json's content in either shape, non-numbers dropped; None when it is not a dict."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("per_class_AP"), dict):
        per_class = {str(name): numbers_only(v) for name, v in data["per_class_AP"].items() if isinstance(v, dict)}
        sizes = data.get("AP_by_size") if isinstance(data.get("AP_by_size"), dict) else {}
        by_size = {str(size): {**numbers_only(v), **({"area": v["area"]} if isinstance(v.get("area"), list) else {})}
                   for size, v in sizes.items() if isinstance(v, dict)}
        return ApDetails(per_class, by_size)
    return ApDetails({name: {"AP": ap} for name, ap in numbers_only(data).items()}, older=True)


@dataclass
class RunData:
    run_dir: Path
    config: dict[str, Any] | None = None
    task: str | None = None
    objective: str | None = None
    direction: str = "max"
    leaderboard: list[dict[str, str]] | None = None
    leaderboard_columns: list[str] = field(default_factory=list)
    best: dict[str, Any] | None = None
    best_ap: ApDetails | None = None  # the best trial's per_class_ap.json (detection, segmentation)
    pareto: dict[str, Any] | None = None  # the front the search picked its winner from, and the rule
    data_fit: dict[str, Any] | None = None  # data_fit.json: the training boxes' statistics, what each entry took
    trials: list[Trial] = field(default_factory=list)
    export: dict[str, Any] | None = None
    val_predictions: dict[str, Any] | None = None
    prediction_images: list[Path] = field(default_factory=list)
    dataset_root: Path | None = None
    unavailable: dict[str, str] = field(default_factory=dict)  # file -> why it could not be used

    def why(self, name: str) -> str:
        return self.unavailable.get(name, f"{name} not found")


def numbers_only(values: Any) -> dict[str, float]:
    """The finite numeric entries of a dict (metrics files may also hold strings or nulls)."""
    if not isinstance(values, dict):
        return {}
    return {str(k): float(v) for k, v in values.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def read_run(run_dir: str | Path) -> RunData:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: folder not found. Expected a Zazu run folder "
                          f"(holding config.yaml, leaderboard.csv and trials/). Received: run_dir={run_dir}")
    markers = ("config.yaml", "leaderboard.csv", "trials")
    if not any((run_dir / m).exists() for m in markers):
        raise ReportError(f"{run_dir}: not a Zazu run folder: none of config.yaml, leaderboard.csv or trials/ "
                          f"is in it. Received: run_dir={run_dir}")
    run = RunData(run_dir=run_dir.resolve())
    run.config = _read_yaml(run, "config.yaml")
    run.leaderboard, run.leaderboard_columns = _read_csv(run, "leaderboard.csv")
    run.best = _read_json(run, "best_trial.json", dict)
    run.best_ap = _read_best_ap(run)
    run.pareto = _read_json(run, "pareto.json", dict)
    run.data_fit = _read_json(run, "data_fit.json", dict)
    run.export = _read_json(run, "export/export.json", dict)
    run.val_predictions = _read_val_predictions(run)
    run.trials = _read_trials(run)
    _attach_export_profile(run)
    run.task = _task(run)
    if run.task in TASKS:
        run.objective, run.direction = TASKS[run.task].objective, TASKS[run.task].direction
    run.dataset_root = _dataset_root(run)
    folder = run_dir / "export" / "predictions"
    run.prediction_images = sorted(folder.glob("*.png")) if folder.is_dir() else []
    return run


# -- readers: each returns None (and records why) instead of raising -------------------------
def _read_text(run: RunData, name: str) -> str | None:
    path = run.run_dir / name
    if not path.is_file():
        run.unavailable[name] = f"{name} not found"
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        run.unavailable[name] = f"{name} unreadable ({type(e).__name__}: {e})"
        return None


def _read_json(run: RunData, name: str, expected: type) -> Any:
    return _read_parsed(run, name, json.loads, json.JSONDecodeError, "JSON", expected,
                        f"{name}: expected a JSON {expected.__name__}")


def _read_yaml(run: RunData, name: str) -> dict | None:
    import yaml

    return _read_parsed(run, name, yaml.safe_load, yaml.YAMLError, "YAML", dict,
                        f"{name}: expected a mapping of config keys")


def _read_parsed(run: RunData, name: str, parse, error: type, language: str, expected: type, wrong_type: str):
    """`name` parsed, or None with the reason in `run.unavailable` (missing, unparsable, wrong type)."""
    text = _read_text(run, name)
    if text is None:
        return None
    try:
        data = parse(text)
    except error as e:
        detail = f"line {e.lineno}: {e.msg}" if isinstance(e, json.JSONDecodeError) else str(e).splitlines()[0]
        run.unavailable[name] = f"{name} is not valid {language} ({detail})"
        return None
    if not isinstance(data, expected):
        run.unavailable[name] = f"{wrong_type}, found a {type(data).__name__}"
        return None
    return data


def _read_csv(run: RunData, name: str) -> tuple[list[dict[str, str]] | None, list[str]]:
    text = _read_text(run, name)
    if text is None:
        return None, []
    reader = csv.DictReader(text.splitlines())
    rows = list(reader)
    return rows, list(reader.fieldnames or [])


def read_history(path: Path) -> dict[str, list[float]] | None:
    """history.csv (Keras CSVLogger) as column -> values; None when absent or empty."""
    if not path.is_file():
        return None
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key is None:
                continue
            try:
                columns.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                columns.setdefault(key, []).append(math.nan)
    return columns


def _read_trials(run: RunData) -> list[Trial]:
    folder = run.run_dir / "trials"
    if not folder.is_dir():
        run.unavailable["trials/"] = "trials/ not found"
        return []
    trials = []
    for trial_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        rel = f"trials/{trial_dir.name}"
        record = _read_json(run, f"{rel}/trial.json", dict)
        if record is None:
            continue
        trial = Trial(trial_dir, record, history=read_history(trial_dir / "history.csv"))
        profile = _read_json(run, f"{rel}/profile.json", dict)
        if isinstance(profile, dict) and "latency_median_ms" not in profile and isinstance(profile.get("int8"), dict):
            profile = profile["int8"]  # also accept {"int8": {...}}, the shape of export.json's profile
        if profile is not None:
            trial.profile, trial.profile_source = profile, f"{rel}/profile.json"
        trials.append(trial)
    trials.sort(key=lambda t: t.record.get("started_at", 0) if isinstance(t.record.get("started_at"), (int, float))
                else 0)
    return trials


def best_ap_file(run: RunData) -> str:
    return f"trials/{(run.best or {}).get('model')}-{(run.best or {}).get('trial_id')}/per_class_ap.json"


def _read_best_ap(run: RunData) -> ApDetails | None:
    if run.best is None:
        return None
    return ap_details(_read_json(run, best_ap_file(run), dict))


def _read_val_predictions(run: RunData) -> dict | None:
    name = "export/val_predictions.json"
    data = _read_json(run, name, dict)
    if data is None:
        return None
    classes, records = data.get("classes"), data.get("records")
    if not (isinstance(classes, list) and isinstance(records, list)):
        run.unavailable[name] = f"{name}: expected {{\"classes\": [...], \"records\": [...]}}"
        return None
    return data


def _attach_export_profile(run: RunData) -> None:
    """The exported trial's int8 profile from export.json when its own profile.json is missing."""
    profile = (run.export or {}).get("profile")
    int8 = profile.get("int8") if isinstance(profile, dict) else None
    if not isinstance(int8, dict):
        return
    for trial in run.trials:
        if (trial.profile is None and trial.model == str(run.export.get("model"))
                and trial.trial_id == str(run.export.get("trial_id"))):
            trial.profile, trial.profile_source = int8, "export/export.json"


def _task(run: RunData) -> str | None:
    records = [run.best or {}, *(t.record for t in run.trials)]
    candidates = [(run.config or {}).get("task")]
    candidates += [r["model_specs"].get("task") for r in records if isinstance(r.get("model_specs"), dict)]
    for task in candidates:
        if task in TASKS:
            return task
    return None


def _dataset_root(run: RunData) -> Path | None:
    """Where relative image paths of val_predictions.json point: the dataset folder the trials read
    (their model_specs), else the config's, else dataset.json's root (read last: it lists every image)."""
    records = [run.best or {}, *(t.record for t in run.trials)]
    homes = [r["model_specs"].get("data", {}).get("home_path") for r in records
             if isinstance(r.get("model_specs"), dict) and isinstance(r["model_specs"].get("data"), dict)]
    homes.append(((run.config or {}).get("data") or {}).get("home_path"))
    home = next((h for h in homes if isinstance(h, str) and h), None)
    if home is not None or run.val_predictions is None:
        return Path(home) if home else None
    text = _read_text(run, "dataset.json")
    try:
        root = json.loads(text).get("root") if text is not None else None
    except (json.JSONDecodeError, AttributeError):
        root = None
    return Path(root) if isinstance(root, str) and root else None
