"""A trial Hyperband promotes goes on from its parent's epoch and weights, not from scratch."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from zazu.config import resolve_config

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')


def _history(folder: Path) -> list[dict[str, str]]:
    with open(folder / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_promoted_hyperband_trial_starts_at_its_parents_epoch_and_weights(shapes_dataset, tmp_path):
    from zazu.console import Reporter
    from zazu.search.driver import run_search

    # max 3 epochs, factor 3: three 1-epoch trials, then the best of them promoted to 3 epochs
    config = resolve_config(overrides={
        "models": ["tiny_cnn"], "search_method": "hyperband", "epochs": 3, "max_trials": 4, "time_budget": None,
        "data": {"home_path": str(shapes_dataset)}, "output": str(tmp_path / "run"),
        "export": {"formats": ["keras"], "profile_trials": False, "edgetpu_compiler": False}})
    result = run_search(config, Reporter(quiet=True))

    promoted = [r for r in result.ranked if r.get("continues")]
    assert len(promoted) == 1, [(r["trial_id"], r.get("continues")) for r in result.ranked]
    child = promoted[0]
    parent = next(r for r in result.ranked if r["trial_id"] == child["continues"]["parent"])
    assert child["hyperparameters"] == parent["hyperparameters"]
    parent_rows, child_rows = _history(Path(parent["trial_dir"])), _history(Path(child["trial_dir"]))
    assert len(parent_rows) == 1 and child["continues"]["from_epoch"] == 1
    # the child's first epoch is the parent's, carried over; then it trained epochs 2 and 3 (not 1 to 3)
    assert len(child_rows) == 3 and child_rows[0] == parent_rows[0]
    assert child["metrics"]["epochs_trained"] == 3
    log = (Path(child["trial_dir"]) / "log.txt").read_text()
    assert f"promoted by Hyperband from trial {parent['trial_id']}: continues after its epoch 1" in log
    assert "train: continued after epoch 1 from the trial's resume point" in log
    record = json.loads((Path(child["trial_dir"]) / "trial.json").read_text())
    assert record["continues"] == {"parent": parent["trial_id"], "from_epoch": 1}
