"""`zazu zoo new` and `zazu zoo check`, always on a temporary zoo (the real zoo is never written)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from zazu.cli import cli
from zazu.config import resolve_config
from zazu.console import Reporter
from zazu.registry import Registry
from zazu.report import write_report
from zazu.search.driver import run_search

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_zoo(tmp_path) -> Path:
    root = tmp_path / "zoo_root"
    root.mkdir()
    (root / "models.json").write_text("{}", encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def real_zoo_untouched(monkeypatch):
    """Whatever these tests do, Zazu's own models.json and zoo/ stay as they were."""
    monkeypatch.delenv("ZAZU_ZOO", raising=False)

    def fingerprint():
        files = [REPO / "models.json", *sorted((REPO / "zoo").rglob("*.py"))]
        return {str(p): hashlib.sha1(p.read_bytes()).hexdigest() for p in files}

    before = fingerprint()
    yield
    assert fingerprint() == before


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.slow  # trains or exports
def test_zoo_new_passes_zoo_check_and_trains_one_epoch_through_the_search(empty_zoo, shapes_dataset, tmp_path):
    runner = CliRunner()
    created = runner.invoke(cli, ["zoo", "new", "my_net", "--task", "classification", "--zoo", str(empty_zoo)])
    assert created.exit_code == 0, created.output
    adapter = empty_zoo / "zoo" / "my_net" / "adapter.py"
    assert "class AdaptModel(ClassificationAdapter):" in adapter.read_text()
    entry = json.loads((empty_zoo / "models.json").read_text())["my_net"]
    assert entry["task"] == "classification" and entry["hp_search_space"]

    checked = runner.invoke(cli, ["zoo", "check", "--zoo", str(empty_zoo)])
    assert checked.exit_code == 0, checked.output
    assert "my_net" in checked.output and "built at 32x32" in checked.output
    assert "All 1 zoo entries passed." in checked.output

    out = io.StringIO()
    config = resolve_config(overrides={"zoo": str(empty_zoo), "models": ["my_net"], "epochs": 1, "max_trials": 1,
                                       "data": {"home_path": str(shapes_dataset)}, "output": str(tmp_path / "run"),
                                       "export": {"formats": ["keras", "int8"], "profile_runs": 2}})
    result = run_search(config, Reporter(Console(file=out, width=160)), Registry.load(empty_zoo))

    assert result.best["model"] == "my_net" and result.best["status"] == "COMPLETED"
    # one epoch proves the plumbing, not learning (tests/test_learning.py does that): the objective is
    # the last (only) epoch's val_accuracy from the trial's own history
    history = list(csv.DictReader(open(Path(result.best["trial_dir"]) / "history.csv")))
    assert len(history) == 1
    assert result.best["metrics"]["val_accuracy"] == pytest.approx(float(history[0]["val_accuracy"]), abs=1e-6)
    assert "(1 epoch)" in out.getvalue()  # the epoch reached the console through fit_keeping_best
    assert (result.run_dir / "export" / "model_int8.tflite").is_file()
    html = write_report(result.run_dir).read_text(encoding="utf-8")
    assert "my_net" in html and "report/curves-my_net-" in html


def test_detector_skeletons_pass_zoo_check(empty_zoo):
    """Built and run once at 64 px by the check. (Training them is the detection base class's job, which
    the zoo contract tests train for centernet and protonet; a search of each skeleton takes ~40 s here.)"""
    runner = CliRunner()
    for name, task in (("my_det", "detection"), ("my_seg", "instance_segmentation")):
        assert runner.invoke(cli, ["zoo", "new", name, "--task", task, "--zoo", str(empty_zoo)]).exit_code == 0
    assert "class AdaptModel(DetectionAdapter):" in (empty_zoo / "zoo" / "my_det" / "adapter.py").read_text()
    assert "class AdaptModel(SegmentationAdapter):" in (empty_zoo / "zoo" / "my_seg" / "adapter.py").read_text()

    checked = runner.invoke(cli, ["zoo", "check", "--zoo", str(empty_zoo)])

    assert checked.exit_code == 0, checked.output
    rows = {line.split()[1]: line for line in checked.output.splitlines() if line.startswith("│")}
    assert "built at 64x64" in rows["my_det"] and "built at 64x64" in rows["my_seg"]
    assert "(1, 16, 16, 16)" in rows["my_seg"]  # the prototype masks: 8 coefficients + 8 prototypes


