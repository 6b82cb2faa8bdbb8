"""The command line: help without TensorFlow, `zoo list` / `zoo rank`, one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from zazu.cli import cli

REPO = Path(__file__).resolve().parents[1]
MODELS = ("tiny_cnn", "small_resnet", "mobilenet_v2", "resnet50_v2")


def run_main(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", "TF_CPP_MIN_LOG_LEVEL": "3"}
    full_env.pop("ZAZU_ZOO", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def broken_zoo(tmp_path) -> Path:
    """A zoo whose only adapter lacks `train`."""
    entry = {"task": "classification",
             "model_space": {"accuracy_rating": 5, "speed_rating": 5, "memory_rating": 5},
             "hp_search_space": [], "training_configs": {}}
    (tmp_path / "models.json").write_text(json.dumps({"no_train": entry}), encoding="utf-8")
    folder = tmp_path / "zoo" / "no_train"
    folder.mkdir(parents=True)
    (folder / "adapter.py").write_text(
        "class AdaptModel:\n"
        "    def __init__(self, model_specs, hp_values):\n"
        "        pass\n"
        "    def get_metrics(self):\n"
        "        return {}\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.delenv("ZAZU_ZOO", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


# --- subprocess: what a user at a shell sees ----------------------------------------


def test_importing_the_cli_does_not_import_tensorflow():
    code = "import sys, zazu.cli; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"


def test_help_exits_0_and_lists_the_commands():
    started = time.monotonic()
    result = run_main("--help")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert "search" in result.stdout
    assert "zoo" in result.stdout
    assert elapsed < 10  # generous: --help must not load TensorFlow


def test_zoo_rank_prints_models_nearest_first():
    result = run_main("zoo", "rank", "--task", "classification", "--priority", "accuracy=9,speed=3,memory=2")
    assert result.returncode == 0, result.stderr
    positions = {name: result.stdout.find(name) for name in MODELS}
    assert all(p >= 0 for p in positions.values()), result.stdout
    assert min(positions, key=positions.get) == "resnet50_v2"


def test_broken_zoo_from_env_fails_with_one_error_line(broken_zoo, tmp_path):
    result = run_main("--task", "classification", "--output", str(tmp_path / "run"), env={"ZAZU_ZOO": str(broken_zoo)})
    line = assert_one_line_error(result)
    assert "no_train" in line
    assert "train()" in line
    assert result.stdout == ""


def test_zoo_list_and_rank_run_no_adapter_code(broken_zoo, tmp_path):
    marker = tmp_path / "imported"
    (broken_zoo / "zoo" / "no_train" / "adapter.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    listed = run_main("zoo", "list", env={"ZAZU_ZOO": str(broken_zoo)})
    assert listed.returncode == 0 and "no_train" in listed.stdout, listed.stderr
    ranked = run_main("zoo", "rank", "--task", "classification", "--priority", "5,5,5",
                      env={"ZAZU_ZOO": str(broken_zoo)})
    assert ranked.returncode == 0 and "no_train" in ranked.stdout, ranked.stderr
    assert not marker.exists()


def test_config_file_with_a_misspelt_key_fails_with_one_error_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_trails: 3\n", encoding="utf-8")
    result = run_main("--config", str(bad))
    line = assert_one_line_error(result)
    assert "max_trails" in line
    assert "max_trials" in line


def test_bad_priority_fails_with_one_error_line():
    result = run_main("zoo", "rank", "--priority", "speed=x")
    line = assert_one_line_error(result)
    assert "speed=x" in line


# --- in process (CliRunner) ---------------------------------------------------------


def test_zoo_list_prints_every_model(runner):
    result = runner.invoke(cli, ["zoo", "list"])
    assert result.exit_code == 0, result.output
    for name in MODELS:
        assert name in result.stdout
    assert "classification" in result.stdout


def test_zoo_list_filters_by_task(runner):
    result = runner.invoke(cli, ["zoo", "list", "--task", "detection"])
    assert result.exit_code == 0, result.output
    assert not any(name in result.stdout for name in MODELS)


def test_zoo_rank_order_follows_the_priorities(runner):
    result = runner.invoke(cli, ["zoo", "rank", "--priority", "accuracy=3,speed=10,memory=10"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if any(name in line for name in MODELS)]
    assert [next(n for n in MODELS if n in row) for row in rows] == \
        ["tiny_cnn", "small_resnet", "mobilenet_v2", "resnet50_v2"]


def test_zoo_rank_positional_priority(runner):
    result = runner.invoke(cli, ["zoo", "rank", "--priority", "9,3,2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.index("resnet50_v2") < result.stdout.index("tiny_cnn")


@pytest.mark.parametrize("priority", ["speed=x", "spede=3", "9,3"])
def test_zoo_rank_bad_priority_exits_2(runner, priority):
    result = runner.invoke(cli, ["zoo", "rank", "--priority", priority])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_zoo_rank_unknown_task_exits_2(runner):
    result = runner.invoke(cli, ["zoo", "rank", "--task", "segmentation", "--priority", "9,3,2"])
    assert result.exit_code == 2
    assert "segmentation" in result.stderr


def test_search_with_bad_priority_exits_2_before_any_work(runner, tmp_path):
    result = runner.invoke(cli, ["--priority", "speed=x", "--output", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "speed=x" in result.stderr
    assert not (tmp_path / "run").exists()


def test_search_with_bad_config_key_exits_2(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_trails: 3\n", encoding="utf-8")
    result = runner.invoke(cli, ["search", "--config", str(bad)])
    assert result.exit_code == 2
    assert "Did you mean `max_trials`" in result.stderr


def test_broken_zoo_in_process(runner, broken_zoo, monkeypatch):
    monkeypatch.setenv("ZAZU_ZOO", str(broken_zoo))
    result = runner.invoke(cli, ["zoo", "check"])  # (`zoo list` reads models.json only)
    assert result.exit_code == 1
    assert "no_train" in result.output and "FAILED" in result.output
    result = runner.invoke(cli, ["train", "--model", "no_train"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "`train()`" in result.stderr


def test_version(runner):
    from zazu import __version__

    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_the_search_ends_with_the_best_metrics_and_its_ap_by_size_on_a_line_of_its_own(capsys):
    from types import SimpleNamespace

    from zazu.cli.search import finish_search

    best = {"model": "centernet", "trial_id": "3", "metrics": {
        "val_mAP": 0.25, "val_mAP50": 0.5, "val_mAP_small": 0.05, "val_mAP_large": 0.625}}
    finish_search(lambda reporter: SimpleNamespace(best=best, run_dir=Path("/runs/r")))

    lines = capsys.readouterr().out.splitlines()
    best_line = next(i for i, line in enumerate(lines) if line.startswith("Best:"))
    assert lines[best_line] == "Best: centernet #3 (val_mAP=0.2500, val_mAP50=0.5000)"
    assert lines[best_line + 1] == "  AP by object size: small 0.0500, large 0.6250 (per class: report.html)"


@pytest.mark.parametrize("priority, expected", [
    ("accuracy=nan", "values in [0, 10]"),
    ("speed=11", "values in [0, 10]"),
    ("memory=1e999", "values in [0, 10]"),
    ("9,3,-1", "values in [0, 10]"),
    ("accuracy=9,accuracy=1", "`accuracy` given twice"),
])
@pytest.mark.parametrize("command", [("zoo", "rank", "--task", "classification"), ("search",)])
def test_priorities_out_of_range_or_twice_are_refused_by_every_command(command, priority, expected, tmp_path):
    result = run_main(*command, "--priority", priority, "--output", str(tmp_path / "run")) if command == ("search",) \
        else run_main(*command, "--priority", priority)
    line = assert_one_line_error(result)
    assert expected in line and priority in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name, text", [
    ("search.yaml", "task: classification\nmax_trials: 1\nepochs: 1\nmax_trials: 999\n"),
    ("search.yaml", "task: classification\naugmentation:\n  horizontal_flip: true\n  horizontal_flip: false\n"),
    ("search.json", '{"task": "classification", "max_trials": 1, "max_trials": 999}'),
])
def test_a_config_key_written_twice_is_refused(name, text, tmp_path):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    line = assert_one_line_error(run_main("--config", str(path), "--output", str(tmp_path / "run")))
    assert str(path) in line and "appears twice" in line
    assert not (tmp_path / "run").exists()


def test_a_models_json_entry_written_twice_is_refused_by_zoo_list_and_check(tmp_path):
    entry = json.dumps({"task": "classification"})
    (tmp_path / "models.json").write_text(f'{{"a": {entry}, "a": {entry}}}', encoding="utf-8")
    for command in (("zoo", "list", "--zoo", str(tmp_path)), ("zoo", "check", "--zoo", str(tmp_path))):
        line = assert_one_line_error(run_main(*command))
        assert "models.json" in line and "key `a` appears twice" in line
