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
import time

from zazu.errors import ZazuError
from zazu.run_records import set_model_status
from zazu.search.local_workers import LocalWorkers, tail
from zazu.search.oracle_service import ModelService, let_remote_workers_hear_stop, listen
from zazu.search.parallel_env import (CHIEF_ID, ENV_ORACLE_IP, ENV_ORACLE_PORT, ENV_TUNER_ID, GRACE_S, POLL_S,
                                      chief_address, environment)


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
                                f"{run.run_dir / 'workers'}: {tail(workers.workers[-1].log)}")
            time.sleep(POLL_S)
        workers.wait(GRACE_S * 3)
        let_remote_workers_hear_stop(services)
    except BaseException:
        if workers is not None:
            workers.interrupt()
        raise
    finally:
        for service in services:
            service.stop()
    return [note for note in notes.values() if note]