def test_zoo_new_refuses_bad_names_taken_names_and_missing_registries(empty_zoo, tmp_path):
    runner = CliRunner()
    line = _one_error_line(runner.invoke(cli, ["zoo", "new", "my-net", "--task", "classification",
                                               "--zoo", str(empty_zoo)]))
    assert "Received: name='my-net'" in line
    assert runner.invoke(cli, ["zoo", "new", "taken", "--task", "detection", "--zoo", str(empty_zoo)]).exit_code == 0
    line = _one_error_line(runner.invoke(cli, ["zoo", "new", "taken", "--task", "classification",
                                               "--zoo", str(empty_zoo)]))
    assert "`taken` is already registered" in line
    (empty_zoo / "zoo" / "orphan").mkdir()
    line = _one_error_line(runner.invoke(cli, ["zoo", "new", "orphan", "--task", "classification",
                                               "--zoo", str(empty_zoo)]))
    assert "orphan already exists" in line
    assert list(json.loads((empty_zoo / "models.json").read_text())) == ["taken"]

    line = _one_error_line(runner.invoke(cli, ["zoo", "new", "x", "--task", "classification",
                                               "--zoo", str(tmp_path / "nowhere")]))
    assert "models.json: file not found" in line
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("not a zoo", encoding="utf-8")
    line = _one_error_line(runner.invoke(cli, ["zoo", "new", "x", "--task", "classification",
                                               "--zoo", str(tmp_path / "notes")]))
    assert "models.json: file not found" in line and "an empty folder starts a new zoo" in line


def test_zoo_new_starts_a_zoo_in_an_empty_folder(tmp_path):
    (tmp_path / "myzoo").mkdir()
    result = CliRunner().invoke(cli, ["zoo", "new", "my_net", "--task", "classification", "--zoo",
                                      str(tmp_path / "myzoo")])
    assert result.exit_code == 0, result.output
    assert list(json.loads((tmp_path / "myzoo" / "models.json").read_text())) == ["my_net"]
    assert (tmp_path / "myzoo" / "zoo" / "my_net" / "adapter.py").is_file()


def test_zoos_combined_and_a_name_in_two_is_one_error(empty_zoo, tmp_path, monkeypatch):
    from zazu.registry import BUILTIN_ZOO, Registry

    monkeypatch.delenv("ZAZU_ZOO", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["zoo", "new", "my_net", "--task", "classification", "--zoo", str(empty_zoo)]).exit_code == 0
    builtin = Registry.load()
    both = Registry.load([str(empty_zoo), BUILTIN_ZOO])
    assert set(both.models) == set(builtin.models) | {"my_net"}
    assert both.models["my_net"].zoo_root == empty_zoo and both.roots == [empty_zoo.resolve(), builtin.root]
    monkeypatch.setenv("ZAZU_ZOO", os.pathsep.join([str(empty_zoo), BUILTIN_ZOO]))
    assert set(Registry.load().models) == set(both.models)

    clash = tmp_path / "clash"
    clash.mkdir()
    assert runner.invoke(cli, ["zoo", "new", "tiny_cnn", "--task", "classification", "--zoo", str(clash)]).exit_code == 0
    line = _one_error_line(runner.invoke(cli, ["zoo", "list", "--zoo", str(clash), "--zoo", "builtin"]))
    assert "`tiny_cnn` is in two zoo folders" in line and str(clash) in line


BROKEN_BUILD = """
from zazu.adapters import ClassificationAdapter


class AdaptModel(ClassificationAdapter):
    def build(self):
        raise ValueError("no such layer: Conv9D")
"""


def test_zoo_check_reports_every_broken_entry_and_exits_1(empty_zoo):
    runner = CliRunner()
    for name in ("good", "bad_rating", "bad_build"):
        assert runner.invoke(cli, ["zoo", "new", name, "--task", "classification", "--zoo", str(empty_zoo)]).exit_code == 0
    entries = json.loads((empty_zoo / "models.json").read_text())
    entries["bad_rating"]["model_space"]["speed_rating"] = 11
    (empty_zoo / "models.json").write_text(json.dumps(entries))
    (empty_zoo / "zoo" / "bad_build" / "adapter.py").write_text(BROKEN_BUILD)

    result = runner.invoke(cli, ["zoo", "check", "--zoo", str(empty_zoo)])

    assert result.exit_code == 1
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert "ok" in rows["good"]
    assert "FAILED" in rows["bad_rating"] and "model_space.speed_rating" in rows["bad_rating"]
    assert "FAILED" in rows["bad_build"] and "ValueError: no such layer: Conv9D" in rows["bad_build"]
    assert "2 of 3 zoo entries failed: bad_rating, bad_build" in result.output


def test_zoo_check_without_a_registry_is_one_error_line(tmp_path):
    line = _one_error_line(CliRunner().invoke(cli, ["zoo", "check", "--zoo", str(tmp_path)]))
    assert "models.json: file not found" in line


def test_zoo_hyperparameters_prints_the_task_bases_declared_defaults():
    from click.testing import CliRunner

    from zazu.cli import cli

    result = CliRunner().invoke(cli, ["zoo", "hyperparameters", "detection"], terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.output.splitlines()
            if line.count("│") >= 3}
    # the values detection reads when an entry is silent, as its docstring used to (wrongly) list them
    assert (rows["batch_size"], rows["patience"], rows["nms_iou"], rows["max_detections"]) == ("16", "8", "0.5", "100")
    assert "[height, width]" in result.output  # a meaning's brackets are text, not console markup
