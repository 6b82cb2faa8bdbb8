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


from zazu.adapters.hyperparameters import (DeclaredNames, Hyperparameter,  # noqa: F401  (MissingHyperparameter: public here)
                                           HyperparameterValues, MissingHyperparameter)
from zazu.adapters.inference_hooks import InferenceHooks
from zazu.run_records import CHECKPOINT  # a trial's best epoch, in its trial folder
from zazu.trial_inputs import TrialInputs


class BaseAdapter(InferenceHooks):
    """Common state: `model_specs` (what and where: a `zazu.trial_inputs.TrialInputs`, which the search
    passes; a plain dict of its fields is read into one) and `hp` (this trial's values).

    `hp_values`: the model's `training_configs` updated with the values the
    oracle sampled for this trial, and `epochs`.
    """

    # what every task base reads besides a model's own, with their defaults (a task base extends it with
    # `declare`); `known_hyperparameters`, their names, is derived (`zazu train --hp` accepts them)
    hyperparameters: tuple[Hyperparameter, ...] = (
        Hyperparameter("input_size", 64, "an int (square) or [height, width], in pixels", (int, 8, 1024)),
        Hyperparameter("batch_size", 32, "images per training batch", (int, 1, 1024)),
        Hyperparameter("learning_rate", 1e-3, "the first phase's learning rate (a cosine takes it to 0)",
                       (float, 1e-8, 10.0)),
        Hyperparameter("augment", True, "whether the run's augmentation block applies to this model"),
        Hyperparameter("patience", 5, "epochs without improvement before early stopping", (int, 1, 100000)),
        Hyperparameter("epochs", None, "set by the search (a time budget's auto count, or the config's)"),
    )
    known_hyperparameters = DeclaredNames()
    # False for models whose losses are closures Keras cannot deserialize: reload them uncompiled
    reload_compiled: bool = True

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
        return resolve_augmentation(data.augmentation if data is not None else None, self.task)

    def compile_for(self, learning_rate: float) -> None:
        """Compile `self.model` with this task's optimizer, losses and metrics at `learning_rate`
        (called once per training phase)."""
        raise NotImplementedError

    def fit_callbacks(self) -> list:
        """Keras callbacks this task's training adds to every `model.fit` (detection: closing the mosaics
        before the deadline); none by default."""
        return []

    def before_fit(self, initial_epoch: int) -> None:
        """Called before each `model.fit` of `fit_keeping_best` starts its training iterator, with the
        epoch it starts at: a pipeline that changes with the epoch sets itself here (detection's
        `close_mosaic`)."""

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

    def require_trial_dir(self) -> Path:
        if self.trial_dir is None:
            raise ValueError("model_specs['trial_dir'] is not set; the adapter has nowhere to write.")
        self.trial_dir.mkdir(parents=True, exist_ok=True)
        return self.trial_dir
