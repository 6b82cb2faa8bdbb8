"""The chief's own worker processes (`python -m zazu.cli worker RUN_DIR`): each given its device, watched,
restarted under the same tuner id when it dies; a trial on which workers keep dying is failed instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zazu.interrupts import WORKER_DISK_FULL, DiskFull
from zazu.search.parallel_env import ENV_CHIEF_PID, ENV_ORACLE_IP, ENV_ORACLE_PORT, ENV_THREADS, ENV_TUNER_ID, GRACE_S

DEATHS_PER_TRIAL = 2  # a trial on which workers die this many times is failed, not rerun again
STARTS_WITHOUT_TRIAL = 3  # a worker dying this many times in a row while holding no trial is given up

if TYPE_CHECKING:
    from zazu.search.oracle_service import ModelService


@dataclass
class LocalWorker:
    tuner_id: str
    env: dict
    log: Path
    process: subprocess.Popen | None = None
    deaths_without_trial: int = 0
    state: str = "new"  # running | exited (finished its models) | given_up



class LocalWorkers:
    """The chief's own worker processes: started, watched, restarted under the same tuner id."""

    def __init__(self, run_dir: Path, count: int, host: str, base_port: int, reporter):
        self.run_dir = run_dir
        self.reporter = reporter
        self.deaths: Counter = Counter()
        devices = device_plan(count)
        self.workers = [
            LocalWorker(f"worker-{i}", {ENV_TUNER_ID: f"worker-{i}", ENV_ORACLE_IP: host, ENV_ORACLE_PORT: str(base_port),
                                        ENV_CHIEF_PID: str(os.getpid()), **devices[i]},
                        run_dir / "workers" / f"worker-{i}.log")
            for i in range(count)]

    def start(self) -> None:
        for worker in self.workers:
            self._start(worker)

    def _start(self, worker: LocalWorker) -> None:
        import zazu

        worker.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **worker.env}
        # the worker imports the same zazu as the chief, whatever is installed
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(zazu.__file__).parents[1]), env.get("PYTHONPATH"))
                                            if p)
        with open(worker.log, "a", encoding="utf-8") as log:
            # its own session: Ctrl-C reaches the chief only, which then stops the workers in order
            worker.process = subprocess.Popen(
                # the chief opened this run (and its code) already: its workers run what it runs
                [sys.executable, "-m", "zazu.cli", "worker", str(self.run_dir), "--trust-run-code"], env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        worker.state = "running"

    def supervise(self, services: list[ModelService]) -> None:
        """Restart workers that died; fail a trial that keeps killing its worker."""
        for worker in self.workers:
            if worker.state != "running" or worker.process.poll() is None:
                continue
            code = worker.process.returncode
            if code == 0:
                worker.state = "exited"
                continue
            if code == WORKER_DISK_FULL:  # restarting it would fail again: stop the search, resumable
                worker.state = "exited"
                raise DiskFull(f"a worker's disk is full; see {worker.log}")
            cause = describe_exit(code)
            held = [(s, t) for s in services if (t := s.held_trial(worker.tuner_id)) is not None]
            if held:
                service, trial_id = held[0]
                worker.deaths_without_trial = 0
                self.deaths[(service.name, trial_id)] += 1
                if self.deaths[(service.name, trial_id)] >= DEATHS_PER_TRIAL:
                    message = (f"worker process died {DEATHS_PER_TRIAL} times running this trial (last: {cause}); "
                               f"see {worker.log}")
                    self.reporter.warning(f"{worker.tuner_id} died ({cause}) during {service.name} #{trial_id} "
                                          "again: that trial is marked failed")
                    service.fail_trial(trial_id, message)
                else:
                    self.reporter.warning(f"{worker.tuner_id} died ({cause}) during {service.name} #{trial_id}; "
                                          "restarting it, the trial will be rerun")
            else:
                worker.deaths_without_trial += 1
                if worker.deaths_without_trial >= STARTS_WITHOUT_TRIAL:
                    worker.state = "given_up"
                    self.reporter.warning(f"{worker.tuner_id} died {STARTS_WITHOUT_TRIAL} times without running a "
                                          f"trial ({cause}); not restarted. See {worker.log}")
                    continue
                self.reporter.warning(f"{worker.tuner_id} exited ({cause}); restarting it")
            self._start(worker)

    def running(self) -> bool:
        return any(w.state == "running" for w in self.workers)

    def wait(self, timeout: float) -> None:
        """Let workers exit on their own (each does after its last model's oracle says STOPPED)."""
        end = time.monotonic() + timeout
        for worker in self.workers:
            if worker.process is not None:
                try:
                    worker.process.wait(max(0.1, end - time.monotonic()))
                except subprocess.TimeoutExpired:
                    worker.process.kill()
                    worker.process.wait()

    def interrupt(self) -> None:
        """Ctrl-C on the chief: interrupt each worker (its trial is recorded INTERRUPTED), then make sure it is gone."""
        live = [w.process for w in self.workers if w.process is not None and w.process.poll() is None]
        for process in live:
            process.send_signal(signal.SIGINT)
        end = time.monotonic() + GRACE_S
        for process in live:
            try:
                process.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()



def device_plan(count: int) -> list[dict[str, str]]:
    """Per local worker: one GPU each (round robin) when there are GPUs, else an equal share of CPU threads."""
    gpus = _gpu_count()
    if gpus:
        return [{"CUDA_VISIBLE_DEVICES": str(i % gpus)} for i in range(count)]
    threads = str(max(1, (os.cpu_count() or 1) // count))
    return [{"CUDA_VISIBLE_DEVICES": "", ENV_THREADS: threads, "OMP_NUM_THREADS": threads} for _ in range(count)]



def _gpu_count() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))



def describe_exit(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        return f"killed by {name}" + (" - out of memory, or killed by hand" if name == "SIGKILL" else "")
    return f"exit code {code}"



def tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no output)"

