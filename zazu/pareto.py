"""The Pareto front of trials: best int8 metric for the least latency and size; the rule that picks the winner from it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zazu.trial_status import TrialStatus


def pareto_front(points: Sequence[tuple[float, ...]], maximize: Sequence[bool]) -> list[bool]:
    """For each point, True when no other point is at least as good on every axis and better on one.

    `maximize[i]` says whether axis i is better high (the metric) or low (latency, size).
    Identical points do not dominate each other, so both stay on the front.
    """
    def at_least_as_good(a, b):
        return all((x >= y) if up else (x <= y) for x, y, up in zip(a, b, maximize))

    on_front = []
    for i, p in enumerate(points):
        dominated = any(at_least_as_good(q, p) and tuple(q) != tuple(p) for j, q in enumerate(points) if j != i)
        on_front.append(not dominated)
    return on_front


# A front trial whose int8 metric is within this of the best one is as accurate, within the noise of a
# validation split (one image in a hundred); among those, the user's speed and memory priorities choose.
METRIC_TOLERANCE = 0.01


def front_trials(ranked: list[dict[str, Any]], objective: str, within_budget) -> list[dict[str, Any]]:
    """The completed, within-budget trials no other one beats on int8 metric, latency and size at once
    (each with its figures), best metric first."""
    from zazu.run_records import shipped_value

    candidates = [r for r in ranked if r["status"] == TrialStatus.COMPLETED and within_budget(r) and r.get("cost")]
    points = [(shipped_value(r, objective), r["cost"]["latency_ms"], r["cost"]["model_kb"]) for r in candidates]
    on_front = pareto_front(points, (True, False, False))
    return [{"model": r["model"], "trial_id": r["trial_id"], "trial_dir": r["trial_dir"],
             objective: p[0], "latency_ms": p[1], "model_kb": p[2],
             "latency_source": r["cost"].get("latency_source")}
            for r, p, keep in zip(candidates, points, on_front) if keep]


def pick_from_front(front: list[dict[str, Any]], objective: str, priorities: list[float]) -> dict[str, Any] | None:
    """The rule: the front trials within METRIC_TOLERANCE of the best int8 metric are equally accurate; among
    them the fastest if the speed priority is at least the memory one, else the smallest."""
    if not front:
        return None
    best = max(t[objective] for t in front)
    tied = [t for t in front if t[objective] >= best - METRIC_TOLERANCE]
    key = "latency_ms" if priorities[1] >= priorities[2] else "model_kb"
    return min(tied, key=lambda t: (t[key], -t[objective]))
