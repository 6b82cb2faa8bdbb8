"""Parallel and multi-host search with keras-tuner's own chief/worker mode.

The search process is the chief. It serves each model's keras-tuner oracle over
gRPC with keras-tuner's `OracleServicer`, one port per model (base port + the
model's index; a keras-tuner worker talks to one oracle per address), all of
them for the whole search. Workers are ordinary keras-tuner tuners whose oracle
is a gRPC client of the chief's, configured by keras-tuner's variables
`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` (see
`zazu worker`, through `python -m zazu.cli`); each goes through the models in search order and runs
the trials the model's oracle hands it until that oracle says STOPPED.

The chief starts `max_instances_at_once` local workers, each given its device
(a GPU, or a share of the CPU threads), and watches them: a worker that dies is
started again under the same tuner id, and keras-tuner's oracle hands an id
that asks again the trial it still holds, so that trial is rerun (a trial on
which workers die twice is marked failed instead). Workers on other machines
join with `zazu worker RUN_DIR` and the same variables.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from zazu.errors import ConfigError, ZazuError
from zazu.atomic_io import atomic_write_json
from zazu.runs import read_trial_record, set_model_status, trial_dir

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
ENV_THREADS = "ZAZU_WORKER_THREADS"  # CPU threads a worker's TensorFlow may use
ENV_CHIEF_PID = "ZAZU_CHIEF_PID"  # a local worker exits when this process is gone
CHIEF_ID = "chief"  # keras-tuner: a tuner id containing "chief" serves the oracle
DEATHS_PER_TRIAL = 2  # a trial on which workers die this many times is failed, not rerun again
STARTS_WITHOUT_TRIAL = 3  # a worker dying this many times in a row while holding no trial is given up
POLL_S = 0.25
GRACE_S = 10.0


def wants_chief(config: dict) -> bool:
    """Parallel trials (`max_instances_at_once` > 1) or workers from other hosts (`KERASTUNER_ORACLE_IP` set)."""
    tuner_id = os.environ.get(ENV_TUNER_ID)
    if ENV_ORACLE_IP in os.environ and tuner_id not in (None, CHIEF_ID):
        raise ConfigError(
            f"{ENV_TUNER_ID} names a worker, but `zazu search` is the chief. Expected {ENV_TUNER_ID} unset or "
            f"`{CHIEF_ID}` here, and workers started with `zazu worker RUN_DIR`. Received: {ENV_TUNER_ID}={tuner_id}")
    return config["max_instances_at_once"] > 1 or ENV_ORACLE_IP in os.environ


@contextmanager
def environment(**values: str):
    """Set environment variables for a block (keras-tuner reads its mode from them), then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def chief_address() -> tuple[str, int | None]:
    """(host to listen on, base port or None for any free one) from keras-tuner's variables."""
    host = os.environ.get(ENV_ORACLE_IP, "127.0.0.1")
    port = os.environ.get(ENV_ORACLE_PORT)
    if port is None:
        return host, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"Expected {ENV_ORACLE_PORT} to be a port number. Received: {ENV_ORACLE_PORT}={port}")
    return host, int(port)


