"""Base adapter for image classification: a zoo model only writes `build()`.

Data: folder-per-class, split by the run's manifest. Training: Adam, sparse
categorical cross-entropy, early stopping, reduce-LR-on-plateau and a keep-best
checkpoint (`model.keras` in the trial folder). Metrics: `val_accuracy` and
`val_loss` of that best checkpoint, which is also what gets exported.

Hyperparameters read from `self.hp` (all optional): input_size (64),
batch_size (32), learning_rate (1e-3), augment (true: the run's `augmentation` settings),
patience (5), weights (null), dropout (0.2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zazu.adapters.base import CHECKPOINT, BaseAdapter


class ClassificationAdapter(BaseAdapter):
    task = "classification"

    def data_loader(self) -> None:
        dataset, sides = self.load_split()
        self.classes = dataset.classes
        self.train_paths = [dataset.abspath(r) for r in sides["train"]]
        self.train_labels = [r.label for r in sides["train"]]
        self.val_paths = [dataset.abspath(r) for r in sides["val"]]
        self.val_labels = [r.label for r in sides["val"]]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def preprocess(self) -> None:
        from zazu.data.pipeline import classification_dataset

        batch = int(self.hp.get("batch_size", 32))
        self.train_ds = classification_dataset(
            self.train_paths, self.train_labels, self.input_size, batch,
            training=True, augment_settings=self.augmentation(), seed=self.seed)
        self.val_ds = classification_dataset(self.val_paths, self.val_labels, self.input_size, batch, training=False)

    # -- helpers for build() ------------------------------------------------------
    def image_input(self):
        """`keras.Input` for float pixels in [0, 255] at this trial's input size."""
        import keras

        return keras.Input((*self.input_size, 3), name="image")

    def classifier_head(self, features):
        """Pooled features -> dropout -> softmax over the dataset's classes."""
        import keras

        x = keras.layers.Dropout(float(self.hp.get("dropout", 0.2)))(features)
        return keras.layers.Dense(self.num_classes, activation="softmax", name="probabilities")(x)

    def weights(self) -> str | None:
        """`weights` hyperparameter: None (from scratch), 'imagenet' (needs a network) or a local file."""
        return self.hp.get("weights")

    # -- lifecycle ----------------------------------------------------------------
    def train(self) -> None:
        import keras

        self.model.compile(
            optimizer=keras.optimizers.Adam(float(self.hp.get("learning_rate", 1e-3))),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        self.fit_keeping_best("val_accuracy", "max", default_patience=5)

    def get_metrics(self) -> dict[str, float]:
        results = self.model.evaluate(self.val_ds, verbose=0, return_dict=True)
        return {
            "val_accuracy": float(results["accuracy"]),
            "val_loss": float(results["loss"]),
            "epochs_trained": float(len(self.history.get("loss", []))),
        }

    # -- export -------------------------------------------------------------------
    def representative_images(self, limit: int = 100):
        from zazu.data.pipeline import representative_images

        return representative_images(self.train_paths, self.input_size, limit)

    def predict_tflite_accuracy(self, tflite_path: Path) -> float:
        from zazu.data.pipeline import load_image
        from zazu.export.litert import TFLiteRunner

        runner = TFLiteRunner(tflite_path)
        correct = 0
        for path, label in zip(self.val_paths, self.val_labels):
            probs = runner(load_image(path, self.input_size).numpy()[None])[0]
            correct += int(np.argmax(probs) == label)
        return correct / len(self.val_paths)

    def export(self, trial_dir: Path, out_dir: Path) -> dict[str, Any]:
        """Write model.keras and model_int8.tflite into `out_dir`; score both on the val split."""
        from zazu.export.tflite import convert_int8

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.model = self.load_trained(Path(trial_dir) / CHECKPOINT)
        keras_path = out_dir / "model.keras"
        self.model.save(keras_path)
        tflite_path = convert_int8(self.model, self.representative_images, out_dir / "model_int8.tflite")
        float_acc = float(self.model.evaluate(self.val_ds, verbose=0, return_dict=True)["accuracy"])
        int8_acc = self.predict_tflite_accuracy(tflite_path)
        (out_dir / "labels.txt").write_text("\n".join(self.classes) + "\n", encoding="utf-8")
        return {
            "files": {"keras": str(keras_path), "tflite_int8": str(tflite_path), "labels": str(out_dir / "labels.txt")},
            "metrics": {"float": {"val_accuracy": float_acc}, "int8": {"val_accuracy": int8_acc}},
            "input_size": list(self.input_size),
            "classes": self.classes,
            "val_images": len(self.val_paths),
        }
