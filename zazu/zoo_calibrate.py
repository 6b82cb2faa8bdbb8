"""`zazu zoo calibrate`: measured speed and memory ratings in place of the hand-written ones.

Each zoo model is built at its default hyperparameters (what `zazu train --model NAME` trains), converted
untrained to int8 (4 random calibration images: size and latency do not depend on weights or ranges) and
measured on this machine (`zazu.export.tflite_cost`). The figures become ratings on a stated log scale:

    speed_rating  = 10 - 2.5 * log10(latency_ms / 0.1)   0.1 ms -> 10, 1 ms -> 7.5, 10 ms -> 5, 1 s -> 0
    memory_rating = 10 - 2.5 * log10(model_kb / 10)      10 KiB -> 10, 100 KiB -> 7.5, 1 MiB -> 5, 100 MiB -> 0

each clipped to [0, 10] and rounded to one decimal. They are written to `calibration.json` beside the
zoo's `models.json`; the registry reads it and the ranking uses the measured ratings (the hand-written
ones stay in `models.json` as the contributor's claim; `zoo list` shows both). Accuracy ratings stay
declared: no reference dataset measures them yet.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from zazu.registry import CALIBRATION_FILE, ModelSpec, Registry

CLASSES = ["a", "b", "c", "d"]
CALIBRATION_IMAGES = 4


def speed_rating(latency_ms: float) -> float:
    return _clip(10 - 2.5 * math.log10(max(latency_ms, 1e-9) / 0.1))


def memory_rating(model_kb: float) -> float:
    return _clip(10 - 2.5 * math.log10(max(model_kb, 1e-9) / 10))


def _clip(value: float) -> float:
    return round(min(10.0, max(0.0, value)), 1)


def measure_model(spec: ModelSpec, device: str, num_threads: int | None = None) -> dict[str, Any]:
    """One model at its default hyperparameters: its int8 cost and the ratings it earns."""
    import numpy as np

    from zazu.export.bundle import converter_settings
    from zazu.export.tflite_cost import untrained_cost
    from zazu.export.options import resolve_export_options
    from zazu.defaults import load_defaults
    from zazu.ranking import default_hyperparameters

    hyperparameters = default_hyperparameters(spec)
    adapter = spec.adapter_class.for_inference({"model": spec.name, "task": spec.task, "classes": CLASSES,
                                                "hyperparameters": {**hyperparameters, "epochs": 1}})
    model = adapter.build()
    shape = (1, *model.input_shape[1:])
    rng = np.random.default_rng(0)
    options = resolve_export_options(load_defaults()["export"])
    images = lambda: (rng.uniform(0, 255, shape).astype(np.float32) for _ in range(CALIBRATION_IMAGES))  # noqa: E731
    cost = untrained_cost(model, images, device, options["int8_io"], converter_settings(adapter, options), num_threads)
    return {"input_size": hyperparameters.get("input_size"), "model_kb": cost["model_kb"], "ram_kb": cost["ram_kb"],
            "latency_ms": cost["latency_ms"], "latency_source": cost["latency_source"], "macs": cost["macs"],
            "speed_rating": speed_rating(cost["latency_ms"]), "memory_rating": memory_rating(cost["model_kb"])}


def calibrate_zoo(registry: Registry, task: str | None, device: str, num_threads: int | None = None,
                  progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Measure every model (of `task`, if given) and merge the figures into the calibration.json of
    the zoo folder each model comes from. Returns every folder's measured models as one calibration."""
    import keras

    from zazu.atomic_io import atomic_write_json, read_json

    calibrations = {root: read_json(root / CALIBRATION_FILE) if (root / CALIBRATION_FILE).is_file()
                    else {"models": {}} for root in registry.roots}
    for spec in registry.models.values():
        if task and spec.task != task:
            continue
        progress(f"{spec.name}: building and measuring ...")
        started = time.perf_counter()
        calibrations[spec.zoo_root.resolve()]["models"][spec.name] = {
            **measure_model(spec, device, num_threads), "declared": dict(spec.entry["model_space"]),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.perf_counter() - started, 1)}
        keras.backend.clear_session()
    for root, calibration in calibrations.items():
        calibration.update(device=device, scale={"speed_rating": "10 - 2.5 * log10(latency_ms / 0.1)",
                                                 "memory_rating": "10 - 2.5 * log10(int8 model_kb / 10)"},
                           machine={"platform": platform.platform(), "processor": platform.machine(),
                                    "cpus": os.cpu_count(), "threads": num_threads or os.cpu_count()})
        atomic_write_json(root / CALIBRATION_FILE, calibration)
    merged = {name: figures for c in calibrations.values() for name, figures in c["models"].items()}
    return {**calibrations[registry.root], "models": merged}
