"""The Pareto front over (metric up, latency down, size down)."""

from __future__ import annotations

from zazu.report.pareto import pareto_front

UP_DOWN_DOWN = (True, False, False)


def test_dominated_points_are_off_the_front():
    points = [
        (0.90, 3.0, 200),  # most accurate
        (0.80, 1.0, 50),   # fastest and smallest
        (0.78, 1.5, 60),   # worse than the previous on every axis
        (0.90, 4.0, 200),  # as accurate as the first, but slower
        (0.85, 2.0, 40),   # smallest of all: on the front
    ]
    assert pareto_front(points, UP_DOWN_DOWN) == [True, True, False, False, True]


def test_identical_points_stay_on_the_front_together():
    assert pareto_front([(0.5, 1.0, 10), (0.5, 1.0, 10)], UP_DOWN_DOWN) == [True, True]


def test_direction_of_the_metric_is_respected():
    # a metric where lower is better: the lower one dominates at equal cost
    assert pareto_front([(0.2, 1.0, 10), (0.3, 1.0, 10)], (False, False, False)) == [True, False]
