"""The search console: plain lines when piped, a live panel on a terminal, epochs through the Keras callback."""

from __future__ import annotations

import io
import time

from rich.console import Console

from zazu.console import Reporter


def _completed(model, trial_id, value, wall=3.0):
    return {"model": model, "trial_id": trial_id, "status": "COMPLETED", "metrics": {"val_accuracy": value},
            "wall_time_s": wall, "trial_dir": f"/runs/x/trials/{model}-{trial_id}"}


def _failed(model, trial_id):
    return {"model": model, "trial_id": trial_id, "status": "FAILED", "error": "RuntimeError: boom",
            "wall_time_s": 1.0, "trial_dir": f"/runs/x/trials/{model}-{trial_id}"}


def _search(reporter: Reporter) -> None:
    """Three trials as the tuner reports them: the second is worse, the third fails."""
    reporter.total = 3
    reporter.deadline = time.monotonic() + 600
    for model, trial_id, value in (("tiny_cnn", "0", 0.8), ("small_resnet", "0", 0.7)):
        reporter.trial_started(model, trial_id, {"learning_rate": 0.001, "anchor_ratios": [0.5, 1.0]})
        for epoch in range(1, 4):
            reporter.epoch_started(epoch, 3, f"{model}-{trial_id}")
            reporter.epoch_finished(epoch, 3, {"loss": 1.0 / epoch, "val_accuracy": value}, f"{model}-{trial_id}")
        reporter.trial_finished(_completed(model, trial_id, value), "val_accuracy")
    reporter.trial_started("small_resnet", "1", {"learning_rate": 0.01})
    reporter.trial_finished(_failed("small_resnet", "1"), "val_accuracy")


def test_piped_output_is_one_plain_line_per_trial_event():
    out = io.StringIO()
    reporter = Reporter(Console(file=out, width=160))  # a StringIO is not a terminal
    assert reporter.live is False
    _search(reporter)

    text = out.getvalue()
    assert "\x1b" not in text  # no escape codes in CI / Docker logs
    lines = text.splitlines()
    assert len(lines) == 6, text  # 3 starts + 3 finishes, nothing per epoch
    assert lines[0] == "trial 1/3 tiny_cnn #0  learning_rate=0.001, anchor_ratios=[0.5, 1.0]"
    assert lines[1].startswith("  done val_accuracy=0.8000 in 3.0s (3 epochs)  | best val_accuracy=0.8000 (tiny_cnn #0); ")
    assert lines[1].endswith(" left in the time budget")
    assert lines[2].startswith("trial 2/3 small_resnet #0")
    assert "best val_accuracy=0.8000 (tiny_cnn #0)" in lines[3]  # 0.7 does not replace the best
    assert lines[5].startswith("  failed after 1.0s: RuntimeError: boom (traceback in "
                               "/runs/x/trials/small_resnet-1/traceback.txt)  | best val_accuracy=0.8000")


def test_the_best_so_far_names_every_trial_that_reached_it_as_the_export_chooses_among_them():
    out = io.StringIO()
    reporter = Reporter(Console(file=out, width=160))
    for model, trial_id, value in (("tiny_cnn", "0", 0.9), ("tiny_cnn", "1", 1.0), ("small_resnet", "0", 1.0)):
        reporter.trial_started(model, trial_id, {})
        reporter.trial_finished(_completed(model, trial_id, value), "val_accuracy")
    lines = out.getvalue().splitlines()
    assert "best val_accuracy=1.0000 (tiny_cnn #1)" in lines[3]
    assert "best val_accuracy=1.0000 (tiny_cnn #1, small_resnet #0 tied)" in lines[5]


def test_terminal_output_shows_a_live_panel_with_epoch_best_and_time_left():
    out = io.StringIO()
    reporter = Reporter(Console(file=out, force_terminal=True, width=140, color_system="standard"))
    assert reporter.live is True
    reporter.total = 4
    reporter.deadline = time.monotonic() + 125
    reporter.trial_started("tiny_cnn", "0", {"filters": 16})
    reporter.epoch_finished(1, 2, {"val_accuracy": 0.5}, "tiny_cnn-0")
    reporter.trial_finished(_completed("tiny_cnn", "0", 0.5), "val_accuracy")
    assert reporter._panel is None  # closed between trials
    reporter.trial_started("tiny_cnn", "1", {"filters": 32})
    reporter.epoch_started(3, 5, "tiny_cnn-1")
    reporter.epoch_finished(2, 5, {"val_accuracy": 0.625, "loss": 0.9}, "tiny_cnn-1")

    panel = out.getvalue().split("trial 2/4")[-1]  # what was drawn after the second trial started
    assert "\x1b[" in panel
    assert "tiny_cnn #1" in panel and "epoch 3/5" in panel and "val_accuracy=0.625" in panel
    assert "best val_accuracy=0.5000 (tiny_cnn #0)" in panel
    assert "left in the time budget" in panel
    reporter.close()
    assert reporter._panel is None


