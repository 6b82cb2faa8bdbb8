"""`zazu train`: one zoo model with fixed hyperparameters, in a run folder other commands accept."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from zazu.cli import cli
from zazu.errors import ConfigError
from zazu.ranking import fixed_spec
from zazu.registry import Registry


def test_fixed_spec_pins_every_searched_value_and_overrides_training_configs():
    spec = Registry.load().get("retinanet")
    fixed = fixed_spec(spec, {"anchor_ratios": [0.5, 1.0, 2.0], "batch_size": 4})
    space = {e["name"]: e["values"] for e in fixed.hp_search_space}
    assert space["anchor_ratios"] == [[0.5, 1.0, 2.0]]
    assert space["anchor_scales"] == [spec.hp_search_space[0]["values"][0]]  # the first value is the default
    assert fixed.training_configs["batch_size"] == 4
    assert spec.training_configs["batch_size"] == 16  # the registry's own spec is untouched


def test_fixed_spec_rejects_an_unknown_name_with_the_valid_ones():
    spec = Registry.load().get("tiny_cnn")
    with pytest.raises(ConfigError, match=r"no hyperparameter `depht`\. Did you mean `depth`\? Valid names: .*filters"):
        fixed_spec(spec, {"depht": 2})


def test_cli_train_rejects_bad_flags_before_training(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--model", "tiny_cnn", "--hp", "learning_rat=0.1"])
    assert result.exit_code == 2 and "Did you mean `learning_rate`?" in result.output
    result = runner.invoke(cli, ["train", "--model", "tiny_cn"])
    assert result.exit_code == 2 and "Unknown zoo model `tiny_cn`" in result.output
    result = runner.invoke(cli, ["train", "--model", "tiny_cnn", "--input-size", "32x32"])
    assert result.exit_code == 2 and "Expected --input-size H,W" in result.output
    assert not any(tmp_path.iterdir())


def test_cli_train_makes_a_run_folder_that_export_and_predict_accept(shapes_dataset, tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "train", "--model", "tiny_cnn", "--data", str(shapes_dataset), "--epochs", "2", "--batch-size", "8",
        "--hp", "learning_rate=0.003", "--hp", "depth=2", "--no-augment", "--output", str(run)])
    assert result.exit_code == 0, result.output

    (trial,) = [p for p in (run / "trials").iterdir()]
    hp = json.loads((trial / "hyperparameters.json").read_text())
    assert (hp["learning_rate"], hp["depth"], hp["batch_size"], hp["augment"], hp["epochs"]) == (0.003, 2, 8, False, 2)
    assert hp["filters"] == 16  # not given: the search space's default
    for name in ("config.yaml", "split.json", "leaderboard.csv", "best_trial.json", "export/model_int8.tflite"):
        assert (run / name).exists(), name

    exported = CliRunner().invoke(cli, ["export", str(run), "--formats", "keras,int8", "--output",
                                        str(tmp_path / "again")])
    assert exported.exit_code == 0, exported.output
    predicted = CliRunner().invoke(cli, ["predict", str(tmp_path / "again" / "model_int8.tflite"),
                                         str(shapes_dataset / "circle"), "--output", str(tmp_path / "p")])
    assert predicted.exit_code == 0, predicted.output
    assert len(list((tmp_path / "p").glob("*.json"))) == len(list((shapes_dataset / "circle").iterdir()))
