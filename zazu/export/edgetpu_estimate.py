"""Edge TPU latency without the device: an *estimate* from the int8 graph, never a timing.

Coral's USB Accelerator cannot be timed here (no compiler, no accelerator), so Zazu models one inference
as the sum of
- a fixed cost per invoke (USB round trip, the runtime's own work),
- the ops Zazu's op check maps to the Edge TPU: their MACs at an effective rate, plus a cost per op,
  with depthwise MACs at their own, lower rate (a depthwise convolution uses a sliver of the array),
- parameter bytes beyond the 8 MiB on-chip cache, streamed over USB on every inference,
- the ops falling back to the CPU: their MACs at a host CPU rate.

The constants are fitted by `python bench/edgetpu_estimate.py` to Coral's published USB Accelerator
latencies of models built here from their architectures (untrained weights: latency does not depend on
them); that bench prints each estimate against the published figure with its error.
"""

from __future__ import annotations

from zazu.export.edgetpu import EDGETPU
from zazu.export.tflite_graph import WEIGHT_INPUTS, Graph, op_macs

ON_CHIP_CACHE_BYTES = 8 * 1024 * 1024

# Fitted by `python bench/edgetpu_estimate.py` (non-negative least squares on relative error) to Coral's
# published USB Accelerator latencies of 8 Keras-built architectures; its leave-one-out error, 41% on
# average and up to 99%, is what to expect on an unseen architecture. The fit put no cost on the invoke
# itself or on depthwise MACs (their cost is absorbed by the per-op term). `cpu_gmacs_per_s` is not fitted:
# none of those models falls back to the CPU; it is a conservative host rate.
CONSTANTS = {
    "invoke_ms": 0.0,                      # per inference, whatever the model
    "per_op_ms": 0.02516,                  # per op mapped to the Edge TPU
    "conv_gmacs_per_s": 258.2,             # CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV MACs
    "depthwise_gmacs_per_s": float("inf"),  # DEPTHWISE_CONV_2D MACs
    "stream_mb_per_s": 2797.0,             # parameters beyond the on-chip cache
    "cpu_gmacs_per_s": 10.0,               # ops falling back to the host CPU (not fitted)
}


def estimate_features(graph: Graph, report: dict) -> dict[str, float]:
    """What the estimate is made of: MACs by kind and where they run, op count, streamed bytes."""
    on_tpu = {entry["index"] for entry in report["ops"] if entry["status"] == EDGETPU}
    features = {"ops_on_tpu": 0.0, "conv_macs": 0.0, "depthwise_macs": 0.0, "cpu_macs": 0.0}
    parameter_bytes = 0
    for op in graph.ops:
        macs = op_macs(graph, op)
        if op.index in on_tpu:
            features["ops_on_tpu"] += 1
            features["depthwise_macs" if op.name == "DEPTHWISE_CONV_2D" else "conv_macs"] += macs
            if op.name in WEIGHT_INPUTS and op.inputs[WEIGHT_INPUTS[op.name]] >= 0:
                parameter_bytes += graph.tensors[op.inputs[WEIGHT_INPUTS[op.name]]].size_bytes
        else:
            features["cpu_macs"] += macs
    features["streamed_bytes"] = float(max(0, parameter_bytes - ON_CHIP_CACHE_BYTES))
    return features


def estimate_from_features(features: dict[str, float], constants: dict[str, float] = CONSTANTS) -> float:
    """Milliseconds for one inference on a USB Accelerator (an estimate)."""
    c = constants
    return (c["invoke_ms"] + c["per_op_ms"] * features["ops_on_tpu"]
            + features["conv_macs"] / (c["conv_gmacs_per_s"] * 1e6)
            + features["depthwise_macs"] / (c["depthwise_gmacs_per_s"] * 1e6)
            + features["streamed_bytes"] / (c["stream_mb_per_s"] * 1e3)
            + features["cpu_macs"] / (c["cpu_gmacs_per_s"] * 1e6))


def estimate_edgetpu_ms(graph: Graph, report: dict) -> float:
    """Estimated milliseconds for one inference of `graph` on a Coral USB Accelerator."""
    return estimate_from_features(estimate_features(graph, report))
