"""Latency benchmark: every zoo model at its default size, Keras float32 against LiteRT int8.

For each model in models.json (or --models), the model is built at its default
hyperparameters (`training_configs` and the first value of each searched one, as
`zazu train` uses them: the pretrained models at their 224-384 px) for 4 classes
(weights as they come: latency does not depend on them), then timed side by side
in this one process:

- Keras: single-image calls of the float32 model through `tf.function`,
  outputs read back to NumPy (`zazu.export.profile.keras_latency_ms`);
- LiteRT: the same model converted to full-integer int8 with Zazu's export
  code (calibrated on random images), run with `ai_edge_litert` on the same
  number of threads (`zazu.export.profile.profile_tflite`).

Both report the median and p90 of --runs timed calls after --warmup untimed
ones. The ratio is Keras median / LiteRT median (above 1: int8 is faster).

    python bench/latency.py [--runs 50] [--warmup 5] [--threads N] [--models tiny_cnn,centernet]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

CLASSES = ["a", "b", "c", "d"]


def build(spec):
    """The zoo model's network at its default hyperparameters."""
    from zazu.ranking import default_hyperparameters

    adapter = spec.adapter_class.for_inference({"model": spec.name, "task": spec.task, "classes": CLASSES,
                                                "hyperparameters": {**default_hyperparameters(spec), "epochs": 1}})
    return adapter, adapter.build()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--models", default=None, help="comma-separated zoo models (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny_cnn and centernet, 2 runs after 1 warm-up: a code-path check (seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.warmup, args.models = 2, 1, args.models or "tiny_cnn,centernet"

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from zazu.export.tflite_cost import weights_as_if_trained
    from zazu.export.profile import keras_latency_ms, profile_tflite
    from zazu.export.tflite import convert_int8
    from zazu.registry import Registry

    registry = Registry.load()
    names = args.models.split(",") if args.models else list(registry.models)
    print(f"{args.runs} timed runs after {args.warmup} warm-up, batch 1, {args.threads} threads, "
          f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs")
    header = (f"{'model':<20}{'task':<22}{'input':>7}{'params':>11}{'keras ms (p50/p90)':>22}"
              f"{'int8 ms (p50/p90)':>21}{'ratio':>8}{'int8 KiB':>10}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for name in names:
        spec = registry.get(name.strip())
        started = time.perf_counter()
        adapter, model = build(spec)
        height, width = adapter.input_size
        keras_ms = keras_latency_ms(model, args.runs, args.warmup)
        # nudged while converted: an untrained model's identical constants are stored once, and the KiB
        # column would read smaller than the trained file that ships (mobilenet_v2: 588 against 631)
        with tempfile.TemporaryDirectory(prefix="zazu-bench-") as folder, weights_as_if_trained(model):
            calibration = lambda: (rng.uniform(0, 255, (1, height, width, 3)).astype(np.float32) for _ in range(8))  # noqa: E731
            path = convert_int8(model, calibration, Path(folder) / f"{name}_int8.tflite", for_measuring=True)
            lite = profile_tflite(path, runs=args.runs, warmup=args.warmup, num_threads=args.threads)
        k50, k90 = float(np.median(keras_ms)), float(np.percentile(keras_ms, 90))
        ratio = k50 / lite["latency_median_ms"]
        lite_text = f"{lite['latency_median_ms']:.2f} / {lite['latency_p90_ms']:.2f}"
        print(f"{name:<20}{spec.task:<22}{f'{height}x{width}':>7}{model.count_params():>11,}"
              f"{f'{k50:.2f} / {k90:.2f}':>22}"
              f"{lite_text:>21}"
              f"{ratio:>7.1f}x{lite['file_size_bytes'] / 1024:>10.0f}   ({time.perf_counter() - started:.0f}s)")
        tf.keras.backend.clear_session()
    return 0


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    sys.exit(main())
