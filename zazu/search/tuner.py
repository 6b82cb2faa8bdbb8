"""A keras-tuner `Tuner` whose trials are zoo adapters.

keras-tuner's oracle proposes hyperparameter values and keeps the search state
(saved as JSON in the tuner project folder); `run_trial` turns those values into
an adapter, drives its lifecycle and returns its metrics. A trial that raises is
recorded in its trial folder and reported to keras-tuner as a `FailedTrialError`,
so the search goes on; keras-tuner stops after `max_consecutive_failed_trials`.
"""

from __future__ import annotations

import gc
import time
import traceback
from pathlib import Path
from typing import Any

import keras_tuner

from zazu.registry import ModelSpec
from zazu.runs import atomic_write_json, atomic_write_text, trial_dir
from zazu.search.lifecycle import run_lifecycle
from zazu.search.space import TUNER_PREFIX, SpaceCodec
from zazu.tasks import Task


class BudgetSpent(Exception):
    """Raised before a trial is created once the time or trial budget is used."""


def make_oracle(method: str, task: Task, hyperparameters, max_trials: int, epochs: int, seed: int, max_failures: int):
    objective = keras_tuner.Objective(task.objective, task.direction)
    common = dict(
        objective=objective,
        hyperparameters=hyperparameters,
        seed=seed,
        max_consecutive_failed_trials=max_failures,
    )
    if method == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if method == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    if method == "grid":
        return keras_tuner.oracles.GridSearchOracle(max_trials=max_trials, **common)
    if method == "hyperband":
        # Hyperband decides epochs per trial ("tuner/epochs"), up to the run's `epochs`.
        return keras_tuner.oracles.HyperbandOracle(max_epochs=max(epochs, 2), factor=3, **common)
    raise ValueError(f"unknown search method {method!r}")


class LifecycleTuner(keras_tuner.Tuner):
    def __init__(
        self,
        oracle,
        *,
        spec: ModelSpec,
        codec: SpaceCodec,
        task: Task,
        run_dir: Path,
        base_model_specs: dict[str, Any],
        epochs: int,
        max_trials: int,
        deadline: float | None,
        reporter,
        **kwargs,
    ):
        super().__init__(oracle, directory=str(run_dir / "tuner"), project_name=spec.name, **kwargs)
        self.spec = spec
        self.codec = codec
        self.task = task
        self.run_dir = run_dir
        self.base_model_specs = base_model_specs
        self.epochs = epochs
        self.max_trials = max_trials
        self.deadline = deadline
        self.reporter = reporter

    def pre_create_trial(self):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise BudgetSpent("time budget spent")
        if len(self.oracle.trials) >= self.max_trials:
            raise BudgetSpent("trial budget spent")

    def run_trial(self, trial, *args, **kwargs):
        values = trial.hyperparameters.values
        sampled = self.codec.decode(values)
        epochs = int(values.get(f"{TUNER_PREFIX}epochs", self.epochs))
        hp_values = {**self.spec.training_configs, **sampled, "epochs": epochs}
        folder = trial_dir(self.run_dir, self.spec.name, trial.trial_id)
        folder.mkdir(parents=True, exist_ok=True)
        model_specs = {
            **self.base_model_specs,
            "name": self.spec.name,
            "task": self.spec.task,
            "model_space": self.spec.model_space,
            "training_configs": self.spec.training_configs,
            "trial_dir": str(folder),
        }
        record = {
            "model": self.spec.name,
            "trial_id": trial.trial_id,
            "status": "RUNNING",
            "hyperparameters": sampled,
            "hp_values": hp_values,
            "model_specs": model_specs,
            "metrics": {},
            "started_at": time.time(),
            "trial_dir": str(folder),
        }
        atomic_write_json(folder / "hyperparameters.json", hp_values)
        atomic_write_json(folder / "trial.json", record)
        log_path = folder / "log.txt"

        def log(message: str) -> None:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(f"{time.strftime('%H:%M:%S')} {message}\n")

        self.reporter.trial_started(self.spec.name, trial.trial_id, sampled)
        started = time.perf_counter()
        try:
            adapter = self.spec.adapter_class(model_specs, hp_values)
            metrics = run_lifecycle(adapter, self.task.objective, log=log)
            save = getattr(adapter, "save", None)
            if callable(save):
                save(folder)
                log("save: model written")
        except Exception as e:
            tb = traceback.format_exc()
            atomic_write_text(folder / "traceback.txt", tb)
            log(f"FAILED: {type(e).__name__}: {e}")
            record.update(status="FAILED", error=f"{type(e).__name__}: {e}",
                          wall_time_s=time.perf_counter() - started)
            atomic_write_json(folder / "trial.json", record)
            self.reporter.trial_finished(record, self.task.objective)
            raise keras_tuner.errors.FailedTrialError(f"{type(e).__name__}: {e}") from e
        except BaseException:
            record.update(status="INTERRUPTED", wall_time_s=time.perf_counter() - started)
            atomic_write_json(folder / "trial.json", record)
            raise
        finally:
            adapter = None
            _free_memory()
        record.update(status="COMPLETED", metrics=metrics, wall_time_s=time.perf_counter() - started)
        atomic_write_json(folder / "metrics.json", metrics)
        atomic_write_json(folder / "trial.json", record)
        self.reporter.trial_finished(record, self.task.objective)
        return metrics

    # Models are saved by the adapters themselves (adapter.save); keras-tuner's
    # checkpointing of a built-in hypermodel does not apply here.
    def save_model(self, trial_id, model, step=0):
        pass

    def load_model(self, trial):
        raise NotImplementedError("Zazu adapters save their own models in the trial folder.")


def _free_memory() -> None:
    import keras

    keras.backend.clear_session()
    gc.collect()
