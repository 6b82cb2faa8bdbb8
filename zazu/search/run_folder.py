"""An existing run folder, opened to run (or resume) its search, or to serve it as a worker.

Everything a search needs after its first minute is in the folder: the resolved
config (`config.yaml`), the models and their share of trials in search order
(`run.json`), their code (`models/`), the checked dataset and its split
(`dataset.json`, `split.json`) and keras-tuner's state (`tuner/`). A resumed
search and every worker read these instead of the user's config, the current
zoo or the dataset's annotations, so all of them run the same search.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zazu.config import resolve_config, resolve_time_budget
from zazu.errors import ConfigError, DatasetError
from zazu.registry import ModelSpec, Registry
from zazu.run_records import read_manifest, run_models_registry
from zazu.search.snapshot import FOLDER as MODELS_FOLDER
from zazu.tasks import Task, get_task
from zazu.trial_inputs import TrialData, TrialInputs

REQUIRED = ("config.yaml", "run.json", "dataset.json", "split.json", f"{MODELS_FOLDER}/models.json")


# No trial starts in the last tenth of the time budget, nor with less left than half the quickest
# trial so far (`RunOracle.last_start`): a new trial (often at a new input size, whose images and
# features are prepared before its first epoch) could not finish there, and would only overrun it.
LAST_START_SHARE = 0.1


def start_margin(config: dict) -> float:
    """Seconds before the time budget's end after which no trial starts (0 without a budget)."""
    return LAST_START_SHARE * config["time_budget"] * 60 if config["time_budget"] else 0.0


# May differ between a run's start and its resume: `--parallel` sets it for one session.
RESUME_MAY_CHANGE = ("max_instances_at_once",)


