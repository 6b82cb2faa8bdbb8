"""Every keras-tuner name Zazu relies on that is not in keras-tuner's public API, in one place.

keras-tuner is pinned (requirements.txt); `tests/search/test_kt_compat.py` checks that each name below
still exists with the shape Zazu uses, so an upgrade that moves one fails there, by name, instead of deep
in a search. Nothing else in Zazu imports `keras_tuner.src` or touches these attributes; the methods
Zazu overrides in its subclasses (`OVERRIDDEN`) are checked the same way.
"""

from __future__ import annotations

from keras_tuner.src import config as _config
from keras_tuner.src.engine import oracle as _oracle
from keras_tuner.src.engine import trial as _trial

# keras-tuner ships with DEBUG on, which prints the traceback of every failed trial on stderr; Zazu
# keeps it in the trial's traceback.txt and prints one line (the console is the user's, not a log).
_config.DEBUG = False

synchronized = _oracle.synchronized  # keras-tuner's per-oracle lock around an Oracle method
Trial = _trial.Trial
TrialStatus = _trial.TrialStatus

# keras-tuner methods Zazu's subclasses override (RunOracle in oracles.py, LifecycleTuner in tuner.py)
OVERRIDDEN = {
    "Oracle": ("_check_consecutive_failures", "_save_trial", "save", "get_state", "set_state", "create_trial",
               "end_trial", "_random_values"),
    "Tuner": ("run_trial", "save", "reload", "on_trial_end"),
}


def oracle_lock(oracle):
    """The lock keras-tuner's gRPC servicer holds while it changes `oracle`."""
    return _oracle.LOCKS[oracle]


def oracle_servicer(oracle):
    """keras-tuner's gRPC servicer of `oracle` (what its chief mode serves)."""
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    return OracleServicer(oracle)


def add_servicer_to_server(servicer, server) -> None:
    from keras_tuner.src import protos

    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)


def servicer_stop_triggered(servicer) -> bool:
    """Whether keras-tuner's servicer answered a tuner with "stop" (no more trials)."""
    return servicer.stop_triggered


def started_trial_ids(oracle) -> list[str]:
    """Ids of the trials `oracle` has started, in the order they started (kept in its saved state)."""
    return list(oracle.start_order)


def ended_trial_ids(oracle) -> list[str]:
    """Ids of the trials `oracle` has ended, in the order they ended."""
    return list(oracle.end_order)


def has_waiting_tuners(oracle) -> bool:
    """Whether any tuner has asked `oracle` for a trial and not been told to stop."""
    return bool(oracle.tuner_ids)


def forget_tuner(oracle, tuner_id: str) -> None:
    """Drop `tuner_id` from the tuners `oracle` waits for (it was told to stop)."""
    oracle.tuner_ids.discard(tuner_id)


def oracle_file(oracle) -> str:
    """The path of `oracle`'s saved state (oracle.json)."""
    return oracle._get_oracle_fname()


def trial_folder(oracle, trial_id: str) -> str:
    """The folder where `oracle` keeps trial `trial_id`'s trial.json."""
    return oracle._get_trial_dir(trial_id)


def tuner_file(tuner) -> str:
    """The path of `tuner`'s saved state."""
    return tuner._get_tuner_fname()


def is_worker(tuner) -> bool:
    """Whether `tuner` runs as a keras-tuner worker (its oracle is a client of a chief's)."""
    return tuner._is_worker()
