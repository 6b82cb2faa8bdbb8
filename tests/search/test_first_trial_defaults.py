"""Every search method's first trial trains the zoo entry's defaults (as keras-tuner's GridSearch does);
later trials, and a resumed search's next trial, are keras-tuner's own draws; a trial that ended before
a kill is not run again on resume."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from zazu.search.oracles import make_oracle  # noqa: E402
from zazu.search.space import SpaceCodec  # noqa: E402
from zazu.tasks import TASKS  # noqa: E402

# defaults away from each range's first value or minimum, so a random draw cannot pass for them
ENTRIES = [
    {"name": "anchor_ratios", "values": [[0.5, 1, 2], [1, 2], [1]], "default": [1, 2]},
    {"name": "filters", "values": [16, 32, 64], "default": 32},
    {"name": "depth", "min": 2, "max": 9, "step": 1, "default": 5},
    {"name": "learning_rate", "min": 1e-5, "max": 1e-1, "sampling": "log", "default": 0.003},
]
DEFAULTS = {"anchor_ratios": [1, 2], "filters": 32, "depth": 5, "learning_rate": 0.003}


def oracle_for(method: str, folder, seed: int = 3):
    codec = SpaceCodec(ENTRIES)
    oracle = make_oracle(method, TASKS["classification"], codec.hyperparameters(), max_trials=6, epochs=4,
                         seed=seed, max_failures=3)
    oracle._set_project_dir(str(folder), "model")
    return codec, oracle


def chosen(codec, trial) -> dict:
    return {k: v for k, v in codec.decode(trial.hyperparameters.values).items() if k in DEFAULTS}


@pytest.mark.parametrize("method", ["random", "bayesian", "hyperband", "grid"])
def test_the_first_trial_of_every_method_is_the_entrys_defaults(tmp_path, method):
    codec, oracle = oracle_for(method, tmp_path)
    first = oracle.create_trial("tuner0")
    assert chosen(codec, first) == DEFAULTS
    second = oracle.create_trial("tuner1")
    assert chosen(codec, second) != DEFAULTS


@pytest.mark.parametrize("method", ["random", "bayesian"])
def test_a_resumed_search_neither_reruns_an_ended_trial_nor_starts_from_the_defaults_again(tmp_path, method):
    codec, oracle = oracle_for(method, tmp_path)
    first = oracle.create_trial("tuner0")
    assert chosen(codec, first) == DEFAULTS
    oracle.update_trial(first.trial_id, {"val_accuracy": 0.5})
    first.status = "COMPLETED"
    oracle.end_trial(first)
    codec, resumed = oracle_for(method, tmp_path, seed=4)
    resumed.reload()
    second = resumed.create_trial("tuner1")
    assert second.trial_id != first.trial_id
    assert chosen(codec, second) != DEFAULTS
