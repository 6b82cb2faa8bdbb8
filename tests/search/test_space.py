"""SpaceCodec: ZazuML hp_search_space <-> keras_tuner.HyperParameters."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_tuner  # noqa: E402

from zazu.search.space import SpaceCodec  # noqa: E402

ANCHORS = [[0.5, 1, 2], [1, 2]]


def hp_of(hp: keras_tuner.HyperParameters, name: str):
    """The hyperparameter object (Choice, Int, Float) registered under `name`."""
    return next(h for h in hp.space if h.name == name)


def build(*entries):
    codec = SpaceCodec(list(entries))
    return codec, codec.hyperparameters()


def test_returns_keras_tuner_hyperparameters():
    _, hp = build({"name": "lr", "values": [0.1, 0.01]})
    assert isinstance(hp, keras_tuner.HyperParameters)
    assert [h.name for h in hp.space] == ["lr"]


def test_int_choices_stay_ints():
    codec, hp = build({"name": "filters", "values": [16, 32, 64]})
    choice = hp_of(hp, "filters")
    assert isinstance(choice, keras_tuner.engine.hyperparameters.Choice)
    assert choice.values == [16, 32, 64]
    assert all(type(v) is int for v in choice.values)
    assert choice.ordered
    assert codec.decode(hp.values) == {"filters": 16}


def test_mixed_int_and_float_choices_become_floats():
    codec, hp = build({"name": "alpha", "values": [1, 0.5]})
    choice = hp_of(hp, "alpha")
    assert choice.values == [1.0, 0.5]
    assert all(type(v) is float for v in choice.values)
    assert type(codec.decode(hp.values)["alpha"]) is float


def test_string_choices_stay_strings():
    codec, hp = build({"name": "optimizer", "values": ["adam", "sgd"]})
    assert hp_of(hp, "optimizer").values == ["adam", "sgd"]
    assert codec.decode(hp.values) == {"optimizer": "adam"}
    assert codec.encoded == set()


def test_bool_choices_stay_bools():
    # keras-tuner's Choice would turn True into 1, so bools go through the JSON encoding
    codec, hp = build({"name": "augment", "values": [True, False]})
    assert codec.decode(hp.values)["augment"] is True
    decoded = [codec.decode({"augment": v})["augment"] for v in hp_of(hp, "augment").values]
    assert decoded == [True, False]
    assert all(type(v) is bool for v in decoded)


def test_bool_and_none_choices_decode_to_originals():
    codec, hp = build({"name": "flag", "values": [True, None, False]})
    assert [codec.decode({"flag": v})["flag"] for v in hp_of(hp, "flag").values] == [True, None, False]


def test_list_valued_choices_are_encoded_and_decoded():
    codec, hp = build({"name": "anchor_ratios", "values": ANCHORS})
    choice = hp_of(hp, "anchor_ratios")
    assert all(isinstance(v, str) for v in choice.values)
    assert codec.encoded == {"anchor_ratios"}
    assert codec.decode(hp.values) == {"anchor_ratios": [0.5, 1, 2]}
    decoded = [codec.decode({"anchor_ratios": v})["anchor_ratios"] for v in choice.values]
    assert decoded == ANCHORS


def test_null_and_number_choices_are_encoded_and_decoded():
    codec, hp = build({"name": "max_pool", "values": [None, 3]})
    choice = hp_of(hp, "max_pool")
    assert codec.encoded == {"max_pool"}
    assert [codec.decode({"max_pool": v})["max_pool"] for v in choice.values] == [None, 3]
    assert codec.decode(hp.values) == {"max_pool": None}


def test_explicit_default_of_an_encoded_choice():
    codec, hp = build({"name": "anchor_ratios", "values": ANCHORS, "default": [1, 2]})
    assert codec.decode(hp.values) == {"anchor_ratios": [1, 2]}


def test_unencoded_names_pass_through_decode_unchanged():
    codec, _ = build({"name": "anchor_ratios", "values": ANCHORS}, {"name": "lr", "values": [0.1, 0.01]})
    assert codec.decode({"anchor_ratios": "[1, 2]", "lr": 0.01}) == {"anchor_ratios": [1, 2], "lr": 0.01}


def test_integer_range_becomes_hp_int():
    codec, hp = build({"name": "depth", "min": 2, "max": 6, "step": 2, "sampling": None})
    h = hp_of(hp, "depth")
    assert isinstance(h, keras_tuner.engine.hyperparameters.Int)
    assert (h.min_value, h.max_value, h.step, h.sampling) == (2, 6, 2, "linear")
    assert codec.decode(hp.values) == {"depth": 2}


def test_integer_range_without_step_becomes_hp_int():
    _, hp = build({"name": "depth", "min": 1, "max": 5})
    h = hp_of(hp, "depth")
    assert isinstance(h, keras_tuner.engine.hyperparameters.Int)
    assert (h.min_value, h.max_value) == (1, 5)


def test_float_range_becomes_hp_float():
    _, hp = build({"name": "dropout", "min": 0.1, "max": 0.5})
    h = hp_of(hp, "dropout")
    assert isinstance(h, keras_tuner.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.step) == (0.1, 0.5, None)


def test_integer_bounds_with_float_step_become_hp_float():
    _, hp = build({"name": "scale", "min": 1, "max": 3, "step": 0.5})
    h = hp_of(hp, "scale")
    assert isinstance(h, keras_tuner.engine.hyperparameters.Float)
    assert (h.min_value, h.max_value, h.step) == (1.0, 3.0, 0.5)


def test_log_sampling_is_preserved_on_float_ranges():
    _, hp = build({"name": "lr", "min": 1e-4, "max": 1e-1, "sampling": "log"})
    h = hp_of(hp, "lr")
    assert isinstance(h, keras_tuner.engine.hyperparameters.Float)
    assert h.sampling == "log"


def test_reverse_log_sampling_is_preserved_on_float_ranges():
    _, hp = build({"name": "momentum", "min": 0.5, "max": 0.99, "sampling": "reverse_log"})
    assert hp_of(hp, "momentum").sampling == "reverse_log"


def test_log_sampling_is_preserved_on_int_ranges_with_step():
    _, hp = build({"name": "filters", "min": 8, "max": 64, "step": 2, "sampling": "log"})
    h = hp_of(hp, "filters")
    assert isinstance(h, keras_tuner.engine.hyperparameters.Int)
    assert (h.sampling, h.step) == ("log", 2)


def test_log_sampling_on_int_range_without_step():
    # keras-tuner refuses step=1 with log sampling; no step must stay no step
    codec, hp = build({"name": "filters", "min": 8, "max": 64, "sampling": "log"})
    h = hp_of(hp, "filters")
    assert isinstance(h, keras_tuner.engine.hyperparameters.Int)
    assert (h.sampling, h.step) == ("log", None)
    assert codec.decode(hp.values) == {"filters": 8}


def test_range_default_is_passed_on():
    codec, hp = build({"name": "depth", "min": 1, "max": 5, "default": 3})
    assert codec.decode(hp.values) == {"depth": 3}


def test_decode_drops_tuner_bookkeeping_keys():
    codec, _ = build({"name": "lr", "values": [0.1, 0.01]})
    values = {"lr": 0.1, "tuner/epochs": 4, "tuner/initial_epoch": 0, "tuner/bracket": 1, "tuner/round": 0,
              "tuner/trial_id": "0003"}
    assert codec.decode(values) == {"lr": 0.1}


def test_hyperparameters_can_be_rebuilt_without_stale_encoded_names():
    codec = SpaceCodec([{"name": "anchor_ratios", "values": ANCHORS}])
    codec.hyperparameters()
    codec.entries = [{"name": "anchor_ratios", "values": ["a", "b"]}]
    codec.hyperparameters()
    assert codec.encoded == set()


def test_random_search_oracle_populates_values_that_decode_to_originals(tmp_path):
    entries = [
        {"name": "anchor_ratios", "values": ANCHORS},
        {"name": "max_pool", "values": [None, 3]},
        {"name": "filters", "values": [16, 32]},
        {"name": "depth", "min": 2, "max": 4, "step": 1},
        {"name": "lr", "min": 1e-4, "max": 1e-2, "sampling": "log"},
    ]
    codec = SpaceCodec(entries)
    hp = codec.hyperparameters()
    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("val_accuracy", "max"), hyperparameters=hp, max_trials=3, seed=1,
    )
    oracle._set_project_dir(str(tmp_path), "p")
    for i in range(3):
        trial = oracle.create_trial(f"t{i}")
        values = codec.decode(trial.hyperparameters.values)
        assert set(values) == {"anchor_ratios", "max_pool", "filters", "depth", "lr"}
        assert values["anchor_ratios"] in ANCHORS
        assert values["max_pool"] in (None, 3)
        assert values["filters"] in (16, 32)
        assert values["depth"] in (2, 3, 4)
        assert 1e-4 <= values["lr"] <= 1e-2
