"""What comes out of a trial: its record, `trials/<model>-<id>/trial.json`, typed.

A `TypedDict`, not a class: the record is JSON as written (older run folders hold the same keys, some
absent), and the search, the leaderboard, the report and the export read it as such. The tuner writes it
(`zazu.search.tuner`): RUNNING at the start, then what the trial came to.
"""

from __future__ import annotations

from typing import Any, TypedDict

from zazu.trial_status import TrialStatus


class TrialRecord(TypedDict, total=False):
    model: str
    trial_id: str
    seed: int
    status: TrialStatus
    hyperparameters: dict[str, Any]  # the sampled values, as searched
    hp_values: dict[str, Any]  # what the adapter received: training_configs + sampled + epochs
    model_specs: dict[str, Any]  # the adapter's TrialInputs, as JSON (TrialInputs.to_json)
    metrics: dict[str, float]  # the float model's, from get_metrics()
    reported: dict[str, float]  # what the oracle was told: the int8 objective when there is one
    int8_metrics: dict[str, float]  # the int8 model's, scored by the tuner (export.bundle.profile_trial)
    int8_method: str  # "post-training", or "quantization-aware" when the fine-tuned model ships
    int8_drop: float  # the objective's float value minus its int8 one (a gain is negative)
    int8_over_bar: bool  # the drop is over the task's bar (Task.int8_drop_bar)
    int8_worst_layers: list[dict[str, Any]] | str  # over the bar: the post-training int8 model's worst layers
    # (zazu export --explain-int8's comparison; all in int8_layers.json), or why the debugger could not say
    int8_fine_tune: dict[str, Any]  # quantization-aware fine-tuning, when tried: epochs, seconds, the objective
    # float and int8 post-training and fine-tuned, each drop, kept; or why it was skipped. When kept, `metrics`
    # are the fine-tuned model's (float and int8 describe the model that ships)
    cost: dict[str, Any]  # the int8 model's size, RAM, latency (export.tflite_cost)
    cost_before_training: dict[str, Any]  # with a device budget: the untrained model's, what pruned it
    over_budget: list[str]  # OVER_BUDGET: which budgets it broke
    continues: dict[str, Any]  # a Hyperband-promoted trial: its parent and epoch
    error: str  # FAILED: the exception, one line
    failure: str  # FAILED: error, not_finite, out_of_memory, worker_died
    started_at: float
    finished_at: float
    wall_time_s: float
    trial_dir: str
    tuner_id: str
