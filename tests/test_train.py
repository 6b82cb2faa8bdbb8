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


@pytest.mark.parametrize("model, values, message", [
    ("tiny_cnn", {"depth": "ten"}, "`depth` must be an integer. Received: depth='ten'"),
    ("tiny_cnn", {"batch_size": 0}, "`batch_size` must be an integer from 1 to 1024. Received: batch_size=0"),
    ("tiny_cnn", {"input_size": 100000}, "`input_size` must be an integer from 8 to 1024 (or [height, width])"),
    ("tiny_cnn", {"input_size": [64, 0]}, "`input_size` must be an integer from 8 to 1024"),
    ("tiny_cnn", {"learning_rate": "abc"}, "`learning_rate` must be a number from 1e-08 to 10"),
    ("tiny_cnn", {"dropout": 1.5}, "`dropout` must be a number from 0 to 0.99"),
    ("tiny_cnn", {"augment": "yes"}, "`augment` must be true or false. Received: augment='yes'"),
    ("retinanet", {"anchor_ratios": 2}, "`anchor_ratios` must be a list. Received: anchor_ratios=2"),
])
def test_fixed_spec_refuses_a_value_of_the_wrong_kind_or_range(model, values, message):
    with pytest.raises(ConfigError) as error:
        fixed_spec(Registry.load().get(model), values)
    assert f"Zoo model `{model}`: hyperparameter {message}" in str(error.value)


def test_fixed_spec_takes_values_of_the_right_kind():
    fixed = fixed_spec(Registry.load().get("tiny_cnn"), {"depth": 3, "learning_rate": 1, "input_size": [48, 64],
                                                         "augment": True})
    assert fixed.training_configs["input_size"] == [48, 64]


def test_cli_train_rejects_bad_flags_before_training(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--model", "tiny_cnn", "--hp", "learning_rat=0.1"])
    assert result.exit_code == 2 and "Did you mean `learning_rate`?" in result.output
    result = runner.invoke(cli, ["train", "--model", "tiny_cn"])
    assert result.exit_code == 2 and "Unknown zoo model `tiny_cn`" in result.output
    result = runner.invoke(cli, ["train", "--model", "tiny_cnn", "--input-size", "32x32"])
    assert result.exit_code == 2 and "Expected --input-size H,W" in result.output
    assert not any(tmp_path.iterdir())


@pytest.mark.slow  # trains
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
    recorded = json.loads((run / "export" / "export.json").read_text())["metrics"]
    for variant, model in (("int8", "model_int8.tflite"), ("keras", "model.keras")):
        report = tmp_path / f"evaluation-{variant}.json"
        evaluated = CliRunner().invoke(cli, ["evaluate", str(run / "export" / model), "--split", "val",
                                             "--output", str(report)])
        assert evaluated.exit_code == 0, evaluated.output
        accuracy = json.loads(report.read_text())["metrics"]["accuracy"]
        assert accuracy == pytest.approx(recorded[variant]["val_accuracy"])  # the same val images, same code
    predicted = CliRunner().invoke(cli, ["predict", str(tmp_path / "again" / "model_int8.tflite"),
                                         str(shapes_dataset / "circle"), "--output", str(tmp_path / "p")])
    assert predicted.exit_code == 0, predicted.output
    assert len(list((tmp_path / "p").glob("*.json"))) == len(list((shapes_dataset / "circle").iterdir()))


@pytest.mark.slow  # trains
def test_train_killed_mid_training_resumes_from_its_last_epoch(shapes_dataset, tmp_path):
    """SIGKILL after a few epochs; `zazu train --resume` continues at the next epoch, not at 0."""
    import csv
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    run = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, str(repo / "main.py"), "train", "--model", "tiny_cnn", "--data", str(shapes_dataset),
               "--epochs", "40", "--hp", "patience=1000", "--output", str(run)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    state_path = run / "trials" / "tiny_cnn-0" / "resume" / "state.json"
    deadline = time.monotonic() + 120
    killed_after = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            killed_after = json.loads(state_path.read_text())["epochs_done"]
        except (OSError, ValueError, KeyError):
            killed_after = None
        if killed_after is not None and killed_after >= 3:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stdout.read()
    killed_after = json.loads(state_path.read_text())["epochs_done"]  # what the resume will start from
    assert 3 <= killed_after < 40

    resumed = subprocess.run([sys.executable, str(repo / "main.py"), "train", "--resume", str(run)], env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    trial = run / "trials" / "tiny_cnn-0"
    assert f"continued after epoch {killed_after}" in (trial / "log.txt").read_text()
    rows = list(csv.DictReader(open(trial / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(40))  # every epoch once, none rerun
    assert json.loads((trial / "trial.json").read_text())["metrics"]["epochs_trained"] == 40
    assert not (trial / "resume").exists()  # only the best checkpoint stays
    assert (run / "export" / "model_int8.tflite").is_file()


def test_train_resume_refuses_other_flags(tmp_path):
    result = CliRunner().invoke(cli, ["train", "--resume", str(tmp_path), "--epochs", "3"])
    assert result.exit_code == 2 and "Received also: --epochs" in result.output
