"""What a .tflite model costs: parameters, MACs, file size, activation memory, CPU latency."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from zazu.errors import ZazuError
from zazu.export.tflite_graph import BIAS_INPUTS, WEIGHT_INPUTS, Graph, op_macs, read_graph


def parameter_count(graph: Graph) -> int:
    """Elements of the constant tensors the ops read as weights or biases.

    Every constant an op reads counts, except integer constants that are not a
    CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV weight or
    bias: those are shapes, axes, paddings and indexes (RESHAPE's shape, MEAN's
    axes). Each tensor counts once, however many ops read it.
    """
    counted: set[int] = set()
    for op in graph.ops:
        roles = {WEIGHT_INPUTS.get(op.name), BIAS_INPUTS.get(op.name)} - {None}
        for position, index in enumerate(op.inputs):
            if index < 0 or index in counted:
                continue
            tensor = graph.tensors[index]
            if not tensor.is_constant:
                continue
            if tensor.dtype in ("INT32", "INT64") and position not in roles:
                continue
            counted.add(index)
    return sum(graph.tensors[i].elements for i in counted)


def peak_activation_bytes(graph: Graph) -> int:
    """Tensor-arena estimate: the most bytes of activations alive at once.

    A non-constant tensor is alive from the op that writes it (a graph input:
    from the first op) to the last op that reads it (a graph output: to the
    last op). The peak is the largest sum of alive tensors over op positions.
    No in-place reuse or arena alignment is modelled, so LiteRT's real arena
    can differ a little.
    """
    last = len(graph.ops) - 1
    if last < 0:
        return sum(graph.tensors[i].size_bytes for i in {*graph.inputs, *graph.outputs})
    start: dict[int, int] = {i: 0 for i in graph.inputs}
    end: dict[int, int] = {}
    for op in graph.ops:
        for i in op.inputs:
            if i >= 0:
                end[i] = op.index
        for i in op.outputs:
            start.setdefault(i, op.index)
    for i in graph.outputs:
        end[i] = last
    live = [0] * (last + 1)
    for i, first in start.items():
        tensor = graph.tensors[i]
        if tensor.is_constant:
            continue
        for position in range(first, max(end.get(i, first), first) + 1):
            live[position] += tensor.size_bytes
    return max(live)


def profile_tflite(path: str | Path, runs: int = 50, warmup: int = 5, num_threads: int | None = None) -> dict:
    """Static figures from the file and latency measured with LiteRT on this CPU.

    Latency: the median and 90th percentile of `runs` timed calls of
    `TFLiteRunner` (set input, invoke, read outputs) after `warmup` untimed
    ones, on one random float32 input in [0, 255] (the runner quantizes it).
    `num_threads` None runs with os.cpu_count() threads, passed explicitly so
    the figure reported is the one used.
    """
    for name, value, minimum in (("runs", runs, 1), ("warmup", warmup, 0)):
        if not isinstance(value, int) or value < minimum:
            raise ZazuError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
        raise ZazuError(f"`num_threads` must be an integer >= 1 or None. Received: num_threads={num_threads!r}")
    graph = read_graph(path)  # also the clear error for a missing or non-TFLite file

    from zazu.export.litert import TFLiteRunner

    threads = num_threads if num_threads is not None else (os.cpu_count() or 1)
    runner = TFLiteRunner(path, num_threads=threads)
    batch = np.random.default_rng(0).uniform(0, 255, runner.input_shape).astype(np.float32)
    times_ms = _time_calls(lambda: runner(batch), runs, warmup)
    return {
        "path": str(path),
        "file_size_bytes": graph.file_size,
        "parameters": parameter_count(graph),
        "macs": sum(op_macs(graph, op) for op in graph.ops),
        "ops": len(graph.ops),
        "peak_activation_bytes": peak_activation_bytes(graph),
        "input_shape": list(runner.input_shape),
        "input_dtype": np.dtype(runner.input_dtype).name,
        **_latency(times_ms),
        "runs": runs,
        "warmup": warmup,
        "num_threads": threads,
        "num_threads_source": "requested" if num_threads is not None else "os.cpu_count()",
    }


def profile_model(path: str | Path, runs: int = 50, warmup: int = 5, num_threads: int | None = None) -> dict:
    """`profile_tflite` for a .tflite (with Zazu's Edge TPU op check in one line), or, for a
    .keras model, its parameters, file size and single-image latency with Keras on this CPU."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        from zazu.export.edgetpu import compatibility_report, op_check_summary

        figures = {"runtime": "LiteRT (ai_edge_litert)",
                   **profile_tflite(path, runs=runs, warmup=warmup, num_threads=num_threads)}
        figures["edgetpu"] = op_check_summary(compatibility_report(path))
        return figures
    if suffix == ".keras":
        return profile_keras(path, runs=runs, warmup=warmup, num_threads=num_threads)
    raise ZazuError(f"Cannot profile this file. Expected a .tflite or .keras model. Received: path={path}")


def profile_keras(path: Path, runs: int = 50, warmup: int = 5, num_threads: int | None = None) -> dict:
    """Keras float model: parameters, file size and the median / p90 of `runs` single-image calls."""
    if not path.is_file():
        raise ZazuError(f"Model file not found. Expected a .keras file. Received: path={path}")
    import tensorflow as tf

    threads = num_threads if num_threads is not None else (os.cpu_count() or 1)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process: keep what is set
        threads = tf.config.threading.get_intra_op_parallelism_threads() or (os.cpu_count() or 1)
    from zazu.nn.saving import load_keras_model

    model = load_keras_model(path, compile=False)
    shape = (1, *model.input_shape[1:])
    times_ms = keras_latency_ms(model, runs, warmup)
    return {
        "runtime": "Keras (TensorFlow, float32)",
        "path": str(path),
        "file_size_bytes": path.stat().st_size,
        "parameters": int(model.count_params()),
        "macs": None,
        "peak_activation_bytes": None,
        "input_shape": list(shape),
        "input_dtype": "float32",
        **_latency(times_ms),
        "runs": runs,
        "warmup": warmup,
        "num_threads": threads,
    }


def _time_calls(call, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    times_ms = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times_ms.append((time.perf_counter() - start) * 1000.0)
    return times_ms


def _latency(times_ms: list[float]) -> dict:
    return {"latency_median_ms": float(np.median(times_ms)), "latency_p90_ms": float(np.percentile(times_ms, 90)),
            "latency_min_ms": float(min(times_ms))}


def keras_latency_ms(model, runs: int = 50, warmup: int = 5) -> list[float]:
    """Times of `runs` single-image calls of a Keras model (compiled with tf.function, outputs
    read back to NumPy) on one random input in [0, 255], after `warmup` untimed calls."""
    import tensorflow as tf

    shape = (1, *model.input_shape[1:])
    batch = tf.constant(np.random.default_rng(0).uniform(0, 255, shape).astype(np.float32))
    call = tf.function(lambda x: model(x, training=False))
    return _time_calls(lambda: [np.asarray(o) for o in tf.nest.flatten(call(batch))], runs, warmup)
