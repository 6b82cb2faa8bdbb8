"""`zazu zoo check`: validate every zoo entry, then build each model once on a tiny input.

Unlike `Registry.load`, which stops at the first broken entry, the check goes
through them all and says what is wrong with each. Building uses the defaults
of the entry's search space (as keras-tuner's first trial would) at a tiny input
size and runs one forward pass, so a model that cannot even be built is found
before a search spends time on data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zazu.errors import RegistryError

# Tiny, but a multiple of 32 so detectors' stride-32 pyramids fit.
CHECK_INPUT_SIZE = {"classification": 32, "detection": 64, "instance_segmentation": 64}
CHECK_CLASSES = ["class_0", "class_1", "class_2"]


@dataclass(frozen=True)
class EntryCheck:
    name: str
    task: str
    ok: bool
    detail: str


def check_zoo(root: str | Path) -> list[EntryCheck]:
    """One result per models.json entry. A models.json that cannot be read at all raises RegistryError."""
    from zazu.registry import read_entries, validate_entry  # per entry: every broken entry is reported

    root = Path(root)
    entries = read_entries(root)
    results = []
    for name, entry in entries.items():
        task = str(entry.get("task", "?")) if isinstance(entry, dict) else "?"
        try:
            spec = validate_entry(root, name, entry)
        except RegistryError as e:
            results.append(EntryCheck(name, task, False, str(e)))
            continue
        results.append(_build_once(spec))
    return results


def _build_once(spec) -> EntryCheck:
    import keras
    import numpy as np

    from zazu.adapters.base import BaseAdapter
    from zazu.search.space import SpaceCodec

    def failed(detail: str) -> EntryCheck:
        return EntryCheck(spec.name, spec.task, False, detail)

    try:
        codec = SpaceCodec(spec.hp_search_space)
        defaults = codec.decode(codec.hyperparameters().values)
    except Exception as e:  # a search space keras-tuner refuses
        return failed(f"hp_search_space does not convert to keras-tuner: {type(e).__name__}: {e}")
    if not issubclass(spec.adapter_class, BaseAdapter):
        return EntryCheck(spec.name, spec.task, True, "registry checks passed; not built (a plain ZazuML adapter "
                                                      "builds only after its own data_loader)")
    size = CHECK_INPUT_SIZE[spec.task]
    hp_values = {**spec.training_configs, **defaults, "epochs": 1, "input_size": size}
    try:  # built as for a saved model: build() reads the classes (and a detector's coder), no dataset
        adapter = spec.adapter_class.for_inference({"task": spec.task, "model": spec.name,
                                                    "hyperparameters": hp_values, "classes": list(CHECK_CLASSES)})
        model = adapter.build()
        if not isinstance(model, keras.Model):
            return failed(f"build() returned {type(model).__name__}. Expected a keras.Model.")
        if tuple(model.input_shape) != (None, size, size, 3):
            return failed(f"build() made a model whose input is {model.input_shape}. "
                          f"Expected (None, {size}, {size}, 3) for input_size={size}.")
        outputs = model(np.zeros((1, size, size, 3), np.float32), training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        if not all(np.isfinite(np.asarray(o)).all() for o in outputs):
            return failed("a forward pass on a blank image gave NaN or infinite outputs.")
    except Exception as e:  # the adapter's own code: report it per entry, keep checking the others
        first_line = (str(e).splitlines() or [""])[0]
        return failed(f"building failed: {type(e).__name__}: {first_line}")
    finally:
        keras.backend.clear_session()
    shapes = ", ".join(str(tuple(o.shape)) for o in outputs)
    return EntryCheck(spec.name, spec.task, True,
                      f"built at {size}x{size}: {model.count_params():,} parameters; outputs {shapes}")
