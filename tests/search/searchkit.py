"""Helpers for the search tests: a zoo of duck-typed adapters the tests can hold, kill or synchronise,
and running main.py in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Each train() appends "<trial folder> <pid>" to <run>/calls.log, so a test can tell which trials ran, how often
# and in which process. The metric is random: a trial that was run again would not keep its metrics.
# Environment switches (comma-separated trial folder names, e.g. "other-0"):
#   DUCK_HOLD       sleep there for two minutes (the test kills or interrupts the process)
#   DUCK_DIE_ONCE   the first run there kills its own process with SIGKILL
#   DUCK_BARRIER    wait there until every listed trial has started (proves they ran at the same time)
#   DUCK_SWALLOW_SIGINT  deliver Ctrl-C there and swallow it, as Python does when it lands in a __del__
#   DUCK_WRITE      (a number) every trial writes a file of that many bytes
DUCK_ADAPTER = '''
import os
import random
import signal
import time
from pathlib import Path


def _listed(variable, name):
    return name in os.environ.get(variable, "").split(",")


class AdaptModel:
    def __init__(self, model_specs, hp_values):
        self.hp = hp_values
        self.trial_dir = Path(model_specs["trial_dir"])
        self.run_dir = Path(model_specs["run_dir"])

    def train(self):
        name = self.trial_dir.name
        with open(self.run_dir / "calls.log", "a") as f:
            f.write(f"{name} {os.getpid()}\\n")
        if os.environ.get("DUCK_WRITE"):  # a checkpoint of that many bytes (a full disk refuses it)
            (self.trial_dir / "weights.bin").write_bytes(b"0" * int(os.environ["DUCK_WRITE"]))
        if _listed("DUCK_HOLD", name):
            time.sleep(120)
        if _listed("DUCK_DIE_ONCE", name) and not (self.run_dir / f"died-{name}").exists():
            (self.run_dir / f"died-{name}").touch()
            os.kill(os.getpid(), signal.SIGKILL)
        if _listed("DUCK_BARRIER", name):
            others = [n for n in os.environ["DUCK_BARRIER"].split(",")]
            deadline = time.time() + 90
            while not all(n in (self.run_dir / "calls.log").read_text() for n in others):
                if time.time() > deadline:
                    raise RuntimeError(f"the trials {others} never ran at the same time")
                time.sleep(0.05)
        if _listed("DUCK_SWALLOW_SIGINT", name):
            try:
                signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # what the interpreter calls on Ctrl-C
            except KeyboardInterrupt:
                pass  # "Exception ignored in ...": the trial goes on
        time.sleep(float(os.environ.get("DUCK_SLEEP", "0.2")))

    def get_metrics(self):
        return {"val_accuracy": random.SystemRandom().random()}  # unseeded: the trial seed must not fix it
'''

ENTRY = {
    "task": "classification",
    "model_space": {"accuracy_rating": 5, "speed_rating": 5, "memory_rating": 5},
    "hp_search_space": [{"name": "quality", "values": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "sampling": None}],
    "training_configs": {},
}



def make_duck_zoo(root: Path) -> Path:
    """Two models, `good` and `other`, both the duck adapter above."""
    for name in ("good", "other"):
        (root / "zoo" / name).mkdir(parents=True)
        (root / "zoo" / name / "adapter.py").write_text(DUCK_ADAPTER)
    (root / "models.json").write_text(json.dumps({"good": ENTRY, "other": ENTRY}))
    return root


def write_config(path: Path, **keys) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(keys))
    return path


def main_py(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "main.py"), *args]


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COLUMNS": "200"}
    env.pop("ZAZU_ZOO", None)
    env.update(extra)
    return env


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the search exited ({process.returncode}) before {what}:\n{out}")
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def trial_status(run_dir: Path, name: str) -> str | None:
    path = run_dir / "trials" / name / "trial.json"
    try:
        return json.loads(path.read_text())["status"]
    except (OSError, ValueError):
        return None


def calls(run_dir: Path) -> list[tuple[str, int]]:
    """(trial folder, pid) for every train() call, in order."""
    path = run_dir / "calls.log"
    if not path.exists():
        return []
    return [(line.split()[0], int(line.split()[1])) for line in path.read_text().splitlines() if line.strip()]


def start_child(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """main.py as a child process, its output in `log`."""
    import signal

    # A shell's background job (`.ci/run &`) ignores SIGINT, and a child inherits that, so Python would
    # install no Ctrl-C handler: give the search the terminal's default, whatever started the tests.
    with open(log, "w") as out:  # a file, not a pipe: a full pipe would block the search
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def killed_search(duck_zoo: Path, dataset: Path, tmp_path: Path, max_trials: int, trial: str,
                  while_running=None) -> Path:
    """A duck search of `good` then `other`, killed with SIGKILL while `trial` runs (`while_running(process)`
    called first, e.g. to look at the run folder then); its run folder."""
    import signal

    run_dir = tmp_path / "run"
    config = write_config(tmp_path / "search.yaml", zoo=str(duck_zoo), models=["good", "other"],
                          max_trials=max_trials, data={"home_path": str(dataset)})
    process = start_child(main_py("--config", str(config), "--output", str(run_dir)), child_env(DUCK_HOLD=trial),
                          tmp_path / "first.log")
    try:
        wait_for(lambda: trial in [name for name, _ in calls(run_dir)], 120, f"trial {trial} to start", process)
        if while_running is not None:
            while_running(process)
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    return run_dir
