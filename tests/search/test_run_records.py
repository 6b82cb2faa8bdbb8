"""The small parts that make runs survive: busy time, fingerprints, oracle state, failure kinds, worker setup."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from zazu.cli import cli
from zazu.errors import ConfigError, TrialFailed
from zazu.run_records import busy_seconds


def test_busy_seconds_counts_overlapping_trials_once_and_skips_unfinished_ones():
    records = [
        {"status": "COMPLETED", "started_at": 100.0, "wall_time_s": 10.0},  # 100-110
        {"status": "FAILED", "started_at": 105.0, "wall_time_s": 10.0},  # 105-115, overlaps
        {"status": "COMPLETED", "started_at": 120.0, "wall_time_s": 5.0},  # 120-125
        {"status": "COMPLETED", "started_at": 121.0, "wall_time_s": 1.0},  # inside the previous one
        {"status": "RUNNING", "started_at": 130.0},
        {"status": "INTERRUPTED", "started_at": 140.0, "wall_time_s": 50.0},
    ]
    assert busy_seconds(records) == pytest.approx(15.0 + 5.0)
    assert busy_seconds([]) == 0.0


def test_the_fingerprint_follows_the_bytes_and_labels_not_the_folder(shapes_dataset, tmp_path):
    from zazu.data.readers import read_dataset
    from zazu.search.fingerprint import fingerprint_dataset

    copy = shutil.copytree(shapes_dataset, tmp_path / "elsewhere")
    original = fingerprint_dataset(read_dataset(shapes_dataset, "folder"))
    assert fingerprint_dataset(read_dataset(copy, "folder")) == original
    image = next(copy.rglob("*.png"))
    image.write_bytes(image.read_bytes()[:-1] + bytes([image.read_bytes()[-1] ^ 1]))
    assert fingerprint_dataset(read_dataset(copy, "folder")) != original
    shutil.copytree(shapes_dataset, tmp_path / "relabelled")
    first_class = sorted(p for p in (tmp_path / "relabelled").iterdir() if p.is_dir())[0]
    first_class.rename(first_class.with_name("zz_" + first_class.name))  # same bytes, other labels
    assert fingerprint_dataset(read_dataset(tmp_path / "relabelled", "folder")) != original


def _oracle(project, max_failures=2, max_trials=5):
    import keras_tuner

    from zazu.search.oracles import make_oracle
    from zazu.tasks import get_task

    hps = keras_tuner.HyperParameters()
    hps.Choice("x", [1, 2, 3, 4, 5, 6])
    oracle = make_oracle("random", get_task("classification"), hps, max_trials, 1, seed=1, max_failures=max_failures)
    oracle._set_project_dir(str(project), "model")
    return oracle


def test_a_failure_stop_is_a_stopped_trial_kept_in_the_saved_oracle_state(tmp_path):
    from zazu.search.kt_compat import TrialStatus

    oracle = _oracle(tmp_path)
    for _ in range(2):
        trial = oracle.create_trial("tuner0")
        trial.status, trial.message = TrialStatus.FAILED, "Traceback ...\nRuntimeError: boom"
        oracle.end_trial(trial)  # keras-tuner would raise out of here at the limit
    assert oracle.stop_reason == "2 consecutive failed trials (last: RuntimeError: boom)"
    assert oracle.create_trial("tuner0").status == TrialStatus.STOPPED

    reloaded = _oracle(tmp_path)
    reloaded.reload()  # what a resumed run does: the stop holds, the failed trials are there
    assert reloaded.stop_reason == oracle.stop_reason
    assert reloaded.create_trial("tuner0").status == TrialStatus.STOPPED
    assert sorted(reloaded.trials) == ["0", "1"]
    assert json.loads((tmp_path / "model" / "oracle.json").read_text())["zazu_stop_reason"] == oracle.stop_reason


def test_an_ongoing_trial_survives_a_reload_and_is_handed_out_again(tmp_path):
    from zazu.search.kt_compat import TrialStatus

    oracle = _oracle(tmp_path, max_trials=2)
    done = oracle.create_trial("tuner0")
    done.status = TrialStatus.COMPLETED
    oracle.update_trial(done.trial_id, {"val_accuracy": 0.5})
    oracle.end_trial(done)
    killed = oracle.create_trial("tuner0")  # then the process dies

    reloaded = _oracle(tmp_path, max_trials=2)
    reloaded.reload()
    again = reloaded.create_trial("another-id")
    assert again.trial_id == killed.trial_id
    assert again.hyperparameters.values == killed.hyperparameters.values
    assert reloaded.create_trial("third-id").status == TrialStatus.STOPPED  # max_trials, not a new trial


def test_the_time_budget_stops_new_trials_but_not_a_restarted_workers_own(tmp_path):
    import time

    from zazu.search.kt_compat import TrialStatus

    oracle = _oracle(tmp_path)
    held = oracle.create_trial("worker-0")
    oracle.deadline = time.time() - 1
    assert oracle.create_trial("worker-1").status == TrialStatus.STOPPED
    assert oracle.stop_reason == "time budget spent"
    assert oracle.create_trial("worker-0").trial_id == held.trial_id


def test_failure_kinds():
    import tensorflow as tf

    from zazu.search.tuner import failure_kind

    assert failure_kind(tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")) == "out_of_memory"
    assert failure_kind(MemoryError()) == "out_of_memory"
    assert failure_kind(TrialFailed("training loss became NaN or infinite (loss per epoch: [nan])")) == "not_finite"
    assert failure_kind(TrialFailed("`AdaptModel.get_metrics()` returned val_accuracy=inf (not finite")) == \
        "not_finite"
    assert failure_kind(ValueError("bad shape")) == "error"


def test_cpu_workers_share_the_threads(monkeypatch):
    from zazu.search import local_workers

    monkeypatch.setattr(local_workers, "_gpu_count", lambda: 0)
    monkeypatch.setattr(local_workers.os, "cpu_count", lambda: 8)
    plan = local_workers.device_plan(3)
    assert [p["ZAZU_WORKER_THREADS"] for p in plan] == ["2", "2", "2"]
    assert all(p["CUDA_VISIBLE_DEVICES"] == "" for p in plan)
    monkeypatch.setattr(local_workers, "_gpu_count", lambda: 2)
    assert [p["CUDA_VISIBLE_DEVICES"] for p in local_workers.device_plan(3)] == ["0", "1", "0"]


def test_the_chief_refuses_a_worker_tuner_id(monkeypatch):
    from zazu.search.parallel_env import wants_chief

    config = {"max_instances_at_once": 1}
    assert not wants_chief(config)
    assert wants_chief({"max_instances_at_once": 2})
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "10.0.0.5")
    assert wants_chief(config)  # workers from other hosts may join
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "worker-3")
    with pytest.raises(ConfigError, match="Received: KERASTUNER_TUNER_ID=worker-3"):
        wants_chief(config)


@pytest.mark.parametrize("env, expected", [
    ({}, "Received: KERASTUNER_TUNER_ID unset"),
    ({"KERASTUNER_TUNER_ID": "w1", "KERASTUNER_ORACLE_IP": "127.0.0.1"}, "Received: KERASTUNER_ORACLE_PORT unset"),
    ({"KERASTUNER_TUNER_ID": "chief-2", "KERASTUNER_ORACLE_IP": "h", "KERASTUNER_ORACLE_PORT": "8000"},
     "Expected a worker id"),
    ({"KERASTUNER_TUNER_ID": "w1", "KERASTUNER_ORACLE_IP": "h", "KERASTUNER_ORACLE_PORT": "http"},
     "Received: KERASTUNER_ORACLE_PORT=http"),
])
def test_zazu_worker_names_the_missing_or_bad_variable(env, expected, monkeypatch, tmp_path):
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["worker", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and expected in result.output and len(result.output.splitlines()) == 1


def test_no_trial_starts_in_the_last_tenth_of_the_time_budget():
    from zazu.search.run_folder import start_margin

    assert start_margin({"time_budget": 7}) == pytest.approx(42.0)
    assert start_margin({"time_budget": None}) == 0.0


def test_no_trial_starts_with_less_budget_left_than_half_the_quickest_trial(tmp_path, monkeypatch):
    import time

    from zazu.search.kt_compat import TrialStatus

    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    oracle = _oracle(tmp_path)
    oracle.deadline = 1000.0 + 300
    first = oracle.create_trial("t")
    clock[0] += 100  # the first trial takes 100 s
    first.status = TrialStatus.COMPLETED
    oracle.update_trial(first.trial_id, {"val_accuracy": 0.5})
    oracle.end_trial(first)
    assert oracle.shortest_trial == pytest.approx(100.0)
    clock[0] += 140  # 60 s left: more than half of 100 s, so a second trial starts
    second = oracle.create_trial("t")
    assert second.status == TrialStatus.RUNNING
    clock[0] += 20  # it ends after 20 s, leaving 40 s: more than half of the quickest (now 20 s)
    second.status = TrialStatus.COMPLETED
    oracle.update_trial(second.trial_id, {"val_accuracy": 0.6})
    oracle.end_trial(second)
    assert oracle.create_trial("t").status == TrialStatus.RUNNING
    oracle.shortest_trial = 100.0  # had the quickest taken 100 s, 40 s left would start nothing
    assert oracle.create_trial("u").status == TrialStatus.STOPPED
