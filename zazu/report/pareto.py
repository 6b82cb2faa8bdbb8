"""The Pareto front of trials: best objective for the least int8 latency and size."""

from __future__ import annotations

from collections.abc import Sequence


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
