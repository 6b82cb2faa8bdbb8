"""One process per run folder: two resumes, two new searches on one --output, a resume of an edited config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from searchkit import child_env, killed_search, main_py, start_child, trial_status, wait_for, write_config

from zazu.run_lock import LOCK_FILE

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')


def _held_by(run_dir: Path, pid: int) -> bool:
    try:
        return json.loads((run_dir / LOCK_FILE).read_text())["pid"] == pid
    except (OSError, ValueError, KeyError):
        return False


def _killed_search(duck_zoo, dataset, tmp_path) -> Path:
    """A duck search of 4 trials killed with SIGKILL (holding the run's lock) in trial other-0."""
    def holds_the_lock(process):
        assert _held_by(tmp_path / "run", process.pid)

    return killed_search(duck_zoo, dataset, tmp_path, 4, "other-0", while_running=holds_the_lock)


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error: ")]


def test_two_resumes_at_once_one_is_refused_and_the_run_finishes(duck_zoo, shapes_dataset, tmp_path):
    run_dir = _killed_search(duck_zoo, shapes_dataset, tmp_path)  # its lock died with it: not stale
    first = start_child(main_py("--resume", str(run_dir)), child_env(DUCK_SLEEP="2"), tmp_path / "a.log")
    try:
        wait_for(lambda: _held_by(run_dir, first.pid), 120, "the first resume to hold the run", first)
        second = subprocess.run(main_py("--resume", str(run_dir)), env=child_env(), capture_output=True, text=True,
                                timeout=240)
        assert second.returncode == 2, second.stdout + second.stderr
        assert "Traceback" not in second.stdout + second.stderr
        (line,) = _error_lines(second.stderr)
        assert f"is in use by `zazu --resume {run_dir}` (pid {first.pid}" in line
        assert first.wait(240) == 0, (tmp_path / "a.log").read_text()
    finally:
        if first.poll() is None:
            first.kill()
    statuses = [trial_status(run_dir, name) for name in ("good-0", "good-1", "other-0", "other-1")]
    assert statuses == ["COMPLETED"] * 4
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


def test_two_new_searches_on_one_output_one_runs_the_other_is_refused(duck_zoo, shapes_dataset, tmp_path):
    run_dir = tmp_path / "run"
    config = write_config(tmp_path / "search.yaml", zoo=str(duck_zoo), models=["good"], max_trials=2,
                          data={"home_path": str(shapes_dataset)})
    both = [start_child(main_py("--config", str(config), "--output", str(run_dir)), child_env(DUCK_SLEEP="1"),
                   tmp_path / f"{i}.log") for i in range(2)]
    try:
        codes = [p.wait(300) for p in both]
    finally:
        for p in both:
            if p.poll() is None:
                p.kill()
    logs = [(tmp_path / f"{i}.log").read_text() for i in range(2)]
    assert sorted(codes) == [0, 2], logs
    loser = logs[codes.index(2)]
    assert "Traceback" not in loser and len(_error_lines(loser)) == 1, loser
    assert [trial_status(run_dir, f"good-{i}") for i in range(2)] == ["COMPLETED"] * 2


def test_a_resume_after_config_yaml_was_edited_is_refused_naming_the_key(duck_zoo, shapes_dataset, tmp_path):
    run_dir = _killed_search(duck_zoo, shapes_dataset, tmp_path)
    config = run_dir / "config.yaml"
    config.write_text(config.read_text().replace("task: classification", "task: detection"))
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    refused = subprocess.run(main_py("--resume", str(run_dir)), env=child_env(), capture_output=True, text=True,
                             timeout=240)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = _error_lines(refused.stderr)
    assert f"{config}: `task` changed since the run started" in line and "'classification'" in line
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    assert trial_status(run_dir, "other-1") is None  # nothing ran into failures


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_disk_that_fills_mid_search_stops_it_resumably(duck_zoo, shapes_dataset, tmp_path, parallel):
    import resource

    run_dir = tmp_path / "run"
    config = write_config(tmp_path / "search.yaml", zoo=str(duck_zoo), models=["good"], max_trials=3,
                          data={"home_path": str(shapes_dataset)}, max_instances_at_once=parallel)
    limit = 1_000_000

    def full_disk():  # `ulimit -f`: a write past `limit` bytes fails (EFBIG), as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    stopped = subprocess.run(main_py("--config", str(config), "--output", str(run_dir)),
                             env=child_env(DUCK_WRITE=str(2 * limit)), capture_output=True, text=True,
                             timeout=240, preexec_fn=full_disk)
    assert stopped.returncode == 2, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stdout + stopped.stderr
    (line,) = _error_lines(stopped.stderr)
    assert "the disk is full (" in line and f"resume with: zazu search --resume {run_dir.resolve()}" in line
    statuses = [trial_status(run_dir, f"good-{i}") for i in range(3)]
    # not FAILED (nothing about a trial was wrong), and the search did not go on failing trial after trial
    assert "FAILED" not in statuses and "COMPLETED" not in statuses and "INTERRUPTED" in statuses, statuses
    if parallel == 1:
        assert statuses == ["INTERRUPTED", None, None]

    resumed = subprocess.run(main_py("--resume", str(run_dir)), env=child_env(DUCK_WRITE="1000"),
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [trial_status(run_dir, f"good-{i}") for i in range(3)] == ["COMPLETED"] * 3
