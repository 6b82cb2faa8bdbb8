"""What a user sees on the terminal: Zazu's lines only. TensorFlow's, Keras's, absl's and LiteRT's own
output goes to the run's zazu.log (or the cache's logs), not lost, and `--verbose` brings it back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains, exports or runs Zazu end to end: not in the inner loop (-m 'not slow')

REPO = Path(__file__).resolve().parents[1]

# Lines the libraries write. The test's main check is stricter (stderr empty on success); these catch
# library lines that would reach stdout.
LIBRARY_LINE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d|absl|oneDNN|cuda|XNNPACK|fully_quantize|inference_type|UserWarning|"
    r"DeprecationWarning|^WARNING|^INFO:|tensorflow/|keras/src|site-packages|Traceback|retracing")


def user_env(cache: Path) -> dict[str, str]:
    """A shell's environment: none of the tests' own quieting settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "ZAZU_VERBOSE", "ZAZU_ZOO", "PYTHONWARNINGS")}
    return {**env, "ZAZU_CACHE": str(cache), "COLUMNS": "200"}


def zazu(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def assert_only_zazu_lines(result: subprocess.CompletedProcess, command: str) -> None:
    assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stderr}"
    assert result.stderr == "", f"{command} wrote to stderr:\n{result.stderr}"
    noise = [line for line in result.stdout.splitlines() if LIBRARY_LINE.search(line)]
    assert not noise, f"{command} printed library lines:\n" + "\n".join(noise)


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory, shapes_dataset):
    """The default job's commands on a tiny set: search (with its export), predict, evaluate, export again."""
    home = tmp_path_factory.mktemp("noise")
    env = user_env(home / "cache")
    run = home / "run"
    results = {"search": zazu("--task", "classification", "--data", str(shapes_dataset), "--models", "tiny_cnn",
                              "--max-trials", "1", "--epochs", "1", "--time-budget", "1", "--output", str(run),
                              env=env, cwd=home)}
    assert results["search"].returncode == 0, results["search"].stderr
    model = run / "export" / "model_int8.tflite"
    image = next(p for p in sorted(shapes_dataset.rglob("*.png")))
    results["predict"] = zazu("predict", str(model), str(image), "--output", str(home / "pred"), env=env, cwd=home)
    results["evaluate"] = zazu("evaluate", str(model), env=env, cwd=home)
    results["export"] = zazu("export", str(run), "--formats", "int8", "--output", str(home / "again"),
                             env=env, cwd=home)
    return home, run, env, results


@pytest.mark.parametrize("command", ["search", "predict", "evaluate", "export"])
def test_a_command_prints_only_zazus_lines(quiet_run, command):
    assert_only_zazu_lines(quiet_run[3][command], command)


def test_the_library_output_is_kept_in_the_runs_log(quiet_run):
    home, run, _, _ = quiet_run
    log = (run / "zazu.log").read_text(encoding="utf-8")
    # what the int8 converter and LiteRT print, from C++, went here and not to the terminal
    assert "fully_quantize" in log
    assert "XNNPACK" in log
    # predict and evaluate have no run folder: their logs are in the cache
    logs = sorted(p.name.split("-")[0] for p in (home / "cache" / "logs").glob("*.log"))
    assert logs == ["evaluate", "predict"]


def test_verbose_shows_the_library_output(quiet_run, shapes_dataset):
    home, run, env, _ = quiet_run
    model = run / "export" / "model_int8.tflite"
    image = next(p for p in sorted(shapes_dataset.rglob("*.png")))
    shown = zazu("predict", str(model), str(image), "--output", str(home / "pred_verbose"), "--verbose", env=env,
                 cwd=home)
    assert shown.returncode == 0, shown.stderr
    assert "XNNPACK" in shown.stderr
    by_env = zazu("predict", str(model), str(image), "--output", str(home / "pred_env"),
                  env={**env, "ZAZU_VERBOSE": "1"}, cwd=home)
    assert "XNNPACK" in by_env.stderr
