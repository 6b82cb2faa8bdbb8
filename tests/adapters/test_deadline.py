"""The time budget inside a trial: training stops at an epoch end when one more epoch as long would
end past the deadline, so a trial keeps the budget instead of overrunning it by an epoch."""

from __future__ import annotations

import time

import pytest

from zazu.adapters.base import BaseAdapter


class _Model:
    stop_training = False


def _run_epochs(callback, durations, clock):
    """Feed the callback epochs of the given lengths until it stops training; the epochs it ran."""
    model = _Model()
    callback.set_model(model)
    ran = 0
    for epoch, duration in enumerate(durations):
        callback.on_epoch_begin(epoch)
        clock[0] += duration
        callback.on_epoch_end(epoch)
        ran += 1
        if model.stop_training:
            break
    return ran


def test_training_stops_before_an_epoch_that_would_cross_the_deadline(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    adapter = BaseAdapter.__new__(BaseAdapter)
    adapter.model_specs = {"deadline": 1000.0 + 45}
    (callback,) = adapter.deadline_callbacks()
    # epochs of 10 s: after the 4th (t=40) a 5th would end at 50 > 45, so 4 run and the trial ends
    # inside its budget (stopping only once past the deadline would run a 5th, to t=50)
    assert _run_epochs(callback, [10] * 10, clock) == 4
    assert clock[0] - 1000.0 <= 45


def test_a_slow_epoch_stops_training_even_well_before_the_deadline(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    adapter = BaseAdapter.__new__(BaseAdapter)
    adapter.model_specs = {"deadline": 100.0}
    (callback,) = adapter.deadline_callbacks()
    assert _run_epochs(callback, [5, 5, 60, 5], clock) == 3  # t=70 after the third: a fourth like it ends at 130


def test_no_deadline_means_no_callback():
    adapter = BaseAdapter.__new__(BaseAdapter)
    adapter.model_specs = {}
    assert adapter.deadline_callbacks() == []
