"""Run a .tflite once in a fresh process and report what it took: `python -m zazu.export.litert_probe
PATH THREADS RUNS WARMUP` prints {"ram_bytes", "latency_median_ms", ...} as JSON.

A fresh process, because memory LiteRT frees goes back to the allocator, not the system: measured in
the training process, a second model would reuse the first one's pages and seem to cost nothing.
RAM is the growth of the process's peak resident memory (VmHWM) from just before the interpreter is
made to after the timed runs: its arena, the weights it reads, its kernels' scratch. Only NumPy and
LiteRT are imported here (no TensorFlow), so the probe starts in a fraction of a second."""

from __future__ import annotations

import json
import sys
import time


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def probe(path: str, threads: int, runs: int, warmup: int) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    batch = None
    before = _status_kib("VmHWM")
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    dtype = detail["dtype"]
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    rng = np.random.default_rng(0)
    batch = (rng.integers(info.min, info.max + 1, detail["shape"]) if info else
             rng.uniform(0, 255, detail["shape"])).astype(dtype)
    times = []
    for k in range(warmup + runs):
        started = time.perf_counter()
        interpreter.set_tensor(detail["index"], batch)
        interpreter.invoke()
        for out in interpreter.get_output_details():
            interpreter.get_tensor(out["index"])
        if k >= warmup:
            times.append((time.perf_counter() - started) * 1000.0)
    ram_kib = _status_kib("VmHWM") - before
    return {"ram_bytes": ram_kib * 1024, "latency_median_ms": float(np.median(times)),
            "latency_p90_ms": float(np.percentile(times, 90)), "runs": runs, "warmup": warmup,
            "num_threads": threads}


if __name__ == "__main__":
    path, threads, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(probe(path, threads, runs, warmup)))
