"""A keras-tuner `Tuner` whose trials are zoo adapters.

keras-tuner's oracle proposes hyperparameter values and keeps the search state
(saved as JSON in the tuner project folder); `run_trial` turns those values into
an adapter, drives its lifecycle and returns its metrics. A trial that raises is
recorded in its trial folder and reported to keras-tuner as a `FailedTrialError`,
so the search goes on; the oracle stops after `max_consecutive_failed_trials`.

The same class runs serially (its oracle in-process), as a keras-tuner worker
(`KERASTUNER_TUNER_ID` etc. set: the oracle is a gRPC client of the chief's) and
on the chief (which only serves the oracle; see `zazu.search.distributed`).
"""

from __future__ import annotations

import gc
import json
import shutil
import time
import traceback
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras_tuner

from zazu.adapters.lifecycle import PREPARE_STEPS, TRAINING_STEPS, run_lifecycle
from zazu.atomic_io import atomic_write_json, atomic_write_text
from zazu.budget import has_budget, over_budget
from zazu.errors import TrialFailed
from zazu.interrupts import disk_full, raise_if_interrupted
from zazu.registry import ModelSpec
from zazu.run_records import CHECKPOINT, read_trial_record, trial_dir
from zazu.search.cost_before_training import cost_before_training
from zazu.search.int8_shipping import Int8Shipping
from zazu.search.kt_compat import is_worker, oracle_file, tuner_file
from zazu.search.space import TUNER_PREFIX, SpaceCodec
from zazu.tasks import Task
from zazu.trial_inputs import TrialInputs
from zazu.trial_record import TrialRecord
from zazu.trial_status import FINAL_STATUSES, TrialStatus


def failure_kind(error: BaseException) -> str:
    """What a failed trial's `failure` field says: out_of_memory, not_finite or error."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if isinstance(error, MemoryError) or "ResourceExhaustedError" in names or "OOM when allocating" in str(error):
        return "out_of_memory"
    if isinstance(error, TrialFailed) and ("NaN" in str(error) or "not finite" in str(error)):
        return "not_finite"
    return "error"


def trial_seed(base_seed: int, model: str, trial_id: str) -> int:
    """The seed a trial starts from: the run's seed, varied by model and trial, the same on every rerun."""
    return (int(base_seed) + zlib.crc32(f"{model}/{trial_id}".encode())) % 2**31


def seed_everything(seed: int) -> None:
    """Python, NumPy, TensorFlow and Keras's global generator, so weights start the same on a rerun."""
    import keras

    keras.utils.set_random_seed(seed)


