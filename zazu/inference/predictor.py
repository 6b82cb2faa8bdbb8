"""A model file, ready to predict: what `zazu predict` (and `zazu serve`) run.

The file's own metadata (`zazu.export.metadata`) names the task, the classes,
the zoo model and its hyperparameters. The zoo model's adapter is re-created
from them, so an image goes through exactly the code the run's evaluation used:
`adapter.inference_input` (decode, resize or letterbox), the model (.keras
with Keras, .tflite with LiteRT), `adapter.decode_outputs` (e.g. box decoding
and NMS) and `adapter.prediction_json`.

A Predictor holds one interpreter: it is not safe to call from several
threads at once (give each thread its own, or hold a lock).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from zazu.data.decoder_check import tensorflow_disagrees
from zazu.data.orientation import upright_size
from zazu.errors import ZazuError


class InvalidImage(ZazuError):
    """The bytes given are not a complete image Zazu can read."""


def check_image_bytes(data: bytes, name: str) -> tuple[int, int]:
    """(width, height) of a complete PNG/JPEG/BMP/GIF; InvalidImage naming `name` otherwise.

    PIL decodes it fully first: TensorFlow's decoder fills a truncated JPEG with
    grey instead of failing, which would give a prediction on half an image."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InvalidImage(f"{name}: empty file. Expected a PNG, JPEG, BMP or GIF image.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG", "BMP", "GIF", "MPO"):
                raise InvalidImage(f"{name}: {image.format} images are not supported. "
                                   "Expected a PNG, JPEG, BMP or GIF image.")
            image.load()
            size, image_format, raw_size = upright_size(image), image.format, image.size
    except InvalidImage:
        raise
    except UnidentifiedImageError:
        raise InvalidImage(f"{name}: not an image. Expected a PNG, JPEG, BMP or GIF image.") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidImage(f"{name}: unreadable image ({error}).") from None
    if (problem := tensorflow_disagrees(data, image_format, raw_size)) is not None:
        raise InvalidImage(f"{name}: {problem}. Expected a PNG, JPEG, BMP or GIF image it can read; convert it to PNG.")
    return size


class Predictor:
    def __init__(self, model_path: str | Path, num_threads: int | None = None, registry=None):
        from zazu.export.metadata import read_metadata
        from zazu.ranking import default_hyperparameters
        from zazu.registry import Registry

        self.path = Path(model_path)
        self.metadata: dict[str, Any] = read_metadata(self.path)
        self.task = self.metadata.get("task")
        self.classes: list[str] = list(self.metadata.get("classes") or [])
        registry = registry or Registry.load()
        name = self.metadata.get("model")
        if name not in registry.models:
            raise ZazuError(f"{self.path} was trained from zoo model {name!r}, which is not in the zoo at "
                            f"{registry.root}. Expected one of: {', '.join(registry.models)}.")
        spec = registry.get(name)
        if not spec.capabilities.predicts:
            raise ZazuError(f"Zoo model {name!r}: its AdaptModel lacks the inference hooks (for_inference, "
                            "inference_input, decode_outputs, prediction_json, score_records); predict needs an "
                            "adapter built on a zazu.adapters task base class.")
        # a file from an older Zazu may lack a hyperparameter its zoo entry has gained since: the entry's value
        hyperparameters = {**default_hyperparameters(spec), **(self.metadata.get("hyperparameters") or {})}
        self.adapter = spec.adapter_class.for_inference({**self.metadata, "hyperparameters": hyperparameters})
        self.predict_fn = self._load_model(num_threads)
        self.sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()

    def _load_model(self, num_threads):
        if self.path.suffix.lower() == ".tflite":
            from zazu.export.litert import TFLiteRunner

            return TFLiteRunner(self.path, num_threads=num_threads)
        from zazu.export.bundle import keras_predict_fn

        self.adapter.model = self.adapter.load_trained(self.path, compile=False)
        return keras_predict_fn(self.adapter.model)

    def describe(self) -> dict[str, Any]:
        return {"task": self.task, "model": self.metadata.get("model"), "variant": self.metadata.get("variant"),
                "classes": self.classes, "input_size": self.metadata.get("input_size"),
                "input": self.metadata.get("input"), "file": self.path.name, "sha256": self.sha256}

    def predict_native(self, data: bytes, name: str = "image"):
        """(prediction in the adapter's own form, decoded RGB image as NumPy) for encoded image bytes."""
        from zazu.data.pipeline import decode_encoded

        check_image_bytes(data, name)
        image = decode_encoded(data)
        batch, context = self.adapter.inference_input(image)
        return self.adapter.decode_outputs(self.predict_fn(batch), context), image.numpy()

    def predict_bytes(self, data: bytes, name: str = "image") -> dict[str, Any]:
        prediction, image = self.predict_native(data, name)
        return self._answer(name, image, prediction)

    def _answer(self, name: str, image: np.ndarray, prediction) -> dict[str, Any]:
        """What predict writes and serve returns for one image."""
        return {"image": name, "width": int(image.shape[1]), "height": int(image.shape[0]), "task": self.task,
                **self.adapter.prediction_json(prediction)}

    def predict_file(self, path: str | Path, draw_to: Path | None = None) -> dict[str, Any]:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise InvalidImage(f"{path}: cannot be read ({error.strerror}).") from None
        prediction, image = self.predict_native(data, str(path))
        if draw_to is not None:
            self.adapter.draw_prediction(np.asarray(image, np.float32), prediction).save(draw_to)
        return self._answer(str(path), image, prediction)


def image_files(target: str | Path) -> list[Path]:
    """The image files of a folder (sorted, not recursive), or [target] for one file."""
    from zazu.data.paths import IMAGE_SUFFIXES

    target = Path(target)
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise ZazuError(f"Nothing to predict on. Expected an image file or a folder of images. Received: {target}")
    files = sorted(p for p in target.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ZazuError(f"{target}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder.")
    return files
