"""The Pareto front over (metric up, latency down, size down)."""

from __future__ import annotations

from zazu.pareto import pareto_front

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


def _front_trial(name, metric, latency, size):
    return {"model": name, "trial_id": "0", "val_accuracy": metric, "latency_ms": latency, "model_kb": size}


def test_the_priorities_pick_among_equally_accurate_front_trials():
    from zazu.pareto import pick_from_front

    front = [_front_trial("accurate", 0.950, 9.0, 900), _front_trial("fast", 0.945, 2.0, 700),
             _front_trial("small", 0.942, 5.0, 100), _front_trial("tiny", 0.80, 0.5, 20)]
    assert pick_from_front(front, "val_accuracy", [8, 6, 4])["model"] == "fast"  # speed >= memory
    assert pick_from_front(front, "val_accuracy", [8, 2, 9])["model"] == "small"
    # "tiny" is on the front, but 15 points less accurate is not a tie
    assert pick_from_front([front[0], front[3]], "val_accuracy", [0, 10, 10])["model"] == "accurate"
    assert pick_from_front([], "val_accuracy", [8, 6, 6]) is None
