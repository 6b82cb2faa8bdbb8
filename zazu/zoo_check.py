"""The zoo's checks, as one public generator that `zazu zoo check` and the contract test both run
(scikit-learn's `check_estimator` pattern): `entry_checks(spec)` yields named checks, each a
callable that raises `ZooCheckFailed` with what is wrong (or returns a one-line note of what it saw).

Without data the checks are quick and run no training: the search space converts to keras-tuner,
the adapter reads no hyperparameter its entry lacks (nor a default of its own), and the model builds
at its task's check size and gives finite outputs on a blank image. With `data` (a dataset of the
entry's task) and `folder`, three more follow on the same adapter: it trains one epoch through the
whole lifecycle and reports its task's objective as a finite float, saves its checkpoint, and its
int8 export maps every op to the Edge TPU by Zazu's own check.

`check_zoo(root)` runs the quick ones over every models.json entry; an entry `Registry.load` would
refuse is reported with the registry's message, and the other entries are still checked.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from zazu.errors import RegistryError
from zazu.tasks import TASKS

CHECK_CLASSES = ["class_0", "class_1", "class_2"]


class ZooCheckFailed(Exception):
    """A zoo entry does not meet the contract; the message says how."""


@dataclass(frozen=True)
class EntryCheck:
    name: str
    task: str
    ok: bool
    detail: str


@dataclass
class _Context:
    """What one entry's checks share: the hyperparameters of its first trial and, once built, its adapter."""

    spec: object
    data: Path | None
    folder: Path | None
    hp_values: dict = field(default_factory=dict)
    adapter: object = None


def check_size(task: str) -> int:
    return TASKS[task].check_input_size


def entry_checks(spec, data: str | Path | None = None, folder: str | Path | None = None
                 ) -> Iterator[tuple[str, Callable[[], str | None]]]:
    """(name, check) pairs for a registered entry, to run in order (later ones use what earlier ones
    built). With `data` and `folder`, the training and export checks too."""
    ctx = _Context(spec, Path(data) if data else None, Path(folder) if folder else None)
    yield "search space converts to keras-tuner", lambda: _search_space_converts(ctx)
    yield "hyperparameters read from the entry alone", lambda: _reads_its_entry_alone(ctx)
    if not _is_zazu_adapter(spec):
        return  # a plain ZazuML adapter builds only after its own data_loader: the registry's checks are all
    yield f"builds at {check_size(spec.task)} px", lambda: _builds(ctx)
    if ctx.data is not None and ctx.folder is not None:
        yield "trains one epoch and reports its objective", lambda: _trains_one_epoch(ctx)
        yield "int8 export maps fully to the Edge TPU", lambda: _int8_maps_to_edgetpu(ctx)


def check_zoo(root: str | Path) -> list[EntryCheck]:
    """One result per models.json entry: the quick checks. A models.json that cannot be read at all
    raises RegistryError."""
    from zazu.registry import read_entries, validate_entry  # per entry: every broken entry is reported

    root = Path(root)
    results = []
    for name, entry in read_entries(root).items():
        task = str(entry.get("task", "?")) if isinstance(entry, dict) else "?"
        try:
            spec = validate_entry(root, name, entry)
        except RegistryError as e:
            results.append(EntryCheck(name, task, False, str(e)))
            continue
        results.append(run_checks(spec))
    return results


def run_checks(spec, data=None, folder=None) -> EntryCheck:
    """Every check of `entry_checks`, stopping at the first that fails."""
    import keras

    detail = ("registry checks passed; not built (a plain ZazuML adapter builds only after its own "
              "data_loader)")
    try:
        for label, check in entry_checks(spec, data, folder):
            try:
                detail = check() or detail
            except ZooCheckFailed as e:
                return EntryCheck(spec.name, spec.task, False, str(e))
            except Exception as e:  # the adapter's own code: reported per entry, the others still checked
                first_line = (str(e).splitlines() or [""])[0]
                return EntryCheck(spec.name, spec.task, False, f"{label}: {type(e).__name__}: {first_line}")
    finally:
        keras.backend.clear_session()
    return EntryCheck(spec.name, spec.task, True, detail)


def _is_zazu_adapter(spec) -> bool:
    from zazu.adapters.base import BaseAdapter

    return isinstance(spec.adapter_class, type) and issubclass(spec.adapter_class, BaseAdapter)


def _search_space_converts(ctx: _Context) -> None:
    from zazu.search.space import SpaceCodec

    spec = ctx.spec
    try:
        codec = SpaceCodec(spec.hp_search_space)
        first = codec.decode(codec.hyperparameters().values)  # keras-tuner's first trial
    except Exception as e:  # a search space keras-tuner refuses
        raise ZooCheckFailed(f"hp_search_space does not convert to keras-tuner: {type(e).__name__}: {e}") from None
    ctx.hp_values = {**spec.training_configs, **first, "epochs": 1, "input_size": check_size(spec.task)}


