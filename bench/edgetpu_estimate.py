"""Zazu's Edge TPU latency estimate against Coral's published USB Accelerator figures, side by side.

No Edge TPU and no edgetpu_compiler here, so `device: edgetpu` latency is an estimate
(`zazu/export/edgetpu_estimate.py`). This bench builds the architectures Coral published latencies for
(Keras applications, untrained: latency does not depend on the weights), converts each to full-integer
int8 with Zazu's export code, reads what the estimate uses from the graph (MACs on mapped ops by kind,
op count, parameter bytes beyond the 8 MiB cache, MACs falling back to the CPU) and prints:

- `zazu`: the estimate with the constants Zazu ships;
- `loo`: leave-one-out: the constants fitted (non-negative least squares on relative error) to every
  other model, then applied to this one: the error to expect on an architecture the fit has not seen;
- the constants fitted to all of them (what `CONSTANTS` in zazu/export/edgetpu_estimate.py holds).

Published figures: coral.ai/docs/edgetpu/benchmarks, "Desktop CPU + USB Accelerator (USB 3.0) with
Edge TPU" column (ms per inference, C++ benchmark); MobileNet v1 0.25 at 128 px from the latency column
of coral.ai/models/all. Converted models are cached in
$ZAZU_CACHE/bench/edgetpu (the first run converts them: minutes).

    python bench/edgetpu_estimate.py [--quick] [--models mobilenet_v1,densenet121]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import numpy as np  # noqa: E402

# name: (keras.applications builder, its arguments, input side, published ms on the USB Accelerator)
MODELS = {
    "mobilenet_v1_025": ("MobileNet", {"alpha": 0.25}, 128, 0.9),  # coral.ai/models/all (the others: benchmarks)
    "mobilenet_v1": ("MobileNet", {"alpha": 1.0}, 224, 2.4),
    "mobilenet_v2": ("MobileNetV2", {"alpha": 1.0}, 224, 2.6),
    "densenet121": ("DenseNet121", {}, 224, 20.0),
    "resnet50_v1": ("ResNet50", {}, 299, 49.0),
    "resnet50_v2": ("ResNet50V2", {}, 299, 50.0),
    "inception_resnet_v2": ("InceptionResNetV2", {}, 299, 57.0),
    "resnet152_v2": ("ResNet152V2", {}, 299, 128.0),
}
QUICK = {"mobilenet_v1_025": ("MobileNet", {"alpha": 0.25}, 128, None)}
FEATURES = ("intercept", "ops_on_tpu", "conv_macs", "depthwise_macs", "streamed_bytes")


def converted(name: str, builder: str, kwargs: dict, side: int, cache: Path) -> Path:
    """The architecture as a full-integer int8 .tflite (converted once, then read from the cache)."""
    path = cache / f"{name}.tflite"
    if path.is_file():
        return path
    import keras

    from zazu.export.tflite import convert_int8

    model = getattr(keras.applications, builder)(weights=None, input_shape=(side, side, 3), classes=1000, **kwargs)
    rng = np.random.default_rng(0)
    cache.mkdir(parents=True, exist_ok=True)
    convert_int8(model, lambda: (rng.uniform(-1, 1, (1, side, side, 3)).astype(np.float32) for _ in range(2)), path,
                 for_measuring=True)  # the graph is read, not shipped
    keras.backend.clear_session()
    return path


def features_of(path: Path) -> dict[str, float]:
    from zazu.export.edgetpu import compatibility_report
    from zazu.export.edgetpu_estimate import estimate_features
    from zazu.export.tflite_graph import read_graph

    graph = read_graph(path)
    return estimate_features(graph, compatibility_report(graph))


def fit(rows: list[dict[str, float]], published: list[float]) -> dict[str, float]:
    """Non-negative constants minimising the squared relative error (each row divided by its figure)."""
    from scipy.optimize import nnls

    a = np.array([[1.0 if f == "intercept" else r[f] for f in FEATURES] for r in rows]) / np.array(published)[:, None]
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    weights, _ = nnls(a / scale, np.ones(len(rows)))
    return dict(zip(FEATURES, weights / scale))


def as_constants(w: dict[str, float]) -> dict[str, float]:
    """Fitted weights (ms per unit) in the units of zazu.export.edgetpu_estimate.CONSTANTS."""
    def rate(ms_per_unit: float, unit: float) -> float:
        return float("inf") if ms_per_unit <= 0 else 1.0 / (ms_per_unit * unit)

    return {"invoke_ms": w["intercept"], "per_op_ms": w["ops_on_tpu"],
            "conv_gmacs_per_s": rate(w["conv_macs"], 1e6), "depthwise_gmacs_per_s": rate(w["depthwise_macs"], 1e6),
            "stream_mb_per_s": rate(w["streamed_bytes"], 1e3)}


def predict(w: dict[str, float], row: dict[str, float]) -> float:
    return sum((1.0 if f == "intercept" else row[f]) * w[f] for f in FEATURES)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small model, no fit: a code-path check")
    parser.add_argument("--models", default=None, help="comma-separated subset of: " + ", ".join(MODELS))
    args = parser.parse_args(argv)

    from zazu.data.synthetic import cache_root
    from zazu.export.edgetpu_estimate import CONSTANTS, estimate_from_features

    table = QUICK if args.quick else {k: v for k, v in MODELS.items()
                                      if args.models is None or k in args.models.split(",")}
    cache = cache_root() / "bench" / "edgetpu"
    rows, published, names = [], [], []
    for name, (builder, kwargs, side, ms) in table.items():
        rows.append(features_of(converted(name, builder, kwargs, side, cache)))
        published.append(ms)
        names.append(f"{name} {side}")

    print("Edge TPU latency, Coral USB Accelerator: Zazu's estimate (not a timing) against Coral's published figure")
    print(f"{'model':<26}{'GMACs':>7}{'dw GMACs':>9}{'ops':>5}{'streamed MB':>12}{'published':>10}"
          f"{'zazu':>8}{'error':>8}{'loo':>8}{'error':>8}")
    errors, loo_errors = [], []
    for k, (name, row, ms) in enumerate(zip(names, rows, published)):
        estimate = estimate_from_features(row, CONSTANTS)
        line = (f"{name:<26}{row['conv_macs'] / 1e9:>7.2f}{row['depthwise_macs'] / 1e9:>9.3f}{row['ops_on_tpu']:>5.0f}"
                f"{row['streamed_bytes'] / 1e6:>12.1f}")
        if ms is None:
            print(line + f"{'-':>10}{estimate:>8.2f}")
            continue
        others = [i for i in range(len(rows)) if i != k]
        loo = predict(fit([rows[i] for i in others], [published[i] for i in others]), row) if len(others) >= 3 \
            else float("nan")
        errors.append(estimate / ms - 1)
        loo_errors.append(loo / ms - 1)
        print(line + f"{ms:>10.1f}{estimate:>8.2f}{errors[-1]:>+8.0%}{loo:>8.2f}{loo_errors[-1]:>+8.0%}")
    if errors:
        print(f"mean |error|: zazu {np.mean(np.abs(errors)):.0%}, leave-one-out {np.nanmean(np.abs(loo_errors)):.0%} "
              f"over {len(errors)} models")
        fitted = as_constants(fit(rows, published))
        print("constants fitted to all: " + ", ".join(f"{k}={v:.4g}" for k, v in fitted.items()))
    return 0


if __name__ == "__main__":
    from zazu.library_log import divert

    divert(f"bench-{Path(__file__).stem}")  # TensorFlow's and LiteRT's own lines into ~/.cache/zazu/logs/
    sys.exit(main())
