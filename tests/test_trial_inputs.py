"""TrialInputs: typed for Zazu's code, still the ZazuML `model_specs` mapping for an adapter's."""

from __future__ import annotations

import json

import pytest

from zazu.trial_inputs import TrialData, TrialInputs

OLD_MODEL_SPECS = {  # a trial.json's model_specs as the search wrote it before TrialInputs
    "data": {"home_path": "/data/shapes", "annotation_type": "folder", "split": "/run/split.json",
             "records": "/run/dataset.json", "augmentation": {"horizontal_flip": True}},
    "run_dir": "/run", "seed": 3, "epochs": 5, "export": {"formats": ["int8"]}, "target": {"device": "cpu"},
    "name": "tiny_cnn", "task": "classification", "model_space": {"accuracy_rating": 3},
    "training_configs": {"batch_size": 8}, "trial_dir": "/run/trials/tiny_cnn-0",
}


def test_an_old_model_specs_dict_reads_into_typed_fields_and_writes_back_the_same():
    inputs = TrialInputs.from_mapping(OLD_MODEL_SPECS)
    assert inputs.data.records == "/run/dataset.json" and inputs.seed == 3 and inputs.deadline is None
    assert inputs.to_json() == OLD_MODEL_SPECS
    json.dumps(inputs.to_json())  # plain JSON, as trial.json keeps it


def test_a_zazuml_adapter_reads_it_as_the_dict_it_always_got():
    inputs = TrialInputs.from_mapping(OLD_MODEL_SPECS).replace(deadline=123.0, callbacks=(object(),))
    assert inputs["data"]["home_path"] == "/data/shapes"
    assert inputs.get("trial_dir") == "/run/trials/tiny_cnn-0" and inputs["deadline"] == 123.0
    assert "callbacks" not in inputs and "callbacks" not in inputs.to_json()  # passed in, never written
    assert "deadline" not in TrialInputs.from_mapping(OLD_MODEL_SPECS)  # unset: absent, as from the dict
    assert inputs.get("deadline_typo", "default") == "default"
    with pytest.raises(TypeError):
        inputs["seed"] = 4  # read-only: an adapter cannot change what the next trial receives


def test_a_hand_made_dict_needs_only_what_it_uses():
    inputs = TrialInputs.from_mapping({"data": {"home_path": "x"}})
    assert inputs.data == TrialData(home_path="x") and inputs.data.annotation_type == "auto"
    assert inputs.seed == 0 and inputs.trial_dir is None