def hyperparameter_reads(source: str) -> tuple[set[str], list[str]]:
    """Names an adapter's source reads from `self.hp` (subscripts and `.get` calls), and those read with a
    default of their own (`self.hp.get(name, default)`)."""
    names, with_defaults = set(), []
    for node in ast.walk(ast.parse(source)):
        target = node.value if isinstance(node, ast.Subscript) else (
            node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" else None)
        if not (isinstance(target, ast.Attribute) and target.attr == "hp"):
            continue
        key = node.slice if isinstance(node, ast.Subscript) else node.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
            if isinstance(node, ast.Call) and len(node.args) > 1:
                with_defaults.append(key.value)
    return names, with_defaults


def _reads_its_entry_alone(ctx: _Context) -> None:
    """models.json is the one place a zoo model's values are written: its adapter reads each by name (no
    second default in the code), and every name it reads is in its entry or its task base's table."""
    spec = ctx.spec
    names, with_defaults = hyperparameter_reads(Path(spec.adapter_path).read_text(encoding="utf-8"))
    if with_defaults:
        raise ZooCheckFailed(f"{spec.adapter_path} reads {', '.join(sorted(with_defaults))} with a default of its "
                             "own. Expected self.hp[name], the value in the models.json entry.")
    known = (set(spec.training_configs) | {hp["name"] for hp in spec.hp_search_space}
             | set(getattr(spec.adapter_class, "known_hyperparameters", ())))
    if missing := sorted(names - known):
        raise ZooCheckFailed(f"{spec.adapter_path} reads {', '.join(missing)}, which the models.json entry of "
                             f"`{spec.name}` does not hold. Expected it in training_configs or hp_search_space.")


def _builds(ctx: _Context) -> str:
    """Built as for a saved model (build() reads the classes and a detector's coder, no dataset), one
    forward pass on a blank image."""
    import keras
    import numpy as np

    spec, size = ctx.spec, check_size(ctx.spec.task)
    adapter = spec.adapter_class.for_inference({"task": spec.task, "model": spec.name,
                                                "hyperparameters": ctx.hp_values, "classes": list(CHECK_CLASSES)})
    model = adapter.build()
    if not isinstance(model, keras.Model):
        raise ZooCheckFailed(f"build() returned {type(model).__name__}. Expected a keras.Model.")
    if tuple(model.input_shape) != (None, size, size, 3):
        raise ZooCheckFailed(f"build() made a model whose input is {model.input_shape}. "
                             f"Expected (None, {size}, {size}, 3) for input_size={size}.")
    outputs = model(np.zeros((1, size, size, 3), np.float32), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if not all(np.isfinite(np.asarray(o)).all() for o in outputs):
        raise ZooCheckFailed("a forward pass on a blank image gave NaN or infinite outputs.")
    shapes = ", ".join(str(tuple(o.shape)) for o in outputs)
    return f"built at {size}x{size}: {model.count_params():,} parameters; outputs {shapes}"


def _trains_one_epoch(ctx: _Context) -> None:
    """One epoch on the given data through reformat -> ... -> get_metrics, then save(): the contract, not
    learning (tests/test_learning.py checks learning)."""
    import keras

    from zazu.adapters.lifecycle import run_lifecycle

    spec = ctx.spec
    objective = TASKS[spec.task].objective
    model_specs = {"name": spec.name, "task": spec.task, "data": {"home_path": str(ctx.data)},
                   "trial_dir": str(ctx.folder)}
    ctx.adapter = spec.adapter_class(model_specs, {**ctx.hp_values, "batch_size": 8})
    metrics = run_lifecycle(ctx.adapter, objective)
    if not isinstance(ctx.adapter.model, keras.Model):
        raise ZooCheckFailed(f"after build(), self.model is {type(ctx.adapter.model).__name__}. Expected a keras.Model.")
    value = metrics.get(objective)
    if not (isinstance(value, float) and math.isfinite(value)):
        raise ZooCheckFailed(f"get_metrics() returned {objective}={value!r}. Expected a finite float.")
    ctx.adapter.save(ctx.folder)
    if not (ctx.folder / "model.keras").is_file():
        raise ZooCheckFailed(f"save() wrote no model.keras in {ctx.folder}.")


def _int8_maps_to_edgetpu(ctx: _Context) -> None:
    """The trained model converted to int8 in memory (the same ops as the shipping route, in a quarter of
    the time) and read by Zazu's Edge TPU report: every op mappable, nothing after a fallback."""
    import numpy as np

    from zazu.export.edgetpu import compatibility_report
    from zazu.export.tflite import convert_int8

    size = check_size(ctx.spec.task)
    rng = np.random.default_rng(0)
    path = convert_int8(ctx.adapter.model,
                        lambda: (rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32) for _ in range(4)),
                        ctx.folder / "model_int8.tflite", for_measuring=True)
    report = compatibility_report(path)
    if report["first_fallback"] is not None or report["ops_share"] != 1.0 or report["macs_share"] != 1.0:
        raise ZooCheckFailed(f"int8 export: {report['ops_share']:.0%} of ops and {report['macs_share']:.0%} of MACs "
                             f"map to the Edge TPU; the first op falling back: {report['first_fallback']}. "
                             "Expected every op mapped.")