def test_the_panel_shows_the_batch_within_an_epoch_and_the_step_after_training():
    reporter = Reporter(Console(file=io.StringIO(), force_terminal=True, width=140))
    reporter.trial_started("retinanet_lite", "0", {})
    reporter.trial_step("retinanet_lite-0", "train")
    assert "starting training" in _panel_text(reporter)
    (callback,) = reporter.epoch_callbacks("retinanet_lite-0")
    callback.set_params({"epochs": 15, "verbose": 0, "steps": 13})
    callback.on_epoch_begin(6)
    callback.on_train_batch_end(6)
    assert "epoch 7/15 batch 7/13" in _panel_text(reporter)
    callback.on_epoch_end(6, {"val_loss": 1.2})
    assert "epoch 7/15" in _panel_text(reporter) and "batch" not in _panel_text(reporter)
    reporter.trial_step("retinanet_lite-0", "int8")
    assert "int8 export and scoring" in _panel_text(reporter)
    reporter.close()


def test_a_long_step_shows_a_spinner_on_a_terminal_only():
    shown = io.StringIO()
    reporter = Reporter(Console(file=shown, force_terminal=True, width=120))
    with reporter.working("exporting"):
        reporter.message("  wrote model_int8.tflite in 1.0s")
        time.sleep(0.7)
    assert "exporting 0:0" in shown.getvalue() and "wrote model_int8.tflite" in shown.getvalue()
    piped = io.StringIO()
    reporter = Reporter(Console(file=piped, width=120))
    with reporter.working("exporting"):
        reporter.message("  wrote model_int8.tflite in 1.0s")
    assert piped.getvalue() == "  wrote model_int8.tflite in 1.0s\n"


def _panel_text(reporter: Reporter) -> str:
    console = Console(file=io.StringIO(), width=140)
    console.print(reporter._render())
    return console.file.getvalue()


def test_time_left_without_a_budget_and_after_it():
    reporter = Reporter(Console(file=io.StringIO()))
    assert reporter.time_left() is None
    reporter.deadline = time.monotonic() + 3725
    assert reporter.time_left() in ("1:02:05 left in the time budget", "1:02:04 left in the time budget")
    reporter.deadline = time.monotonic() - 1
    assert reporter.time_left() == "time budget spent"


def test_quiet_reporter_prints_warnings_only():
    out = io.StringIO()
    reporter = Reporter(Console(file=out), quiet=True)
    reporter.message("hello")
    reporter.note("a note")
    reporter.warning("careful [1]")  # user text is not read as rich markup
    assert out.getvalue() == "warning: careful [1]\n"


def test_the_epoch_callback_reports_to_its_own_reporter_and_trial():
    reporter, other = Reporter(Console(file=io.StringIO())), Reporter(Console(file=io.StringIO()))
    reporter.trial_started("tiny_cnn", "0", {})
    reporter.trial_started("tiny_cnn", "1", {})
    other.trial_started("tiny_cnn", "0", {})
    (callback,) = reporter.epoch_callbacks("tiny_cnn-0")
    callback.set_params({"epochs": 4, "verbose": 0, "steps": 2})
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, {"val_accuracy": 0.5, "loss": 1.2})
    trial = reporter.running["tiny_cnn-0"]
    assert (trial.epoch, trial.epochs, trial.logs["val_accuracy"]) == (1, 4, 0.5)
    assert reporter.running["tiny_cnn-1"].epoch == 0  # the other trial running beside it
    assert other.running["tiny_cnn-0"].epoch == 0  # no global: another reporter hears nothing
    reporter.trial_finished(_completed("tiny_cnn", "0", 0.5), "val_accuracy")
    callback.on_epoch_end(1, {"val_accuracy": 0.6})  # after its trial finished: ignored, no error


def test_ap_by_size_stays_out_of_the_trial_lines_and_the_leaderboard_table():
    """Detection metrics carry val_mAP_small/medium/large (detail for leaderboard.csv and the report); the
    console's line and table show the objective only."""
    out = io.StringIO()
    reporter = Reporter(Console(file=out, width=240))
    sizes = {"val_mAP_small": 0.11, "val_mAP_medium": 0.22, "val_mAP_large": 0.33}
    record = {"model": "centernet", "trial_id": "0", "status": "COMPLETED", "wall_time_s": 3.0,
              "metrics": {"val_mAP": 0.25, "val_mAP50": 0.5, **sizes},
              "int8_metrics": {"val_mAP": 0.24, **sizes}, "hyperparameters": {}}
    reporter.trial_started("centernet", "0", {})
    reporter.trial_finished(record, "val_mAP")
    reporter.leaderboard([record], "val_mAP")

    text = out.getvalue()
    assert "done val_mAP=0.2500, int8 0.2400" in text
    assert not any(word in text for word in ("small", "medium", "large", "0.11", "0.22", "0.33")), text
