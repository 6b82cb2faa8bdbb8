"""keras-tuner's chief/worker mode is configured through environment variables: their names, whether this
process is to be the chief, and the timings the parallel search's parts share."""

from __future__ import annotations

import os
from contextlib import contextmanager

from zazu.errors import ConfigError

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
ENV_THREADS = "ZAZU_WORKER_THREADS"  # CPU threads a worker's TensorFlow may use
ENV_CHIEF_PID = "ZAZU_CHIEF_PID"  # a local worker exits when this process is gone
CHIEF_ID = "chief"  # keras-tuner: a tuner id containing "chief" serves the oracle
POLL_S = 0.25  # how often the chief looks at its oracles and workers
GRACE_S = 10.0  # how long a worker or a remote tuner is given to stop


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

