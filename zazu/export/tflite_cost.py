"""What an int8 .tflite costs on the user's target: file size, peak RAM, MACs, latency, Edge TPU mapping.

The figures `zazu.budget` checks a model against. RAM and CPU latency are measured by running the file
in a fresh process (`zazu.export.litert_probe`); on `device: edgetpu` the latency is Zazu's estimate
(`zazu.export.edgetpu_estimate`), never a timing, and the cost says so in `latency_source`.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from zazu.errors import ZazuError
from zazu.library_log import keep
from zazu.export.tflite_graph import read_graph

PROBE_RUNS, PROBE_WARMUP = 20, 3


def tflite_cost(path: str | Path, device: str, num_threads: int | None = None, runs: int = PROBE_RUNS) -> dict[str, Any]:
    """The cost figures of one int8 .tflite file (see the module docstring)."""
    from zazu.export.edgetpu import compatibility_report
    from zazu.export.edgetpu_estimate import estimate_edgetpu_ms
    from zazu.export.profile import parameter_count, peak_activation_bytes

    graph = read_graph(path)
    report = compatibility_report(graph)
    threads = num_threads or os.cpu_count() or 1
    probe = run_probe(path, threads, runs)
    fallback = report["first_fallback"]
    cost = {
        "device": device,
        "model_kb": graph.file_size / 1024,
        "ram_kb": probe["ram_bytes"] / 1024,
        "arena_kb": peak_activation_bytes(graph) / 1024,
        "macs": report["macs_total"],  # the op check already summed every op's MACs
        "parameters": parameter_count(graph),
        "cpu_latency_ms": probe["latency_median_ms"],
        "cpu_latency_p90_ms": probe["latency_p90_ms"],
        "cpu_threads": threads,
        "edgetpu_ops_mapped": fallback is None,
        "edgetpu_first_fallback": None if fallback is None else f"#{fallback['index']} {fallback['name']}",
    }
    if device == "edgetpu":
        cost["latency_ms"] = estimate_edgetpu_ms(graph, report)
        cost["latency_source"] = "estimate: Zazu's Edge TPU model (USB Accelerator), not a timing"
    else:
        cost["latency_ms"] = probe["latency_median_ms"]
        cost["latency_source"] = f"measured: LiteRT on this CPU, {threads} threads, median of {runs}"
    return cost


def untrained_cost(model, representative, device: str, io_type: str, settings: dict | None,
                   num_threads: int | None = None) -> dict[str, Any]:
    """The cost of a built, untrained Keras model as its trained int8 file would have it: its weights nudged
    (`weights_as_if_trained`), converted in memory (`convert_int8(..., for_measuring=True)`) with the
    calibration images `representative` yields, then measured (`tflite_cost`). What a budget check before
    training and `zazu zoo calibrate` both measure."""
    import tempfile

    from zazu.export.tflite import convert_int8

    with tempfile.TemporaryDirectory(prefix="zazu-cost-") as folder, weights_as_if_trained(model):
        path = convert_int8(model, representative, Path(folder) / "model_int8.tflite", io_type=io_type,
                            settings=settings, for_measuring=True)
        return tflite_cost(path, device, num_threads=num_threads)


def run_probe(path: str | Path, threads: int, runs: int = PROBE_RUNS, warmup: int = PROBE_WARMUP) -> dict[str, Any]:
    """Run `path` in a fresh process (`zazu.export.litert_probe`); its RAM and latency figures."""
    command = [sys.executable, "-m", "zazu.export.litert_probe", str(path), str(threads), str(runs), str(warmup)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parents[2]),
                                                                       os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    keep(done.stderr)  # LiteRT's own lines: in the run's log, not lost
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ZazuError(f"{path}: LiteRT could not run it in a fresh process ({last}).")
    return json.loads(done.stdout.strip().splitlines()[-1])


def architecture_key(model) -> str:
    """A digest of what shapes a model's cost: each layer's kind, settings and weight shapes, in order.

    Two builds with the same architecture-shaping hyperparameters (input size, width, depth...) get the
    same key whatever their learning rate, dropout rate or Keras's automatic layer names, so a cost is
    measured once. Settings that only act in training (`_training_only`) are left out."""
    import hashlib

    def unnamed(value):
        if isinstance(value, dict):
            return {k: unnamed(v) for k, v in value.items() if not _training_only(k)}
        if isinstance(value, (list, tuple)):
            return [unnamed(v) for v in value]
        return value

    def layers(layer):
        for child in getattr(layer, "layers", []):
            yield child
            yield from layers(child)

    parts: list[Any] = [list(model.input_shape) if not isinstance(model.input_shape, list)
                        else [list(s) for s in model.input_shape]]
    for layer in layers(model):
        try:
            settings = unnamed(layer.get_config())
        except Exception:  # a custom layer without get_config: its kind and weights still count
            settings = None
        parts.append([type(layer).__name__, settings, [list(w.shape) for w in layer.weights]])
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _training_only(key: str) -> bool:
    """Layer settings that change training, not the inference graph a .tflite holds."""
    return (key in ("name", "trainable", "seed", "rate", "noise_shape", "momentum", "dtype")
            or key.endswith(("_initializer", "_regularizer", "_constraint")))


# Large enough that a nudged zero bias quantizes to a non-zero int32 (1e-3 left two bias buffers all zeros,
# stored once: 272 bytes short on a small model). Non-zero weights are nudged in proportion, keeping their
# sign, and zeros are nudged upwards: pretrained BatchNorm variances include exact zeros, and one made
# negative folds into NaN weights the converter leaves in float (efficientnet_lite0: 13152 KiB, not 3882).
NUDGE = 0.05


@contextlib.contextmanager
def weights_as_if_trained(model):
    """Every float weight nudged by a little noise while the block runs, then restored exactly.

    An untrained model holds many identical constants (zero biases, BatchNorm's ones and zeros), and the
    converter stores identical buffers once: measured on mobilenet_v2, the untrained int8 file was 588 KiB
    and the trained one 631. Trained weights are all distinct; nudged ones are too, so the size measured
    here is the size that ships."""
    import numpy as np

    saved = model.get_weights()
    rng = np.random.default_rng(0)
    model.set_weights([(w * (1 + rng.normal(0, NUDGE, w.shape)) + (w == 0) * np.abs(rng.normal(0, NUDGE, w.shape)))
                       .astype(w.dtype) if np.issubdtype(w.dtype, np.floating) else w for w in saved])
    try:
        yield model
    finally:
        model.set_weights(saved)
