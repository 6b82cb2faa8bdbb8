"""Parallel trials: one keras-tuner chief, worker processes over gRPC, a worker that dies."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from click.testing import CliRunner
from searchkit import REPO, calls, child_env, write_config

from zazu.cli import cli

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "leaderboard.csv", newline="") as f:
        return list(csv.DictReader(f))


def _record(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / "trials" / name / "trial.json").read_text())


def test_parallel_2_runs_two_workers_at_once_and_a_killed_worker_only_costs_a_rerun(
        duck_zoo, shapes_dataset, tmp_path, monkeypatch):
    # good-0 and good-1 each wait until the other has started: they can only finish if two workers run at once.
    monkeypatch.setenv("DUCK_BARRIER", "good-0,good-1")
    # The first run of other-0 kills its worker process with SIGKILL, mid-trial.
    monkeypatch.setenv("DUCK_DIE_ONCE", "other-0")
    run_dir = tmp_path / "run"
    config = write_config(tmp_path / "search.yaml", zoo=str(duck_zoo), models=["good", "other"], max_trials=4,
                          data={"home_path": str(shapes_dataset)})

    result = CliRunner().invoke(cli, ["--config", str(config), "--output", str(run_dir), "--parallel", "2"])

    assert result.exit_code == 0, result.output
    rows = _rows(run_dir)
    assert sorted((r["model"], r["trial_id"], r["status"]) for r in rows) == [
        ("good", "0", "COMPLETED"), ("good", "1", "COMPLETED"), ("other", "0", "COMPLETED"),
        ("other", "1", "COMPLETED")]
    ran = calls(run_dir)
    pids = dict(ran[:2])
    assert {name for name, _ in ran[:2]} == {"good-0", "good-1"} and pids["good-0"] != pids["good-1"]
    assert {_record(run_dir, n)["tuner_id"] for n in ("good-0", "good-1")} == {"worker-0", "worker-1"}
    other0 = [pid for name, pid in ran if name == "other-0"]
    assert len(other0) == 2 and other0[0] != other0[1]  # rerun by the restarted worker
    assert [name for name, _ in ran].count("other-1") == 1
    assert "died (killed by SIGKILL" in result.output and "the trial will be rerun" in result.output
    assert (run_dir / "workers" / "worker-0.log").is_file() and (run_dir / "workers" / "worker-1.log").is_file()
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished" and manifest["sessions"][0]["instances"] == 2


def _free_ports(n: int) -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        try:
            for port in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


def test_a_worker_started_by_hand_joins_the_chief_as_on_another_host(duck_zoo, shapes_dataset, tmp_path,
                                                                      monkeypatch):
    """The README's multi-host commands, on one machine: the chief's variables, then `zazu worker RUN_DIR`."""
    base = _free_ports(2)
    run_dir = tmp_path / "run"
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(base))
    monkeypatch.setenv("DUCK_BARRIER", "good-0,good-1")  # needs the chief's one local worker and the other one
    # The "other host": waits for the run folder, then joins with keras-tuner's variables.
    remote_env = child_env(KERASTUNER_TUNER_ID="remote-a", KERASTUNER_ORACLE_IP="127.0.0.1",
                           KERASTUNER_ORACLE_PORT=str(base), ZAZU_WORKER_THREADS="1")
    remote = subprocess.Popen(
        ["sh", "-c", 'while [ ! -f "$0/run.json" ]; do sleep 0.1; done; exec "$1" "$2" worker "$0"',
         str(run_dir), sys.executable, str(REPO / "main.py")],
        env=remote_env, stdout=open(tmp_path / "remote.log", "w"), stderr=subprocess.STDOUT)
    try:
        config = write_config(tmp_path / "search.yaml", zoo=str(duck_zoo), models=["good", "other"], max_trials=4,
                              data={"home_path": str(shapes_dataset)})
        result = CliRunner().invoke(cli, ["--config", str(config), "--output", str(run_dir), "--parallel", "1"])
        assert result.exit_code == 0, result.output
        assert remote.wait(60) == 0, (tmp_path / "remote.log").read_text()
    finally:
        if remote.poll() is None:
            remote.kill()
    assert f"127.0.0.1:{base}-{base + 1}" in result.output  # one port per model, from the given base
    assert [r["status"] for r in _rows(run_dir)] == ["COMPLETED"] * 4
    tuner_ids = {_record(run_dir, f"{m}-{i}")["tuner_id"] for m in ("good", "other") for i in (0, 1)}
    assert "remote-a" in tuner_ids and "worker-0" in tuner_ids
    assert "Worker remote-a" in (tmp_path / "remote.log").read_text()


def test_parallel_workers_train_real_models_and_the_chief_exports_the_winner(digits_dataset, tmp_path):
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli, [
        "--task", "classification", "--data", str(digits_dataset), "--models", "tiny_cnn", "--max-trials", "2",
        "--epochs", "1", "--output", str(run_dir), "--parallel", "2"])

    assert result.exit_code == 0, result.output
    assert [r["status"] for r in _rows(run_dir)] == ["COMPLETED", "COMPLETED"]
    for trial in ("tiny_cnn-0", "tiny_cnn-1"):
        assert _record(run_dir, trial)["tuner_id"].startswith("worker-")
        assert list((run_dir / "trials" / trial / "tensorboard").rglob("events.out.tfevents.*"))
        assert (run_dir / "trials" / trial / "model.keras").is_file()
    assert (run_dir / "export" / "model_int8.tflite").is_file()
