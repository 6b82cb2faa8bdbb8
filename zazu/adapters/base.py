"""The adapter contract, spelled out.

Zazu drives an adapter through `reformat -> data_loader -> preprocess -> build ->
train -> get_metrics` (the ZazuML order). Only `__init__`, `train` and
`get_metrics` are mandatory for a duck-typed `AdaptModel`; the task base classes
implement everything except `build()`. Two optional methods let Zazu ship the
winner: `save(trial_dir)` after a trial and `export(trial_dir, out_dir)`.

The inference hooks (`inference_input`, `decode_outputs`, `prediction_json`, ...)
are the single path from an image to a prediction: export scoring, `zazu
predict` and serving all go through them, so they cannot disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zazu.adapters.hyperparameters import (Hyperparameter, HyperparameterValues,  # noqa: F401  (MissingHyperparameter: public here)
                                           MissingHyperparameter)
from zazu.runs import CHECKPOINT  # a trial's best epoch, in its trial folder
from zazu.trial_inputs import TrialInputs


class BaseAdapter:
    """Common state: `model_specs` (what and where: a `zazu.trial_inputs.TrialInputs`, which the search
    passes; a plain dict of its fields is read into one) and `hp` (this trial's values).

    `hp_values`: the model's `training_configs` updated with the values the
    oracle sampled for this trial, and `epochs`.
    """

    task: str = ""
    # what every task base reads besides a model's own, with their defaults (a task base extends it with
    # `declare`); `known_hyperparameters`, their names, is derived (`zazu train --hp` accepts them)
    hyperparameters: tuple[Hyperparameter, ...] = (
        Hyperparameter("input_size", 64, "an int (square) or [height, width], in pixels"),
        Hyperparameter("batch_size", 32, "images per training batch"),
        Hyperparameter("learning_rate", 1e-3, "the first phase's learning rate (a cosine takes it to 0)"),
        Hyperparameter("augment", True, "whether the run's augmentation block applies to this model"),
        Hyperparameter("patience", 5, "epochs without improvement before early stopping"),
        Hyperparameter("epochs", None, "set by the search (a time budget's auto count, or the config's)"),
    )
    known_hyperparameters: tuple[str, ...] = tuple(h.name for h in hyperparameters)
    # False for models whose losses are closures Keras cannot deserialize: reload them uncompiled
    reload_compiled: bool = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.known_hyperparameters = tuple(h.name for h in cls.hyperparameters)

    def __init__(self, model_specs: dict[str, Any], hp_values: dict[str, Any]):
        self.model_specs = TrialInputs.from_mapping(model_specs)
        self.hp = HyperparameterValues(hp_values, self.model_specs.name, self.hyperparameters)
        self.seed = int(self.model_specs.seed)
        self.trial_dir = Path(self.model_specs.trial_dir) if self.model_specs.trial_dir else None
        # Keras callbacks every model.fit of the trial adds: per-epoch progress for the search's reporter,
        # passed in with the inputs as keras-tuner passes its callbacks; none when the adapter runs on its own
        self.progress_callbacks = tuple(self.model_specs.callbacks)
        self.model = None

    def reformat(self) -> None:
        """Convert annotations into what the model reads. Zazu's data layer reads
        the supported formats directly, so the base class has nothing to do."""

    def data_loader(self) -> None:
        """Read the dataset and this run's train/val split."""
        raise NotImplementedError

    def preprocess(self) -> None:
        """Build the input pipelines (resize, augment, batch)."""
        raise NotImplementedError

    def build(self):
        """Return an uncompiled `keras.Model`; Zazu stores it as `self.model`.

        This is the one method a zoo adapter must write. Read its
        hyperparameters from `self.hp`.
        """
        raise NotImplementedError(f"{type(self).__name__}.build() must return a keras.Model.")

    def train(self) -> None:
        """Train `self.model` for `self.hp['epochs']` epochs."""
        raise NotImplementedError

    def get_metrics(self) -> dict[str, float]:
        """Return a dict of floats holding the task's objective (e.g. `val_accuracy`)."""
        raise NotImplementedError

    # -- shared helpers -------------------------------------------------------
    @property
    def input_size(self) -> tuple[int, int]:
        """`input_size` hyperparameter: an int (square) or [height, width]."""
        size = self.hp["input_size"]
        if isinstance(size, (list, tuple)):
            return int(size[0]), int(size[1])
        return int(size), int(size)

    def load_split(self):
        """(dataset, {"train": [records], "val": [records], ...}) for this run.

        In a search, the records the driver checked and the split it wrote
        (`model_specs["data"]["records"]`, `["split"]`); used on its own, the
        adapter reads, checks and splits `data.home_path` itself."""
        from zazu.data.check import check_dataset
        from zazu.data.readers import read_dataset
        from zazu.data.records import dataset_from_json
        from zazu.data.split import read_split, split_dataset, split_sides
        from zazu.atomic_io import read_json

        data = self.model_specs.data
        if data is None:
            raise ValueError("model_specs['data'] is not set; the adapter has no data to read.")
        if data.records and data.split:
            dataset = dataset_from_json(read_json(Path(data.records)), source=data.records)
            return dataset, split_sides(dataset, read_split(data.split), data.split)
        dataset = check_dataset(read_dataset(data.home_path, data.annotation_type)).dataset
        return dataset, split_sides(dataset, split_dataset(dataset, 0.2, self.seed), "the split of " + str(dataset.root))

    def augmentation(self) -> dict | None:
        """The run's augmentation settings when this trial's `augment` hp is true, else None."""
        from zazu.data.augment import resolve_augmentation

        if not self.hp["augment"]:
            return None
        data = self.model_specs.data
        return resolve_augmentation(data.augmentation if data is not None else None)

    def compile_for(self, learning_rate: float) -> None:
        """Compile `self.model` with this task's optimizer, losses and metrics at `learning_rate`
        (called once per training phase)."""
        raise NotImplementedError

    def training_phases(self):
        """The phases of this trial's training (`zazu.adapters.transfer`): one for a model trained from
        scratch; frozen backbone, then fine-tuning, for a pretrained one."""
        from zazu.adapters import transfer

        self.backbone = transfer.pretrained_backbone(self.model, self.hp)
        return transfer.plan_phases(self.hp, self.backbone is not None)

    def fit_in_phases(self, monitor: str, mode: str, fit_frozen_on_cache=None) -> None:
        """`fit_keeping_best` over `training_phases()`; with `fit_frozen_on_cache` (phase -> (epochs done,
        best value, history)), the frozen phase trains on cached backbone outputs instead, unless a
        resume point shows it already finished."""
        from zazu.adapters import epoch_resume

        phases = self.training_phases()
        start, best, history = 0, None, None
        if phases[0].name == "frozen" and fit_frozen_on_cache is not None:
            state = epoch_resume.saved_state(self.require_trial_dir())
            if state is None or state["epochs_done"] < phases[0].end_epoch:
                start, best, history = fit_frozen_on_cache(phases[0])
            phases = phases[1:]
        self.fit_keeping_best(monitor, mode, phases, start, best, history)

    def fit_keeping_best(self, monitor: str, mode: str, phases=None,
                         start_epoch: int = 0, best: float | None = None, history: dict | None = None) -> None:
        """Fit `self.model` on `self.train_ds` / `self.val_ds`, phase by phase (`training_phases()`:
        each sets what learns and compiles at its learning rate), with early stopping per phase, the
        learning rate falling by a cosine to the phase's end or the deadline (`zazu.adapters.schedule`),
        a per-epoch CSV log, TensorBoard logs and one keep-best checkpoint (`model.keras` in the trial
        folder), then reload that best epoch: it is what gets measured and
        shipped. `start_epoch`, `best` and `history`: what an earlier phase trained elsewhere (the
        pooled-feature head of a classifier) left, its weights already in the checkpoint.

        A trial interrupted mid-training and run again continues from its last finished epoch
        (`zazu.adapters.epoch_resume`), in the phase that epoch belongs to."""
        import keras

        from zazu.adapters import epoch_resume, transfer
        from zazu.adapters.schedule import cosine_to_budget
        from zazu.data.pipeline import endless
        from zazu.interrupts import interrupt_callback

        folder = self.require_trial_dir()
        checkpoint = folder / CHECKPOINT
        phases = self.training_phases() if phases is None else phases
        patience = int(self.hp["patience"])
        state = epoch_resume.saved_state(folder) if checkpoint.exists() else None
        done = state["epochs_done"] if state else start_epoch
        threshold = state["best"] if state else best
        keep_best = keras.callbacks.ModelCheckpoint(checkpoint, monitor=monitor, mode=mode, save_best_only=True,
                                                    initial_value_threshold=threshold)
        resume_point = epoch_resume.resume_callback(folder, keep_best, state or (
            {"history": history} if history else None))
        self.history = {k: list(v) for k, v in ((state or {}).get("history") or history or {}).items()}
        self.resumed_from_epoch = state["epochs_done"] if state else 0
        append = state is not None or start_epoch > 0
        phase_start = start_epoch
        for phase in phases:
            if done >= phase.end_epoch:
                phase_start = phase.end_epoch
                continue
            if checkpoint.exists() and self.past_deadline():
                break  # the time budget is spent: keep what the earlier phases reached
            transfer.apply_phase(self.model, phase, getattr(self, "backbone", None))
            self.compile_for(phase.learning_rate)
            if state is not None:
                epoch_resume.restore(self.model, folder, state)
                state = None
            callbacks = [
                keras.callbacks.TerminateOnNaN(),
                keep_best,
                keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience),
                cosine_to_budget(phase.learning_rate, phase_start, phase.end_epoch, self.model_specs.deadline),
                *self.logging_callbacks(folder, append),
                resume_point,  # after keep_best: reads its best value
                *self.progress_callbacks,  # per-epoch progress for the search's reporter (passed in)
                *self.deadline_callbacks(),
                interrupt_callback(),  # a Ctrl-C Python swallowed is raised at the next batch end
            ]
            self.before_fit(max(done, phase_start))
            train, steps = endless(self.train_ds)
            fitted = self.model.fit(train, steps_per_epoch=steps, validation_data=self.val_ds, epochs=phase.end_epoch,
                                    initial_epoch=max(done, phase_start), callbacks=callbacks, verbose=0,
                                    shuffle=False)  # tf.data shuffles
            for key, values in fitted.history.items():
                self.history.setdefault(key, []).extend(values)
            done = max(done, phase_start) + len(fitted.history.get("loss", []))
            phase_start = phase.end_epoch
            append = True
        self.finish_training(folder, rewrite_history=start_epoch > 0)

    def before_fit(self, initial_epoch: int) -> None:
        """Called before each `model.fit` of `fit_keeping_best` starts its training iterator, with the
        epoch it starts at: a pipeline that changes with the epoch sets itself here (detection's
        `close_mosaic`)."""

    def finish_training(self, folder: Path, rewrite_history: bool) -> None:
        """A failed training (a loss not finite, or no epoch kept) is a TrialFailed; otherwise drop the
        resume point and reload the best epoch. `rewrite_history`: phases trained apart logged
        different metrics, so history.csv is written again as one table for all of them."""
        import math

        from zazu.adapters import epoch_resume
        from zazu.errors import TrialFailed

        losses = self.history.get("loss", [])
        if any(not math.isfinite(v) for v in losses) or not (folder / CHECKPOINT).exists():
            raise TrialFailed(f"training loss became NaN or infinite (loss per epoch: {losses}).")
        if rewrite_history:
            epoch_resume.write_history(folder, self.history, len(losses))
        epoch_resume.finish(folder)
        self.model = self.load_trained(folder / CHECKPOINT, compile=self.reload_compiled)

    @staticmethod
    def logging_callbacks(folder: Path, append: bool) -> list:
        """The per-epoch CSV log (history.csv, appended to when training continues) and TensorBoard's curves."""
        import keras

        return [keras.callbacks.CSVLogger(str(folder / "history.csv"), append=append),
                keras.callbacks.TensorBoard(str(folder / "tensorboard"), write_graph=False)]

    def past_deadline(self) -> bool:
        import time

        deadline = self.model_specs.deadline
        return deadline is not None and time.time() >= deadline

    def deadline_callbacks(self) -> list:
        """Stop training when the search's time budget (`model_specs["deadline"]`, a `time.time()`)
        would be overrun: at an epoch end when the next epoch, as long as this one was, would end past
        it; and inside an epoch when its batches so far say it will end past it (the first epoch of a
        fine-tuning phase can take many times a frozen-phase epoch: nothing measured before says how
        long). An epoch stopped early is still validated, and the best epoch so far is what the trial
        keeps."""
        import time

        import keras

        deadline = self.model_specs.deadline
        if deadline is None:
            return []

        class StopAtDeadline(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch_start = time.time()
                self.first_batch_end = None

            def on_train_batch_end(self, batch, logs=None):
                # the projection leaves out the first batch, which pays for tracing the step
                now = time.time()
                if self.first_batch_end is None:
                    self.first_batch_end = now
                    return
                steps = (self.params or {}).get("steps")
                timed = batch  # batches after the first that have ended
                if not steps or batch + 1 >= steps or timed < 2:
                    return
                if now + (now - self.first_batch_end) / timed * (steps - batch - 1) > deadline:
                    self.model.stop_training = True

            def on_epoch_end(self, epoch, logs=None):
                now = time.time()
                if now + (now - self.epoch_start) > deadline:
                    self.model.stop_training = True

        return [StopAtDeadline()]

    @staticmethod
    def load_trained(path: Path, compile: bool = True):
        """Load a saved `.keras` model, Zazu's own layers included (`zazu.nn.saving.load_keras_model`; a task
        adapter may override it, e.g. to recompile)."""
        from zazu.nn.saving import load_keras_model

        return load_keras_model(path, compile=compile)

    # -- helpers for build() ------------------------------------------------------
    def image_input(self):
        """`keras.Input` for float pixels in [0, 255] at this trial's input size."""
        import keras

        return keras.Input((*self.input_size, 3), name="image")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    # -- after a trial, and for the winner ----------------------------------------------
    def save(self, trial_dir: Path) -> None:
        """Keep the trained model (`model.keras`) and its class names in the trial folder. (The search's tuner
        then scores and measures its int8 model: `zazu.export.bundle.profile_trial`.)"""
        from zazu.atomic_io import atomic_write_json

        path = Path(trial_dir) / CHECKPOINT
        if not path.exists():
            self.model.save(path)
        atomic_write_json(Path(trial_dir) / "labels.json", self.classes)

    def representative_images(self, limit: int = 100):
        """Un-augmented training images preprocessed as at inference, batches of 1 (int8 calibration)."""
        raise NotImplementedError

    def export(self, trial_dir: Path, out_dir: Path, options: dict[str, Any] | None = None,
               log=None) -> dict[str, Any]:
        """Export the trial's best model in every format of `options` (the config's `export`
        block; defaults when None), score each variant on the val split, profile the .tflite
        files and check the int8 one for the Edge TPU (`zazu.export.bundle`)."""
        from zazu.export.bundle import export_bundle

        if options is None:
            from zazu.defaults import load_defaults
            from zazu.export.options import resolve_export_options

            options = resolve_export_options(load_defaults()["export"])
        return export_bundle(self, Path(trial_dir), Path(out_dir), options, log=log or (lambda message: None))

    # -- inference: the same code for predict, evaluate, serve and the scoring of exports ----------
    resize = "stretch"  # how an image becomes the model input: "stretch" or "letterbox"
    converter_settings: dict[str, Any] = {}  # this task's TFLiteConverter settings; the config's override
    objective = ""  # the task's objective metric, e.g. "val_accuracy"

    @classmethod
    def for_inference(cls, metadata: dict[str, Any]) -> "BaseAdapter":
        """An adapter that prepares inputs, decodes outputs and scores predictions of a saved model,
        without a dataset or a trial: built from the metadata the model file carries
        (`inference_metadata`: task, zoo model, hyperparameters, class names)."""
        adapter = cls({"name": metadata.get("model"), "task": metadata.get("task"), "seed": 0},
                      dict(metadata.get("hyperparameters") or {}))
        adapter.prepare_inference(list(metadata.get("classes") or []))
        return adapter

    def prepare_inference(self, classes: list[str]) -> None:
        """Ready the adapter to decode outputs without a dataset (predict, serve): class names only."""
        self.classes = list(classes)

    def inference_input(self, image) -> tuple[np.ndarray, dict[str, Any]]:
        """A decoded RGB uint8 image [H, W, 3] -> (model input float32 [1, h, w, 3], context).

        The context carries what decoding needs: the original height and width and, for
        a letterboxed input, the scale from original to input pixels."""
        from zazu.data.letterbox import letterbox
        from zazu.data.pipeline import stretch

        height, width = int(image.shape[0]), int(image.shape[1])
        context: dict[str, Any] = {"height": height, "width": width}
        if self.resize == "letterbox":
            pixels, scale = letterbox(image, self.input_size)
            context["scale"] = float(scale)
        else:
            pixels = stretch(image, self.input_size)
        return pixels.numpy()[None].astype(np.float32), context

    def read_input(self, path) -> tuple[np.ndarray, dict[str, Any]]:
        from zazu.data.pipeline import decode_encoded

        with open(path, "rb") as f:
            return self.inference_input(decode_encoded(f.read()))

    def decode_outputs(self, outputs: list[np.ndarray], context: dict[str, Any]):
        """The model's outputs for one image (batch of 1, model output order) -> this task's prediction."""
        raise NotImplementedError

    def prediction_json(self, prediction) -> dict[str, Any]:
        """One prediction as JSON-ready data (what `zazu predict` writes and `zazu serve` returns)."""
        raise NotImplementedError

    def score_records(self, predictions: list, records: list) -> tuple[dict[str, float], dict[str, Any]]:
        """Score `predictions` (this task's decoded form, one per record, in order) against the ground
        truth of `records`. Returns (the task's metrics, named as the search reports them, e.g.
        `val_accuracy`; per-class details for `zazu evaluate`'s report, JSON-ready)."""
        raise NotImplementedError

    def score_predictions(self, predictions: list) -> dict[str, float]:
        """The task's metrics for predictions on the val split, in `self.val_records` order."""
        return self.score_records(predictions, self.val_records)[0]

    def val_image_paths(self) -> list[str]:
        raise NotImplementedError

    def evaluate_with(self, predict_fn) -> tuple[dict[str, float], list]:
        """Score `predict_fn` (batch -> list of outputs: a Keras model or a .tflite runner)
        on the val split, one image at a time through `read_input` and `decode_outputs`."""
        predictions = []
        for path in self.val_image_paths():
            batch, context = self.read_input(path)
            predictions.append(self.decode_outputs(predict_fn(batch), context))
        return self.score_predictions(predictions), predictions

    def inference_metadata(self) -> dict[str, Any]:
        """What a model file carries so it can be used on its own (`zazu.export.metadata`)."""
        return {
            "task": self.task,
            "model": self.model_specs.get("name"),
            "trial": Path(self.trial_dir).name if self.trial_dir else None,
            "classes": list(self.classes),
            "input_size": list(self.input_size),
            "input": {"dtype": "float32", "range": [0, 255], "channels": "RGB", "resize": self.resize,
                      "normalization": "inside the model: feed plain pixel values"},
            "objective": self.objective,
            "hyperparameters": dict(self.hp),  # plain JSON, not the adapter's checked mapping
        }

    def draw_prediction(self, image: np.ndarray, prediction):
        """A PIL image of `image` (RGB pixels, original size) with `prediction` drawn on it."""
        raise NotImplementedError

    def write_export_extras(self, out_dir: Path, predictions: dict[str, list]) -> None:
        """Task-specific files next to an export (predictions per variant on the val split)."""

    def require_trial_dir(self) -> Path:
        if self.trial_dir is None:
            raise ValueError("model_specs['trial_dir'] is not set; the adapter has nowhere to write.")
        self.trial_dir.mkdir(parents=True, exist_ok=True)
        return self.trial_dir
