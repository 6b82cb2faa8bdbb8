"""keras-tuner's private names in one module: each still exists with the shape Zazu uses (an upgrade that
moves one fails here, by name), and no other module of Zazu touches them."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import keras_tuner

ZAZU = Path(__file__).resolve().parents[2] / "zazu"
# what only zazu/search/kt_compat.py may name (attribute or import)
PRIVATE = re.compile(r"keras_tuner\.src|\bLOCKS\b|\.end_order\b|\.start_order\b|\.tuner_ids\b|\.stop_triggered\b|\._is_worker\b"
                     r"|\._get_oracle_fname\b|\._get_trial_dir\b|\._get_tuner_fname\b")


def test_no_module_but_kt_compat_touches_keras_tuners_private_names():
    offenders = [f"{path.relative_to(ZAZU.parent)}:{n}: {line.strip()}"
                 for path in sorted(ZAZU.rglob("*.py")) if path.name != "kt_compat.py"
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if PRIVATE.search(line)]
    assert offenders == []


def test_every_private_name_zazu_relies_on_is_still_there(tmp_path):
    from zazu.search import kt_compat

    assert inspect.isclass(kt_compat.Trial) and kt_compat.TrialStatus.STOPPED and kt_compat.TrialStatus.FAILED
    assert kt_compat._config.DEBUG is False  # keras-tuner prints no trial traceback
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0, 1)
    oracle = keras_tuner.oracles.RandomSearchOracle(objective=keras_tuner.Objective("score", "max"),
                                                    hyperparameters=hp, max_trials=2)
    oracle._set_project_dir(str(tmp_path), "p")
    assert kt_compat.oracle_lock(oracle) is not None
    assert kt_compat.oracle_file(oracle).endswith("oracle.json")
    assert kt_compat.has_waiting_tuners(oracle) is False
    assert kt_compat.started_trial_ids(oracle) == []
    trial = oracle.create_trial("t0")
    assert kt_compat.started_trial_ids(oracle) == [trial.trial_id]
    assert kt_compat.has_waiting_tuners(oracle) is True
    assert Path(kt_compat.trial_folder(oracle, trial.trial_id)).name == f"trial_{trial.trial_id}"
    trial.status = kt_compat.TrialStatus.COMPLETED
    oracle.update_trial(trial.trial_id, {"score": 1.0})
    oracle.end_trial(trial)
    assert kt_compat.ended_trial_ids(oracle) == [trial.trial_id]
    kt_compat.forget_tuner(oracle, "t0")
    assert kt_compat.has_waiting_tuners(oracle) is False
    servicer = kt_compat.oracle_servicer(oracle)
    assert kt_compat.servicer_stop_triggered(servicer) is False

    tuner = keras_tuner.RandomSearch(hypermodel=lambda hp: None, objective=keras_tuner.Objective("score", "max"),
                                     max_trials=1,
                                     directory=str(tmp_path), project_name="t")
    assert kt_compat.is_worker(tuner) is False
    assert Path(kt_compat.tuner_file(tuner)).suffix == ".json"
    for cls_name, methods in kt_compat.OVERRIDDEN.items():
        cls = getattr(keras_tuner, cls_name)
        for method in methods:
            assert callable(getattr(cls, method, None)), f"keras_tuner.{cls_name}.{method} is gone"
