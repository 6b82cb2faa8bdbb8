"""The adapter contract, spelled out.

Zazu drives an adapter through `reformat -> data_loader -> preprocess -> build ->
train -> get_metrics` (the ZazuML order). Only `__init__`, `train` and
`get_metrics` are mandatory for a duck-typed `AdaptModel`; the task base classes
implement everything except `build()`. Two optional methods let Zazu ship the
winner: `save(trial_dir)` after a trial and `export(trial_dir, out_dir)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHECKPOINT = "model.keras"  # a trial's best epoch, in its trial folder


class BaseAdapter:
    """Common state: `model_specs` (what and where) and `hp` (this trial's values).

    `model_specs` keys: name, task, model_space, training_configs, data
    ({home_path, annotation_type, split}), run_dir, trial_dir, seed, epochs.
    `hp_values`: the model's `training_configs` updated with the values the
    oracle sampled for this trial, and `epochs`.
    """

    task: str = ""
    # False for models whose losses are closures Keras cannot deserialize: reload them uncompiled
    reload_compiled: bool = True

    def __init__(self, model_specs: dict[str, Any], hp_values: dict[str, Any]):
        self.model_specs = dict(model_specs)
        self.hp = dict(hp_values)
        self.seed = int(self.model_specs.get("seed", 0))
        trial_dir = self.model_specs.get("trial_dir")
        self.trial_dir = Path(trial_dir) if trial_dir else None
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
    def hp_value(self, name: str, default: Any = None) -> Any:
        return self.hp.get(name, default)

    @property
    def input_size(self) -> tuple[int, int]:
        """`input_size` hyperparameter: an int (square) or [height, width]."""
        size = self.hp.get("input_size", 64)
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
        from zazu.data.split import read_split, split_dataset
        from zazu.runs import read_json

        data = self.model_specs.get("data", {})
        if data.get("records") and data.get("split"):
            dataset = dataset_from_json(read_json(Path(data["records"])))
            split = read_split(data["split"])
        else:
            dataset = check_dataset(read_dataset(data["home_path"], data.get("annotation_type", "auto"))).dataset
            split = split_dataset(dataset, 0.2, self.seed)
        by_path = {r.path: r for r in dataset.records}
        sides = {name: [by_path[p] for p in split[name]] for name in ("train", "val", "test") if name in split}
        return dataset, sides

    def augmentation(self) -> dict | None:
        """The run's augmentation settings when this trial's `augment` hp is true, else None."""
        from zazu.data.augment import resolve_augmentation

        if not self.hp.get("augment", True):
            return None
        return resolve_augmentation(self.model_specs.get("data", {}).get("augmentation"))

    def fit_keeping_best(self, monitor: str, mode: str, default_patience: int = 5) -> None:
        """Fit the compiled `self.model` on `self.train_ds` / `self.val_ds` with early stopping,
        reduce-LR-on-plateau, a per-epoch CSV log, TensorBoard logs and a keep-best checkpoint (`model.keras`
        in the trial folder), then reload that best epoch: it is what gets measured and shipped."""
        import math

        import keras

        from zazu.errors import TrialFailed

        folder = self.require_trial_dir()
        checkpoint = folder / CHECKPOINT
        patience = int(self.hp.get("patience", default_patience))
        callbacks = [
            keras.callbacks.TerminateOnNaN(),
            keras.callbacks.ModelCheckpoint(checkpoint, monitor=monitor, mode=mode, save_best_only=True),
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, patience // 2)),
            keras.callbacks.CSVLogger(str(folder / "history.csv")),
            keras.callbacks.TensorBoard(str(folder / "tensorboard"), write_graph=False),  # per-trial curves
        ]
        history = self.model.fit(self.train_ds, validation_data=self.val_ds, epochs=int(self.hp["epochs"]),
                                 callbacks=callbacks, verbose=0, shuffle=False)  # tf.data shuffles
        self.history = history.history
        losses = self.history.get("loss", [])
        if any(not math.isfinite(v) for v in losses) or not checkpoint.exists():
            raise TrialFailed(f"training loss became NaN or infinite (loss per epoch: {losses}).")
        self.model = self.load_trained(checkpoint, compile=self.reload_compiled)

    @staticmethod
    def load_trained(path: Path, compile: bool = True):
        """Load a saved `.keras` model, Zazu's own layers included."""
        import keras

        from zazu.nn.layers import custom_objects

        return keras.saving.load_model(path, compile=compile, custom_objects=custom_objects())

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
        """Keep the trained model (`model.keras`) and its class names in the trial folder."""
        from zazu.runs import atomic_write_json

        path = Path(trial_dir) / CHECKPOINT
        if not path.exists():
            self.model.save(path)
        atomic_write_json(Path(trial_dir) / "labels.json", self.classes)

    def representative_images(self, limit: int = 100):
        """Un-augmented training images preprocessed as at inference, batches of 1 (int8 calibration)."""
        raise NotImplementedError

    def score_exports(self, tflite_path: Path, out_dir: Path) -> dict[str, dict[str, float]]:
        """{"float": metrics of `self.model`, "int8": metrics of the .tflite}, on the val split."""
        raise NotImplementedError

    def export(self, trial_dir: Path, out_dir: Path) -> dict[str, Any]:
        """Write model.keras, model_int8.tflite and labels.txt into `out_dir`; score float and int8."""
        from zazu.export.tflite import convert_int8

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.model = self.load_trained(Path(trial_dir) / CHECKPOINT, compile=self.reload_compiled)
        keras_path = out_dir / "model.keras"
        self.model.save(keras_path)
        tflite_path = convert_int8(self.model, self.representative_images, out_dir / "model_int8.tflite")
        metrics = self.score_exports(tflite_path, out_dir)
        labels_path = out_dir / "labels.txt"
        labels_path.write_text("\n".join(self.classes) + "\n", encoding="utf-8")
        return {
            "files": {"keras": str(keras_path), "tflite_int8": str(tflite_path), "labels": str(labels_path)},
            "metrics": metrics,
            "input_size": list(self.input_size),
            "classes": self.classes,
            "val_images": len(self.val_records),
        }

    def require_trial_dir(self) -> Path:
        if self.trial_dir is None:
            raise ValueError("model_specs['trial_dir'] is not set; the adapter has nowhere to write.")
        self.trial_dir.mkdir(parents=True, exist_ok=True)
        return self.trial_dir
