"""A run folder's code runs only where the user chose it: export and resume of a folder from elsewhere
(or one whose adapter was edited and its digest rewritten) import nothing without --trust-run-code."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from searchkit import child_env, main_py

from zazu.config import resolve_config
from zazu.search.driver import run_search

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

MARKER_CODE = "open({marker!r}, 'a').close()  # a crafted line: proof the code ran\n"


@pytest.fixture
def duck_run(duck_zoo, shapes_dataset, tmp_path) -> Path:
    config = resolve_config(overrides={"zoo": str(duck_zoo), "models": ["good"], "max_trials": 1,
                                       "data": {"home_path": str(shapes_dataset)}, "output": str(tmp_path / "run")})
    return run_search(config).run_dir


def _craft(run_dir: Path, marker: Path) -> None:
    """Edit the snapshot's adapter and rewrite its digest in run.json, as a sender of the folder could."""
    adapter = run_dir / "models" / "zoo" / "good" / "adapter.py"
    adapter.write_text(MARKER_CODE.format(marker=str(marker)) + adapter.read_text())
    manifest = json.loads((run_dir / "run.json").read_text())
    for entry in manifest["models"]:
        entry["adapter_sha256"] = "sha256:" + hashlib.sha256(adapter.read_bytes()).hexdigest()
    manifest["status"] = "interrupted"
    (run_dir / "run.json").write_text(json.dumps(manifest))


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(main_py(*args), env=child_env(**env), capture_output=True, text=True, timeout=240)


def _refused(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "--trust-run-code" in line and "is not imported" in line
    return line


@pytest.mark.parametrize("command", [["export"], ["--resume"]])
def test_a_crafted_run_folder_runs_no_code_without_the_flag(duck_run, tmp_path, command):
    marker = tmp_path / "ran"
    _craft(duck_run, marker)
    line = _refused(_run([*command, str(duck_run)]))
    assert str(duck_run / "models" / "zoo" / "good") in line
    assert not marker.exists()
    _run([*command, str(duck_run), "--trust-run-code"])  # the user read it and chose to run it
    assert marker.exists()


def test_a_run_folder_from_another_user_needs_the_flag_an_own_one_does_not(duck_run, tmp_path):
    manifest = json.loads((duck_run / "run.json").read_text())
    (duck_run / "run.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    stranger = {"ZAZU_CACHE": str(tmp_path / "someone-else")}  # never ran this code, and their zoo lacks it
    _refused(_run(["--resume", str(duck_run)], **stranger))
    assert _run(["--resume", str(duck_run)]).returncode == 0  # the user who ran the search resumes it