def recorded_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config as run.json records it at the start (JSON values), to compare config.yaml with on resume."""
    import json

    return json.loads(json.dumps({k: v for k, v in config.items() if k not in RESUME_MAY_CHANGE}, default=str))


# Settings newer than a run (absent from the config its run.json recorded) are not changes: the run resumes with
# their default, or, where the default would change how its remaining trials run, with the value listed here.
AS_BEFORE = {("export", "quantization_aware"): "never", ("export", "bias_correction"): False,
             ("export", "weight_rounding"): "nearest"}


def keep_older_behaviour(config: dict[str, Any], recorded: dict[str, Any] | None) -> None:
    """Set in `config` each `AS_BEFORE` setting that `recorded` (run.json's config at the start) lacks."""
    if recorded is None:
        return
    for (block, key), value in AS_BEFORE.items():
        if key not in (recorded.get(block) or {}):
            config[block][key] = value


def _first_difference(recorded: Any, current: Any, prefix: str = "") -> str | None:
    if isinstance(recorded, dict) and isinstance(current, dict):
        for key in recorded:
            found = _first_difference(recorded.get(key), current.get(key), f"{prefix}{key}.")
            if found:
                return found
        return None
    return None if recorded == current else prefix.rstrip(".")


def check_config_unchanged(run: "RunFolder") -> None:
    """A resume runs the search the run started: config.yaml edited since (another task, other data...)
    would run the remaining trials into failures, so it is refused naming the first key that changed.
    Runs from before run.json recorded its config are not checked."""
    recorded = run.manifest.get("config")
    if recorded is None:
        return
    key = _first_difference(recorded, recorded_config(run.config))
    if key is not None:
        raise ConfigError(f"{run.run_dir / 'config.yaml'}: `{key}` changed since the run started (run.json recorded "
                          f"{_value_at(recorded, key)!r}). Expected the config the run was started with; put it back, "
                          "or start a new search with the new value.")


def _value_at(config: dict[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@dataclass
class RunFolder:
    run_dir: Path
    config: dict[str, Any]
    manifest: dict[str, Any]
    registry: Registry
    task: Task
    models: list[ModelSpec]  # search order
    shares: list[int]  # trials per model

    @classmethod
    def open(cls, run_dir: str | Path, max_instances: int | None = None, trust_code: bool = False) -> "RunFolder":
        """Read and check a run folder; `max_instances` overrides the config's `max_instances_at_once`.
        Its models' code is imported only if the user runs it already or `trust_code` (`check_run_code`)."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise ConfigError(f"Run folder not found. Expected a folder made by `zazu search`. Received: {run_dir}")
        for name in REQUIRED:
            if not (run_dir / name).is_file():
                raise ConfigError(f"{run_dir}: not a complete Zazu run folder: `{name}` is missing. "
                                  "Expected a folder made by `zazu search` after its dataset was checked.")
        run_dir = run_dir.resolve()
        overrides = {"max_instances_at_once": max_instances} if max_instances is not None else None
        config = resolve_config(run_dir / "config.yaml", overrides)
        resolve_time_budget(config, None)  # a folder's config holds minutes; `auto` only where written by hand
        manifest = read_manifest(run_dir)
        keep_older_behaviour(config, manifest.get("config"))
        registry = run_models_registry(run_dir, manifest, trust_code)
        models = [registry.get(entry["name"]) for entry in manifest["models"]]
        if config.get("fixed_hyperparameters") is not None:  # zazu train: one model, every value fixed
            from zazu.ranking import fixed_spec

            models = [fixed_spec(spec, config["fixed_hyperparameters"]) for spec in models]
        shares = [int(entry["trials"]) for entry in manifest["models"]]
        return cls(run_dir, config, manifest, registry, get_task(config["task"]), models, shares)

    def manifest_entry(self, name: str) -> dict[str, Any]:
        """Model `name`'s entry in run.json's `models` (its trials share, status, note, adapter hash)."""
        return next(entry for entry in self.manifest["models"] if entry["name"] == name)

    def base_inputs(self, deadline: float | None = None) -> TrialInputs:
        """What every trial's inputs start with (paths in this folder, wherever it is mounted)."""
        dataset = self.manifest["dataset"]
        data = TrialData(home_path=dataset["root"], annotation_type=dataset["format"],
                         split=str(self.run_dir / "split.json"), records=str(self.run_dir / "dataset.json"),
                         augmentation=self.config["augmentation"])
        return TrialInputs(data=data, run_dir=str(self.run_dir), seed=self.config["seed"],
                           epochs=self.config["epochs"], deadline=deadline, export=self.config["export"],
                           target=self.config["target"])

    def check_dataset_unchanged(self) -> None:
        """The images the run started with are still there, byte for byte (resuming otherwise mixes data), and
        split.json still fits them."""
        from zazu.data.records import dataset_from_json
        from zazu.atomic_io import read_json
        from zazu.search.fingerprint import fingerprint_dataset

        from zazu.data.split import read_split, split_sides

        expected = self.manifest["dataset"]["fingerprint"]
        path = self.run_dir / "dataset.json"
        dataset = dataset_from_json(read_json(path), source=path)
        split_sides(dataset, read_split(self.run_dir / "split.json"), self.run_dir / "split.json")  # every trial reads it
        received = fingerprint_dataset(dataset)
        if received != expected:
            raise DatasetError(
                f"{self.manifest['dataset']['root']}: the dataset changed since the run started. Expected "
                f"fingerprint {expected} (run.json). Received: {received}. Start a new search for the new data.")

    def tuner(self, index: int, reporter, deadline: float | None = None, after_trial=None):
        """The keras-tuner tuner of the index-th model (keras-tuner reloads its saved state, if any)."""
        from zazu.search.kt_compat import is_worker
        from zazu.search.data_fit import epochs_for
        from zazu.search.oracles import make_oracle
        from zazu.search.space import SpaceCodec
        from zazu.search.tuner import LifecycleTuner

        spec, config = self.models[index], self.config
        codec = SpaceCodec(spec.hp_search_space)
        epochs = epochs_for(spec, config)
        oracle = make_oracle(config["search_method"], self.task, codec.hyperparameters(), self.shares[index],
                             epochs, seed=config["seed"] + index,
                             max_failures=config["max_consecutive_failed_trials"])
        # with a deadline, a trial still training when the budget is spent stops at its best epoch
        base_inputs = self.base_inputs(deadline)
        with contextlib.redirect_stdout(io.StringIO()):  # keras-tuner prints "Reloading Tuner from ..."
            tuner = LifecycleTuner(
                oracle, spec=spec, codec=codec, task=self.task, run_dir=self.run_dir,
                base_inputs=base_inputs, epochs=epochs, reporter=reporter,
                target=config["target"], after_trial=after_trial)
        if not is_worker(tuner):
            tuner.oracle.deadline = deadline
            tuner.oracle.start_margin = start_margin(config)
        return tuner
