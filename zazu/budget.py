"""The user's device and budgets (the config's `target` block), and whether a measured model fits them.

A model's cost is measured on its int8 .tflite (`zazu.export.tflite_cost`): `model_kb` is the file,
`ram_kb` the peak memory LiteRT takes to run it once, `latency_ms` the median latency on the
target (timed on this CPU for `cpu`; Zazu's *estimate* for `edgetpu`, which cannot be timed here),
and `edgetpu_ops_mapped` whether Zazu's op check maps every op to the Edge TPU.
"""

from __future__ import annotations

from typing import Any

from zazu.config_rules import Rule, boolean, check_rules, choice, nullable, positive

DEVICES = ("cpu", "edgetpu")
# budget key -> the cost figure it bounds, and the unit shown to the user
LIMITS = {"max_model_kb": ("model_kb", "KiB"), "max_ram_kb": ("ram_kb", "KiB"), "max_latency_ms": ("latency_ms", "ms")}


# The block's keys and what each must be (`zazu.config.CONFIG_RULES` holds them as `target.<key>`).
TARGET_RULES: dict[str, Rule] = {
    "device": choice(DEVICES),
    **{key: nullable(positive()) for key in LIMITS},
    "edgetpu_full": boolean(),
}


def resolve_target(block: dict[str, Any]) -> dict[str, Any]:
    """Validate the `target` config block (already merged with the defaults); returns it unchanged."""
    check_rules(block, TARGET_RULES, "target.")
    return block


def has_budget(target: dict[str, Any]) -> bool:
    """Whether anything in `target` can rule a model out (then each trial is measured before it trains)."""
    return target["edgetpu_full"] or any(target[key] is not None for key in LIMITS)


def over_budget(target: dict[str, Any], cost: dict[str, Any]) -> list[str]:
    """Every budget `cost` breaks, each as one phrase ("model 620 KiB > max_model_kb 500"); [] if it fits."""
    broken = []
    for key, (figure, unit) in LIMITS.items():
        limit, value = target[key], cost.get(figure)
        if limit is not None and value is not None and value > limit:
            at_least = ">= " if figure == "model_kb" and cost.get("model_kb_is_lower_bound") else ""
            broken.append(f"{figure.split('_')[0]} {at_least}{value:.4g} {unit} > {key} {limit:g}")
    if target["edgetpu_full"] and cost.get("edgetpu_ops_mapped") is False:
        broken.append(f"not every op maps to the Edge TPU (first falling back: {cost.get('edgetpu_first_fallback')})")
    return broken


def budget_excess(target: dict[str, Any], cost: dict[str, Any]) -> float:
    """How far `cost` is over budget: the sum, over the broken limits, of cost / limit - 1 (0 when it fits);
    an Edge TPU fallback when `edgetpu_full` counts 1. Ranks the trials when none fits ("the closest")."""
    excess = sum(max(0.0, cost[figure] / target[key] - 1.0)
                 for key, (figure, _) in LIMITS.items() if target[key] is not None and cost.get(figure) is not None)
    if target["edgetpu_full"] and cost.get("edgetpu_ops_mapped") is False:
        excess += 1.0
    return excess


def describe_target(target: dict[str, Any]) -> str:
    """One line: 'cpu, max_model_kb 500, max_latency_ms 5' (the limits that are set)."""
    parts = [target["device"]] + [f"{key} {target[key]:g}" for key in LIMITS if target[key] is not None]
    if target["edgetpu_full"]:
        parts.append("edgetpu_full")
    return ", ".join(parts)