def search_in_parallel(run, reporter, deadline: float | None, after_trial) -> list[str]:
    """Serve every model's oracle, run local workers until all models are done; returns the stop notes."""
    from zazu.search.oracles import stop_note

    host, base_port = chief_address()
    remote_workers_possible = ENV_ORACLE_IP in os.environ  # else every worker is one of ours
    services: list[ModelService] = []
    workers = None
    notes: dict[str, str | None] = {}
    try:
        with environment(**{ENV_TUNER_ID: CHIEF_ID, ENV_ORACLE_IP: host, ENV_ORACLE_PORT: str(base_port or 0)}):
            services += [ModelService(run, index, reporter, deadline) for index in range(len(run.models))]
        base_port = listen(services, host, base_port)
        for service in services:
            if not service.done_before:
                set_model_status(run.run_dir, service.name, "searching")
        reporter.message(
            f"Oracle chief on {host}:{base_port}-{base_port + len(services) - 1} (one port per model); "
            f"starting {run.config['max_instances_at_once']} local workers. Workers on other hosts: "
            f"{ENV_TUNER_ID}=<unique id> {ENV_ORACLE_IP}=<this host> {ENV_ORACLE_PORT}={base_port} "
            f"zazu worker {run.run_dir}")
        worker_host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
        workers = LocalWorkers(run.run_dir, run.config["max_instances_at_once"], worker_host, base_port, reporter)
        workers.start()
        while True:
            workers.supervise(services)
            if any([service.report(reporter) for service in services]):
                after_trial()
            for service in services:
                if service.name not in notes and service.finished():
                    notes[service.name] = stop_note(service.name, service.stop_reason(), run.config)
                    set_model_status(run.run_dir, service.name, "done", notes[service.name])
            if len(notes) == len(services):
                break
            if not workers.running() and not remote_workers_possible:  # no one left to finish the trials
                raise ZazuError(f"Every local worker stopped before the search finished; see their output in "
                                f"{run.run_dir / 'workers'}: {_tail(workers.workers[-1].log)}")
            time.sleep(POLL_S)
        workers.wait(GRACE_S * 3)
        _let_remote_workers_hear_stop(services)
    except BaseException:
        if workers is not None:
            workers.interrupt()
        raise
    finally:
        for service in services:
            service.stop()
    return [note for note in notes.values() if note]


def _let_remote_workers_hear_stop(services: list["ModelService"]) -> None:
    """keras-tuner's chief waits for every tuner id it knows to be told STOPPED; wait a little for that too."""
    end = time.monotonic() + GRACE_S
    while time.monotonic() < end and any(service.waiting_tuners() for service in services):
        time.sleep(POLL_S)


def listen(services: list["ModelService"], host: str, base_port: int | None) -> int:
    """Bind model i's oracle on base_port + i; without a given base, find free consecutive ports."""
    if base_port is not None:
        for service in services:
            if not service.listen(host, base_port + service.index):
                for s in services:
                    s.stop()
                raise ConfigError(
                    f"Cannot listen on {host}:{base_port + service.index} (the oracle of {service.name}, model "
                    f"{service.index + 1} of {len(services)}). Expected free ports {base_port}-"
                    f"{base_port + len(services) - 1}. Received: {ENV_ORACLE_PORT}={base_port}")
        return base_port
    for _ in range(20):
        base = _free_port(host)
        if base + len(services) < 65536 and all(service.listen(host, base + service.index) for service in services):
            return base
        for service in services:
            service.stop()
    raise ZazuError(f"Found no {len(services)} free consecutive ports on {host} for the oracle chief.")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host.strip("[]"), 0))
        return s.getsockname()[1]


