"""The chief's side of keras-tuner's chief/worker mode: each model's oracle served over gRPC with
keras-tuner's own `OracleServicer`, one port per model (base port + the model's index)."""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager

from zazu.atomic_io import atomic_write_json
from zazu.errors import ConfigError, ZazuError
from zazu.run_records import read_trial_record, trial_dir
from zazu.search.parallel_env import ENV_ORACLE_PORT, GRACE_S, POLL_S
from zazu.trial_status import TrialStatus


def let_remote_workers_hear_stop(services: list["ModelService"]) -> None:
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
        record.update(status=TrialStatus.FAILED, error=message, failure="worker_died", finished_at=time.time())
        record.setdefault("started_at", time.time())
        record["wall_time_s"] = record["finished_at"] - record["started_at"]
        atomic_write_json(folder / "trial.json", record)
        with open(folder / "log.txt", "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} FAILED: {message}\n")
        self.oracle.fail_trial(trial_id, message)

