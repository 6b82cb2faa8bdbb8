"""The adapter contract as `typing.Protocol`s, and what an adapter class can do, read once at registration.

ZazuML's contract is duck typed: `AdaptModel(model_specs, hp_values)` with `train()` and `get_metrics()`, the
lifecycle's other steps optional. Beyond it, an adapter may save its trials, export a winner, reload a
checkpoint, predict on its own (the inference hooks), have its int8 model profiled during the search and be
fine-tuned for int8 when post-training quantization costs too much; the task base classes do all of these. `Capabilities.of(cls)` reads which, once, when the registry loads the
class (`ModelSpec.capabilities`), so the search, the export and predict ask the spec instead of probing the
adapter with getattr each time.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

LIFECYCLE_STEPS = ("reformat", "data_loader", "preprocess", "build", "train", "get_metrics")
OPTIONAL_STEPS = LIFECYCLE_STEPS[:4]  # an adapter without one skips it
MANDATORY_METHODS = LIFECYCLE_STEPS[4:]


@runtime_checkable
class ZazuMLAdapter(Protocol):
    """What every `AdaptModel` must have (its `__init__(model_specs, hp_values)` is checked apart)."""

    def train(self) -> None: ...
    def get_metrics(self) -> dict[str, float]: ...


@runtime_checkable
class SavesTrials(Protocol):
    def save(self, trial_dir) -> None: ...


@runtime_checkable
class Exports(Protocol):
    def export(self, trial_dir, out_dir, options=None, log=None) -> dict[str, Any]: ...


@runtime_checkable
class ReloadsCheckpoints(Protocol):
    def load_trained(self, path, compile: bool = True): ...


@runtime_checkable
class Predicts(Protocol):
    """The inference hooks (`zazu.adapters.inference_hooks`): what predict, evaluate and serve run."""

    def for_inference(self, metadata) -> Any: ...
    def inference_input(self, image) -> Any: ...
    def decode_outputs(self, outputs, context) -> Any: ...
    def prediction_json(self, prediction) -> dict[str, Any]: ...
    def score_records(self, predictions, records) -> Any: ...


@runtime_checkable
class ProfilesInt8(Predicts, Protocol):
    """What the search needs to score and measure a trial's int8 model: the inference hooks, calibration
    images and the val split's images."""

    def representative_images(self, limit: int = 100) -> Any: ...
    def val_image_paths(self) -> list[str]: ...


@runtime_checkable
class FineTunesForInt8(ProfilesInt8, Protocol):
    """What quantization-aware fine-tuning (`zazu.adapters.quantization_aware`) trains through: a Keras
    model, its training data and its task's compile, as the task bases' training uses them."""

    def compile_for(self, learning_rate: float) -> None: ...
    def fit_callbacks(self) -> list: ...


@dataclass(frozen=True)
class Capabilities:
    saves: bool = False
    exports: bool = False
    export_options: frozenset[str] = frozenset()  # which of `options`, `log` its export() accepts
    reloads_checkpoints: bool = False
    predicts: bool = False
    profiles_int8: bool = False
    fine_tunes_int8: bool = False

    @classmethod
    def of(cls, adapter_class: type) -> "Capabilities":
        exports = issubclass(adapter_class, Exports)
        accepted = frozenset()
        if exports:
            try:
                parameters = inspect.signature(adapter_class.export).parameters
            except (TypeError, ValueError):
                parameters = {}
            accepted = frozenset(name for name in ("options", "log") if name in parameters)
        return cls(saves=issubclass(adapter_class, SavesTrials), exports=exports, export_options=accepted,
                   reloads_checkpoints=issubclass(adapter_class, ReloadsCheckpoints),
                   predicts=issubclass(adapter_class, Predicts), profiles_int8=issubclass(adapter_class, ProfilesInt8),
                   fine_tunes_int8=issubclass(adapter_class, FineTunesForInt8))
