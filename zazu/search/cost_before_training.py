"""A trial's int8 cost, measured before it trains, once per architecture in a run.

The built, untrained model is converted to int8 (`convert_int8(..., for_measuring=True)`: traced in memory,
four times faster than the SavedModel route that ships) with a few calibration images (size, RAM and latency do
not depend on trained weights or calibrated ranges) and measured (`zazu.export.tflite_cost`). The figures are
kept in `<run>/costs/<model>-<architecture key>.json`, one file per architecture so parallel workers never
write the same file twice with different content; a trial whose hyperparameters shape the same network
(only its learning rate differs, say) reads them instead of converting again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zazu.atomic_io import atomic_write_json, read_json

CALIBRATION_IMAGES = 4
COSTS_FOLDER = "costs"


def cost_before_training(adapter: Any, model_name: str, run_dir: Path, options: dict[str, Any],
                         target: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any] | None:
    """The cost of the adapter's built model on the target's device, or None when it cannot be measured before
    training (an adapter that builds no Keras model in `build()`, or has no `representative_images`).

    When the model's kernels alone already break `max_model_kb` (`kernel_bytes`), it is not converted: the
    cost holds that lower bound (`model_kb_is_lower_bound`) and no RAM or latency, and takes a second."""
    model = getattr(adapter, "model", None)
    if model is None or not callable(getattr(adapter, "representative_images", None)):
        log("budget: not measured before training (the adapter builds no Keras model in build(), or has no "
            "representative_images())")
        return None
    from zazu.export.bundle import converter_settings
    from zazu.export.tflite_cost import architecture_key, untrained_cost

    started = time.perf_counter()
    device = target["device"]
    lower_bound_kb = kernel_bytes(model) / 1024
    if target["max_model_kb"] is not None and lower_bound_kb > target["max_model_kb"]:
        log(f"budget: its kernels alone take {lower_bound_kb:.0f} KiB as int8 (> max_model_kb "
            f"{target['max_model_kb']:g}): not converted")
        return {"device": device, "model_kb": lower_bound_kb, "model_kb_is_lower_bound": True, "ram_kb": None,
                "latency_ms": None, "latency_source": "not measured (over max_model_kb before conversion)",
                "edgetpu_ops_mapped": None, "measure_seconds": time.perf_counter() - started, "cached": False}
    cache = Path(run_dir) / COSTS_FOLDER / f"{model_name}-{architecture_key(model)}-{device}.json"
    if cache.is_file():
        cost = {**read_json(cache), "cached": True}
        log(f"budget: cost read from {cache.name} (same architecture measured before)")
        return cost
    cost = untrained_cost(model, lambda: adapter.representative_images(CALIBRATION_IMAGES), device,
                          options["int8_io"], converter_settings(adapter, options), options["num_threads"])
    cost["measure_seconds"] = time.perf_counter() - started
    atomic_write_json(cache, cost)
    log(f"budget: measured in {cost['measure_seconds']:.1f}s: {describe_cost(cost)}")
    return {**cost, "cached": False}


def kernel_bytes(model) -> int:
    """Elements of every convolution and dense kernel: an int8 .tflite stores each as one byte (BatchNorm folds
    into them; biases, other constants and the flatbuffer come on top), so this is a lower bound on its size."""
    import math

    return sum(math.prod(v.shape) for v in model.weights if v.name.endswith("kernel"))


def describe_cost(cost: dict[str, Any]) -> str:
    """'int8 412 KiB, RAM 9120 KiB, 3.21 ms (measured: ...)' for logs and notes."""
    if cost.get("model_kb_is_lower_bound"):
        return f"int8 >= {cost['model_kb']:.0f} KiB (its kernels alone; not converted)"
    return (f"int8 {cost['model_kb']:.0f} KiB, RAM {cost['ram_kb']:.0f} KiB, {cost['latency_ms']:.2f} ms "
            f"({cost['latency_source']})")
