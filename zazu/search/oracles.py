"""keras-tuner's own oracles, with the three things a run needs on top of them.

The sampling is keras-tuner's (`RandomSearchOracle`, `BayesianOptimizationOracle`,
`HyperbandOracle`, `GridSearchOracle`); `RunOracle` only adds:

- atomic state files: keras-tuner writes `oracle.json` and `trial_*/trial.json`
  in place, and a kill in mid-write would leave a file that cannot be resumed;
- a stop that keras-tuner answers like any other: once the time budget is spent
  (or, once a trial has finished, so nearly spent that another could not finish:
  less than `start_margin` seconds, or half the quickest trial so far, are left),
  or `max_consecutive_failed_trials` is reached, `create_trial` returns a
  STOPPED trial (keras-tuner raises a RuntimeError out of `end_trial` instead,
  which in chief mode would surface inside a gRPC call and leave the oracle's
  lock held). The reason is kept in the oracle's saved state, so a resumed run
  does not restart a search that stopped;
- the same trial budget for every method (keras-tuner's Hyperband has none);
- a first trial at the space's defaults for every method, as keras-tuner's GridSearch already does:
  a model's first trial (under a time budget often its only one) trains the recipe its zoo entry
  chose, not a random draw. Later trials sample as keras-tuner does.
"""

from __future__ import annotations

import json
import os
import time

import keras_tuner

from zazu.atomic_io import atomic_write_text
from zazu.search.kt_compat import (Trial, TrialStatus, forget_tuner, oracle_file, started_trial_ids, synchronized,
                                   trial_folder)
from zazu.search.state_files import save_oracle_state
from zazu.tasks import Task

BASES = {
    "random": keras_tuner.oracles.RandomSearchOracle,
    "bayesian": keras_tuner.oracles.BayesianOptimizationOracle,
    "grid": keras_tuner.oracles.GridSearchOracle,
    "hyperband": keras_tuner.oracles.HyperbandOracle,
}


class RunOracle:
    """Mixin placed before a keras-tuner oracle class (see `make_oracle`)."""

    stop_reason: str | None = None  # why no new trial may start; None while the search goes on
    deadline: float | None = None  # time.time() when the time budget is spent (not saved: each session sets it)
    start_margin: float = 0.0  # no trial starts within this many seconds of the deadline
    shortest_trial: float | None = None  # seconds of this session's quickest finished trial

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started_at: dict[str, float] = {}  # trial id -> time.time() it started, this session

    # -- stopping -------------------------------------------------------------------
    def last_start(self) -> float:
        """The time.time() after which no trial starts: once a trial has finished, one with less budget
        left than half the quickest so far (or than `start_margin`) would be cut short before it could
        compete. The session's first trial may start until the deadline itself."""
        if self.shortest_trial is None:
            return self.deadline
        return self.deadline - max(self.start_margin, 0.5 * self.shortest_trial)

    @synchronized
    def create_trial(self, tuner_id):
        if self.stop_reason is None and self.deadline is not None and time.time() >= self.last_start():
            self.stop_reason = "time budget spent"
            self.save()
        # A tuner that asks again while it holds a trial (a restarted worker) gets that trial back.
        if self.stop_reason is not None and tuner_id not in self.ongoing_trials:
            forget_tuner(self, tuner_id)
            return Trial(self.get_space(), status=TrialStatus.STOPPED)
        trial = super().create_trial(tuner_id)
        if trial.status == TrialStatus.RUNNING:
            self._started_at[trial.trial_id] = time.time()
        return trial

    @synchronized
    def end_trial(self, trial):
        started = self._started_at.pop(trial.trial_id, None)
        if started is not None and trial.status == TrialStatus.COMPLETED:
            seconds = time.time() - started
            self.shortest_trial = seconds if self.shortest_trial is None else min(self.shortest_trial, seconds)
        super().end_trial(trial)
        # keras-tuner saves before it lets the trial go from `ongoing_trials`, and a reload sends ongoing
        # trials for retry: saved again here, a kill before the next trial does not run this one twice.
        self.save()

    # -- sampling -------------------------------------------------------------------
    def _random_values(self):
        """keras-tuner's random draw (random search, Bayesian start-up, Hyperband's new trials), except the
        oracle's first trial, which gets the default of every active hyperparameter."""
        if started_trial_ids(self):
            return super()._random_values()
        defaults = keras_tuner.HyperParameters()
        for hp in self.hyperparameters.space:
            defaults.merge([hp])
            if defaults.is_active(hp):
                defaults.values[hp.name] = hp.default
        return defaults.values

    def _check_consecutive_failures(self):
        try:
            super()._check_consecutive_failures()
        except RuntimeError as e:  # keras-tuner's "Number of consecutive failures exceeded the limit"
            last = _last_line(str(e).splitlines()[1:])  # the message carries the last trial's traceback
            self.stop_reason = (f"{self.max_consecutive_failed_trials} consecutive failed trials"
                                + (f" (last: {last})" if last else ""))

    def fail_trial(self, trial_id: str, message: str) -> None:
        """End a trial as FAILED from outside a tuner (the chief, for a worker that keeps dying on it)."""
        trial = self.trials[trial_id]
        trial.status = TrialStatus.FAILED
        trial.message = message
        self.end_trial(trial)

    # -- state ----------------------------------------------------------------------
    def get_state(self):
        return {**super().get_state(), "zazu_stop_reason": self.stop_reason}

    def set_state(self, state):
        super().set_state(state)
        self.stop_reason = state.get("zazu_stop_reason")

    def save(self):
        save_oracle_state(oracle_file(self), json.dumps(self.get_state()))

    def _save_trial(self, trial):
        atomic_write_text(os.path.join(trial_folder(self, trial.trial_id), "trial.json"),
                          json.dumps(trial.get_state()))


def stop_note(model: str, stop_reason: str | None, config: dict) -> str | None:
    """What to tell the user about a model's search that stopped before its share of trials."""
    if stop_reason is None or stop_reason == "done":
        return None
    if stop_reason.startswith("time budget"):
        return f"{model}: stopped starting trials, the time budget of {config['time_budget']} min was spent"
    return f"{model}: search stopped after {stop_reason}"


def _last_line(lines: list[str]) -> str:
    """The exception line of a traceback keras-tuner keeps as a trial's message."""
    lines = [line.strip() for line in lines if line.strip()]
    return lines[-1] if lines else ""


_CLASSES: dict[str, type] = {}


def oracle_class(method: str) -> type:
    if method not in BASES:
        raise ValueError(f"unknown search method {method!r}")
    if method not in _CLASSES:
        base = BASES[method]
        _CLASSES[method] = type(f"Run{base.__name__}", (RunOracle, base), {})
    return _CLASSES[method]


def make_oracle(method: str, task: Task, hyperparameters, max_trials: int, epochs: int, seed: int,
                max_failures: int):
    common = dict(
        objective=keras_tuner.Objective(task.objective, task.direction),
        hyperparameters=hyperparameters,
        seed=seed,
        max_consecutive_failed_trials=max_failures,
    )
    cls = oracle_class(method)
    if method == "hyperband":
        # Hyperband decides epochs per trial ("tuner/epochs"), up to the run's `epochs`.
        oracle = cls(max_epochs=max(epochs, 2), factor=3, **common)
        # keras-tuner's base create_trial enforces max_trials for every oracle; Hyperband's
        # constructor just does not take it.
        oracle.max_trials = max_trials
        return oracle
    return cls(max_trials=max_trials, **common)
