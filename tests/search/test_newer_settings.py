"""A run started before a setting existed resumes: the new setting is not a change of its config, and where its
default would change how the remaining trials run, the run keeps the behaviour it started with."""

from __future__ import annotations

from zazu.search.run_folder import _first_difference, keep_older_behaviour


def test_a_setting_the_run_never_recorded_is_not_a_change_but_an_edited_one_is():
    recorded = {"task": "detection", "export": {"formats": ["int8"]}}
    current = {"task": "detection", "export": {"formats": ["int8"], "quantization_aware": "auto"}}
    assert _first_difference(recorded, current) is None
    assert _first_difference(recorded, {**current, "export": {"formats": ["keras"]}}) == "export.formats"


def test_a_run_from_before_quantization_aware_fine_tuning_resumes_without_it():
    config = {"export": {"quantization_aware": "auto", "quantization_aware_epochs": 2}}
    keep_older_behaviour(config, {"export": {"formats": ["int8"]}})
    assert config["export"]["quantization_aware"] == "never"
    newer = {"export": {"quantization_aware": "auto"}}
    keep_older_behaviour(newer, {"export": {"quantization_aware": "auto"}})  # recorded: the run chose it
    assert newer["export"]["quantization_aware"] == "auto"
    unrecorded = {"export": {"quantization_aware": "auto"}}
    keep_older_behaviour(unrecorded, None)  # run.json without a config: nothing known, nothing changed
    assert unrecorded["export"]["quantization_aware"] == "auto"


def test_a_run_from_before_bias_correction_resumes_without_it():
    """Its trials' int8 models were scored uncorrected: the rest are too, so the winner is chosen on one method."""
    config = {"export": {"quantization_aware": "auto", "bias_correction": True}}
    keep_older_behaviour(config, {"export": {"formats": ["int8"], "quantization_aware": "auto"}})
    assert config["export"]["bias_correction"] is False
    newer = {"export": {"bias_correction": True}}
    keep_older_behaviour(newer, {"export": {"quantization_aware": "auto", "bias_correction": True}})
    assert newer["export"]["bias_correction"] is True


def test_a_run_from_before_calibrated_weight_rounding_resumes_with_nearest():
    """Its trials' int8 models were scored with the converter's rounding: the rest are too."""
    config = {"export": {"bias_correction": True, "weight_rounding": "calibrated"}}
    keep_older_behaviour(config, {"export": {"quantization_aware": "auto", "bias_correction": True}})
    assert config["export"]["weight_rounding"] == "nearest"
    newer = {"export": {"weight_rounding": "calibrated"}}
    keep_older_behaviour(newer, {"export": {"bias_correction": True, "weight_rounding": "calibrated"}})
    assert newer["export"]["weight_rounding"] == "calibrated"
