"""A keras-tuner worker: runs the trials a chief's oracles hand it, model after model.

Started by the chief for local parallel trials (`python -m zazu.cli worker
RUN_DIR`) or by hand on another machine (`zazu worker RUN_DIR`), with
keras-tuner's variables: `KERASTUNER_TUNER_ID` (unique per worker),
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` (the chief's base port;
model i is served on base + i). Everything else comes from the run folder,
which every worker must see at a path of its own (a shared disk).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from zazu.errors import ConfigError
from zazu.search.parallel_env import (CHIEF_ID, ENV_CHIEF_PID, ENV_ORACLE_IP, ENV_ORACLE_PORT, ENV_THREADS,
                                      ENV_TUNER_ID, environment)


def run_worker(run_dir: str | Path, reporter=None, tuner_id: str | None = None, threads: int | None = None,
               gpu: str | None = None, trust_code: bool = False) -> None:
    """Run trials for the chief until every model's oracle says STOPPED. The run's code is imported only if
    it is the user's (`code_trust`) or `trust_code`; the chief's own local workers get it (it checked)."""
    # Devices are chosen before TensorFlow is imported (CUDA_VISIBLE_DEVICES is read once).
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    if tuner_id is not None:
        os.environ[ENV_TUNER_ID] = tuner_id
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"Expected --threads to be at least 1. Received: --threads {threads}")
        os.environ[ENV_THREADS] = str(threads)
    base_port = _check_environment()
    _exit_with_chief()
    signal.signal(signal.SIGTERM, _interrupt)  # recorded as INTERRUPTED and rerun, like Ctrl-C
    _limit_threads()

    from zazu.console import Reporter
    from zazu.search.run_folder import RunFolder

    reporter = reporter or Reporter()
    run = RunFolder.open(run_dir, trust_code=trust_code)
    reporter.message(f"Worker {os.environ[ENV_TUNER_ID]} for {run.run_dir}, oracle chief at "
                     f"{os.environ[ENV_ORACLE_IP]}:{base_port}")
    for index, spec in enumerate(run.models):
        # keras-tuner's OracleClient reads the address when the tuner is built
        with environment(**{ENV_ORACLE_PORT: str(base_port + index)}):
            tuner = run.tuner(index, reporter)
        tuner.search(verbose=0)
        reporter.message(f"{spec.name}: no more trials for this worker")


def _check_environment() -> int:
    for name in (ENV_TUNER_ID, ENV_ORACLE_IP, ENV_ORACLE_PORT):
        if not os.environ.get(name):
            raise ConfigError(f"A worker needs keras-tuner's {name}. Expected {ENV_TUNER_ID}=<unique id> "
                              f"{ENV_ORACLE_IP}=<chief host> {ENV_ORACLE_PORT}=<chief's base port>. "
                              f"Received: {name} unset")
    if CHIEF_ID in os.environ[ENV_TUNER_ID]:
        raise ConfigError(f"keras-tuner treats a tuner id containing `{CHIEF_ID}` as the chief. Expected a worker "
                          f"id such as worker-3. Received: {ENV_TUNER_ID}={os.environ[ENV_TUNER_ID]}")
    port = os.environ[ENV_ORACLE_PORT]
    if not port.isdigit():
        raise ConfigError(f"Expected {ENV_ORACLE_PORT} to be a port number. Received: {ENV_ORACLE_PORT}={port}")
    return int(port)


def _limit_threads() -> None:
    """A share of the CPU (`ZAZU_WORKER_THREADS`), so parallel workers do not fight over cores."""
    threads = os.environ.get(ENV_THREADS)
    if not threads:
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    tf.config.threading.set_inter_op_parallelism_threads(max(1, int(threads)))


def _exit_with_chief() -> None:
    """A local worker must not outlive a chief that was killed (it would wait an hour for an answer)."""
    chief = os.environ.get(ENV_CHIEF_PID)
    if not chief or int(chief) != os.getppid():
        return

    def watch():
        while os.getppid() == int(chief):
            time.sleep(1)
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="chief-watch").start()


def _interrupt(signum, frame):
    raise KeyboardInterrupt
