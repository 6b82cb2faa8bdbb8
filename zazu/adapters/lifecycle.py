"""Drive one adapter through the ZazuML lifecycle and check what it returns.

Order: reformat -> data_loader -> preprocess -> build -> train -> get_metrics.
The first four are optional: an adapter that lacks one skips it. If `build()`
returns a value, it is kept as `adapter.model` (as keras-tuner keeps what a
hypermodel's `build(hp)` returns), so base classes can train it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from zazu.adapter_contract import LIFECYCLE_STEPS as STEPS, OPTIONAL_STEPS
from zazu.errors import TrialFailed

DATA_STEPS = STEPS[:3]  # the trial's data read and its pipeline built: what an export or a re-measure needs
PREPARE_STEPS = STEPS[:4]  # up to a built, untrained model: what a budget check measures
TRAINING_STEPS = STEPS[4:]


def run_lifecycle(
    adapter: Any,
    objective: str,
    steps: tuple[str, ...] = STEPS,
    log: Callable[[str], None] = lambda _msg: None,
    on_step: Callable[[str], None] = lambda _step: None,
) -> dict[str, float]:
    """Run `steps` in order; return the checked metrics when `get_metrics` is among them. `on_step(name)`
    is called as each step starts (the console shows it)."""
    metrics: dict[str, float] = {}
    for step in steps:
        method = getattr(adapter, step, None)
        if method is None:
            if step in OPTIONAL_STEPS:
                log(f"{step}: not defined, skipped")
                continue
            raise TrialFailed(f"`AdaptModel.{step}()` is missing.")
        on_step(step)
        started = time.perf_counter()
        result = method()
        log(f"{step}: done in {time.perf_counter() - started:.2f}s")
        if step == "build" and result is not None:
            adapter.model = result
        if step == "get_metrics":
            metrics = check_metrics(result, objective)
    return metrics


def check_metrics(result: Any, objective: str) -> dict[str, float]:
    """`get_metrics()` must return a dict of finite numbers holding the objective."""
    example = f"{{'{objective}': 0.93}}"
    if result is None:
        raise TrialFailed(
            f"The return value of `AdaptModel.get_metrics()` is None. "
            f"Expected a dict holding the objective `{objective}`, e.g. {example}."
        )
    if not isinstance(result, Mapping):
        raise TrialFailed(
            f"The return value of `AdaptModel.get_metrics()` is a {type(result).__name__}. "
            f"Expected a dict holding the objective `{objective}`, e.g. {example}. Received: {result!r}"
        )
    if objective not in result:
        raise TrialFailed(
            f"The return value of `AdaptModel.get_metrics()` has no `{objective}`. "
            f"Expected a dict holding the objective, e.g. {example}. Received keys: {sorted(result)}"
        )
    metrics = {}
    for key, value in result.items():
        if isinstance(value, (bool, str, bytes)) or not hasattr(value, "__float__"):  # numbers, numpy and tf scalars
            raise TrialFailed(
                f"The return value of `AdaptModel.get_metrics()` has a non-numeric `{key}`. "
                f"Expected numbers. Received: {key}={value!r}"
            )
        number = float(value)
        if not math.isfinite(number):
            raise TrialFailed(f"`AdaptModel.get_metrics()` returned {key}={number} (not finite: the training diverged).")
        metrics[str(key)] = number
    return metrics
