"""The inference contract of a task base adapter: the single path from an image to a prediction.

Export scoring (`zazu.adapters.evaluation`), `zazu predict`, `zazu evaluate` and `zazu serve` all go through
these hooks, so they cannot disagree. `for_inference` builds an adapter from a model file's metadata alone,
with no dataset or trial: what predict and serve need. `BaseAdapter` inherits them; a task base writes the
ones that raise `NotImplementedError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zazu.tasks import TASKS


class TaskObjective:
    """An adapter class's `objective`: its `task`'s, from zazu/tasks.py (written there once); "" without one."""

    def __get__(self, instance, owner) -> str:
        task = TASKS.get(owner.task)
        return task.objective if task else ""


class InferenceHooks:
    resize = "stretch"  # how an image becomes the model input: "stretch" or "letterbox"
    converter_settings: dict[str, Any] = {}  # this task's TFLiteConverter settings; the config's override
    task: str = ""  # the task base's, from zazu/tasks.py
    objective = TaskObjective()  # the task's objective metric, e.g. "val_accuracy" (zazu.tasks)

    @classmethod
    def for_inference(cls, metadata: dict[str, Any]) -> "InferenceHooks":
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

    def val_image_paths(self) -> list[str]:
        raise NotImplementedError

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
