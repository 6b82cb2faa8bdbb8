"""The time budget inside a trial: training stops at an epoch end when one more epoch as long would
end past the deadline, so a trial keeps the budget instead of overrunning it by an epoch."""

from __future__ import annotations

import time


from zazu.adapters.deadline import deadline_callbacks


class _Model:
    stop_training = False


def _deadline_callback(monkeypatch, deadline: float, start: float = 0.0):
    """A trial's deadline callback on a fake clock ([seconds], advanced by the test)."""
    clock = [start]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    (callback,) = deadline_callbacks(deadline)
    return callback, clock


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
    callback, clock = _deadline_callback(monkeypatch, 1000.0 + 45, start=1000.0)
    # epochs of 10 s: after the 4th (t=40) a 5th would end at 50 > 45, so 4 run and the trial ends
    # inside its budget (stopping only once past the deadline would run a 5th, to t=50)
    assert _run_epochs(callback, [10] * 10, clock) == 4
    assert clock[0] - 1000.0 <= 45


def test_a_slow_epoch_stops_training_even_well_before_the_deadline(monkeypatch):
    callback, clock = _deadline_callback(monkeypatch, 100.0)
    assert _run_epochs(callback, [5, 5, 60, 5], clock) == 3  # t=70 after the third: a fourth like it ends at 130


def test_no_deadline_means_no_callback():
    assert deadline_callbacks(None) == []


def _run_one_epoch(callback, batch_seconds, clock, first_batch_seconds):
    """Feed one epoch of len(batch_seconds) batches; the batches it ran before it stopped training."""
    model = _Model()
    callback.set_model(model)
    callback.set_params({"steps": len(batch_seconds)})
    callback.on_epoch_begin(0)
    for batch, seconds in enumerate(batch_seconds):
        clock[0] += first_batch_seconds if batch == 0 else seconds
        callback.on_train_batch_end(batch)
        if model.stop_training:
            return batch + 1
    return len(batch_seconds)


def test_an_epoch_whose_batches_say_it_would_cross_the_deadline_stops_inside_it(monkeypatch):
    callback, clock = _deadline_callback(monkeypatch, 100.0)
    # 50 batches of 4 s after a 20 s first one (tracing): the epoch would end at 216 s. After batch 3
    # (t=28) two timed batches of 4 s project 47 more, to 216 > 100: it stops there
    assert _run_one_epoch(callback, [4.0] * 50, clock, first_batch_seconds=20.0) == 3
    assert clock[0] == 28.0


def test_an_epoch_that_fits_is_not_cut_even_after_a_slow_first_batch(monkeypatch):
    callback, clock = _deadline_callback(monkeypatch, 100.0)
    # the 30 s first batch alone, projected over 20 batches, would cross 100 s; the others (2 s) fit:
    # 30 + 19 * 2 = 68 s
    assert _run_one_epoch(callback, [2.0] * 20, clock, first_batch_seconds=30.0) == 20