class ModelService:
    """One model's keras-tuner oracle, served over gRPC by keras-tuner's OracleServicer."""

    def __init__(self, run, index: int, reporter, deadline: float | None):
        from zazu.search.kt_compat import ended_trial_ids, oracle_lock, oracle_servicer
        self.run, self.index = run, index
        self.spec = run.models[index]
        self.name = self.spec.name
        self.tuner = run.tuner(index, reporter, deadline)
        self.tuner.save()  # as keras-tuner's chief does before serving
        self.oracle = self.tuner.oracle
        self.oracle.verbose = 0  # keras-tuner's own display would print on the chief
        self.lock = oracle_lock(self.oracle)
        self.done_before = run.manifest_entry(self.name)["status"] == "done"
        if self.done_before and self.oracle.stop_reason is None:
            self.oracle.stop_reason = "done"  # e.g. skipped for the time budget: start nothing on resume
        self.servicer = oracle_servicer(self.oracle)
        self.server = None
        self.started: set[tuple[str, str]] = set()
        self.ended = set(ended_trial_ids(self.oracle))  # already reported by an earlier session

    def listen(self, host: str, port: int) -> bool:
        import grpc
        from concurrent import futures

        from zazu.search.kt_compat import add_servicer_to_server

        # gRPC shares a port between servers by default (SO_REUSEPORT): refuse a port another chief holds.
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), options=[("grpc.so_reuseport", 0)])
        add_servicer_to_server(self.servicer, server)
        try:
            bound = server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:
            bound = 0
        if not bound:
            return False
        server.start()
        self.server = server
        return True

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=1).wait()
            self.server = None

    @contextmanager
    def _state(self):
        # The gRPC thread changes the oracle under keras-tuner's lock; read it under the same lock.
        held = self.lock.acquire(timeout=5)
        try:
            yield self.oracle
        finally:
            if held:
                self.lock.release()

    def stop_reason(self) -> str | None:
        return self.oracle.stop_reason

    def finished(self) -> bool:
        from zazu.search.kt_compat import servicer_stop_triggered

        with self._state() as oracle:
            stopped = oracle.stop_reason is not None or servicer_stop_triggered(self.servicer)
            return stopped and not oracle.ongoing_trials

    def waiting_tuners(self) -> bool:
        from zazu.search.kt_compat import has_waiting_tuners

        with self._state() as oracle:
            return has_waiting_tuners(oracle)

    def held_trial(self, tuner_id: str) -> str | None:
        with self._state() as oracle:
            trial = oracle.ongoing_trials.get(tuner_id)
            return trial.trial_id if trial is not None else None

    def report(self, reporter) -> bool:
        """Tell the reporter about trials started and finished since the last call; True if any finished."""
        from zazu.search.kt_compat import ended_trial_ids

        with self._state() as oracle:
            ongoing = [(tuner_id, t.trial_id, dict(t.hyperparameters.values))
                       for tuner_id, t in oracle.ongoing_trials.items()]
            ended = ended_trial_ids(oracle)
            values = {t: dict(oracle.trials[t].hyperparameters.values) for t in ended if t not in self.ended}
        for tuner_id, trial_id, hp in ongoing:
            self._report_start(reporter, tuner_id, trial_id, hp)
        for trial_id in [t for t in ended if t not in self.ended]:
            self.ended.add(trial_id)
            if not any(key[1] == trial_id for key in self.started):
                self._report_start(reporter, "", trial_id, values[trial_id])
            record = read_trial_record(trial_dir(self.run.run_dir, self.name, trial_id))
            if record is not None:
                reporter.trial_finished(record, self.run.task.objective)
        return bool(values)

    def _report_start(self, reporter, tuner_id: str, trial_id: str, hp: dict) -> None:
        if (tuner_id, trial_id) not in self.started:
            self.started.add((tuner_id, trial_id))
            reporter.trial_started(self.name, trial_id, self.tuner.codec.decode(hp))

    def fail_trial(self, trial_id: str, message: str) -> None:
        """Record the trial as failed (its worker kept dying) and end it in the oracle."""
        folder = trial_dir(self.run.run_dir, self.name, trial_id)
        record = read_trial_record(folder) or {
            "model": self.name, "trial_id": trial_id, "hyperparameters": self.tuner.codec.decode(
                self.oracle.trials[trial_id].hyperparameters.values), "metrics": {}, "trial_dir": str(folder)}
        record.update(status="FAILED", error=message, failure="worker_died", finished_at=time.time())
        record.setdefault("started_at", time.time())
        record["wall_time_s"] = record["finished_at"] - record["started_at"]
        atomic_write_json(folder / "trial.json", record)
        with open(folder / "log.txt", "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} FAILED: {message}\n")
        self.oracle.fail_trial(trial_id, message)


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
                [sys.executable, "-m", "zazu.cli", "worker", str(self.run_dir)], env=env, stdout=log,
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


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no output)"
