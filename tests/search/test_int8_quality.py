"""What int8 cost each trial is recorded and shown: the drop of the objective, the method, and whether it is
over the task's bar (a point of accuracy, two of mAP)."""

from __future__ import annotations

import csv

from zazu.run_records import write_leaderboard
from zazu.search.int8_shipping import int8_quality
from zazu.tasks import TASKS


def test_the_drop_is_float_minus_int8_and_the_bar_is_the_tasks():
    classification, detection = TASKS["classification"], TASKS["detection"]
    lost = int8_quality({"val_accuracy": 0.948}, {"val_accuracy": 0.922}, classification)
    assert lost["int8_method"] == "post-training" and abs(lost["int8_drop"] - 0.026) < 1e-9 and lost["int8_over_bar"]
    assert not int8_quality({"val_accuracy": 0.95}, {"val_accuracy": 0.945}, classification)["int8_over_bar"]
    # a 0.015 mAP drop is within detection's 0.02, though over classification's 0.01
    assert not int8_quality({"val_mAP": 0.515}, {"val_mAP": 0.5}, detection)["int8_over_bar"]
    assert int8_quality({"val_mAP": 0.5}, {"val_mAP": 0.51}, detection)["int8_drop"] < 0  # int8 may gain


def test_the_leaderboard_shows_the_drop_and_the_method(tmp_path):
    record = {"model": "tiny_cnn", "trial_id": "0", "status": "COMPLETED", "metrics": {"val_accuracy": 0.9},
              "int8_metrics": {"val_accuracy": 0.88}, "int8_drop": 0.02, "int8_method": "post-training",
              "int8_over_bar": True, "hyperparameters": {}}
    path = write_leaderboard(tmp_path, [record], "val_accuracy")
    (row,) = csv.DictReader(path.open())
    assert (row["val_accuracy"], row["int8_val_accuracy"], row["int8_drop"], row["int8_method"]) == (
        "0.9", "0.88", "0.02", "post-training")
