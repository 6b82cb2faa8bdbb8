"""Quantization-aware fine-tuning in a trial: run when post-training int8 costs more than the task's bar (or
always, when asked), recorded in trial.json, and kept only when its int8 model scores better."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from click.testing import CliRunner

from zazu.cli import cli
from zazu.run_records import CHECKPOINT

pytestmark = pytest.mark.slow  # trains

TRAIN = ["train", "--model", "tiny_cnn", "--epochs", "1", "--batch-size", "8", "--input-size", "32", "--no-augment"]


def _config(tmp_path, when: str):
    path = tmp_path / "config.yaml"
    path.write_text(f"export: {{formats: [int8], edgetpu_compiler: false, profile_runs: 1, calibration_images: 8, "
                    f"quantization_aware: {when}, quantization_aware_epochs: 1}}\n")
    return str(path)


def _trial(run):
    (folder,) = (run / "trials").iterdir()
    return folder, json.loads((folder / "trial.json").read_text())


def test_asked_always_a_trial_is_fine_tuned_converted_and_scored_again(shapes_dataset, tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, [*TRAIN, "--data", str(shapes_dataset), "--config", _config(tmp_path, "always"),
                                      "--output", str(run)])
    assert result.exit_code == 0, result.output
    folder, record = _trial(run)
    tried = record["int8_fine_tune"]
    assert tried["epochs"] == 1 and tried["simulated_tensors"] > 0 and tried["seconds"] > 0
    assert record["metrics"]["val_accuracy"] == pytest.approx(
        tried["float_fine_tuned"] if tried["kept"] else tried["float_post_training"])
    assert record["int8_method"] == ("quantization-aware" if tried["kept"] else "post-training")
    assert record["int8_drop"] == (tried["int8_drop_fine_tuned"] if tried["kept"] else tried["int8_drop_post_training"])
    profile = json.loads((folder / "profile.json").read_text())["int8"]
    assert profile["metrics"] == record["int8_metrics"]  # what the report shows is what was kept
    assert "quantization-aware fine-tuning: 1 epochs" in (folder / "log.txt").read_text()


@pytest.fixture
def scripted_int8_scores(monkeypatch):
    """The int8 val accuracy of each conversion in turn (post-training, then fine-tuned), and a bar every
    post-training drop is over: which model is kept is then the test's choice, the training and the rewrite
    real."""
    import zazu.adapters.quantization_aware as quantization_aware
    import zazu.export.bundle as bundle
    import zazu.tasks as tasks

    scores = []
    real = bundle.profile_trial
    real_fine_tune = quantization_aware.fine_tune

    def fine_tune(adapter, epochs, deadline=None):  # notes the trained checkpoint before it is fine-tuned
        scores.append(_digest(adapter.require_trial_dir() / CHECKPOINT))
        return real_fine_tune(adapter, epochs, deadline)

    def profile_trial(adapter, trial_dir, options, device="cpu"):
        profile = real(adapter, trial_dir, options, device)
        assert isinstance(scores[0], float), "fine-tuned before the post-training model was scored"
        profile["metrics"] = {**profile["metrics"], "val_accuracy": scores.pop(0)}
        bundle.write_profile(trial_dir, profile)
        return profile

    monkeypatch.setattr(bundle, "profile_trial", profile_trial)
    monkeypatch.setattr(quantization_aware, "fine_tune", fine_tune)
    monkeypatch.setitem(tasks.TASKS, "classification",
                        dataclasses.replace(tasks.TASKS["classification"], int8_drop_bar=-1.0))
    return scores


@pytest.mark.parametrize("fine_tuned_accuracy, kept", [(0.99, True), (0.0, False)])
def test_the_fine_tuned_model_ships_only_when_its_int8_scores_better(shapes_dataset, tmp_path, scripted_int8_scores,
                                                                     fine_tuned_accuracy, kept):
    scripted_int8_scores.extend([0.5, fine_tuned_accuracy])
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, [*TRAIN, "--data", str(shapes_dataset), "--config", _config(tmp_path, "auto"),
                                      "--output", str(run)])
    assert result.exit_code == 0, result.output
    folder, record = _trial(run)
    (trained_checkpoint,) = scripted_int8_scores  # converted twice (post-training, fine-tuned), fine-tuned once
    tried = record["int8_fine_tune"]
    assert tried["kept"] is kept and (tried["int8_post_training"], tried["int8_fine_tuned"]) == (0.5, fine_tuned_accuracy)
    assert tried["int8_drop_post_training"] == pytest.approx(tried["float_post_training"] - 0.5)
    assert record["int8_metrics"]["val_accuracy"] == (fine_tuned_accuracy if kept else 0.5)
    assert record["int8_method"] == ("quantization-aware" if kept else "post-training")
    # float and int8 describe the model that ships: the fine-tuned one's own float when it is kept
    shipped_float = tried["float_fine_tuned"] if kept else tried["float_post_training"]
    assert record["metrics"]["val_accuracy"] == pytest.approx(shipped_float)
    assert record["int8_drop"] == pytest.approx(shipped_float - record["int8_metrics"]["val_accuracy"])
    assert ("val_loss" in record["metrics"]) is not kept  # the trained model's val_loss would not describe it
    assert json.loads((folder / "profile.json").read_text())["int8"]["metrics"]["val_accuracy"] == \
        record["int8_metrics"]["val_accuracy"]
    # the checkpoint the export converts is the fine-tuned model only when it is kept
    assert (_digest(folder / CHECKPOINT) != trained_checkpoint) is kept
    assert not list(folder.glob(f".{CHECKPOINT}.*"))  # no temporary checkpoint left behind
    # what ships, fine-tuned or not, maps to the Edge TPU whole by Zazu's op check
    assert json.loads((run / "export" / "edgetpu_report.json").read_text())["zazu"]["fully_mapped"]
    assert record["int8_fine_tune"]["epochs"] == 1
    # over the bar, the post-training model was explained layer by layer before it was fine-tuned
    worst = record["int8_worst_layers"]
    layers = json.loads((folder / "int8_layers.json").read_text())["layers"]
    assert len(worst) == 3 and [w["tensor"] for w in worst] == [r["tensor"].split(";")[0] for r in layers[:3]]


def test_never_means_never(shapes_dataset, tmp_path, scripted_int8_scores):
    scripted_int8_scores.extend([0.5, "a second conversion"])
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, [*TRAIN, "--data", str(shapes_dataset), "--config", _config(tmp_path, "never"),
                                      "--output", str(run)])
    assert result.exit_code == 0, result.output
    _, record = _trial(run)
    assert "int8_fine_tune" not in record and record["int8_method"] == "post-training"
    assert record["int8_over_bar"] and len(record["int8_worst_layers"]) == 3
    assert scripted_int8_scores == ["a second conversion"]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
