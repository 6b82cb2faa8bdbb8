"""Base adapter for image classification: a zoo model only writes `build()`.

Data: folder-per-class, split by the run's manifest. Training: Adam, sparse
categorical cross-entropy, early stopping, a cosine learning-rate decay, a keep-best
checkpoint (`model.keras` in the trial folder). Metrics: `val_accuracy` and
`val_loss` of that best checkpoint, which is also what gets exported.

Hyperparameters read from `self.hp`: `ClassificationAdapter.hyperparameters` (name, default,
meaning; `zazu zoo hyperparameters classification` prints them). While a pretrained backbone is
frozen, the head trains on pooled features computed once (`zazu.adapters.pooled_features`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zazu.adapters import fitting, pooled_features
from zazu.adapters.base import BaseAdapter
from zazu.adapters.hyperparameters import Hyperparameter, declare
from zazu.adapters.transfer import TRANSFER_HYPERPARAMETERS
from zazu.tasks import CLASSIFICATION


class ClassificationAdapter(BaseAdapter):
    task = CLASSIFICATION
    hyperparameters = declare(
        BaseAdapter.hyperparameters,
        Hyperparameter("weights", None, "null (from scratch), imagenet, or a .pth / .weights.h5 file"),
        Hyperparameter("dropout", 0.2, "dropout before the classifier's softmax", (float, 0.0, 0.99)),
        Hyperparameter("backbone", None, "a zazu.nn.backbones name, for backbone_classifier()"),
        *TRANSFER_HYPERPARAMETERS,
    )

    def data_loader(self) -> None:
        dataset, sides = self.load_split()
        self.classes = dataset.classes
        self.train_paths = [dataset.abspath(r) for r in sides["train"]]
        self.train_labels = [r.label for r in sides["train"]]
        self.val_paths = [dataset.abspath(r) for r in sides["val"]]
        self.val_labels = [r.label for r in sides["val"]]
        self.val_records = sides["val"]

    def preprocess(self) -> None:
        from zazu.data.pipeline import classification_dataset

        batch = int(self.hp["batch_size"])
        self.train_ds = classification_dataset(
            self.train_paths, self.train_labels, self.input_size, batch,
            training=True, augment_settings=self.augmentation(), seed=self.seed)
        self.val_ds = classification_dataset(self.val_paths, self.val_labels, self.input_size, batch, training=False)

    # -- helpers for build() ------------------------------------------------------
    def classifier_head(self, features):
        """Pooled features -> dropout -> softmax over the dataset's classes."""
        import keras

        x = keras.layers.Dropout(float(self.hp["dropout"]), name="head_dropout")(features)
        return keras.layers.Dense(self.num_classes, activation="softmax", name="probabilities")(x)

    def backbone_classifier(self, backbone: str | None = None):
        """A classifier on a backbone of `zazu.nn.backbones` (default: the `backbone` hp): its
        deepest features, global average pooling (`pool`), then `classifier_head`."""
        import keras

        from zazu.nn.backbones import build_backbone

        inputs = self.image_input()
        features = build_backbone(backbone or self.hp["backbone"], inputs, self.hp)
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features[max(features)])
        return keras.Model(inputs, self.classifier_head(pooled), name=str(self.model_specs.get("name", "classifier")))

    def weights(self) -> str | None:
        """`weights` hyperparameter: None (from scratch), 'imagenet' (needs a network) or a local file."""
        return self.hp["weights"]

    # -- lifecycle ----------------------------------------------------------------
    def compile_for(self, learning_rate: float) -> None:
        import keras

        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"])

    def train(self) -> None:
        from functools import partial

        fitting.fit_in_phases(self, self.objective, "max",
                              partial(pooled_features.fit_head, self) if self._has_pooled_head() else None)

    def _has_pooled_head(self) -> bool:
        names = {layer.name for layer in self.model.layers}
        return {"pool", "head_dropout", "probabilities"} <= names

    def get_metrics(self) -> dict[str, float]:
        results = self.model.evaluate(self.val_ds, verbose=0, return_dict=True)
        return {
            self.objective: float(results["accuracy"]),
            "val_loss": float(results["loss"]),
            "epochs_trained": float(len(self.history.get("loss", []))),
        }

    # -- inference and export ------------------------------------------------------------
    def representative_images(self, limit: int = 100):
        from zazu.data.pipeline import representative_images

        return representative_images(self.train_paths, self.input_size, limit)

    def val_image_paths(self) -> list[str]:
        return list(self.val_paths)

    def decode_outputs(self, outputs, context) -> np.ndarray:
        """Class probabilities [num_classes] for one image."""
        return np.asarray(outputs[0][0], np.float32)

    def prediction_json(self, prediction, top_k: int = 5) -> dict:
        order = np.argsort(-prediction, kind="stable")[: min(top_k, len(prediction))]
        top = [{"label": self.classes[i], "class_id": int(i), "score": float(prediction[i])} for i in order]
        return {"label": top[0]["label"], "class_id": top[0]["class_id"], "score": top[0]["score"], "top_k": top}

    def draw_prediction(self, image, prediction):
        from zazu.data.preview import draw_sample

        best = int(np.argmax(prediction))
        return draw_sample(image, self.classes, title=f"{self.classes[best]} {prediction[best]:.2f}")

    def score_records(self, predictions, records) -> tuple[dict[str, float], dict]:
        """Accuracy; details: per-class precision, recall, F1 and support, the confusion matrix over
        `self.classes` (rows: true class, columns: predicted) and the misclassified images."""
        from zazu.metrics.classification import per_class_report

        labels = [int(r.label) for r in records]
        predicted = [int(np.argmax(p)) for p in predictions]
        details = per_class_report(labels, predicted, self.classes)
        details["misclassified"] = [
            {"image": r.path, "label": self.classes[r.label], "predicted": self.classes[c], "score": float(p[c])}
            for r, p, c in zip(records, predictions, predicted) if c != r.label]
        return {self.objective: float(np.mean(np.array(predicted) == np.array(labels)))}, details

    def write_export_extras(self, out_dir: Path, predictions: dict[str, list]) -> None:
        """val_predictions.json: the label and each variant's predicted class per val image (the
        report's confusion matrix and per-class precision/recall)."""
        from zazu.atomic_io import atomic_write_json

        records = []
        for i, (path, label) in enumerate(zip(self.val_paths, self.val_labels)):
            records.append({"path": str(path), "label": int(label),
                            "predicted": {v: int(np.argmax(p[i])) for v, p in predictions.items()}})
        atomic_write_json(Path(out_dir) / "val_predictions.json", {"classes": self.classes, "records": records})