class LifecycleTuner(keras_tuner.Tuner):
    def __init__(
        self,
        oracle,
        *,
        spec: ModelSpec,
        codec: SpaceCodec,
        task: Task,
        run_dir: Path,
        base_inputs: TrialInputs,
        epochs: int,
        reporter,
        target: dict[str, Any],
        after_trial: Callable[[], None] | None = None,
        **kwargs,
    ):
        self._reloaded = False
        super().__init__(oracle, directory=str(run_dir / "tuner"), project_name=spec.name, **kwargs)
        # keras-tuner reloads only if this tuner id's own file exists; a run resumed under
        # another id (serial "tuner0" <-> "chief") must still continue from the saved oracle.
        if not is_worker(self) and not self._reloaded and Path(oracle_file(self.oracle)).exists():
            self.oracle.reload()
        self.spec = spec
        self.codec = codec
        self.task = task
        self.run_dir = run_dir
        self.base_inputs = base_inputs
        self.epochs = epochs
        self.reporter = reporter
        self.target = target
        self.after_trial = after_trial

    # -- keras-tuner state: same files, written atomically --------------------------
    def reload(self):
        self._reloaded = True
        super().reload()

    def save(self):
        if not is_worker(self):
            self.oracle.save()
        atomic_write_json(tuner_file(self), self.get_state())

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.after_trial is not None:
            self.after_trial()

    # -- one trial ------------------------------------------------------------------
    def run_trial(self, trial, *args, **kwargs):
        """Start the trial's record, run it (measure, train, score), record how it ended.

        Returns what keras-tuner's oracle learns from: the int8 objective when the trial's int8 model was
        scored (the winner is chosen by it), else the float one; a trial over budget reports the worst
        value of the objective (`Task.floor`), so the oracle scores its region low instead of skipping it."""
        raise_if_interrupted()  # a Ctrl-C swallowed in the last trial starts no new one
        values = trial.hyperparameters.values
        sampled = self.codec.decode(values)
        # Hyperband sets a trial's epochs in its hyperparameters; the other oracles leave the model's
        epochs = int(values[f"{TUNER_PREFIX}epochs"] if f"{TUNER_PREFIX}epochs" in values else self.epochs)
        hp_values = {**self.spec.training_configs, **sampled, "epochs": epochs}
        folder = trial_dir(self.run_dir, self.spec.name, trial.trial_id)
        previous = read_trial_record(folder)
        if previous and previous["status"] in FINAL_STATUSES and previous.get("hyperparameters") == _as_json(sampled):
            return self._replay(previous)
        _clear_for_rerun(folder)
        record, inputs = self._start(trial.trial_id, folder, sampled, hp_values)
        log = _trial_log(folder / "log.txt")
        if previous:
            log(f"--- rerun: the previous run of this trial ended {previous['status']} without finishing ---")
        log(f"start on {self.tuner_id}: {json.dumps(_as_json(sampled))}")
        if parent := values.get(f"{TUNER_PREFIX}trial_id"):
            record["continues"] = self._continue_parent(str(parent), folder, log)
        self.reporter.trial_started(self.spec.name, trial.trial_id, sampled)
        started = time.perf_counter()
        try:
            seed_everything(record["seed"])
            # the reporter's per-epoch callbacks passed in with the inputs, as keras-tuner passes its callbacks
            adapter = self.spec.adapter_class(inputs.replace(callbacks=tuple(self.reporter.epoch_callbacks(folder.name))),
                                              hp_values)
            outcome = self._run(adapter, folder, log)
        except (Exception, SystemExit) as e:  # an adapter calling sys.exit() fails its trial, not the search
            if (full := disk_full(e)) is not None:  # every next trial would fail too: stop, resumable
                self._record_interrupted(record, folder, time.perf_counter() - started, log, f"disk full: {full}")
                raise full from e
            self._record_failure(record, folder, e, time.perf_counter() - started, log)
            raise keras_tuner.errors.FailedTrialError(f"{type(e).__name__}: {e}") from e
        except BaseException:  # Ctrl-C / SIGTERM: the oracle still holds the trial as ongoing and reruns it on resume
            self._record_interrupted(record, folder, time.perf_counter() - started, log, TrialStatus.INTERRUPTED)
            raise
        finally:
            adapter = None
            _free_memory()
        record.update(outcome, wall_time_s=time.perf_counter() - started, finished_at=time.time())
        if record["status"] == TrialStatus.COMPLETED:
            atomic_write_json(folder / "metrics.json", record["metrics"])
        atomic_write_json(folder / "trial.json", record)
        log(f"{record['status']}: {json.dumps(record['metrics'] or record.get('over_budget'))}")
        self.reporter.trial_finished(record, self.task.objective)
        return record["reported"]

    def _continue_parent(self, parent_id: str, folder: Path, log) -> dict[str, Any]:
        """A trial Hyperband promoted: its parent's best weights and final state become this trial's resume
        point, so training goes on from the parent's epoch (keras-tuner's `tuner/trial_id`)."""
        from zazu.adapters import epoch_resume

        if epoch_resume.saved_state(folder) is not None:  # a rerun: its own resume point is further on
            return {"parent": parent_id, "from_epoch": None, "note": "rerun: continues its own resume point"}
        parent = trial_dir(self.run_dir, self.spec.name, parent_id)
        load = self.spec.adapter_class.load_trained if self.spec.capabilities.reloads_checkpoints else None
        epoch = epoch_resume.continue_from(parent, folder, CHECKPOINT, lambda p: load(p, compile=False)) \
            if load else None
        log(f"promoted by Hyperband from trial {parent_id}: " + (f"continues after its epoch {epoch}"
                                                                  if epoch is not None else
                                                                  "it left no checkpoint to continue, trains from scratch"))
        return {"parent": parent_id, "from_epoch": epoch}

    def _start(self, trial_id: str, folder: Path, sampled: dict, hp_values: dict) -> tuple[TrialRecord, TrialInputs]:
        """The trial's RUNNING record, written before anything runs, and its inputs."""
        inputs = self.base_inputs.replace(name=self.spec.name, task=self.spec.task, model_space=self.spec.model_space,
                                          training_configs=self.spec.training_configs, trial_dir=str(folder))
        record: TrialRecord = {
            "model": self.spec.name,
            "trial_id": trial_id,
            "seed": trial_seed(self.base_inputs.seed, self.spec.name, trial_id),
            "status": TrialStatus.RUNNING,
            "hyperparameters": sampled,
            "hp_values": hp_values,
            "model_specs": inputs.to_json(),
            "metrics": {},
            "started_at": time.time(),
            "trial_dir": str(folder),
            "tuner_id": self.tuner_id,
        }
        atomic_write_json(folder / "hyperparameters.json", hp_values)
        atomic_write_json(folder / "trial.json", record)
        return record, inputs

    def _run(self, adapter, folder: Path, log) -> dict[str, Any]:
        """Build, measure against the budget (when the run has one), train, score, save: the record's new fields."""
        objective = self.task.objective
        outcome: dict[str, Any] = {}

        def on_step(step: str) -> None:
            self.reporter.trial_step(folder.name, step)

        if has_budget(self.target):
            run_lifecycle(adapter, objective, steps=PREPARE_STEPS, log=log, on_step=on_step)
            cost = cost_before_training(adapter, self.spec.name, self.run_dir, self.base_inputs.export,
                                        self.target, log)
            if cost is not None:
                outcome["cost_before_training"] = cost
                if broken := over_budget(self.target, cost):
                    log(f"over budget, not trained: {'; '.join(broken)}")
                    return {**outcome, "status": TrialStatus.OVER_BUDGET, "over_budget": broken, "metrics": {},
                            "reported": {objective: self.task.floor}}
            metrics = run_lifecycle(adapter, objective, steps=TRAINING_STEPS, log=log, on_step=on_step)
        else:
            metrics = run_lifecycle(adapter, objective, log=log, on_step=on_step)
        if getattr(adapter, "resumed_from_epoch", 0):
            log(f"train: continued after epoch {adapter.resumed_from_epoch} from the trial's resume point")
        if self.spec.capabilities.saves:
            on_step("save")
            adapter.save(folder)
            log("save: model written")
        outcome.update(status=TrialStatus.COMPLETED, metrics=metrics, reported=metrics)
        shipped = self._profile_int8(adapter, folder, on_step)
        if shipped is not None:
            shipping = Int8Shipping(self.task, self.base_inputs.export, self._device, self.base_inputs.deadline,
                                    self.spec.capabilities.fine_tunes_int8)
            outcome.update(shipping.settle(adapter, folder, metrics, shipped, on_step, log))
        return outcome

    @property
    def _device(self) -> str:
        """The device the int8 model is measured for (`target.device`)."""
        return (self.target or {}).get("device", "cpu")

    def _profile_int8(self, adapter, folder: Path, on_step) -> dict[str, Any] | None:
        """The trained model as it would ship (int8, calibrated as the export calibrates), scored on the val
        split and measured on the target device (`profile_trial`, which also keeps it as profile.json for the
        report); None when the run's `export.profile_trials` is off or the adapter is a plain ZazuML one."""
        from zazu.export.bundle import profile_trial

        options = self.base_inputs.export
        if not (options.get("profile_trials") and self.spec.capabilities.profiles_int8):
            return None
        on_step("int8")
        return profile_trial(adapter, folder, options, self._device)

    def _record_interrupted(self, record: dict, folder: Path, seconds: float, log, why: str) -> None:
        """The trial stops unfinished; it is rerun on resume. Best effort: on a full disk the record may not fit."""
        try:
            log(why)
            record.update(status=TrialStatus.INTERRUPTED, wall_time_s=seconds)
            atomic_write_json(folder / "trial.json", record)
        except OSError:
            pass

    def _record_failure(self, record: dict, folder: Path, error: BaseException, seconds: float, log) -> None:
        atomic_write_text(folder / "traceback.txt", traceback.format_exc())
        log(f"FAILED: {type(error).__name__}: {error}")
        record.update(status=TrialStatus.FAILED, error=f"{type(error).__name__}: {error}", failure=failure_kind(error),
                      wall_time_s=seconds, finished_at=time.time())
        atomic_write_json(folder / "trial.json", record)
        self.reporter.trial_finished(record, self.task.objective)

    def _replay(self, record: dict[str, Any]):
        """The trial had finished, but the process died before the oracle heard of it: report what it recorded."""
        with open(Path(record["trial_dir"]) / "log.txt", "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} finished before the interruption; its record is reported, "
                    "not rerun\n")
        self.reporter.message(f"{self.spec.name} #{record['trial_id']} had finished before the interruption: "
                              f"kept as {record['status']}, not rerun")
        if record["status"] == TrialStatus.FAILED:
            raise keras_tuner.errors.FailedTrialError(record.get("error", "failed"))
        return record.get("reported", record["metrics"])

    # Models are saved by the adapters themselves (adapter.save); keras-tuner's
    # checkpointing of a built-in hypermodel does not apply here.
    def save_model(self, trial_id, model, step=0):
        pass

    def load_model(self, trial):
        raise NotImplementedError("Zazu adapters save their own models in the trial folder.")


def _trial_log(path: Path) -> Callable[[str], None]:
    def log(message: str) -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {message}\n")

    return log


def _as_json(values: dict[str, Any]) -> Any:
    """Values as they read back from trial.json (tuples become lists), for comparison."""
    return json.loads(json.dumps(values, default=str))


def _clear_for_rerun(folder: Path) -> None:
    """A trial folder holds one run of its trial: drop what an interrupted run left, keep the log and,
    when the training left a resume point, what it needs to continue (`zazu.adapters.epoch_resume`)."""
    from zazu.adapters import epoch_resume

    folder.mkdir(parents=True, exist_ok=True)
    keep = {"log.txt"}
    if epoch_resume.saved_state(folder) is not None:
        keep |= {epoch_resume.FOLDER, CHECKPOINT, "history.csv", "tensorboard"}
    for path in folder.iterdir():
        if path.name in keep:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _free_memory() -> None:
    import keras

    keras.backend.clear_session()
    gc.collect()
