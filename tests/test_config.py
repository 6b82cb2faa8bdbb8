"""resolve_config: defaults <- config file <- CLI overrides, validated; parse_priority; save_config."""

from __future__ import annotations

import json

import pytest
import yaml

from zazu.config import auto_time_budget, load_defaults, parse_priority, resolve_config, resolve_time_budget, save_config
from zazu.errors import ConfigError

# A config in the original ZazuML configs.json vocabulary.
ZAZUML_CONFIG = {
    "max_trials": 6,
    "max_instances_at_once": 1,
    "model_priority_space": [9, 3, 2],
    "task": "classification",
    "epochs": 3,
    "search_method": "bayesian",
    "data": {"home_path": "/data/flowers", "annotation_type": "folder"},
}


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def assert_has_zazuml_values(config: dict) -> None:
    for key, value in ZAZUML_CONFIG.items():
        if isinstance(value, dict):
            assert {k: config[key][k] for k in value} == value
        else:
            assert config[key] == value


def config_error(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        resolve_config(*args, **kwargs)
    return str(info.value)


# --- defaults and merging ------------------------------------------------------


def test_defaults_resolve_unchanged():
    config = resolve_config()
    assert config == load_defaults()  # time_budget stays auto until the search has fitted its models
    assert config["task"] == "classification"
    assert config["data"]["home_path"] is None
    assert config["data"]["annotation_type"] == "auto"
    assert config["max_instances_at_once"] == 1


@pytest.mark.parametrize("task, minutes", [("classification", 2), ("detection", 6), ("instance_segmentation", 6)])
def test_the_default_time_budget_depends_on_the_task_and_a_fixed_training_has_none(task, minutes, tmp_path):
    config = resolve_config(overrides={"task": task})
    assert config["time_budget"] == "auto"  # made minutes once the data fit has chosen the input sizes
    resolve_time_budget(config, None)
    assert config["time_budget"] == minutes
    (tmp_path / "none.yaml").write_text("time_budget: null\n", encoding="utf-8")
    assert resolve_config(tmp_path / "none.yaml", overrides={"task": task})["time_budget"] is None
    fixed = resolve_config(overrides={"task": task, "models": ["m"], "fixed_hyperparameters": {"epochs_x": 1}})
    assert fixed["time_budget"] is None


def test_parallel_trials_are_accepted():
    assert resolve_config(overrides={"max_instances_at_once": 3})["max_instances_at_once"] == 3


def test_resolve_returns_a_fresh_dict_each_time():
    first = resolve_config()
    first["data"]["home_path"] = "/mutated"
    assert resolve_config()["data"]["home_path"] is None


def test_yaml_config_file_with_zazuml_keys_merges(tmp_path):
    config = resolve_config(write_yaml(tmp_path / "c.yaml", ZAZUML_CONFIG))
    assert_has_zazuml_values(config)
    assert config["top_k"] == load_defaults()["top_k"]  # untouched keys keep their defaults


def test_json_config_file_with_zazuml_keys_merges(tmp_path):
    path = tmp_path / "configs.json"
    path.write_text(json.dumps(ZAZUML_CONFIG), encoding="utf-8")
    config = resolve_config(path)
    assert_has_zazuml_values(config)


def test_partial_nested_section_keeps_other_nested_defaults(tmp_path):
    config = resolve_config(write_yaml(tmp_path / "c.yaml", {"data": {"home_path": "/d"}}))
    assert config["data"] == {**load_defaults()["data"], "home_path": "/d"}


def test_empty_config_file_means_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert resolve_config(path) == resolve_config()


def test_cli_overrides_beat_the_config_file(tmp_path):
    path = write_yaml(tmp_path / "c.yaml", ZAZUML_CONFIG)
    config = resolve_config(path, {"max_trials": 2, "epochs": 7, "data": {"home_path": "/cli"},
                                   "model_priority_space": [1, 2, 3]})
    assert config["max_trials"] == 2
    assert config["epochs"] == 7
    assert config["data"]["home_path"] == "/cli"
    assert config["data"]["annotation_type"] == "folder"  # from the file
    assert config["model_priority_space"] == [1, 2, 3]
    assert config["search_method"] == "bayesian"  # from the file, not overridden


def test_none_overrides_are_ignored(tmp_path):
    path = write_yaml(tmp_path / "c.yaml", ZAZUML_CONFIG)
    config = resolve_config(path, {"max_trials": None, "task": None, "data": {"home_path": None}, "models": None})
    assert config["max_trials"] == 6
    assert config["task"] == "classification"
    assert config["data"]["home_path"] == "/data/flowers"


# --- unknown keys -------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_near_key(tmp_path):
    path = write_yaml(tmp_path / "bad.yaml", {"max_trails": 3})
    msg = config_error(path)
    assert "unknown config key `max_trails`" in msg
    assert "Did you mean `max_trials`" in msg
    assert str(path) in msg


def test_unknown_nested_key_suggests_the_near_key(tmp_path):
    msg = config_error(write_yaml(tmp_path / "bad.yaml", {"data": {"home_pth": "/d"}}))
    assert "`data.home_pth`" in msg
    assert "Did you mean `home_path`" in msg


def test_unknown_override_key_names_the_command_line():
    msg = config_error(overrides={"epoch": 3})
    assert "command line" in msg
    assert "Did you mean `epochs`" in msg


def test_scalar_for_a_section_is_rejected(tmp_path):
    msg = config_error(write_yaml(tmp_path / "bad.yaml", {"data": "/d"}))
    assert "`data` must be a mapping" in msg
    assert "'/d'" in msg


def test_missing_config_file(tmp_path):
    msg = config_error(tmp_path / "nope.yaml")
    assert "nope.yaml" in msg


def test_unparseable_config_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{max_trials: 3", encoding="utf-8")
    msg = config_error(path)
    assert "cannot be parsed" in msg
    assert "\n" not in msg


def test_config_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    assert "mapping" in config_error(path)


# --- bad values ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key", "received"),
    [
        ({"task": "segmentation"}, "task", "'segmentation'"),
        ({"search_method": "evolution"}, "search_method", "'evolution'"),
        ({"model_priority_space": [11, 3, 2]}, "model_priority_space", "[11, 3, 2]"),
        ({"model_priority_space": [-1, 3, 2]}, "model_priority_space", "[-1, 3, 2]"),
        ({"model_priority_space": [9, 3]}, "model_priority_space", "[9, 3]"),
        ({"model_priority_space": [9, 3, 2, 1]}, "model_priority_space", "[9, 3, 2, 1]"),
        ({"model_priority_space": ["9", 3, 2]}, "model_priority_space", "['9', 3, 2]"),
        ({"epochs": 0}, "epochs", "0"),
        ({"max_trials": 2.5}, "max_trials", "2.5"),
        ({"top_k": True}, "top_k", "True"),
        ({"val_split": 1.5}, "val_split", "1.5"),
        ({"val_split": 0}, "val_split", "0"),
        ({"time_budget": -5}, "time_budget", "-5"),
        ({"max_instances_at_once": 0}, "max_instances_at_once", "0"),
        ({"models": []}, "models", "[]"),
        ({"data": {"annotation_type": "json"}}, "annotation_type", "'json'"),
        ({"data": {"strict": "yes"}}, "strict", "'yes'"),
        ({"test_split": 0.8}, "test_split", "0.8"),
    ],
)
def test_bad_value_names_the_key_and_the_received_value(overrides, key, received):
    msg = config_error(overrides=overrides)
    assert f"`{key}`" in msg or f"`data.{key}`" in msg
    assert f"{key}={received}" in msg


def test_bad_task_suggests_the_near_task():
    assert "Did you mean `classification`" in config_error(overrides={"task": "clasification"})


def test_bad_value_in_a_config_file_is_caught(tmp_path):
    msg = config_error(write_yaml(tmp_path / "c.yaml", {"epochs": 0}))
    assert "epochs=0" in msg


# --- parse_priority -------------------------------------------------------------


def test_parse_priority_named():
    assert parse_priority("accuracy=9,speed=3,memory=2") == [9, 3, 2]


def test_parse_priority_named_in_any_order_with_spaces():
    assert parse_priority(" memory = 2 , accuracy=9, speed=3 ") == [9, 3, 2]


def test_parse_priority_positional():
    assert parse_priority("9,3,2") == [9, 3, 2]


def test_parse_priority_missing_axes_are_zero():
    assert parse_priority("accuracy=9") == [9, 0, 0]
    assert parse_priority("speed=4,memory=1") == [0, 4, 1]


def test_parse_priority_keeps_fractions_and_makes_whole_numbers_ints():
    values = parse_priority("accuracy=7.5,speed=3.0,memory=2")
    assert values == [7.5, 3, 2]
    assert type(values[1]) is int


def test_parse_priority_unknown_axis_suggests_the_near_axis():
    with pytest.raises(ConfigError) as info:
        parse_priority("acuracy=9,speed=3")
    msg = str(info.value)
    assert "Unknown priority `acuracy`" in msg
    assert "Did you mean `accuracy`" in msg


@pytest.mark.parametrize("text", ["speed=x", "9,3", "9,3,2,1", "a,b,c", ""])
def test_parse_priority_malformed(text):
    with pytest.raises(ConfigError, match="Expected --priority like"):
        parse_priority(text)


def test_parsed_priority_passes_validation():
    config = resolve_config(overrides={"model_priority_space": parse_priority("accuracy=9,speed=3,memory=2")})
    assert config["model_priority_space"] == [9, 3, 2]


# --- save_config -------------------------------------------------------------------


def test_save_config_round_trips_through_resolve_config(tmp_path):
    config = resolve_config(write_yaml(tmp_path / "in.yaml", ZAZUML_CONFIG),
                            {"models": ["tiny_cnn", "small_resnet"], "time_budget": 2.5, "seed": 7})
    path = tmp_path / "run" / "config.yaml"
    save_config(config, path)
    assert path.is_file()
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == config
    assert resolve_config(path) == config


def test_save_config_round_trips_defaults(tmp_path):
    config = resolve_config()
    save_config(config, tmp_path / "config.yaml")
    assert resolve_config(tmp_path / "config.yaml") == config


@pytest.mark.parametrize("text, message", [
    ("task: classification\noutput: [1, 2]\n", "`output` must be a non-empty string or null. Received: output=[1, 2]"),
    ("task: classification\nzoo: 7\n", "`zoo` must be a folder (a non-empty string), a non-empty list of folders, or null. Received: zoo=7"),
    ("task: classification\nzoo: [a, 3]\n", "`zoo` must be a folder (a non-empty string), a non-empty list of folders, or null. Received: zoo=['a', 3]"),
    ("task: [x]\n", "`task` must be a non-empty string. Received: task=['x']"),
    ("data: {home_path: 5}\n", "`data.home_path` must be a non-empty string or null. Received: home_path=5"),
    ("search_method: 3\n", "`search_method` must be a non-empty string. Received: search_method=3"),
])
def test_a_value_of_the_wrong_type_is_one_config_error(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        resolve_config(path)
    assert str(error.value) == message


def test_a_config_file_that_is_not_utf8_is_one_config_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"task: classification\nname: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"c.yaml: not UTF-8 text \(byte 27\)"):
        resolve_config(path)


def _leaf_keys(block: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in block.items():
        keys |= _leaf_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def test_one_table_holds_a_rule_for_every_key_of_the_defaults():
    from zazu.config import CONFIG_RULES
    from zazu.defaults import load_defaults

    checked_beside_the_table = {"export.formats", "export.tflite_converter"}  # lists and typed settings
    assert _leaf_keys(load_defaults()) - checked_beside_the_table == set(CONFIG_RULES)


@pytest.mark.parametrize("overrides, message", [
    ({"export": {"profile_runs": 0}}, "`export.profile_runs` must be an integer >= 1. Received: profile_runs=0"),
    ({"export": {"num_threads": 1.5}}, "`export.num_threads` must be an integer >= 1 or null. Received: num_threads=1.5"),
    ({"export": {"int8_io": "int4"}}, "`export.int8_io` must be one of int8, uint8. Received: int8_io='int4'"),
    ({"export": {"weight_rounding": "up"}},
     "`export.weight_rounding` must be one of calibrated, nearest. Received: weight_rounding='up'"),
    ({"export": {"edgetpu_compiler": "no"}}, "`export.edgetpu_compiler` must be true or false. Received: edgetpu_compiler='no'"),
    ({"target": {"max_ram_kb": -1}}, "`target.max_ram_kb` must be a positive number or null. Received: max_ram_kb=-1"),
    ({"augmentation": {"noise": "x"}}, "`augmentation.noise` must be a number >= 0. Received: noise='x'"),
    ({"augmentation": {"mosaic": 1.5}}, "`augmentation.mosaic` must be auto or a probability, a number from 0 to 1. "
                                        "Received: mosaic=1.5"),
    # never coerced: a whole float is not an integer, true is not 1
    ({"epochs": 3.0}, "`epochs` must be an integer >= 1 or auto. Received: epochs=3.0"),
    ({"top_k": True}, "`top_k` must be an integer >= 1. Received: top_k=True"),
    ({"time_budget": "soon"}, "`time_budget` must be a positive number of minutes up to 10080 (a week), auto or null. Received: time_budget='soon'"),
    ({"time_budget": 1e308}, "`time_budget` must be a positive number of minutes up to 10080 (a week), auto or null. Received: time_budget=1e+308"),
])
def test_every_block_is_checked_by_the_table_with_one_message_form(overrides, message):
    with pytest.raises(ConfigError) as error:
        resolve_config(overrides=overrides)
    assert str(error.value) == message


def test_zazu_train_with_no_value_fixed_still_has_no_time_budget():
    # `zazu train --model M` fixes nothing ({}); that empty mapping was dropped with the None flags, so the
    # training got the search's 6-minute budget and stopped a 10-epoch run after 7
    config = resolve_config(overrides={"task": "detection", "models": ["retinanet_lite"], "fixed_hyperparameters": {},
                                       "data": {"home_path": None}})
    assert config["fixed_hyperparameters"] == {} and config["time_budget"] is None
    assert config["data"]["home_path"] is None  # a block emptied of its None flags still merges as nothing


def test_the_auto_budget_grows_with_the_pixels_of_the_first_input_up_to_one_and_a_half():
    assert auto_time_budget("detection", 320) == 6 and auto_time_budget("detection", 256) == 6  # never below
    assert auto_time_budget("detection", 384) == 8.6  # 6 * (384 / 320) ** 2 = 8.64
    assert auto_time_budget("detection", 512) == 9  # 6 * 2.56, capped at 1.5x
    assert auto_time_budget("classification", 224) == 2
    config = resolve_config(overrides={"task": "detection", "time_budget": 30})
    resolve_time_budget(config, 512)
    assert config["time_budget"] == 30  # a budget the user gave is kept
